"""SLA and business-calendar facts for rules: how much of each SLA target a ticket has used
(``sla.first_response_percent``, ``sla.next_response_percent``, ``sla.resolution_percent`` and their
maximum ``sla.percent``), read from the ticket's SLA state (``huiliu.sla``), and when a rule's
``sla.* ≥ N`` condition turns true, so the ``rules`` timer wakes the sweep then; and
``within_business_hours`` on the tenant's default business calendar. Loaded only for tenants whose
rules read those facts. Only a metric whose cycle is open counts (a first response already given no
longer has a percentage)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.automation.domain import Rule, TicketFacts
from huiliu.core.errors import NotFound
from huiliu.sla import queries as sla_queries
from huiliu.sla.domain import BusinessCalendar, add_business_time
from huiliu.sla.domain.policy import METRICS
from huiliu.sla.domain.ticket import TicketSlaState, from_json, percent_used, threshold_instant
from huiliu.sla.reactor import CalendarCache

SLA_PREFIX = "sla."
BUSINESS_HOURS = "within_business_hours"
ANY_METRIC = "sla.percent"
METRIC_PATHS: dict[str, str] = {f"sla.{name}_percent": name for name in METRICS}
_RISING = {"gt": True, "gte": False, "eq": False, "in": False}
STRICT_STEP = timedelta(seconds=1)


@dataclass(frozen=True)
class SlaView:
    """A ticket's SLA clocks and the business calendar they run on."""

    calendar: BusinessCalendar
    state: TicketSlaState

    def percent(self, name: str, now: datetime) -> float | None:
        metric = self.state.metric(name)
        if metric is None or not metric.active:
            return None
        return round(percent_used(self.calendar, metric, now), 2)


def reads_sla(paths: Iterable[str]) -> bool:
    return any(path.startswith(SLA_PREFIX) for path in paths)


async def load_sla(
    session: AsyncSession, ticket_id: uuid.UUID, calendars: CalendarCache | None = None
) -> SlaView | None:
    """The ticket's SLA state, or None when no SLA policy applies to it. ``calendars`` keeps built
    calendars between calls (building one costs milliseconds)."""
    row = await sla_queries.ticket_sla(session, ticket_id)
    if row is None:
        return None
    policy = None
    if row.policy_id is not None:
        try:
            policy = await sla_queries.get_policy(session, row.policy_id)
        except NotFound:
            policy = None
    stored = await sla_queries.policy_calendar(session, policy)
    calendar = (calendars or CalendarCache()).get(stored)
    return SlaView(calendar, from_json(row.clocks or {}, paused=row.paused))


async def tenant_calendar(session: AsyncSession, calendars: CalendarCache | None = None) -> BusinessCalendar:
    """The tenant's default business calendar (the built-in one when none is stored): what
    ``within_business_hours`` is answered with."""
    return (calendars or CalendarCache()).get(await sla_queries.default_calendar(session))


def next_business_start(
    rules: Iterable[Rule], facts: TicketFacts, calendar: BusinessCalendar
) -> datetime | None:
    """When an automation that tests ``within_business_hours`` and has not fired may first hold: the
    next opening, if ``facts.now`` is outside business hours; None otherwise (inside hours the other
    conditions decide, and they have their own instants)."""
    if facts.now is None or facts.within_business_hours:
        return None
    waiting = [
        rule
        for rule in rules
        if rule.active and rule.id not in facts.automations_fired and BUSINESS_HOURS in rule.conditions.reads
    ]
    if not waiting:
        return None
    return add_business_time(calendar, facts.now, STRICT_STEP) - STRICT_STEP


def with_percents(facts: TicketFacts, view: SlaView | None) -> TicketFacts:
    """The facts with the SLA percentages at ``facts.now``."""
    if view is None or facts.now is None:
        return facts
    now = facts.now
    return replace(
        facts,
        sla_first_response_percent=view.percent("first_response", now),
        sla_next_response_percent=view.percent("next_response", now),
        sla_resolution_percent=view.percent("resolution", now),
    )


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


def sla_thresholds(rule: Rule) -> list[tuple[str, float, bool]]:
    """``(path, percent, strict)`` of the rule's SLA conditions that turn true as time passes."""
    found: list[tuple[str, float, bool]] = []
    for leaf in _leaves(rule.conditions.to_dict()):
        path, op = leaf["field"], leaf["op"]
        if not path.startswith(SLA_PREFIX) or op not in _RISING:
            continue
        values = leaf.get("value")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 100_000:
                found.append((path, float(value), _RISING[op]))
    return found


def sla_next_instant(rules: Iterable[Rule], facts: TicketFacts, view: SlaView | None) -> datetime | None:
    """The earliest instant after ``facts.now`` at which an SLA condition of an automation that has
    not fired on this ticket turns true; None when no clock runs towards one."""
    if view is None or facts.now is None:
        return None
    earliest: datetime | None = None
    for rule in rules:
        if not rule.active or rule.id in facts.automations_fired:
            continue
        for path, percent, strict in sla_thresholds(rule):
            names = [METRIC_PATHS[path]] if path in METRIC_PATHS else list(METRICS)
            for name in names:
                metric = view.state.metric(name)
                if metric is None or not metric.active:
                    continue
                at = threshold_instant(view.calendar, metric, math.ceil(percent))
                if at is None:
                    continue
                at = at + STRICT_STEP if strict else at
                if at > facts.now and (earliest is None or at < earliest):
                    earliest = at
    return earliest
