"""Running the tenant's rules: event triggers inside the unit of work that changed a ticket
(``TriggerReactor``, a ``db.session.Reactor``, docs/decisions/0015 and 0018) and time-based rules
from the timer sweep (``TriggerReactor.run_time_rules``, the handler of ``rules`` timers).

Triggers. Each ticket domain event maps to the engine's triggering event: ``ticket.created`` →
created; ``ticket.updated`` / ``status_changed`` / ``reopened`` / ``assigned`` / ``tags_changed`` →
updated, with the previous values from ``data["changes"]``; a customer's ``ticket.message_added`` →
message received; ``ticket.rated`` → rating given. The reactor builds the ticket's facts, evaluates
the tenant's compiled rules (:mod:`.rule_cache`) and applies each firing with
:func:`.apply.apply_actions`, then counts it (``fired_count``, ``last_fired_at``: one UPDATE per
fired rule).

Loop guard. The engine fires a rule at most once per event. The events a firing's actions emit carry
the rule as their actor (``rule:<name>``); when the reactor sees them in the next reaction pass, the
rules that already fired along that chain are left out, so a rule never fires again on the
consequences of its own firing. The unit of work bounds the passes (``MAX_REACTION_PASSES``).

Time rules. After a ticket changes, and after the sweep ran the rules, the ticket's ``rules`` timer
is set to the next instant an active automation's time condition turns true
(:func:`.domain.schedule.next_instant`), or to now when an automation would fire already. The sweep's
handler evaluates the automations and records each firing in ``rule_runs`` with the rule's anchor, so
"24 h since created" fires once and "24 h since the customer's last message" once per message.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.automation.apply import RULE, Origin, apply_actions
from huiliu.automation.domain import (
    EventType,
    Firing,
    TicketFacts,
    TriggeringEvent,
    evaluate,
    field_spec,
    with_business_hours,
)
from huiliu.automation.domain import Rule as CompiledRule
from huiliu.automation.domain.facts import CUSTOM_FIELD_PREFIX
from huiliu.automation.domain.schedule import anchor_key, next_instant
from huiliu.automation.loading import TICKET_RATED, read_facts
from huiliu.automation.models import Rule, RuleRun
from huiliu.automation.rule_cache import DEFAULT_TTL, RuleCache, TenantRules
from huiliu.automation.sla_facts import (
    SlaView,
    load_sla,
    next_business_start,
    sla_next_instant,
    tenant_calendar,
    with_percents,
)
from huiliu.core import events as ev
from huiliu.core.clock import utcnow
from huiliu.core.events import DomainEvent
from huiliu.core.ids import new_id
from huiliu.db.session import Database, UnitOfWork
from huiliu.sla.domain import BusinessCalendar
from huiliu.sla.reactor import CalendarCache

log = logging.getLogger("huiliu.automation")

TIMER_KIND = "rules"
# The actor of the changes a rule's actions make (``apply.Origin.actor_name``).
RULE_ACTOR_PREFIX = f"{RULE}:"
UPDATE_EVENTS = frozenset(
    {
        ev.TICKET_UPDATED,
        ev.TICKET_STATUS_CHANGED,
        ev.TICKET_REOPENED,
        ev.TICKET_ASSIGNED,
        ev.TICKET_TAGS_CHANGED,
    }
)
# Ticket columns as the rules' facts name them.
_FACT_NAMES = {"team_id": "team", "assignee_id": "assignee", "entry_point_id": "entry_point"}
# Events after which a ticket's time rules are looked at again (anything that moves an anchor or a
# condition); the reactor's own bookkeeping events are not among them.
_SCHEDULE_EVENTS = UPDATE_EVENTS | {
    ev.TICKET_CREATED,
    ev.TICKET_MESSAGE_ADDED,
    ev.TICKET_MERGED,
    TICKET_RATED,
    "sla.applied",
    "sla.policy_changed",
}


# Events that record something about a ticket without changing what its facts are built from (its
# row, customer, messages, status changes and ratings): stored facts stay valid across them.
FACT_NEUTRAL_EVENTS = frozenset(
    {
        "sla.applied",
        "sla.policy_changed",
        "sla.warning",
        "sla.breached",
        "sla.escalated",
        "ticket.rule_fired",
        "ticket.sla_tier_fired",
        "ticket.notified",
        "ticket.routing_failed",
    }
)


def triggering_event(event: DomainEvent) -> TriggeringEvent | None:
    """The engine's event for a ticket domain event, or ``None`` when no trigger runs on it."""
    if event.type == ev.TICKET_CREATED:
        return TriggeringEvent(EventType.TICKET_CREATED)
    if event.type in UPDATE_EVENTS:
        return TriggeringEvent(EventType.TICKET_UPDATED, previous_values(event.data.get("changes") or {}))
    if event.type == ev.TICKET_MESSAGE_ADDED:
        message = event.data.get("message") or {}
        if message.get("author_kind") == "customer":
            return TriggeringEvent(EventType.MESSAGE_RECEIVED)
        return None
    if event.type == TICKET_RATED:
        return TriggeringEvent(EventType.RATING_GIVEN)
    return None


