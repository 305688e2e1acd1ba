"""SLA in the unit of work (docs/decisions/0015) and on the timer sweep (docs/decisions/0016).

``SlaReactor.react`` sees a unit of work's ticket events before it commits: on ``ticket.created`` it
chooses the policy (the ticket template's policy when it names an active one, else the first active
one by position whose conditions hold) and starts the clocks;
status changes pause (``pending``, ``on_hold``), resume, stop (``resolved``, ``closed``) and reopen
them; the first public agent reply closes the first response, a customer message opens a next
response and the agent's reply closes it; a priority or category change chooses the policy again
and moves the deadlines (business time used is kept). Each time it stores the ticket's SLA row and
sets the ticket's ``"sla"`` timer to the next tier threshold.

``SlaReactor.handle_timer`` is the ``"sla"`` timer handler: it marks the thresholds reached (warning
below 100 %, breach at 100 %, escalation above), records an event for each naming the policy and runs
the tier's actions through ``automation.apply``."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from huiliu.auth.domain import Actor, system_actor
from huiliu.automation.apply import (
    SLA_TIER,
    BatchWrites,
    Origin,
    apply_actions,
    compile_actions,
    plan_actions,
)
from huiliu.automation.domain import TicketFacts
from huiliu.automation.domain.actions import ActionSpec
from huiliu.automation.loading import load_facts, read_facts_many
from huiliu.core import events as ev
from huiliu.core.clock import utcnow
from huiliu.core.errors import NotFound
from huiliu.core.events import DomainEvent
from huiliu.customers import queries as customer_queries
from huiliu.db.session import Database, TenantFlagCache, UnitOfWork
from huiliu.sla import queries
from huiliu.sla.domain import BusinessCalendar
from huiliu.sla.domain.policy import METRICS, PolicyRules, Tier, choose_policy, parse_policy_rules
from huiliu.sla.domain.ticket import (
    FIRST_RESPONSE,
    NEXT_RESPONSE,
    RESOLUTION,
    Crossing,
    TicketSlaState,
    crossings,
    from_json,
    mark_fired,
    metric_due_at,
    next_check,
    pause,
    reopen,
    restart,
    resume,
    retarget,
    start_state,
    stop,
    to_json,
    used_minutes,
)
from huiliu.sla.models import SlaPolicy, StoredCalendar, TicketSla
from huiliu.sla.row_writes import SlaRowWrites
from huiliu.ticket_templates import queries as template_queries
from huiliu.tickets import queries as ticket_queries
from huiliu.tickets import service as tickets
from huiliu.timers.service import set_timer

log = logging.getLogger("huiliu.sla")

TIMER_KIND = "sla"
PAUSING = frozenset({"pending", "on_hold"})
CLOSING = frozenset({"resolved", "closed"})
SLA_APPLIED = "sla.applied"
SLA_POLICY_CHANGED = "sla.policy_changed"
SLA_WARNING = "sla.warning"
SLA_BREACHED = "sla.breached"
SLA_ESCALATED = "sla.escalated"
REACTS_TO = frozenset(
    {
        ev.TICKET_CREATED,
        ev.TICKET_UPDATED,
        ev.TICKET_STATUS_CHANGED,
        ev.TICKET_REOPENED,
        ev.TICKET_MESSAGE_ADDED,
    }
)
METRIC_LABELS = {FIRST_RESPONSE: "首次响应", NEXT_RESPONSE: "下次响应", RESOLUTION: "解决"}
MAX_CACHED_CALENDARS = 256


NO_RULES = PolicyRules((), {}, ())


def _parse(policy: SlaPolicy) -> PolicyRules:
    return parse_policy_rules(policy.conditions, policy.targets, policy.tiers)


@dataclass(frozen=True)
class PolicyView:
    """What the reactor and the timer handler need of a stored policy."""

    id: uuid.UUID
    name: str
    active: bool
    calendar_id: uuid.UUID | None
    rules: PolicyRules


@dataclass(frozen=True)
class TenantSla:
    """A tenant's SLA configuration as values: every policy by id, the active ones in matching
    order, and the built calendars (``None``: the tenant's default, else the built-in default)."""

    policies: dict[uuid.UUID, PolicyView]
    active: list[tuple[PolicyView, PolicyRules]]
    calendars: dict[uuid.UUID | None, BusinessCalendar]
    # Compiled tier actions by (policy, percent), filled on first use (the sweep fires the same
    # tiers for many tickets).
    compiled_tiers: dict[tuple[uuid.UUID, int], tuple[ActionSpec, ...]] = field(default_factory=dict)

    def tier_actions(self, policy: PolicyView, tier: Tier) -> tuple[ActionSpec, ...]:
        key = (policy.id, tier.percent)
        specs = self.compiled_tiers.get(key)
        if specs is None:
            specs = self.compiled_tiers[key] = compile_actions(list(tier.actions))
        return specs

    def calendar_for(self, policy: PolicyView | None) -> BusinessCalendar:
        if policy is not None and policy.calendar_id in self.calendars:
            return self.calendars[policy.calendar_id]
        return self.calendars[None]


class CalendarCache:
    """Built calendars by stored row and version: a calendar keeps its computed months, so deadline
    math on it stays cheap across tickets."""

    def __init__(self) -> None:
        self._values: dict[tuple[uuid.UUID | None, datetime | None], BusinessCalendar] = {}

    def get(self, row: StoredCalendar | None) -> BusinessCalendar:
        key = (row.id, row.updated_at) if row is not None else (None, None)
        value = self._values.get(key)
        if value is None:
            if len(self._values) >= MAX_CACHED_CALENDARS:
                self._values.clear()
            value = self._values[key] = queries.calendar_value(row)
        return value


@dataclass
class _Ticket:
    """What one reaction knows about one ticket while it applies its events."""

    ticket: Any
    row: TicketSla | None
    policy: PolicyView | None
    rules: PolicyRules
    calendar: BusinessCalendar
    state: TicketSlaState | None


@dataclass
class _Due:
    """A ticket on the timer sweep: its SLA, the thresholds it watches and the ones reached now;
    ``acts``: whether a reached threshold's tier has actions (they need the ticket's facts)."""

    config: TenantSla
    current: _Ticket
    thresholds: tuple[int, ...]
    crossings: list[Crossing]
    acts: bool


class SlaReactor:
    name = "sla"

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self.flags = TenantFlagCache(ttl)
        self.calendars = CalendarCache()
        # Per tenant: (monotonic expiry, configuration); dropped with the flag on configuration writes.
        self._configs: dict[uuid.UUID, tuple[float, TenantSla]] = {}

    def invalidate(self, tenant_id: uuid.UUID) -> None:
        """Forget the tenant's flag and configuration (after a calendar or policy write)."""
        self.flags.invalidate(tenant_id)
        self._configs.pop(tenant_id, None)

    async def config(self, uow: UnitOfWork) -> TenantSla:
        """The tenant's policies and calendars, read at most once per ``ttl`` seconds (two queries)."""
        assert uow.tenant_id is not None
        hit = self._configs.get(uow.tenant_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        views = [
            PolicyView(row.id, row.name, row.active, row.calendar_id, _parse(row))
            for row in await queries.list_policies(uow.session)
        ]
        rows = await queries.list_calendars(uow.session)
        calendars: dict[uuid.UUID | None, BusinessCalendar] = {
            row.id: self.calendars.get(row) for row in rows
        }
        default = next((row for row in rows if row.is_default), None)
        calendars[None] = self.calendars.get(default)
        value = TenantSla(
            {view.id: view for view in views},
            [(view, view.rules) for view in views if view.active],
            calendars,
        )
        self._configs[uow.tenant_id] = (time.monotonic() + self.ttl, value)
        return value

    # -- Reactor ------------------------------------------------------------------------------------

    async def applies(self, db: Database, tenant_id: uuid.UUID) -> bool:
        """True when the tenant has an active SLA policy (cached, see ``TenantFlagCache``)."""

        async def load() -> bool:
            async with db.read(tenant_id) as session:
                return await queries.has_active_policy(session)

        return await self.flags.load(tenant_id, load)

    async def react(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        mine = [e for e in events if e.type in REACTS_TO and e.tenant_id == uow.tenant_id]
        if not mine or uow.tenant_id is None or not await self.applies(uow.db, uow.tenant_id):
            return
        by_ticket: dict[uuid.UUID, list[DomainEvent]] = {}
        for event in mine:
            by_ticket.setdefault(uuid.UUID(event.data["ticket"]["id"]), []).append(event)
        actor = system_actor(uow.tenant_id, "sla")
        config = await self.config(uow)
        for ticket_id, ticket_events in by_ticket.items():
            await self._react_ticket(uow, actor, ticket_id, ticket_events, config)

    async def _react_ticket(
        self,
        uow: UnitOfWork,
        actor: Actor,
        ticket_id: uuid.UUID,
        events: list[DomainEvent],
        config: TenantSla,
    ) -> None:
        try:
            ticket = await ticket_queries.get_visible_ticket(uow.session, actor, ticket_id)
        except NotFound:
            return
        if any(e.type == ev.TICKET_CREATED for e in events):
            # Created in this unit of work: nobody else sees the ticket yet, and an SLA row of it can
            # only be one this reactor added (still in the session).
            row = uow.session.sync_session.identity_map.get(
                uow.session.sync_session.identity_key(TicketSla, ticket_id)
            )
        else:
            row = await uow.session.get(TicketSla, ticket_id, with_for_update=True)
            if row is None:
                return
        current = self._load(config, ticket, row)
        changed = False
        for event in events:
            changed |= await self._apply(uow, actor, current, event, config)
        if changed and current.row is not None and current.state is not None:
            self._store(current, utcnow())
            await set_timer(
                uow,
                ticket_id,
                TIMER_KIND,
                next_check(current.calendar, current.state, current.rules.thresholds()),
            )

    @staticmethod
    def _load(config: TenantSla, ticket: Any, row: TicketSla | None) -> _Ticket:
        policy = config.policies.get(row.policy_id) if row is not None and row.policy_id else None
        state = from_json(row.clocks, paused=row.paused) if row is not None else None
        rules = policy.rules if policy is not None else NO_RULES
        return _Ticket(ticket, row, policy, rules, config.calendar_for(policy), state)

    async def _facts(
        self, uow: UnitOfWork, ticket: Any, policies: list[tuple[PolicyView, PolicyRules]]
    ) -> dict[str, str | None]:
        facts: dict[str, str | None] = {
            "priority": ticket.priority,
            "category": ticket.category,
            "channel": ticket.channel,
            "customer_level": None,
        }
        wants_level = any(c.field == "customer_level" for _, rules in policies for c in rules.conditions)
        if wants_level and ticket.customer_id is not None:
            with contextlib.suppress(NotFound):
                customer = await customer_queries.get_customer(uow.session, ticket.customer_id)
                facts["customer_level"] = customer.level
        return facts

    async def _apply(
        self,
        uow: UnitOfWork,
        actor: Actor,
        current: _Ticket,
        event: DomainEvent,
        config: TenantSla,
    ) -> bool:
        at = event.occurred_at
        if event.type == ev.TICKET_CREATED:
            return await self._start(uow, actor, current, at, config, _as_id(event.data.get("sla_policy_id")))
        state = current.state
        if state is None:
            return False
        changes = event.data.get("changes", {})
        if event.type in (ev.TICKET_STATUS_CHANGED, ev.TICKET_REOPENED) and "status" in changes:
            before, after = changes["status"].get("from"), changes["status"].get("to")
            state = self._status(current, state, before, after, at)
        elif event.type == ev.TICKET_MESSAGE_ADDED:
            state = self._message(current, state, event.data.get("message") or {}, at)
        elif event.type == ev.TICKET_UPDATED and ({"priority", "category"} & set(changes)):
            return await self._rechoose(uow, actor, current, at, config)
        else:
            return False
        current.state = state
        return True

    async def _start(
        self,
        uow: UnitOfWork,
        actor: Actor,
        current: _Ticket,
        at: datetime,
        config: TenantSla,
        template_policy: uuid.UUID | None = None,
    ) -> bool:
        if current.row is not None:
            return False
        chosen = _active(config, template_policy) or choose_policy(
            config.active, await self._facts(uow, current.ticket, config.active)
        )
        if chosen is None:
            return False
        policy, rules = chosen
        targets = rules.targets_for(current.ticket.priority)
        current.policy, current.rules = policy, rules
        current.calendar = config.calendar_for(policy)
        current.state = start_state(targets, at, paused=current.ticket.status in PAUSING)
        current.row = TicketSla(
            ticket_id=current.ticket.id,
            tenant_id=uow.tenant_id,
            policy_id=policy.id,
            policy_name=policy.name,
            priority=current.ticket.priority,
            next_response_breaches=0,
            first_response_breached=False,
            next_response_breached=False,
            resolution_breached=False,
            created_at=at,
        )
        uow.session.add(current.row)
        tickets.record(
            uow,
            actor,
            current.ticket,
            SLA_APPLIED,
            {"sla_policy": {"from": None, "to": policy.name}},
            reason=f"SLA policy 「{policy.name}」 applies",
            extra={"sla": {"policy_id": policy.id, "targets": targets}},
        )
        return True

    def _status(
        self, current: _Ticket, state: TicketSlaState, before: str | None, after: str | None, at: datetime
    ) -> TicketSlaState:
        calendar = current.calendar
        # The clocks follow the status the ticket is in now (a resolved ticket reopened from pending runs).
        if after in PAUSING and not state.paused:
            state = pause(calendar, state, at)
        elif after not in PAUSING and state.paused:
            state = resume(state, at)
        if after in CLOSING:
            for name in METRICS:
                state = self._close(current, state, name, at)
        elif before in CLOSING:
            state = reopen(state, RESOLUTION, at)
        return state

    def _message(
        self, current: _Ticket, state: TicketSlaState, message: dict[str, Any], at: datetime
    ) -> TicketSlaState:
        if not message.get("public", True):
            return state
        author = message.get("author_kind")
        if author == "agent":
            state = self._close(current, state, FIRST_RESPONSE, at)
            return self._close(current, state, NEXT_RESPONSE, at)
        if author != "customer":
            return state
        first = state.metric(FIRST_RESPONSE)
        following = state.metric(NEXT_RESPONSE)
        target = current.rules.targets_for(current.ticket.priority).get(NEXT_RESPONSE)
        if (
            target is None
            or (first is not None and first.active)
            or (following is not None and following.active)
        ):
            return state
        if current.ticket.status in CLOSING:
            return state
        return restart(state, NEXT_RESPONSE, target, at)

    def _close(self, current: _Ticket, state: TicketSlaState, name: str, at: datetime) -> TicketSlaState:
        metric = state.metric(name)
        if metric is None or not metric.active:
            return state
        state = stop(current.calendar, state, name, at)
        closed = state.metrics[name]
        row = current.row
        assert row is not None
        minutes = round(used_minutes(current.calendar, closed, at), 2)
        if name == FIRST_RESPONSE:
            row.first_response_met = closed.breached_at is None
            row.first_response_minutes = minutes
        elif name == RESOLUTION:
            row.resolution_met = closed.breached_at is None
            row.resolution_minutes = minutes
        return state

    async def _rechoose(
        self,
        uow: UnitOfWork,
        actor: Actor,
        current: _Ticket,
        at: datetime,
        config: TenantSla,
    ) -> bool:
        assert current.row is not None and current.state is not None
        chosen = _active(config, await _template_policy(uow, current.ticket)) or choose_policy(
            config.active, await self._facts(uow, current.ticket, config.active)
        )
        if chosen is None and current.policy is None:
            return False
        policy, rules = chosen if chosen is not None else (current.policy, current.rules)
        assert policy is not None
        ticket = current.ticket
        targets = rules.targets_for(ticket.priority)
        if policy.id != current.row.policy_id:
            current.calendar = config.calendar_for(policy)
            tickets.record(
                uow,
                actor,
                ticket,
                SLA_POLICY_CHANGED,
                {"sla_policy": {"from": current.row.policy_name, "to": policy.name}},
                reason=f"SLA policy 「{policy.name}」 applies now (priority {ticket.priority})",
                extra={"sla": {"policy_id": policy.id, "targets": targets}},
            )
        start_missing = []
        if ticket.first_response_at is None:
            start_missing.append(FIRST_RESPONSE)
        if ticket.status not in CLOSING:
            start_missing.append(RESOLUTION)
        current.state = retarget(current.calendar, current.state, targets, at, start_missing=start_missing)
        current.policy, current.rules = policy, rules
        current.row.policy_id, current.row.policy_name = policy.id, policy.name
        current.row.priority = ticket.priority
        return True

    def _store(self, current: _Ticket, now: datetime) -> None:
        row = current.row
        assert row is not None
        for key, value in _row_values(current, now).items():
            setattr(row, key, value)

    # -- timer handler ------------------------------------------------------------------------------

    async def handle_timer(self, uow: UnitOfWork, ticket_id: uuid.UUID, now: datetime) -> datetime | None:
        """Act on the thresholds the ticket's SLA clocks reached by ``now``; return when to look next."""
        assert uow.tenant_id is not None
        found = await queries.ticket_sla_for_update(uow.session, ticket_id)
        if found is None:
            return None
        row, ticket = found
        return await self._handle_loaded(uow, await self.config(uow), row, ticket, now)

    async def handle_timers(
        self, uow: UnitOfWork, ticket_ids: Sequence[uuid.UUID], now: datetime
    ) -> dict[uuid.UUID, datetime | None]:
        """``handle_timer`` for several tickets of one tenant in one unit of work: their SLA rows and
        tickets are read (and locked) in one statement, their writes flushed together."""
        assert uow.tenant_id is not None
        config = await self.config(uow)
        found = await queries.ticket_slas_for_update(uow.session, ticket_ids)
        nexts: dict[uuid.UUID, datetime | None] = dict.fromkeys(ticket_ids)
        due = [self._due(config, row, ticket, now) for row, ticket in found]
        # The facts of every ticket whose tier has actions, read together before anything changes
        # (four statements for the batch, not four per ticket after a flush each).
        wanted = [item.current.ticket.id for item in due if item.acts]
        facts = await read_facts_many(uow.session, wanted, now=now) if wanted else {}
        # The batch's events and notifications go in with one INSERT per table at the end (one
        # statement for both on PostgreSQL), and there its SLA rows with one UPDATE.
        batch = BatchWrites(uow)
        rows = SlaRowWrites(uow.session, uow.tenant_id) if uow.dialect == "postgresql" else None
        for item in due:
            ticket_id = item.current.ticket.id
            nexts[ticket_id] = await self._act(uow, item, now, facts.get(ticket_id), batch, rows)
        await batch.write()
        if rows is not None:
            await rows.write()
        return nexts

    async def _handle_loaded(
        self, uow: UnitOfWork, config: TenantSla, row: TicketSla, ticket: Any, now: datetime
    ) -> datetime | None:
        return await self._act(uow, self._due(config, row, ticket, now), now, None, None)

    def _due(self, config: TenantSla, row: TicketSla, ticket: Any, now: datetime) -> _Due:
        current = self._load(config, ticket, row)
        assert current.state is not None
        thresholds = current.rules.thresholds()
        found = crossings(current.calendar, current.state, thresholds, now)
        acts = current.policy is not None and any(
            (tier := current.rules.tier(crossing.percent)) is not None and tier.actions for crossing in found
        )
        return _Due(config, current, thresholds, found, acts)

    async def _act(
        self,
        uow: UnitOfWork,
        due: _Due,
        now: datetime,
        facts: TicketFacts | None,
        batch: BatchWrites | None,
        rows: SlaRowWrites | None = None,
    ) -> datetime | None:
        """Fire the thresholds ``due`` found; ``facts``: the ticket's facts read before any change in
        this unit of work (for the first tier with actions; a later one reads them again, after what
        the earlier tiers' actions changed); ``rows``: where the SLA row goes (else the ORM)."""
        assert uow.tenant_id is not None
        actor = system_actor(uow.tenant_id, "sla")
        current = due.current
        assert current.state is not None
        for crossing in due.crossings:
            current.state = mark_fired(current.state, crossing)
            if await self._fire(uow, actor, due.config, current, crossing, now, facts, batch):
                facts = None
        if due.crossings and rows is not None:
            assert current.row is not None
            rows.store(current.row, _row_values(current, now))
        elif due.crossings:
            self._store(current, now)
        assert current.state is not None
        return next_check(current.calendar, current.state, due.thresholds)

    async def _fire(
        self,
        uow: UnitOfWork,
        actor: Actor,
        config: TenantSla,
        current: _Ticket,
        crossing: Crossing,
        now: datetime,
        facts: TicketFacts | None = None,
        batch: BatchWrites | None = None,
    ) -> bool:
        """Record the threshold's event and run its tier's actions; True when actions ran."""
        row = current.row
        assert row is not None and current.state is not None
        metric = current.state.metrics[crossing.metric]
        name = row.policy_name or "SLA"
        if crossing.percent < 100:
            event_type = SLA_WARNING
        elif crossing.percent == 100:
            event_type = SLA_BREACHED
            if crossing.metric == NEXT_RESPONSE:
                row.next_response_breaches += 1
        else:
            event_type = SLA_ESCALATED
        target = metric.clock.target_minutes
        tier = current.rules.tier(crossing.percent)
        planned: list[Any] = []
        origin: Origin | None = None
        if tier is not None and tier.actions and current.policy is not None:
            origin = Origin(
                SLA_TIER,
                f"{current.policy.id}:{crossing.metric}:{crossing.percent}",
                f"{name} {METRIC_LABELS[crossing.metric]} {crossing.percent} %",
            )
            # Facts before this threshold's own event is queued: nothing new to flush for them.
            if facts is None:
                facts = await load_facts(uow, current.ticket.id, now=now)
            planned = plan_actions(config.tier_actions(current.policy, tier), facts, origin=origin)
        recorder = batch.events.record if batch is not None else functools.partial(tickets.record, uow)
        recorder(
            actor,
            current.ticket,
            event_type,
            {"sla": {"metric": crossing.metric, "percent": crossing.percent}},
            reason=f"SLA policy 「{name}」: {crossing.metric} reached {crossing.percent} % "
            f"of {target} business minutes",
            extra={
                "sla": {
                    "policy_id": row.policy_id,
                    "metric": crossing.metric,
                    "percent": crossing.percent,
                    "at": crossing.at,
                    "target_minutes": target,
                }
            },
        )
        if origin is None:
            return False
        await apply_actions(uow, current.ticket.id, planned, origin=origin, batch=batch)
        return True


# Per metric: its deadline, breach flag and breach instant columns.
_METRIC_COLUMNS = {name: (f"{name}_due_at", f"{name}_breached", f"{name}_breached_at") for name in METRICS}


def _row_values(current: _Ticket, now: datetime) -> dict[str, Any]:
    """The SLA row's columns for the ticket's clocks now (``row_writes.COLUMNS``)."""
    row, state, calendar = current.row, current.state, current.calendar
    assert row is not None and state is not None
    values: dict[str, Any] = {"clocks": to_json(state), "paused": state.paused}
    next_due: datetime | None = None
    for name, (due_column, breached_column, breached_at_column) in _METRIC_COLUMNS.items():
        metric = state.metric(name)
        due = metric_due_at(calendar, metric) if metric is not None else None
        breached_at = metric.breached_at if metric is not None else None
        values[due_column] = due
        values[breached_column] = breached_at is not None
        values[breached_at_column] = breached_at
        if due is not None and (next_due is None or due < next_due):
            next_due = due
    values["next_due_at"] = next_due
    values["next_response_breaches"] = row.next_response_breaches
    values["updated_at"] = now
    return values


def _as_id(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _active(config: TenantSla, policy_id: uuid.UUID | None) -> tuple[PolicyView, PolicyRules] | None:
    """The policy a ticket template names, when it is an active policy of the tenant: it applies
    whatever the conditions say (an inactive or deleted one leaves the choice to the conditions)."""
    view = config.policies.get(policy_id) if policy_id is not None else None
    return (view, view.rules) if view is not None and view.active else None


async def _template_policy(uow: UnitOfWork, ticket: Any) -> uuid.UUID | None:
    """The SLA policy of the template version the ticket pinned, if any (priority or category changes
    keep a template's policy; only its targets follow the new priority)."""
    version_id = getattr(ticket, "template_version_id", None)
    if version_id is None:
        return None
    try:
        version = await template_queries.version_by_id(uow.session, version_id)
    except NotFound:
        return None
    return version.sla_policy_id


def sla_reactor(db: Database) -> SlaReactor | None:
    return next((reactor for reactor in db.reactors if isinstance(reactor, SlaReactor)), None)


def install(db: Database, ttl: float = 2.0) -> SlaReactor:
    """Register the SLA reactor on ``db`` (once, last among the reactors: automation, routing, SLA) and
    the ``"sla"`` timer handler; returns it. Call at start-up in the API and the worker."""
    from huiliu.timers.service import register_timer_handler

    reactor = sla_reactor(db)
    if reactor is None:
        reactor = SlaReactor(ttl)
        db.reactors.append(reactor)
    register_timer_handler(TIMER_KIND, reactor.handle_timer, batch=reactor.handle_timers)
    return reactor
