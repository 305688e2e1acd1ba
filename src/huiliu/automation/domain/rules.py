"""Rule definitions: JSON in, a validated and compiled :class:`Rule` out, and rule sets indexed by the
event they run on.

A definition::

    {"id": "r-refund", "name": "退款 → 售后", "kind": "trigger", "on": ["ticket.created"],
     "position": 10, "active": true, "stop_processing": false,
     "conditions": {"any": [{"field": "title", "op": "contains", "value": ["退款", "退货"]}]},
     "actions": [{"type": "assign", "team": "after_sales"}]}

``kind`` ``trigger`` runs on the events in ``on``; ``automation`` runs on the timer sweep and takes no
``on``. ``conditions`` defaults to ``{"all": []}`` (always holds). Every problem in a definition is
reported at once with its path (:class:`RuleDefinitionError`, a 422).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from huiliu.automation.domain.action_schema import compile_action
from huiliu.automation.domain.actions import ActionSpec
from huiliu.automation.domain.condition_schema import compile_conditions
from huiliu.automation.domain.conditions import Condition
from huiliu.automation.domain.facts import TRIGGER_EVENTS, EventType, RuleKind
from huiliu.automation.domain.problems import (
    Loc,
    Problems,
    RuleDefinitionError,
    check_keys,
    read_bool,
    read_text,
)

MAX_RULES = 1000
MAX_ACTIONS = 20
MAX_POSITION = 1_000_000_000
_RULE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
RULE_KEYS = {
    "id",
    "name",
    "description",
    "kind",
    "on",
    "position",
    "active",
    "stop_processing",
    "conditions",
    "actions",
}


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """A compiled rule. ``definition`` is the normalised JSON it came from (what to store)."""

    id: str
    name: str
    description: str
    kind: RuleKind
    on: tuple[EventType, ...]
    position: int
    active: bool
    stop_processing: bool
    conditions: Condition
    actions: tuple[ActionSpec, ...]

    def runs_on(self, event: EventType) -> bool:
        if self.kind is RuleKind.AUTOMATION:
            return event is EventType.TIMER
        return event in self.on

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "kind": self.kind.value,
            "position": self.position,
            "active": self.active,
            "stop_processing": self.stop_processing,
            "conditions": self.conditions.to_dict(),
            "actions": [action.to_dict() for action in self.actions],
        }
        if self.kind is RuleKind.TRIGGER:
            out["on"] = [event.value for event in self.on]
        return out


def _kind_and_events(
    data: Mapping[str, Any], problems: Problems
) -> tuple[RuleKind | None, tuple[EventType, ...]]:
    raw_kind = data.get("kind")
    if raw_kind is None:
        problems.add(("kind",), "required", "missing")
        return None, ()
    if raw_kind not in ("trigger", "automation"):
        problems.add(("kind",), "must be trigger or automation", "invalid_value")
        return None, ()
    kind = RuleKind(raw_kind)
    on = data.get("on")
    if kind is RuleKind.AUTOMATION:
        if on is not None:
            problems.add(("on",), "automations run on the timer sweep and take no events", "extra_forbidden")
        return kind, ()
    names = [event.value for event in TRIGGER_EVENTS]
    if not isinstance(on, list) or not on:
        problems.add(
            ("on",), f"a trigger runs on a non-empty list of events: {', '.join(names)}", "invalid_value"
        )
        return kind, ()
    events: dict[EventType, None] = {}
    for index, item in enumerate(on):
        if item not in names:
            problems.add(("on", index), f"unknown event {item!r}: use {', '.join(names)}", "invalid_value")
            continue
        events[EventType(item)] = None
    return kind, tuple(events)


def _position(data: Mapping[str, Any], problems: Problems) -> int:
    position = data.get("position", 0)
    if not isinstance(position, int) or isinstance(position, bool) or abs(position) > MAX_POSITION:
        problems.add(
            ("position",), f"must be an integer between -{MAX_POSITION} and {MAX_POSITION}", "int_type"
        )
        return 0
    return position


def _actions(data: Mapping[str, Any], problems: Problems) -> list[ActionSpec | None]:
    raw = data.get("actions")
    if raw is None:
        problems.add(("actions",), "required", "missing")
        return []
    if not isinstance(raw, list) or not raw:
        problems.add(("actions",), "a rule needs a non-empty list of actions", "invalid_value")
        return []
    if len(raw) > MAX_ACTIONS:
        problems.add(("actions",), f"a rule has at most {MAX_ACTIONS} actions", "too_long")
        return []
    return [compile_action(item, ("actions", index), problems) for index, item in enumerate(raw)]


def _read_rule(data: Any, problems: Problems) -> Rule | None:
    if not isinstance(data, Mapping):
        problems.add((), "a rule is a JSON object", "invalid_type")
        return None
    # Required keys are reported by their readers, once each.
    check_keys(data, (), problems, allowed=RULE_KEYS, required=set())
    rule_id = read_text(data, "id", (), problems, max_length=64)
    if rule_id is not None and not _RULE_ID.match(rule_id):
        problems.add(("id",), "an id has letters, digits and _ . : - only", "invalid_value")
    name = read_text(data, "name", (), problems, max_length=200)
    description = read_text(
        data, "description", (), problems, max_length=1000, required=False, allow_blank=True
    )
    kind, events = _kind_and_events(data, problems)
    position = _position(data, problems)
    active = read_bool(data, "active", (), problems, default=True)
    stop_processing = read_bool(data, "stop_processing", (), problems, default=False)
    conditions = compile_conditions(
        data.get("conditions", {"all": []}), ("conditions",), problems, kind or RuleKind.TRIGGER
    )
    actions = _actions(data, problems)
    if problems or rule_id is None or name is None or kind is None or conditions is None:
        return None
    return Rule(
        id=rule_id,
        name=name,
        description=description or "",
        kind=kind,
        on=events,
        position=position,
        active=active,
        stop_processing=stop_processing,
        conditions=conditions,
        actions=tuple(action for action in actions if action is not None),
    )


def parse_rule(data: Any) -> Rule:
    """Validate and compile one rule definition, or raise :class:`RuleDefinitionError` listing every
    problem with its path."""
    problems = Problems()
    rule = _read_rule(data, problems)
    problems.raise_if_any()
    assert rule is not None
    return rule


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Compiled rules in evaluation order (``position``, then ``id``), indexed by event: the active
    rules that run on each event, so evaluation never looks at the others."""

    rules: tuple[Rule, ...]
    by_event: Mapping[EventType, tuple[Rule, ...]]
    readers: Mapping[str, frozenset[str]]  # fact path -> ids of the rules whose conditions read it

    def for_event(self, event: EventType) -> tuple[Rule, ...]:
        return self.by_event.get(event, ())

    def __len__(self) -> int:
        return len(self.rules)