def previous_values(changes: dict[str, Any]) -> dict[str, Any]:
    """``{"priority": {"from": "normal", "to": "high"}}`` → ``{"priority": "normal"}``, for the facts
    the ``changed`` operators can look at; custom fields become ``fields.<key>`` per changed key."""
    previous: dict[str, Any] = {}
    for name, change in changes.items():
        if not isinstance(change, dict) or "from" not in change:
            continue
        if name == "fields":
            before, after = change.get("from") or {}, change.get("to") or {}
            for key in set(before) | set(after):
                path = f"{CUSTOM_FIELD_PREFIX}{key}"
                if before.get(key) != after.get(key) and _changeable(path):
                    previous[path] = before.get(key)
            continue
        path = _FACT_NAMES.get(name, name)
        if _changeable(path):
            previous[path] = change["from"] if path != "tags" else (change["from"] or [])
    return previous


def _changeable(path: str) -> bool:
    spec = field_spec(path)
    return spec is not None and spec.changeable


def _ticket_id(event: DomainEvent) -> uuid.UUID | None:
    ticket = event.data.get("ticket")
    if not isinstance(ticket, dict) or not ticket.get("id"):
        return None
    return uuid.UUID(str(ticket["id"]))


def _actor_name(event: DomainEvent) -> str:
    actor = event.data.get("actor")
    return str(actor.get("name") or "") if isinstance(actor, dict) else ""


async def with_automations_fired(
    session: AsyncSession, automations: Sequence[CompiledRule], ticket_id: uuid.UUID, facts: TicketFacts
) -> TicketFacts:
    """The facts with ``automations_fired``: the automations recorded in ``rule_runs`` for the
    ticket with their current anchor."""
    rows = await session.execute(
        select(RuleRun.rule_id, RuleRun.anchor).where(RuleRun.ticket_id == ticket_id)
    )
    recorded = {(str(rule_id), anchor) for rule_id, anchor in rows.all()}
    fired = frozenset(rule.id for rule in automations if (rule.id, anchor_key(rule, facts)) in recorded)
    return replace(facts, automations_fired=fired)


@dataclass(frozen=True)
class Seen:
    """What the rules see about a ticket: its facts, and the SLA clocks and business calendar they
    were answered with (when a rule reads them), for scheduling."""

    facts: TicketFacts
    sla: SlaView | None = None
    calendar: BusinessCalendar | None = None


