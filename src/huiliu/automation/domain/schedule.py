"""When time-based rules (automations) next need a look at a ticket, and what "already fired" means.

An automation's time conditions (``hours_since_created gte 24``) can only become true at known
instants: the anchor timestamp (created, last customer message, last agent reply, status entered)
plus the hours. :func:`next_instant` is the earliest such instant after ``now`` over the rules that
have not fired yet; the timer sweep looks at the ticket then instead of every hour.

An automation fires once per ticket *and anchor*: :func:`anchor_key` names the anchor timestamps a
rule's time conditions read, so "24 h after the last customer message" fires again after the next
customer message, and "24 h after creation" fires once. A rule without time conditions fires once
per ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from huiliu.automation.domain.facts import TicketFacts, is_number
from huiliu.automation.domain.rules import Rule

# Time facts and the TicketFacts timestamp each counts from.
TIME_ANCHORS: dict[str, str] = {
    "hours_since_created": "created_at",
    "hours_since_last_customer_message": "last_customer_message_at",
    "hours_since_last_agent_reply": "last_agent_reply_at",
    "hours_since_status_entered": "status_entered_at",
}
# Operators whose condition turns true once the hours pass a value (``lt``/``lte`` turn false instead).
_RISING = {"gt": True, "gte": False, "eq": False, "in": False}
# ``gt`` holds just after the threshold, not at it.
STRICT_STEP = timedelta(seconds=1)
MAX_ANCHOR_CHARS = 200


@dataclass(frozen=True, slots=True)
class TimeThreshold:
    """A time condition's threshold: ``field`` (a ``hours_since_*`` fact) reaches ``hours``."""

    field: str
    hours: float
    strict: bool

    def instant(self, facts: TicketFacts) -> datetime | None:
        anchor: datetime | None = getattr(facts, TIME_ANCHORS[self.field])
        if anchor is None:
            return None
        at = anchor + timedelta(hours=self.hours)
        return at + STRICT_STEP if self.strict else at


def _leaves(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        if "field" in node and "op" in node:
            yield node
            return
        for child in node.values():
            yield from _leaves(child)
    elif isinstance(node, list):
        for child in node:
            yield from _leaves(child)


def time_thresholds(rule: Rule) -> tuple[TimeThreshold, ...]:
    """The thresholds of the rule's time conditions that turn true as time passes."""
    found: list[TimeThreshold] = []
    for leaf in _leaves(rule.conditions.to_dict()):
        field, op = leaf["field"], leaf["op"]
        if field not in TIME_ANCHORS or op not in _RISING:
            continue
        values = leaf.get("value")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, int | float) and is_number(value) and value >= 0:
                found.append(TimeThreshold(field, float(value), _RISING[op]))
    return tuple(found)


def time_fields(rule: Rule) -> tuple[str, ...]:
    """Every time fact the rule's conditions read (any operator), sorted."""
    return tuple(sorted(path for path in rule.conditions.reads if path in TIME_ANCHORS))


def anchor_key(rule: Rule, facts: TicketFacts) -> str:
    """What "this ticket state" is for the rule: the anchor timestamps its time conditions read,
    e.g. ``last_customer_message_at=2026-11-30T08:00:00+00:00``; ``""`` for a rule without any."""
    parts = []
    for path in time_fields(rule):
        anchor = TIME_ANCHORS[path]
        value: datetime | None = getattr(facts, anchor)
        parts.append(f"{anchor}={value.isoformat() if value is not None else '-'}")
    return "|".join(parts)[:MAX_ANCHOR_CHARS]


def next_instant(rules: Iterable[Rule], facts: TicketFacts) -> datetime | None:
    """The earliest instant after ``facts.now`` at which a time condition of an active automation
    that has not fired on this ticket (``facts.automations_fired``) turns true; ``None`` if none will."""
    if facts.now is None:
        raise ValueError("facts.now is needed to schedule time rules")
    earliest: datetime | None = None
    for rule in rules:
        if not rule.active or rule.id in facts.automations_fired:
            continue
        for threshold in time_thresholds(rule):
            at = threshold.instant(facts)
            if at is not None and at > facts.now and (earliest is None or at < earliest):
                earliest = at
    return earliest