def _prefixed(loc: Loc, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**error, "loc": [*loc, *error["loc"]]} for error in errors]


def compile_rules(definitions: Iterable[Mapping[str, Any] | Rule]) -> RuleSet:
    """Compile a tenant's rules once (definitions or already compiled rules); problems are reported
    with the rule's index first (``[3, "conditions", "all", 0, "value"]``)."""
    rules: list[Rule] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    items = list(definitions)
    if len(items) > MAX_RULES:
        raise RuleDefinitionError([{"loc": [], "msg": f"at most {MAX_RULES} rules", "type": "too_long"}])
    for index, item in enumerate(items):
        if isinstance(item, Rule):
            rule: Rule | None = item
        else:
            problems = Problems()
            rule = _read_rule(item, problems)
            errors += _prefixed((index,), problems.items)
        if rule is None:
            continue
        if rule.id in seen:
            errors.append(
                {
                    "loc": [index, "id"],
                    "msg": f"duplicate id {rule.id!r} (also rule {seen[rule.id]})",
                    "type": "duplicate",
                }
            )
            continue
        seen[rule.id] = index
        rules.append(rule)
    if errors:
        raise RuleDefinitionError(errors)
    ordered = tuple(sorted(rules, key=lambda rule: (rule.position, rule.id)))
    by_event = {
        event: tuple(rule for rule in ordered if rule.active and rule.runs_on(event)) for event in EventType
    }
    readers: dict[str, set[str]] = {}
    for rule in ordered:
        for path in rule.conditions.reads:
            readers.setdefault(path, set()).add(rule.id)
    return RuleSet(ordered, by_event, {path: frozenset(ids) for path, ids in readers.items()})