async def current_facts(
    session: AsyncSession,
    rules: TenantRules,
    ticket_id: uuid.UUID,
    now: datetime,
    *,
    timer: bool,
    calendars: CalendarCache | None = None,
    base: TicketFacts | None = None,
    stored: TicketFacts | None = None,
) -> Seen:
    """What the rules see about a ticket at ``now``: its facts; the SLA percentages and
    ``within_business_hours`` when a rule reads them; and for time rules (``timer``) the automations
    already fired for their anchors. ``base``: facts this function answered a moment ago for the same
    ticket state (they are completed, not read again); ``stored``: the ticket's stored facts as
    ``read_facts`` answered them for the same ticket state (completed here, not read again)."""
    if base is not None:
        facts = base
    elif stored is not None:
        facts = replace(stored, now=now)
    else:
        facts = await read_facts(session, ticket_id, now=now)
    view = calendar = None
    if rules.reads_sla:
        view = await load_sla(session, ticket_id, calendars)
        facts = facts if base is not None else with_percents(facts, view)
    if rules.reads_business_hours:
        calendar = await tenant_calendar(session, calendars)
        facts = facts if base is not None else with_business_hours(facts, calendar)
    if timer and rules.automations:
        facts = await with_automations_fired(session, rules.automations, ticket_id, facts)
    return Seen(facts, view, calendar)


def rule_origin(firing: Firing) -> Origin:
    return Origin(RULE, firing.rule_id, firing.rule_name)


async def count_firing(uow: UnitOfWork, rule_id: str, at: datetime) -> None:
    """One UPDATE: the rule fired once more, at ``at``."""
    await uow.session.execute(
        update(Rule)
        .where(Rule.id == uuid.UUID(rule_id))
        .values(fired_count=Rule.fired_count + 1, last_fired_at=at)
        .execution_options(synchronize_session=False)
    )


