"""Routing policies: a primary step, a fallback chain of further steps, and a final action for when
no step finds an agent. Parsed from and written back to the JSON shape the API will store."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar
from uuid import UUID

from huiliu.routing.domain.agents import PRIORITIES, RoutingError

DEFAULT_LOAD_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"urgent": 4.0, "high": 2.0, "normal": 1.0, "low": 0.5}
)
DEFAULT_FAMILIARITY_DAYS = 30
MAX_FAMILIARITY_DAYS = 3650
DEFAULT_VIP_LEVELS: frozenset[str] = frozenset({"vip", "svip"})
MAX_FALLBACK_STEPS = 8

_E = TypeVar("_E", bound=StrEnum)


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"  # the eligible agent longest without an assignment
    LEAST_LOADED = "least_loaded"  # the eligible agent with the least priority-weighted open load
    SKILLS = "skills"  # agents with every required skill at its level, then ``pick``
    REGION = "region"  # agents covering the ticket's region, then ``pick``
    VIP_SENIOR = "vip_senior"  # VIP customers to senior agents, then ``pick``
    FAMILIAR_AGENT = "familiar_agent"  # who served this device or customer within N days, latest first


class Pick(StrEnum):
    """How skills, region and VIP steps choose among the agents that pass their filter."""

    LEAST_LOADED = "least_loaded"
    ROUND_ROBIN = "round_robin"


class Final(StrEnum):
    """What happens when no step finds an agent. Never nothing: both are visible decisions."""

    TEAM_QUEUE = "team_queue"  # assign the ticket's team only (unassigned with an alert if it has none)
    UNASSIGNED = "unassigned"  # leave it unassigned and raise an alert


@dataclass(frozen=True, slots=True)
class Step:
    """One strategy with its parameters."""

    strategy: Strategy
    allow_away: bool = False  # "away" agents count as available
    team_only: bool = True  # only members of the ticket's team (when the ticket has one)
    # per priority, for least-loaded; a priority left out keeps its default weight
    load_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_LOAD_WEIGHTS)
    familiarity_days: int = DEFAULT_FAMILIARITY_DAYS
    pick: Pick = Pick.LEAST_LOADED
    vip_levels: frozenset[str] = DEFAULT_VIP_LEVELS  # customer levels that count as VIP
    weights: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "strategy", Strategy(self.strategy))
            object.__setattr__(self, "pick", Pick(self.pick))
        except ValueError as exc:
            raise RoutingError(str(exc)) from exc
        unknown = sorted(set(self.load_weights) - set(PRIORITIES))
        if unknown:
            raise RoutingError(
                f"unknown priority {unknown[0]!r} in load weights: use {', '.join(PRIORITIES)}"
            )
        weights = []
        for priority in PRIORITIES:
            weight = self.load_weights.get(priority, DEFAULT_LOAD_WEIGHTS[priority])
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
                raise RoutingError(f"the load weight of {priority} must be a number, got {weight!r}")
            if weight < 0:
                raise RoutingError(f"the load weight of {priority} cannot be negative")
            weights.append(float(weight))
        object.__setattr__(self, "weights", tuple(weights))
        object.__setattr__(
            self, "load_weights", MappingProxyType(dict(zip(PRIORITIES, weights, strict=True)))
        )
        days = self.familiarity_days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_FAMILIARITY_DAYS:
            raise RoutingError(f"the familiarity window is 1 to {MAX_FAMILIARITY_DAYS} days, got {days!r}")
        levels = frozenset(level.strip().casefold() for level in self.vip_levels)
        if not levels or "" in levels:
            raise RoutingError("name at least one customer level that counts as VIP")
        object.__setattr__(self, "vip_levels", levels)


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """Try ``primary``, then each ``fallback`` step in order; if none finds an agent, ``final``."""

    primary: Step
    fallback: tuple[Step, ...] = ()
    final: Final = Final.TEAM_QUEUE
    # ``team_queue`` for a ticket without a team: queue it on this team (its unassigned queue) instead
    # of leaving it nowhere.
    final_team: UUID | None = None
    # Add an internal note to a ticket routing could not place (the ``ticket.routing_failed`` event
    # is recorded either way).
    note_on_failure: bool = False
    # An SLA calendar (id) whose holidays and 调休 working days the agents' shifts follow, for agents
    # whose profile names none.
    calendar_id: UUID | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "fallback", tuple(self.fallback))
        if len(self.fallback) > MAX_FALLBACK_STEPS:
            raise RoutingError(f"a fallback chain has at most {MAX_FALLBACK_STEPS} steps")
        try:
            object.__setattr__(self, "final", Final(self.final))
        except ValueError as exc:
            raise RoutingError(f"the final action is team_queue or unassigned, got {self.final!r}") from exc

    @property
    def strategy(self) -> Strategy:
        return self.primary.strategy

    @property
    def steps(self) -> tuple[Step, ...]:
        return (self.primary, *self.fallback)


_STEP_FIELDS = (
    "strategy",
    "allow_away",
    "team_only",
    "load_weights",
    "familiarity_days",
    "pick",
    "vip_levels",
)


def parse_policy(spec: Mapping[str, Any]) -> RoutingPolicy:
    """The stored JSON shape::

        {"strategy": "skills", "allow_away": false, "team_only": true,
         "load_weights": {"urgent": 4, "high": 2, "normal": 1, "low": 0.5},
         "familiarity_days": 30, "pick": "least_loaded", "vip_levels": ["vip", "svip"],
         "fallback": [{"strategy": "least_loaded"}, …], "final": "team_queue",
         "final_team": "<team id>", "note_on_failure": false, "calendar": "<SLA calendar id>"}

    ``final_team``, ``note_on_failure`` and ``calendar`` are optional (see ``RoutingPolicy``).
    Parameters at the top level are the primary step's and the defaults of every fallback step; a
    fallback step overrides them by naming its own. Anything malformed is a RoutingError."""
    if not isinstance(spec, Mapping):
        raise RoutingError("a routing policy is a JSON object")
    unknown = sorted(set(spec) - set(_STEP_FIELDS) - {"fallback", "final", *_POLICY_FIELDS})
    if unknown:
        raise RoutingError(f"unknown routing policy field {unknown[0]!r}")
    shared = {key: spec[key] for key in _STEP_FIELDS if key in spec and key != "strategy"}
    if "strategy" not in spec:
        raise RoutingError("a routing policy needs a strategy")
    primary = _parse_step({**shared, "strategy": spec["strategy"]}, "policy")
    chain = spec.get("fallback", [])
    if not isinstance(chain, list):
        raise RoutingError("fallback is a list of steps")
    fallback = []
    for n, item in enumerate(chain, start=1):
        if not isinstance(item, Mapping):
            raise RoutingError(f"fallback step {n} is an object with a strategy")
        extra = sorted(set(item) - set(_STEP_FIELDS))
        if extra:
            raise RoutingError(f"unknown field {extra[0]!r} in fallback step {n}")
        if "strategy" not in item:
            raise RoutingError(f"fallback step {n} needs a strategy")
        fallback.append(_parse_step({**shared, **item}, f"fallback step {n}"))
    note = spec.get("note_on_failure", False)
    if not isinstance(note, bool):
        raise RoutingError("note_on_failure is true or false")
    return RoutingPolicy(
        primary,
        tuple(fallback),
        _choice(Final, spec.get("final", "team_queue"), "final"),
        final_team=_optional_id(spec.get("final_team"), "final_team"),
        note_on_failure=note,
        calendar_id=_optional_id(spec.get("calendar"), "calendar"),
    )


_POLICY_FIELDS = ("final_team", "note_on_failure", "calendar")


def _optional_id(value: object, name: str) -> UUID | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise RoutingError(f"{name} is an id, got {value!r}")


def _parse_step(spec: Mapping[str, Any], where: str) -> Step:
    try:
        for flag in ("allow_away", "team_only"):
            if flag in spec and not isinstance(spec[flag], bool):
                raise RoutingError(f"{flag} is true or false")
        weights = spec.get("load_weights", {})
        if not isinstance(weights, Mapping):
            raise RoutingError("load_weights is an object of priority -> weight")
        vip_levels = spec.get("vip_levels", sorted(DEFAULT_VIP_LEVELS))
        if not isinstance(vip_levels, list) or not all(isinstance(v, str) for v in vip_levels):
            raise RoutingError("vip_levels is a list of customer levels")
        return Step(
            strategy=_choice(Strategy, spec["strategy"], "strategy"),
            allow_away=spec.get("allow_away", False),
            team_only=spec.get("team_only", True),
            load_weights={**DEFAULT_LOAD_WEIGHTS, **weights},
            familiarity_days=spec.get("familiarity_days", DEFAULT_FAMILIARITY_DAYS),
            pick=_choice(Pick, spec.get("pick", "least_loaded"), "pick"),
            vip_levels=frozenset(vip_levels),
        )
    except RoutingError as exc:
        raise RoutingError(f"{where}: {exc}") from exc


def _choice(kind: type[_E], value: object, name: str) -> _E:
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    raise RoutingError(f"{name} is one of {', '.join(member.value for member in kind)}, got {value!r}")


def step_spec(step: Step) -> dict[str, Any]:
    return {
        "strategy": step.strategy.value,
        "allow_away": step.allow_away,
        "team_only": step.team_only,
        "load_weights": dict(step.load_weights),
        "familiarity_days": step.familiarity_days,
        "pick": step.pick.value,
        "vip_levels": sorted(step.vip_levels),
    }


def policy_spec(policy: RoutingPolicy) -> dict[str, Any]:
    """The JSON shape ``parse_policy`` reads; every step written out in full."""
    spec: dict[str, Any] = {
        **step_spec(policy.primary),
        "fallback": [step_spec(step) for step in policy.fallback],
        "final": policy.final.value,
    }
    if policy.final_team is not None:
        spec["final_team"] = str(policy.final_team)
    if policy.note_on_failure:
        spec["note_on_failure"] = True
    if policy.calendar_id is not None:
        spec["calendar"] = str(policy.calendar_id)
    return spec
