"""The intake pipeline: every inbound message, from any channel, becomes a ticket change in one
transaction (DESIGN.md §2, docs/intake.md).

For each message, in order: refuse malformed input; answer a repeat of an external message with what
the first delivery made (idempotency on tenant + channel + external id); resolve the sender to one
customer (``customers.service.resolve_identities``); pick where it goes (``domain.choose_route``: reply
reference, device alarm, duplicate folding, thread window, or a new ticket with the entry point's
defaults); extract entities; then write through ``tickets.service`` (the only writer of tickets), link
extracted order numbers, record events and outbox rows, commit.

``ingest_many`` does this for a batch with a constant number of statements for the look-ups and the
writes, identity resolution included (``customers.service.resolve_identities_many``; a message that
needs an automatic merge takes the per-message path). One message's problem (a
malformed identity, an unknown entry point, an unusable attachment) is reported for that message and
the rest go through. Races are settled by the database, never by luck:

- the same external message delivered twice at once: the unique index on messages (tenant, channel,
  external id) lets only one insert through; the other transaction rolls back, looks again and answers
  a repeat;
- two messages of one customer (or one device alarm) at once: on PostgreSQL a transaction-scoped
  advisory lock per customer and per alarm key serialises the decision (thread onto the ticket the
  first one opened, not a second ticket); on SQLite the transaction takes the database's write lock
  before it looks.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from huiliu.auth.domain import Actor
from huiliu.auth.service import check_assignable
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, HuiliuError, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.customers.domain import IdentityClaim
from huiliu.customers.service import (
    PG_INSERT_NEW,
    IdentityTaken,
    NewCustomers,
    ResolutionFailed,
    owners_from_rows,
    pg_insert_new_params,
    plan_identities_many,
    resolve_identities_many,
)
from huiliu.db.session import UnitOfWork
from huiliu.intake import queries
from huiliu.intake.domain import (
    Alarm,
    Deferred,
    EntryPointRules,
    InboundMessage,
    IngestOutcome,
    IngestResult,
    IntakeDefaults,
    RecentMessage,
    Route,
    TicketRef,
    alarm_of,
    check_message,
    choose_route,
    fold_key,
    normalized_identities,
    title_from_text,
)
from huiliu.intake.extraction import Entity, extract_entities, order_numbers
from huiliu.orders import queries as order_queries
from huiliu.orders.domain import normalize_order_number
from huiliu.orders.lookup import OrderLookup
from huiliu.orders.service import link_extracted_orders
from huiliu.settings import Settings
from huiliu.tickets import inbound as tickets
from huiliu.tickets.domain import Priority, Status

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
# Concurrent deliveries of the same message, or deadlocks between batches, make a transaction start
# over; after this many tries the caller gets a 409 and may retry later.
MAX_RACE_RETRIES = 4
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
# PostgreSQL: the transaction's look-ups go in two psycopg pipelines (``queries.pg_first_look`` and
# ``queries.pg_decision_reads``, decision 0056) rather than one ORM statement each. Tests switch it
# off to compare the rows both ways write.
PG_PIPELINED_READS = True
# PostgreSQL: a group takes an advisory lock per sender identity before it looks up identity owners,
# so two transactions (of two API processes) with a message from the same new customer do not both
# create that customer — the second waits for the first to commit, then finds the customer (decision
# 0064) — instead of the second starting over. Up to this many identities; a larger batch relies on
# starting over (each lock holds a slot of PostgreSQL's shared lock table until commit).
MAX_IDENTITY_LOCKS = 128

IngestAnswer = IngestResult | HuiliuError


@dataclass(frozen=True)
class _Item:
    index: int
    message: InboundMessage
    identities: list[IdentityClaim]
    alarm: Alarm | None
    # Extracted before the transaction (pure): the order numbers among them are looked up with the
    # transaction's first reads.
    entities: list[Entity]

    @property
    def key(self) -> tuple[str, str] | None:
        external_id = self.message.external_id
        return (self.message.channel, external_id) if external_id is not None else None

    @property
    def reply_key(self) -> tuple[str, str] | None:
        reply_to = self.message.reply_to_external_id
        return (self.message.channel, reply_to) if reply_to else None


@dataclass(frozen=True)
class _Placed:
    """Where one message went in this attempt."""

    ticket_id: uuid.UUID
    number: int | None  # None: a new ticket, numbered when stored
    outcome: IngestOutcome
    message_id: uuid.UUID
    customer_id: uuid.UUID | None
    orders: list[str]


class _ItemFailed(Exception):
    def __init__(self, index: int, error: HuiliuError) -> None:
        super().__init__(error.detail)
        self.index = index
        self.error = error


class _StartOver(Exception):
    """Something another transaction did meanwhile (see the module docstring): roll back, look again."""


def defaults_from(settings: Settings) -> IntakeDefaults:
    """The windows for entry points that set none (``HUILIU_INTAKE_THREAD_WINDOW_HOURS``,
    ``HUILIU_INTAKE_FOLD_WINDOW_MINUTES``). Channel adapters pass this to ``ingest``."""
    return IntakeDefaults(
        thread_window=timedelta(hours=settings.intake_thread_window_hours),
        fold_window=timedelta(minutes=settings.intake_fold_window_minutes),
    )


async def ingest(
    uow: UnitOfWork,
    actor: Actor,
    message: InboundMessage,
    *,
    defaults: IntakeDefaults | None = None,
    order_lookup: OrderLookup | None = None,
) -> IngestResult:
    """Take one inbound message into the ticket pool and commit (see the module docstring).

    ``defaults`` are the windows for entry points that set none (from settings, see the API);
    ``order_lookup`` the ERP look-up for extracted order numbers unknown locally (``runtime.order_lookup``).
    Raises ValidationFailed for a message intake cannot take (nothing is written then) and
    PermissionDenied when ``actor`` may not create tickets."""
    [answer] = await ingest_many(uow, actor, [message], defaults=defaults, order_lookup=order_lookup)
    if isinstance(answer, HuiliuError):
        raise answer
    return answer


async def ingest_many(
    uow: UnitOfWork,
    actor: Actor,
    messages: Sequence[InboundMessage],
    *,
    defaults: IntakeDefaults | None = None,
    order_lookup: OrderLookup | None = None,
    defer_contended: bool = False,
) -> list[IngestAnswer]:
    """Take a batch of inbound messages in one transaction and commit. Returns one answer per message,
    in order: an ``IngestResult``, or the error that kept that message out (nothing of it written).

    Later messages see earlier ones of the same batch: a customer's second message threads onto the
    ticket their first one opened, a repeat of an external id in the batch answers a repeat."""
    actor.require("ticket.create")
    if len(messages) > MAX_BATCH:
        raise ValidationFailed(f"a batch holds at most {MAX_BATCH} messages")
    defaults = defaults or IntakeDefaults()
    errors: dict[int, HuiliuError] = {}
    items: list[_Item] = []
    for index, message in enumerate(messages):
        try:
            check_message(message)
            items.append(
                _Item(
                    index,
                    message,
                    normalized_identities(message),
                    alarm_of(message),
                    extract_entities(message.text),
                )
            )
        except HuiliuError as exc:
            errors[index] = exc
    races = 0
    while True:
        live = [item for item in items if item.index not in errors]
        try:
            answers = await _attempt(uow, actor, live, errors, defaults, order_lookup, defer_contended)
            break
        except _ItemFailed as failed:
            await _roll_back(uow)
            errors[failed.index] = failed.error
        except _StartOver:
            await _roll_back(uow)
            races += 1
            if races > MAX_RACE_RETRIES:
                raise Conflict("these messages are being delivered concurrently; retry shortly") from None
    return [errors[i] if i in errors else answers[i] for i in range(len(messages))]


async def _roll_back(uow: UnitOfWork) -> None:
    """End a failed attempt: roll the transaction back and drop what it queued for after commit (an
    auto-merge of customers during identity resolution records ticket events, for example), so the
    next attempt starts from nothing. ``UnitOfWork`` has no public rollback that discards its queue."""
    await uow.session.rollback()
    uow._events.clear()
    uow._to_publish.clear()
    uow._after_commit.clear()


async def _attempt(
    uow: UnitOfWork,
    actor: Actor,
    items: list[_Item],
    errors: dict[int, HuiliuError],
    defaults: IntakeDefaults,
    order_lookup: OrderLookup | None,
    defer_contended: bool = False,
) -> dict[int, IngestResult]:
    try:
        return await _run(uow, actor, items, errors, defaults, order_lookup, defer_contended)
    except tickets.DeliveredConcurrently as exc:
        raise _StartOver from exc
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            raise _StartOver from exc
        raise
    except psycopg.Error as exc:  # from the pipelined look-ups, which bypass SQLAlchemy
        if exc.sqlstate in RETRYABLE_SQLSTATES:
            raise _StartOver from exc
        raise


async def _run(
    uow: UnitOfWork,
    actor: Actor,
    items: list[_Item],
    errors: dict[int, HuiliuError],
    defaults: IntakeDefaults,
    order_lookup: OrderLookup | None,
    defer_contended: bool = False,
) -> dict[int, IngestResult]:
    session = uow.session
    now = utcnow()
    if not items:
        return {}
    await tickets.hold_write_lock(uow)
    first_look = await _first_look(uow, items, defaults, order_lookup, defer_contended)
    answers: dict[int, IngestResult] = {}
    if first_look is not None and first_look.contended:
        # Another transaction holds an identity of these senders: those messages wait for a later
        # transaction (which will find what that one wrote) instead of this one waiting for it.
        deferred = _contended(uow, items, first_look.contended)
        for item in deferred:
            errors[item.index] = Deferred()
        left_for_later = {item.index for item in deferred}
        items = [item for item in items if item.index not in left_for_later]
        if not items:
            # Nothing to write: end the transaction (its locks) with a commit — a rollback would make
            # psycopg drop the connection's prepared statements.
            await uow.commit()
            return answers

    # Entry points: of this tenant, active.
    if first_look is not None:
        rules = first_look.entry_points
    else:
        rules = await queries.entry_point_rules(
            session, [i.message.entry_point_id for i in items if i.message.entry_point_id], defaults
        )
    live: list[_Item] = []
    for item in items:
        entry_point_id = item.message.entry_point_id
        if entry_point_id is not None and entry_point_id not in rules:
            errors[item.index] = ValidationFailed(
                "entry_point_id does not name an entry point of this tenant"
            )
        elif entry_point_id is not None and not rules[entry_point_id].is_active:
            errors[item.index] = ValidationFailed("this entry point is disabled")
        elif entry_point_id is not None and item.message.channel != rules[entry_point_id].channel:
            # Messages and tickets from an entry point carry its channel.
            message = replace(item.message, channel=rules[entry_point_id].channel)
            live.append(replace(item, message=message))
        else:
            live.append(item)
    teams = await _usable_teams(uow, rules.values())

    # Idempotency: a message stored before (or earlier in this batch) is a repeat.
    keys = {item.key for item in live if item.key} | {item.reply_key for item in live if item.reply_key}
    if first_look is not None:
        found = {key: first_look.delivered[key] for key in keys if key in first_look.delivered}
    else:
        found = await queries.delivered(session, keys)
    first_in_batch: dict[tuple[str, str], int] = {}
    repeats: dict[int, int] = {}
    to_process: list[_Item] = []
    for item in live:
        key = item.key
        if key is not None and key in found:
            seen = found[key]
            answers[item.index] = IngestResult(
                seen.ticket_id, seen.ticket_number, IngestOutcome.REPEAT, seen.message_id
            )
        elif key is not None and key in first_in_batch:
            repeats[item.index] = first_in_batch[key]
        else:
            if key is not None:
                first_in_batch[key] = item.index
            to_process.append(item)

    # Reply references: the replied-to message's ticket (or the ticket it was merged into) unless closed.
    merged_into = await queries.tickets_by_id(
        session, {d.merged_into_id for d in found.values() if d.merged_into_id is not None}
    )
    reply_targets: dict[int, TicketRef] = {}
    known_numbers: dict[uuid.UUID, int] = {}
    for item in to_process:
        replied = found.get(item.reply_key) if item.reply_key else None
        if replied is None:
            continue
        target = TicketRef(replied.ticket_id, replied.ticket_status, None, now)
        number = replied.ticket_number
        if replied.merged_into_id is not None and replied.merged_into_id in merged_into:
            merged = merged_into[replied.merged_into_id]
            target, number = TicketRef(merged.id, merged.status, merged.entry_point_id, now), merged.number
        if target.status != Status.CLOSED.value:
            reply_targets[item.index] = target
            known_numbers[target.id] = number

    # Identity: one customer behind the sender's identities, for the whole batch at once.
    senders = [(item.message.sender_name, item.identities) for item in to_process]
    new_customers = NewCustomers([], [])
    try:
        if first_look is not None:
            # PostgreSQL: the new customers are written in the next pipeline, with the locks.
            claims = [claim for item in to_process for claim in item.identities]
            owners = await owners_from_rows(uow, claims, first_look.owner_rows)
            resolutions, new_customers = await plan_identities_many(uow, senders, actor=actor, owners=owners)
        else:
            resolutions = await resolve_identities_many(uow, senders, actor=actor)
    except ResolutionFailed as failed:
        raise _ItemFailed(to_process[failed.position].index, failed.error) from failed
    except IdentityTaken as exc:
        raise _StartOver from exc
    customers: dict[int, uuid.UUID | None] = {}
    # Customers created in this transaction: nothing of theirs can be in the pool yet, and nobody
    # else can see them before commit, so they need neither a lock nor a look-up.
    fresh: set[uuid.UUID] = set()
    for item, resolution in zip(to_process, resolutions, strict=True):
        customers[item.index] = resolution.customer_id
        if resolution.created and resolution.customer_id is not None:
            fresh.add(resolution.customer_id)

    # Decide with the customers' and alarms' open tickets locked against concurrent intake.
    known_customers = {c for c in customers.values() if c is not None and c not in fresh}
    alarm_keys = {i.alarm.key for i in to_process if i.alarm}
    longest_fold = max([r.fold_window for r in rules.values()] + [defaults.fold_window])
    if first_look is not None:
        assert uow.tenant_id is not None
        reads = await queries.pg_decision_reads(
            session,
            uow.tenant_id,
            write_first=_new_customers_statement(uow, new_customers),
            lock_keys=_lock_keys(uow, known_customers, alarm_keys),
            customer_ids=known_customers,
            alarm_keys=alarm_keys,
            since=now - longest_fold,
        )
        if reads.rows_written != len(new_customers.identities):
            raise _StartOver  # an identity was registered meanwhile (``customers.service.IdentityTaken``)
        open_tickets, alarm_tickets, recent = reads.open_tickets, reads.alarm_tickets, reads.recent
    else:
        await _lock_decisions(uow, known_customers, alarm_keys)
        open_tickets = await queries.open_tickets_of_customers(session, known_customers)
        alarm_tickets = await queries.open_alarm_tickets(session, alarm_keys)
        recent = await queries.recent_customer_messages(
            session, [t.id for t in open_tickets], now - longest_fold
        )

    open_by_customer: dict[uuid.UUID, list[TicketRef]] = {}
    owner: dict[uuid.UUID, uuid.UUID] = {}
    for ticket in open_tickets:
        assert ticket.customer_id is not None
        owner[ticket.id] = ticket.customer_id
        known_numbers[ticket.id] = ticket.number
        open_by_customer.setdefault(ticket.customer_id, []).append(
            TicketRef(ticket.id, ticket.status, ticket.entry_point_id, ticket.last_activity_at)
        )
    recent_by_customer: dict[uuid.UUID, list[RecentMessage]] = {}
    for earlier in recent:
        recent_by_customer.setdefault(owner[earlier.ticket_id], []).append(earlier)
    alarm_refs: dict[str, TicketRef] = {}
    for alarm_key, ticket in alarm_tickets.items():
        known_numbers[ticket.id] = ticket.number
        alarm_refs[alarm_key] = TicketRef(
            ticket.id, ticket.status, ticket.entry_point_id, ticket.last_activity_at
        )

    creates: list[tickets.InboundTicket] = []
    replies: list[tickets.InboundReply] = []
    placed: dict[int, _Placed] = {}
    # Where the batch's messages went, by external key: a later message may reply to an earlier one.
    placed_by_key: dict[tuple[str, str], uuid.UUID] = {}
    for item in to_process:
        message = item.message
        entry_point = rules.get(message.entry_point_id) if message.entry_point_id else None
        customer_id = customers[item.index]
        reply_target = reply_targets.get(item.index)
        if reply_target is None and item.reply_key in placed_by_key:
            reply_target = TicketRef(placed_by_key[item.reply_key], Status.OPEN.value, None, now)
        route = choose_route(
            text=message.text,
            entry_point=entry_point,
            reply_target=reply_target,
            alarm=item.alarm,
            alarm_ticket=alarm_refs.get(item.alarm.key) if item.alarm else None,
            open_tickets=open_by_customer.get(customer_id, []) if customer_id else [],
            recent_messages=recent_by_customer.get(customer_id, []) if customer_id else [],
            now=now,
            defaults=defaults,
        )
        entities = item.entities
        body = message.text
        if not body.strip() and item.alarm is not None:
            body = item.alarm.label
        draft = tickets.InboundDraft(
            id=new_id(),
            body=body,
            channel=message.channel,
            external_id=message.external_id,
            customer_id=customer_id,
            received_at=message.received_at,
            attachment_ids=message.attachment_ids,
        )
        context = _context(message, route)
        if route.ticket_id is None:
            ticket_id = new_id()
            creates.append(
                tickets.InboundTicket(
                    _columns(ticket_id, item, entry_point, teams, customer_id, entities),
                    draft,
                    context,
                    template=dict(message.template) if message.template else None,
                )
            )
            ref = TicketRef(ticket_id, Status.NEW.value, message.entry_point_id, now)
            if customer_id is not None:
                open_by_customer.setdefault(customer_id, []).append(ref)
            if item.alarm is not None:
                alarm_refs[item.alarm.key] = ref
        else:
            ticket_id = route.ticket_id
            replies.append(
                tickets.InboundReply(
                    ticket_id,
                    draft,
                    context,
                    alarm=route.outcome is IngestOutcome.ALARM,
                    entities=tuple(_entity_data(entities)),
                )
            )
            _touch(open_by_customer.get(customer_id, []) if customer_id else [], ticket_id, now)
        if customer_id is not None and message.text.strip():
            recent_by_customer.setdefault(customer_id, []).append(
                RecentMessage(ticket_id, fold_key(message.text), now)
            )
        if item.key is not None:
            placed_by_key[item.key] = ticket_id
        placed[item.index] = _Placed(
            ticket_id=ticket_id,
            number=known_numbers.get(ticket_id),
            outcome=route.outcome,
            message_id=draft.id,
            customer_id=customer_id,
            orders=order_numbers(entities),
        )

    index_of_message = {p.message_id: index for index, p in placed.items()}
    try:
        stored = await tickets.store_inbound(uow, actor, creates, replies, now=now)
    except tickets.InboundRefused as refused:
        raise _ItemFailed(index_of_message[refused.message_id], ValidationFailed(refused.detail)) from refused
    known_orders = first_look.known_orders if first_look is not None else None
    await _link_all_orders(uow, list(placed.values()), order_lookup, known_orders)
    await tickets.announce_inbound(uow, actor, creates, replies, stored, now=now)
    await uow.commit()

    for index, p in placed.items():
        number = p.number if p.number is not None else stored[p.ticket_id]["number"]
        answers[index] = IngestResult(p.ticket_id, number, p.outcome, p.message_id)
    for index, first in repeats.items():
        original = answers[first]
        answers[index] = IngestResult(
            original.ticket_id, original.ticket_number, IngestOutcome.REPEAT, original.message_id
        )
    return answers


def _new_customers_statement(uow: UnitOfWork, new: NewCustomers) -> tuple[str, dict[str, Any]] | None:
    """The insert of the customers identity resolution created, for ``queries.pg_decision_reads``."""
    if not (new.customers or new.identities):
        return None
    assert uow.tenant_id is not None
    return PG_INSERT_NEW, pg_insert_new_params(uow.tenant_id, new)


def _identity_lock_key(uow: UnitOfWork, key: tuple[str, str]) -> int:
    """The advisory lock of one sender identity (``MAX_IDENTITY_LOCKS``)."""
    return _lock_key("intake-identity", uow.tenant_id, *key)


def _contended(uow: UnitOfWork, items: list[_Item], contended: set[int]) -> list[_Item]:
    """The messages to leave for a later transaction: those with an identity another transaction
    holds, and those tied to one of them (the same external id, or a reply to it), in order."""
    deferred: list[_Item] = []
    keys: set[tuple[str, str]] = set()
    for item in items:
        if (
            any(_identity_lock_key(uow, claim.key) in contended for claim in item.identities)
            or (item.key is not None and item.key in keys)
            or (item.reply_key is not None and item.reply_key in keys)
        ):
            deferred.append(item)
            if item.key is not None:
                keys.add(item.key)
    return deferred


async def _first_look(
    uow: UnitOfWork,
    items: list[_Item],
    defaults: IntakeDefaults,
    order_lookup: OrderLookup | None,
    try_locks: bool = False,
) -> queries.FirstLook | None:
    """PostgreSQL: the entry points, stored messages and identity owners any of these messages may
    need, and which of their order numbers the tenant has (when no ERP look-up is configured: with one,
    every number is looked up anyway), in one round trip (``queries.pg_first_look``); None elsewhere
    (the ORM queries run then)."""
    if uow.dialect != "postgresql" or not PG_PIPELINED_READS:
        return None
    assert uow.tenant_id is not None
    numbers = None
    if order_lookup is None:
        numbers = {n for item in items for n in _normalized_orders(order_numbers(item.entities))}
    identity_keys = {claim.key for item in items for claim in item.identities}
    lock_keys = None
    if len(identity_keys) <= MAX_IDENTITY_LOCKS:
        lock_keys = sorted({_identity_lock_key(uow, key) for key in identity_keys})
    external_ids = {i.message.external_id for i in items if i.message.external_id is not None}
    external_ids |= {i.message.reply_to_external_id for i in items if i.message.reply_to_external_id}
    return await queries.pg_first_look(
        uow.session,
        uow.tenant_id,
        entry_point_ids={i.message.entry_point_id for i in items if i.message.entry_point_id},
        channels={i.message.channel for i in items},
        external_ids=external_ids,
        identity_keys=identity_keys,
        defaults=defaults,
        order_numbers=numbers,
        lock_keys=lock_keys,
        try_locks=try_locks,
    )


def _touch(refs: list[TicketRef], ticket_id: uuid.UUID, now: datetime) -> None:
    """A message joined this ticket: it counts as active now for the thread window."""
    for position, ref in enumerate(refs):
        if ref.id == ticket_id:
            refs[position] = TicketRef(ref.id, ref.status, ref.entry_point_id, now)


def _context(message: InboundMessage, route: Route) -> dict[str, Any]:
    """What the ticket event says about the delivery (webhook consumers and the audit see it)."""
    context: dict[str, Any] = {
        "outcome": route.outcome.value,
        "reason": route.reason,
        "entry_point_id": message.entry_point_id,
        "external_id": message.external_id,
        "received_at": message.received_at,
    }
    if message.source:
        context["source"] = message.source
    if message.reply_to_external_id:
        context["reply_to_external_id"] = message.reply_to_external_id
    if message.metadata:
        context["metadata"] = message.metadata
    return context


def _entity_data(entities: list[Entity]) -> list[dict[str, Any]]:
    data = []
    for entity in entities:
        item: dict[str, Any] = {"kind": entity.kind, "value": entity.value, "normalized": entity.normalized}
        if entity.qualifier:
            item["qualifier"] = entity.qualifier
        data.append(item)
    return data


def _columns(
    ticket_id: uuid.UUID,
    item: _Item,
    entry_point: EntryPointRules | None,
    teams: set[uuid.UUID],
    customer_id: uuid.UUID | None,
    entities: list[Entity],
) -> dict[str, Any]:
    """A new ticket: the entry point's defaults, the message's title or first line, its form fields,
    source, extracted entities and (for a device alarm) the alarm's device and code."""
    message = item.message
    fields: dict[str, Any] = dict(message.fields)
    if message.source:
        fields["source"] = message.source
        label = entry_point.source_labels.get(message.source) if entry_point else None
        if label:
            fields["source_name"] = label
    if entities:
        fields["entities"] = _entity_data(entities)
    title = message.title.strip() if message.title else title_from_text(message.text)
    if item.alarm is not None:
        fields.update(device_sn=item.alarm.device_sn, alarm_code=item.alarm.code)
        if not message.text.strip() and not message.title:
            title = item.alarm.label
    team_id = entry_point.team_id if entry_point and entry_point.team_id in teams else None
    return {
        "id": ticket_id,
        "title": title,
        "priority": entry_point.priority if entry_point else Priority.NORMAL.value,
        "category": entry_point.category if entry_point else None,
        "channel": message.channel,
        "entry_point_id": message.entry_point_id,
        "customer_id": customer_id,
        "team_id": team_id,
        "tags": list(entry_point.tags) if entry_point else [],
        "fields": fields,
        "alarm_key": item.alarm.key if item.alarm else None,
        "alarm_occurrences": 1 if item.alarm else None,
        "template_version_id": (
            uuid.UUID(str(message.template["template_version_id"])) if message.template else None
        ),
    }


