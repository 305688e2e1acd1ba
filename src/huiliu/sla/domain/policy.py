"""SLA policies as values: which tickets a policy covers (an all-of condition list over priority,
customer level, category and channel), its targets per priority in business minutes, and its warning
tiers. Reading a policy from JSON reports every problem with its path; the tiers' actions are checked
by the caller with the automation action schema."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

METRICS: tuple[str, ...] = ("first_response", "next_response", "resolution")
PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")
CONDITION_FIELDS: tuple[str, ...] = ("priority", "customer_level", "category", "channel")
CONDITION_OPS: tuple[str, ...] = ("is", "is_not", "in", "not_in")
MAX_CONDITIONS = 20
MAX_VALUES = 50
MAX_VALUE_CHARS = 100
MAX_TIERS = 6
MAX_TIER_PERCENT = 1000
# Ten years of business minutes would outlive any ticket; a typo of a few zeros is refused instead.
MAX_TARGET_MINUTES = 366 * 24 * 60
BREACH_PERCENT = 100


class PolicyError(ValueError):
    """A policy definition that cannot be used; ``errors`` lists ``{"loc", "msg", "type"}`` items."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "the policy"
        super().__init__(f"{where}: {first['msg']}")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    values: tuple[str, ...]

    def matches(self, facts: Mapping[str, str | None]) -> bool:
        value = facts.get(self.field)
        inside = value is not None and value in self.values
        return inside if self.op in ("is", "in") else not inside

    def to_dict(self) -> dict[str, Any]:
        value: Any = self.values[0] if self.op in ("is", "is_not") else list(self.values)
        return {"field": self.field, "op": self.op, "value": value}


@dataclass(frozen=True, slots=True)
class Tier:
    """At ``percent`` of a target's business time: run ``actions`` (automation action JSON)."""

    percent: int
    actions: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"percent": self.percent, "actions": [dict(action) for action in self.actions]}


Targets = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True, slots=True)
class PolicyRules:
    """The parts of a policy the SLA math uses: conditions, targets (priority -> metric -> business
    minutes; a metric left out is not tracked for that priority) and tiers sorted by percent."""

    conditions: tuple[Condition, ...]
    targets: Targets
    tiers: tuple[Tier, ...]

    def matches(self, facts: Mapping[str, str | None]) -> bool:
        return all(condition.matches(facts) for condition in self.conditions)

    def targets_for(self, priority: str) -> dict[str, int]:
        return dict(self.targets.get(priority, {}))

    def thresholds(self) -> tuple[int, ...]:
        """Percents the clock is checked at: every tier, and the breach at 100 % always."""
        return tuple(sorted({tier.percent for tier in self.tiers} | {BREACH_PERCENT}))

    def tier(self, percent: int) -> Tier | None:
        return next((tier for tier in self.tiers if tier.percent == percent), None)


def _add(errors: list[dict[str, Any]], loc: Sequence[Any], msg: str, type_: str) -> None:
    errors.append({"loc": list(loc), "msg": msg, "type": type_})


def _text_values(raw: Any, loc: list[Any], errors: list[dict[str, Any]], *, many: bool) -> tuple[str, ...]:
    items = raw if many else [raw]
    if many and (not isinstance(raw, list) or not raw or len(raw) > MAX_VALUES):
        _add(errors, loc, f"a list of 1 to {MAX_VALUES} texts", "invalid_type")
        return ()
    values = []
    for index, item in enumerate(items):
        where = [*loc, index] if many else loc
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_VALUE_CHARS:
            _add(errors, where, f"a text of 1 to {MAX_VALUE_CHARS} characters", "invalid_value")
            continue
        values.append(item.strip())
    return tuple(values)