class TriggerReactor:
    """Event triggers and time rules of the tenant's stored rules (see the module docstring)."""

    name = "automation"

    def __init__(self, ttl: float = DEFAULT_TTL) -> None:
        self.cache = RuleCache(ttl)
        self.calendars = CalendarCache()
        # Per unit of work: actor name of a rule's actions → the rules fired along that chain.
        self._chains: weakref.WeakKeyDictionary[UnitOfWork, dict[str, frozenset[str]]] = (
            weakref.WeakKeyDictionary()
        )
        # Per unit of work: tickets created in it (no ``rule_runs`` to look up).
        self._created: weakref.WeakKeyDictionary[UnitOfWork, set[uuid.UUID]] = weakref.WeakKeyDictionary()
        # Per unit of work: each ticket's stored facts, read once and kept until an event that can
        # change them (see ``FACT_NEUTRAL_EVENTS``) names the ticket.
        self._stored: weakref.WeakKeyDictionary[UnitOfWork, dict[uuid.UUID, TicketFacts]] = (
            weakref.WeakKeyDictionary()
        )

    async def applies(self, db: Database, tenant_id: uuid.UUID) -> bool:
        """Whether the tenant has active rules (triggers, or automations whose timers follow ticket
        changes). Answered from the cache when fresh."""
        cached = self.cache.peek(tenant_id)
        if cached is None:
            cached = await self.cache.load(db, tenant_id)
        return cached.active

    def invalidate(self, tenant_id: uuid.UUID | None = None) -> None:
        self.cache.invalidate(tenant_id)

    async def rules_for(self, uow: UnitOfWork) -> TenantRules:
        assert uow.tenant_id is not None
        return await self.cache.get(uow.session, uow.tenant_id)

    # --- triggers -----------------------------------------------------------------------------------

    async def react(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        if uow.tenant_id is None:
            return
        rules = await self.rules_for(uow)
        if not rules.active:
            return
        chains = self._chains.setdefault(uow, {})
        created = self._created.setdefault(uow, set())
        self._forget_changed(uow, events)
        # Tickets whose time rules need a new instant, with their facts when the trigger evaluation
        # left them current (no firing since), so scheduling need not read them again.
        touched: dict[uuid.UUID, TicketFacts | None] = {}
        for event in events:
            ticket_id = _ticket_id(event)
            if ticket_id is None:
                continue
            actor_name = _actor_name(event)
            if event.type == ev.TICKET_CREATED:
                created.add(ticket_id)  # no time rule has fired on it yet
            # A rule's own changes were scheduled for when the reactor applied them.
            if event.type in _SCHEDULE_EVENTS and not actor_name.startswith(RULE_ACTOR_PREFIX):
                touched.setdefault(ticket_id, None)
            triggering = triggering_event(event)
            if triggering is None or not rules.runs_on(triggering.type):
                continue
            facts, applied = await self._run_triggers(uow, rules, ticket_id, triggering, chains, actor_name)
            if applied:
                touched[ticket_id] = None
            elif ticket_id in touched:
                touched[ticket_id] = facts
        if rules.automations:
            for ticket_id, known in touched.items():
                await self.schedule(uow, rules, ticket_id, known, new=ticket_id in created)

    async def _run_triggers(
        self,
        uow: UnitOfWork,
        rules: TenantRules,
        ticket_id: uuid.UUID,
        triggering: TriggeringEvent,
        chains: dict[str, frozenset[str]],
        actor_name: str,
    ) -> tuple[TicketFacts, bool]:
        """Run the trigger rules for one event; answers the facts they saw and whether any firing
        was applied (then those facts are stale)."""
        fired_before = chains.get(actor_name, frozenset())
        now = utcnow()
        facts = (await self.facts(uow, rules, ticket_id, now)).facts
        result = evaluate(rules.rules, facts, triggering)
        applied = False
        for firing in result.firings:
            if firing.rule_id in fired_before:
                continue  # loop guard: this rule's own actions led here
            origin = rule_origin(firing)
            await apply_actions(uow, ticket_id, firing.actions, origin=origin, reason=firing.reason)
            self._stored.get(uow, {}).pop(ticket_id, None)
            await count_firing(uow, firing.rule_id, now)
            chain = chains.get(origin.actor_name, frozenset())
            chains[origin.actor_name] = chain | fired_before | {firing.rule_id}
            applied = True
        return facts, applied

    # --- time rules ---------------------------------------------------------------------------------

    def _forget_changed(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        """Drop the stored facts of every ticket an event may have changed (a customer event: all)."""
        stored = self._stored.get(uow)
        if not stored:
            return
        for event in events:
            if event.type in FACT_NEUTRAL_EVENTS:
                continue
            ticket_id = _ticket_id(event)
            if ticket_id is None:
                stored.clear()
                return
            stored.pop(ticket_id, None)

    async def _stored_facts(self, uow: UnitOfWork, ticket_id: uuid.UUID, now: datetime) -> TicketFacts:
        """The ticket's stored facts as this unit of work sees them: read once (flushed first), then
        answered from memory until an event changes them."""
        stored = self._stored.setdefault(uow, {})
        known = stored.get(ticket_id)
        if known is not None:
            return replace(known, now=now)
        await uow.session.flush()
        facts = stored[ticket_id] = await read_facts(uow.session, ticket_id, now=now)
        return facts

    async def facts(self, uow: UnitOfWork, rules: TenantRules, ticket_id: uuid.UUID, now: datetime) -> Seen:
        """The ticket's facts at ``now`` as this unit of work sees it (flushed first)."""
        stored = await self._stored_facts(uow, ticket_id, now)
        return await current_facts(
            uow.session, rules, ticket_id, now, timer=False, calendars=self.calendars, stored=stored
        )

    async def automation_facts(
        self,
        uow: UnitOfWork,
        rules: TenantRules,
        ticket_id: uuid.UUID,
        now: datetime,
        base: TicketFacts | None = None,
        *,
        new: bool = False,
    ) -> Seen:
        """The facts for time rules: with the automations already fired for their anchors (none on a
        ``new`` ticket, created in this unit of work)."""
        stored = None if base is not None else await self._stored_facts(uow, ticket_id, now)
        return await current_facts(
            uow.session,
            rules,
            ticket_id,
            now,
            timer=not new,
            calendars=self.calendars,
            base=base,
            stored=stored,
        )

    async def next_due(
        self,
        uow: UnitOfWork,
        rules: TenantRules,
        ticket_id: uuid.UUID,
        now: datetime,
        base: TicketFacts | None = None,
        *,
        new: bool = False,
    ) -> datetime | None:
        """When the ticket's time rules next need the sweep: now if an automation would fire already,
        else the next instant a time or SLA condition turns true, else never. ``base``: the ticket's
        current facts, when the caller has them."""
        seen = await self.automation_facts(uow, rules, ticket_id, now, base, new=new)
        facts = seen.facts
        if evaluate(rules.rules, facts, EventType.TIMER).firings:
            return now
        instants = [
            next_instant(rules.automations, facts),
            sla_next_instant(rules.automations, facts, seen.sla),
            next_business_start(rules.automations, facts, seen.calendar)
            if seen.calendar is not None
            else None,
        ]
        return min((at for at in instants if at is not None), default=None)

    async def schedule(
        self,
        uow: UnitOfWork,
        rules: TenantRules,
        ticket_id: uuid.UUID,
        facts: TicketFacts | None = None,
        *,
        new: bool = False,
    ) -> None:
        """Set the ticket's ``rules`` timer after a change. When an automation reads SLA facts the
        sweep works the instant out (due now): the SLA reactor runs after this one and may still pause,
        resume or start the clocks in this unit of work."""
        from huiliu.timers.service import set_timer

        now = facts.now if facts is not None and facts.now is not None else utcnow()
        due: datetime | None = now
        if not rules.automations_read_sla:
            due = await self.next_due(uow, rules, ticket_id, now, facts, new=new)
        await set_timer(uow, ticket_id, TIMER_KIND, due)

    async def run_time_rules(self, uow: UnitOfWork, ticket_id: uuid.UUID, now: datetime) -> datetime | None:
        """The ``rules`` timer handler: fire the automations that hold on the ticket now (each once
        per anchor, recorded in ``rule_runs``) and answer when to look again."""
        rules = await self.rules_for(uow)
        if not rules.automations:
            return None
        facts = (await self.automation_facts(uow, rules, ticket_id, now)).facts
        result = evaluate(rules.rules, facts, EventType.TIMER)
        compiled = {rule.id: rule for rule in rules.automations}
        for firing in result.firings:
            uow.session.add(
                RuleRun(
                    id=new_id(),
                    tenant_id=uow.tenant_id,
                    rule_id=uuid.UUID(firing.rule_id),
                    ticket_id=ticket_id,
                    anchor=anchor_key(compiled[firing.rule_id], facts),
                    fired_at=now,
                )
            )
            origin = rule_origin(firing)
            await apply_actions(uow, ticket_id, firing.actions, origin=origin, reason=firing.reason)
            self._stored.get(uow, {}).pop(ticket_id, None)
            await count_firing(uow, firing.rule_id, now)
        if result.firings:
            log.info("time rules fired on ticket %s: %s", ticket_id, ", ".join(result.fired_rule_ids))
        # What the firings changed may let another automation hold now: then the sweep looks again
        # shortly (never within the same sweep); the ones that fired are recorded and wait for a new
        # anchor.
        return await self.next_due(uow, rules, ticket_id, now)


def trigger_reactor(db: Database) -> TriggerReactor | None:
    """The database's trigger reactor, if one is registered."""
    for reactor in db.reactors:
        if isinstance(reactor, TriggerReactor):
            return reactor
    return None


def install(db: Database, ttl: float = DEFAULT_TTL) -> TriggerReactor:
    """Register the trigger reactor on ``db`` (once) and the ``rules`` timer handler; returns it.
    Call at start-up in the API and the worker, first among the reactors (automation, routing, SLA)."""
    from huiliu.timers.service import register_timer_handler

    reactor = trigger_reactor(db)
    if reactor is None:
        reactor = TriggerReactor(ttl)
        db.reactors.insert(0, reactor)
    register_timer_handler(TIMER_KIND, reactor.run_time_rules)
    return reactor


def invalidate_rules(db: Database, tenant_id: uuid.UUID) -> None:
    """Drop the tenant's compiled rules after a rule write (in this process; others within the TTL)."""
    reactor = trigger_reactor(db)
    if reactor is not None:
        reactor.invalidate(tenant_id)