async def _usable_teams(uow: UnitOfWork, rules: Any) -> set[uuid.UUID]:
    """Default teams that exist. A default team deleted since the entry point was configured is
    skipped (the ticket lands unassigned) rather than refusing the customer's message."""
    usable: set[uuid.UUID] = set()
    for team_id in {r.team_id for r in rules if r.team_id is not None}:
        try:
            await check_assignable(uow, team_id=team_id, assignee_id=None)
        except ValidationFailed:
            logger.warning("entry point default team %s does not exist; tickets stay unassigned", team_id)
            continue
        usable.add(team_id)
    return usable


def _lock_key(*parts: object) -> int:
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_keys(uow: UnitOfWork, customer_ids: set[uuid.UUID], alarm_keys: set[str]) -> list[int]:
    """The advisory lock keys of these customers and alarm keys, sorted (the order they are taken in)."""
    return sorted(
        {_lock_key("intake-customer", uow.tenant_id, c) for c in customer_ids}
        | {_lock_key("intake-alarm", uow.tenant_id, k) for k in alarm_keys}
    )


async def _lock_decisions(uow: UnitOfWork, customer_ids: set[uuid.UUID], alarm_keys: set[str]) -> None:
    """PostgreSQL: hold a transaction-scoped advisory lock per customer and per alarm key until commit,
    taken in one statement in a fixed (sorted) order so concurrent batches cannot deadlock on them."""
    if uow.dialect != "postgresql" or not (customer_ids or alarm_keys):
        return
    keys = _lock_keys(uow, customer_ids, alarm_keys)
    await uow.session.execute(
        text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"), {"keys": keys}
    )


