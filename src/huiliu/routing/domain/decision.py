"""What a routing decision says: assign an agent, queue on a team, or leave unassigned with an
alert; each with a reason in English and in a structured form (an i18n code with parameters and a
trace of every step tried). And the routing state: assignments decided since the agents' snapshot,
which round-robin order, loads and capacity caps take into account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from uuid import UUID

from huiliu.routing.domain.agents import PRIORITIES, PRIORITY_INDEX, AgentState, require_aware, to_us
from huiliu.routing.domain.facts import TicketFacts
from huiliu.routing.domain.policy import Strategy

Param = str | int | float


class Filter(StrEnum):
    """Why an agent was not a candidate; each agent is counted under the first filter it fails, in
    this order."""

    NOT_IN_TEAM = "not_in_team"
    # The step's own filter comes before availability, so a trace says how many agents had the
    # skills (region, seniority, familiarity) and why those were not available.
    MISSING_SKILLS = "missing_skills"
    OUTSIDE_REGION = "outside_region"
    NOT_SENIOR = "not_senior"
    NOT_FAMILIAR = "not_familiar"
    OFFLINE = "offline"
    AWAY = "away"
    OFF_SHIFT = "off_shift"
    AT_CAPACITY = "at_capacity"


FILTER_TEXT: Mapping[Filter, str] = MappingProxyType(
    {
        Filter.NOT_IN_TEAM: "not in the team",
        Filter.MISSING_SKILLS: "missing skills",
        Filter.OUTSIDE_REGION: "outside the region",
        Filter.NOT_SENIOR: "not senior",
        Filter.NOT_FAMILIAR: "not familiar",
        Filter.OFFLINE: "offline",
        Filter.AWAY: "away",
        Filter.OFF_SHIFT: "off shift",
        Filter.AT_CAPACITY: "at capacity",
    }
)


class Outcome(StrEnum):
    CHOSEN = "chosen"  # the step chose an agent
    NO_CANDIDATE = "no_candidate"  # every agent was filtered out
    NOT_APPLICABLE = "not_applicable"  # the step has nothing to go on (not a VIP, no region, …)


@dataclass(frozen=True, slots=True)
class StepTrace:
    """What one step of the chain saw."""

    strategy: Strategy
    outcome: Outcome
    considered: int  # agents the step looked at (after the team restriction)
    candidates: int  # agents left after every filter
    excluded: tuple[tuple[Filter, int], ...]  # per filter, agents removed (team first; zeros left out)
    text: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy.value,
            "outcome": self.outcome.value,
            "considered": self.considered,
            "candidates": self.candidates,
            "excluded": {f.value: n for f, n in self.excluded},
            "text": self.text,
            "params": dict(self.params),
        }


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision was taken. ``text`` is English for logs and the audit trail; ``code`` and
    ``params`` let a UI render it in its own language; ``steps`` is the trace of the chain."""

    code: str
    text: str
    params: Mapping[str, Param]
    steps: tuple[StepTrace, ...]
    fallback: bool  # decided by a fallback step or the final action, not the primary step

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "text": self.text,
            "params": dict(self.params),
            "fallback": self.fallback,
            "steps": [step.as_dict() for step in self.steps],
        }


@dataclass(frozen=True, slots=True)
class Assign:
    agent_id: UUID
    team_id: UUID | None  # the ticket's team if the agent is in it, else the agent's home team
    reason: Reason


@dataclass(frozen=True, slots=True)
class QueueOnTeam:
    team_id: UUID
    reason: Reason


@dataclass(frozen=True, slots=True)
class LeaveUnassigned:
    reason: Reason
    alert: bool = True


Decision = Assign | QueueOnTeam | LeaveUnassigned


@dataclass(frozen=True, slots=True)
class AssignedSince:
    """One agent's assignments decided since the snapshot: the latest one's order key, and counts by
    priority (in ``PRIORITIES`` order)."""

    at_us: int
    sequence: int
    added: tuple[int, ...]
    total: int


@dataclass(frozen=True, slots=True)
class RoutingState:
    """Assignments decided since the agents' snapshot was read, for decisions made in a row on one
    snapshot (an intake batch, a sweep): round-robin moves on, loads grow, caps fill. A value: pass
    it in, get the next one from ``after``; start from ``RoutingState()`` with each new snapshot.

    ``assigned`` is keyed by the agent id's integer (``UUID.int``): decisions look it up for every
    agent, and hashing an int is much cheaper than hashing a UUID."""

    assigned: Mapping[int, AssignedSince] = field(default_factory=dict)
    sequence: int = 0

    def after(self, decision: Decision, ticket: TicketFacts, at: datetime) -> RoutingState:
        """The state once ``decision`` on ``ticket`` is applied at ``at``; unchanged unless it assigns."""
        if not isinstance(decision, Assign):
            return self
        at_us = to_us(require_aware(at, "at"))
        sequence = self.sequence + 1
        key = decision.agent_id.int
        known = self.assigned.get(key)
        added = list(known.added) if known is not None else [0] * len(PRIORITIES)
        added[PRIORITY_INDEX[ticket.priority]] += 1
        if known is not None:
            at_us = max(at_us, known.at_us)
        assigned = dict(self.assigned)
        assigned[key] = AssignedSince(at_us, sequence, tuple(added), sum(added))
        return RoutingState(MappingProxyType(assigned), sequence)

    def for_agent(self, agent_id: UUID) -> AssignedSince | None:
        return self.assigned.get(agent_id.int)

    def rotation_key(self, agent: AgentState) -> tuple[int, int]:
        """Round-robin order: who was assigned longest ago comes first; never assigned first of all.
        Assignments in this state come after the snapshot's, in the order they were decided."""
        return rotation_key(self.assigned.get(agent.id.int), agent.last_assigned_us)


def rotation_key(since: AssignedSince | None, last_assigned_us: int) -> tuple[int, int]:
    if since is None or since.at_us < last_assigned_us:
        return (last_assigned_us, 0)
    return (since.at_us, since.sequence)