def parse_conditions(raw: Any, loc: list[Any], errors: list[dict[str, Any]]) -> tuple[Condition, ...]:
    """``[{"field": "priority", "op": "in", "value": ["urgent", "high"]}, ...]`` (all must hold)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_CONDITIONS:
        _add(errors, loc, f"a list of at most {MAX_CONDITIONS} conditions", "invalid_type")
        return ()
    conditions = []
    for index, item in enumerate(raw):
        where = [*loc, index]
        if not isinstance(item, Mapping):
            _add(errors, where, 'a condition is {"field", "op", "value"}', "invalid_type")
            continue
        unknown = sorted(set(item) - {"field", "op", "value"})
        if unknown:
            _add(errors, [*where, unknown[0]], "unknown key", "extra_forbidden")
            continue
        field, op = item.get("field"), item.get("op", "in")
        if field not in CONDITION_FIELDS:
            _add(errors, [*where, "field"], f"one of {', '.join(CONDITION_FIELDS)}", "invalid_value")
            continue
        if op not in CONDITION_OPS:
            _add(errors, [*where, "op"], f"one of {', '.join(CONDITION_OPS)}", "invalid_value")
            continue
        before = len(errors)
        values = _text_values(item.get("value"), [*where, "value"], errors, many=op in ("in", "not_in"))
        if field == "priority":
            for value_index, value in enumerate(values):
                if value not in PRIORITIES:
                    _add(
                        errors,
                        [*where, "value", value_index] if op in ("in", "not_in") else [*where, "value"],
                        f"one of {', '.join(PRIORITIES)}",
                        "invalid_value",
                    )
        if len(errors) == before:
            conditions.append(Condition(field, op, values))
    return tuple(conditions)


def parse_targets(raw: Any, loc: list[Any], errors: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{"urgent": {"first_response": 30, "resolution": 240}, ...}`` in business minutes."""
    if not isinstance(raw, Mapping) or not raw:
        _add(errors, loc, "targets per priority: {priority: {metric: business minutes}}", "invalid_type")
        return {}
    targets: dict[str, dict[str, int]] = {}
    for priority, metrics in raw.items():
        where = [*loc, priority]
        if priority not in PRIORITIES:
            _add(errors, where, f"unknown priority: use {', '.join(PRIORITIES)}", "invalid_value")
            continue
        if not isinstance(metrics, Mapping):
            _add(errors, where, "{metric: business minutes}", "invalid_type")
            continue
        chosen: dict[str, int] = {}
        for metric, minutes in metrics.items():
            if metric not in METRICS:
                _add(errors, [*where, metric], f"unknown metric: use {', '.join(METRICS)}", "invalid_value")
                continue
            if minutes is None:
                continue
            if (
                isinstance(minutes, bool)
                or not isinstance(minutes, int)
                or not 1 <= minutes <= MAX_TARGET_MINUTES
            ):
                _add(
                    errors,
                    [*where, metric],
                    f"a whole number of business minutes from 1 to {MAX_TARGET_MINUTES}",
                    "invalid_value",
                )
                continue
            chosen[metric] = minutes
        targets[priority] = chosen
    return targets


def parse_tiers(raw: Any, loc: list[Any], errors: list[dict[str, Any]]) -> tuple[Tier, ...]:
    """``[{"percent": 75, "actions": [...]}, ...]``; percents unique, 1 to 1000."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_TIERS:
        _add(errors, loc, f"a list of at most {MAX_TIERS} tiers", "invalid_type")
        return ()
    tiers: list[Tier] = []
    seen: set[int] = set()
    for index, item in enumerate(raw):
        where = [*loc, index]
        if not isinstance(item, Mapping):
            _add(errors, where, 'a tier is {"percent", "actions"}', "invalid_type")
            continue
        unknown = sorted(set(item) - {"percent", "actions"})
        if unknown:
            _add(errors, [*where, unknown[0]], "unknown key", "extra_forbidden")
            continue
        percent = item.get("percent")
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= MAX_TIER_PERCENT:
            _add(
                errors, [*where, "percent"], f"a whole percent from 1 to {MAX_TIER_PERCENT}", "invalid_value"
            )
            continue
        if percent in seen:
            _add(errors, [*where, "percent"], f"{percent} % appears twice", "duplicate")
            continue
        actions = item.get("actions", [])
        if not isinstance(actions, list):
            _add(errors, [*where, "actions"], "a list of actions", "invalid_type")
            continue
        seen.add(percent)
        tiers.append(Tier(percent, tuple(actions)))
    return tuple(sorted(tiers, key=lambda tier: tier.percent))


def parse_policy_rules(conditions: Any, targets: Any, tiers: Any) -> PolicyRules:
    """Read conditions, targets and tiers; raise :class:`PolicyError` listing every problem."""
    errors: list[dict[str, Any]] = []
    rules = PolicyRules(
        parse_conditions(conditions, ["conditions"], errors),
        parse_targets(targets, ["targets"], errors),
        parse_tiers(tiers, ["tiers"], errors),
    )
    if errors:
        raise PolicyError(errors)
    return rules


def choose_policy(
    candidates: Sequence[tuple[Any, PolicyRules]], facts: Mapping[str, str | None]
) -> tuple[Any, PolicyRules] | None:
    """The first candidate (in the order given: active policies by position) whose conditions hold."""
    return next(((key, rules) for key, rules in candidates if rules.matches(facts)), None)