async def _link_all_orders(
    uow: UnitOfWork, placed: list[_Placed], lookup: OrderLookup | None, known: set[str] | None
) -> None:
    """Link the orders behind extracted order numbers. Without an ERP look-up only numbers known
    locally can link, so one query for the whole batch finds the few messages worth a call (``known``:
    that query's answer when the first look already ran it)."""
    with_orders = [p for p in placed if p.orders]
    if not with_orders:
        return
    if lookup is None:
        numbers = {p.message_id: _normalized_orders(p.orders) for p in with_orders}
        if known is None:
            known = await order_queries.known_numbers(
                uow.session, sorted({n for found in numbers.values() for n in found})
            )
        with_orders = [p for p in with_orders if any(n in known for n in numbers[p.message_id])]
    for p in with_orders:
        await _link_orders(uow, p, lookup)


def _normalized_orders(raw: list[str]) -> list[str]:
    numbers = []
    for number in raw:
        try:
            numbers.append(normalize_order_number(number))
        except ValidationFailed:
            continue
    return numbers


async def _link_orders(uow: UnitOfWork, placed: _Placed, lookup: OrderLookup | None) -> None:
    """Link extracted order numbers to the ticket (as the system's intake actor: the link is the
    system's doing, whoever delivered the message). The orders package never fails intake for an
    unknown number or an unreachable ERP; should it raise all the same, the message is kept and the
    ticket stays unlinked (a savepoint keeps the transaction usable)."""
    try:
        async with uow.session.begin_nested():
            await link_extracted_orders(
                uow,
                ticket_id=placed.ticket_id,
                customer_id=placed.customer_id,
                order_numbers=placed.orders,
                lookup=lookup,
            )
    except (HuiliuError, DBAPIError):
        logger.warning(
            "linking orders %s to ticket %s failed", placed.orders, placed.ticket_id, exc_info=True
        )
