"""Tickets opened and joined by inbound customer messages.

Intake (``huiliu.intake.service``) decides where each inbound message goes; these functions write it,
for one message or a batch of a thousand, in the caller's transaction and in two steps:
``store_inbound`` writes the rows that may still be refused (a message another transaction stored
first, an attachment that is not usable) and records no events, so the caller can roll back and try
again; then ``announce_inbound`` updates the tickets the messages joined and records every event. The
caller commits. On PostgreSQL each step is one statement of fixed text whatever the number of rows
(``db.bulk``), and the joined tickets are read as plain locked rows."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from huiliu.attachments.service import claim_for_message
from huiliu.auth.domain import Actor
from huiliu.core import events as ev
from huiliu.core.clock import ensure_utc, utcnow
from huiliu.core.errors import Conflict, ValidationFailed
from huiliu.db import bulk
from huiliu.db.driver import session_driver_connection
from huiliu.db.session import UnitOfWork
from huiliu.tickets.domain import Status, diff, normalize_tags
from huiliu.tickets.models import Message, Ticket, TicketCounter, TicketEvent, TicketTag
from huiliu.tickets.service import (
    _NO_ROWS,
    _TABLES,
    _TOUCHED_KEYS,
    SUMMARY_FIELDS,
    _apply,
    _pg_events_with_outbox,
    _transition,
    build_event,
    sanitize_body,
    ticket_sequence_name,
)


@dataclass(frozen=True)
class InboundDraft:
    """One customer message as intake hands it over (plain text; sanitised when stored)."""

    id: uuid.UUID
    body: str
    channel: str
    external_id: str | None
    customer_id: uuid.UUID | None
    received_at: datetime | None = None
    attachment_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class InboundTicket:
    """A ticket a customer message opens. ``columns`` holds the ticket columns intake chose (id,
    title, priority, category, channel, entry_point_id, customer_id, team_id, tags, fields, alarm_key,
    alarm_occurrences); the message becomes the description and the first message. ``context`` goes
    into the ``ticket.created`` event as ``intake``."""

    columns: dict[str, Any]
    message: InboundDraft
    context: dict[str, Any]
    # The ticket template use (``ticket_templates.service.TemplateUse.event_data``), when there was one.
    template: dict[str, Any] | None = None


@dataclass(frozen=True)
class InboundReply:
    """A customer message that joins an existing ticket (threaded, folded or a repeated alarm)."""

    ticket_id: uuid.UUID
    message: InboundDraft
    context: dict[str, Any]
    # A repeated device alarm: the ticket's alarm_occurrences goes up by one.
    alarm: bool = False
    # Extracted entities not on the ticket yet are added to its fields["entities"].
    entities: tuple[dict[str, Any], ...] = ()


class DeliveredConcurrently(Conflict):
    """Another transaction stored one of these external messages first (same tenant, channel and
    external id). The caller rolls back and looks again: it is a repeat now."""

    title = "The same message is being delivered concurrently"


class InboundRefused(ValidationFailed):
    """One message of a batch cannot be stored (e.g. an attachment that is not usable)."""

    def __init__(self, message_id: uuid.UUID, detail: str) -> None:
        super().__init__(detail)
        self.message_id = message_id


async def hold_write_lock(uow: UnitOfWork) -> None:
    """SQLite: take the database's write lock now (a write that changes nothing), so the reads that
    decide what intake writes see the latest committed state and nothing commits in between.
    PostgreSQL locks rows and keys instead; nothing to do there."""
    if uow.dialect == "sqlite":
        await uow.session.execute(text("UPDATE ticket_counters SET last_number = last_number WHERE 0"))


async def _next_numbers(uow: UnitOfWork, count: int) -> list[int]:
    """``count`` new ticket numbers, increasing, in one round trip."""
    if count == 0:
        return []
    assert uow.tenant_id is not None
    if uow.dialect == "postgresql":
        result = await uow.session.execute(
            text(f"SELECT nextval('{ticket_sequence_name(uow.tenant_id)}') FROM generate_series(1, :n)"),
            {"n": count},
        )
        return sorted(int(n) for n in result.scalars())
    result = await uow.session.execute(
        update(TicketCounter)
        .values(last_number=TicketCounter.last_number + count)
        .returning(TicketCounter.last_number)
    )
    last = int(result.scalar_one())
    return list(range(last - count + 1, last + 1))


async def _insert_numbered(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    """Insert new ticket rows with the next numbers, in row order (sets ``row["number"]``). PostgreSQL
    draws them from the tenant's sequence inside the INSERT (no extra round trip)."""
    if not rows:
        return
    assert uow.tenant_id is not None
    if uow.dialect != "postgresql":
        for row, number in zip(rows, await _next_numbers(uow, len(rows)), strict=True):
            row["number"] = number
        await uow.session.execute(insert(Ticket), rows)
        return
    sequence = ticket_sequence_name(uow.tenant_id)
    result = await uow.session.execute(
        insert(Ticket)
        .values(number=func.nextval(sequence))
        .returning(Ticket.id, Ticket.number, sort_by_parameter_order=True),
        rows,
    )
    for row, (ticket_id, number) in zip(rows, result.all(), strict=True):
        assert ticket_id == row["id"]
        row["number"] = number


def _message_row(actor: Actor, ticket_id: uuid.UUID, draft: InboundDraft, now: datetime) -> dict[str, Any]:
    return {
        "id": draft.id,
        "tenant_id": actor.tenant_id,
        "ticket_id": ticket_id,
        "author_kind": "customer",
        "author_user_id": None,
        "author_customer_id": draft.customer_id,
        "public": True,
        "channel": draft.channel,
        "body": sanitize_body(draft.body),
        "external_id": draft.external_id,
        "received_at": draft.received_at,
        "delivery_state": None,
        "created_at": now,
    }


_TAG_KEYS = ("tenant_id", "ticket_id", "tag")
# PostgreSQL: ``announce_inbound`` reads the tickets messages joined as plain rows and writes their
# changes with the events (one statement fewer, no ORM objects); tests switch it off to compare the
# rows both ways write.
PG_PLAIN_JOINED = True
# The joined tickets as ``announce_inbound`` reads them on PostgreSQL (their summary and what a message
# changes or decides on), locked: plain rows on the transaction's connection, no ORM objects.
_JOINED_COLUMNS = (*SUMMARY_FIELDS, "fields", "alarm_occurrences", "merged_into_id")
_PG_JOINED = f"""
SELECT {", ".join(_JOINED_COLUMNS)} FROM tickets
WHERE tenant_id = %(tenant_id)s AND id = ANY(%(ids)s::uuid[])
ORDER BY id
FOR UPDATE
"""


@functools.lru_cache(maxsize=64)
def _pg_store_inbound(ticket_keys: tuple[str, ...], message_keys: tuple[str, ...]) -> Any:
    """The new tickets (numbered from the sequence named by ``sequence``, in row order), their tags
    and every message of an intake group in one statement of fixed text, whatever the number of rows
    (``db.bulk``). Returns each stored message's id and, for a new ticket's message, the ticket's
    number; the messages' foreign key is checked at the statement's end, when the tickets exist."""
    tickets_t, messages_t, tags_t = _TABLES["Ticket"], _TABLES["Message"], _TABLES["TicketTag"]
    return text(
        f"""
        WITH new_tickets AS (
            INSERT INTO {bulk.insert_columns(tickets_t, ticket_keys, ["number"])}
            SELECT {bulk.select_columns(ticket_keys, "t")}, nextval(CAST(:sequence AS regclass))
            FROM {bulk.rows_source(tickets_t, ticket_keys, "tickets", "t")}
            ORDER BY t.ord
            RETURNING id, number
        ), new_tags AS (
            INSERT INTO {bulk.insert_columns(tags_t, _TAG_KEYS)}
            SELECT {bulk.select_columns(_TAG_KEYS, "g")}
            FROM {bulk.rows_source(tags_t, _TAG_KEYS, "tags", "g")}
        )
        INSERT INTO {bulk.insert_columns(messages_t, message_keys)}
        SELECT {bulk.select_columns(message_keys, "m")}
        FROM {bulk.rows_source(messages_t, message_keys, "messages", "m")}
        ON CONFLICT (tenant_id, channel, external_id) DO NOTHING
        RETURNING id, (SELECT n.number FROM new_tickets AS n WHERE n.id = messages.ticket_id)
        """
    )


async def store_inbound(
    uow: UnitOfWork,
    actor: Actor,
    tickets: list[InboundTicket],
    replies: list[InboundReply],
    *,
    now: datetime,
) -> dict[uuid.UUID, dict[str, Any]]:
    """Write the new tickets (numbered), every message, the tags and the attachment claims; return the
    new tickets' rows by id. No events yet (``announce_inbound``), no commit.

    Raises ``DeliveredConcurrently`` when a message's external id was stored by another transaction
    meanwhile, ``InboundRefused`` when one message cannot be stored; the caller rolls back then."""
    actor.require("ticket.create")
    rows: list[dict[str, Any]] = []
    for inbound in tickets:
        row = {
            "tenant_id": actor.tenant_id,
            "description": sanitize_body(inbound.message.body),
            "status": Status.NEW.value,
            "scenario": None,
            "assignee_id": None,
            "parent_id": None,
            "merged_into_id": None,
            "created_at": now,
            "updated_at": now,
            "first_response_at": None,
            "resolved_at": None,
            "closed_at": None,
            "reopened_at": None,
            "reopen_count": 0,
            "last_message_at": now,
            "alarm_key": None,
            "alarm_occurrences": None,
            **inbound.columns,
        }
        row["tags"] = normalize_tags(row.get("tags", []))
        rows.append(row)
    message_rows = [_message_row(actor, t.columns["id"], t.message, now) for t in tickets]
    message_rows += [_message_row(actor, r.ticket_id, r.message, now) for r in replies]
    tag_rows = [
        {"tenant_id": actor.tenant_id, "ticket_id": row["id"], "tag": tag}
        for row in rows
        for tag in row["tags"]
    ]
    if uow.dialect == "postgresql" and message_rows:
        # Tickets, tags and messages in one statement of fixed text, however many (``db.bulk``).
        assert actor.tenant_id is not None
        ticket_keys = tuple(rows[0]) if rows else _NO_ROWS
        stored_rows = (
            await uow.session.execute(
                _pg_store_inbound(ticket_keys, tuple(message_rows[0])),
                {
                    "sequence": ticket_sequence_name(actor.tenant_id),
                    "tickets": bulk.rows(rows),
                    "tags": bulk.rows(tag_rows),
                    "messages": bulk.rows(message_rows),
                },
            )
        ).all()
        if len(stored_rows) != len(message_rows):
            raise DeliveredConcurrently("a message was stored by a concurrent delivery; look again")
        numbers = {message_id: number for message_id, number in stored_rows}
        for row, inbound in zip(rows, tickets, strict=True):
            row["number"] = numbers[inbound.message.id]
    else:
        await _insert_numbered(uow, rows)
        if message_rows:
            insert_fn = pg_insert if uow.dialect == "postgresql" else sqlite_insert
            stored = await uow.session.execute(
                insert_fn(Message)
                .on_conflict_do_nothing(index_elements=["tenant_id", "channel", "external_id"])
                .returning(Message.id),
                message_rows,
            )
            missing = {row["id"] for row in message_rows} - set(stored.scalars())
            if missing:
                raise DeliveredConcurrently("a message was stored by a concurrent delivery; look again")
        if tag_rows:
            await uow.session.execute(insert(TicketTag), tag_rows)
    placed = [(t.columns["id"], t.message) for t in tickets] + [(r.ticket_id, r.message) for r in replies]
    for ticket_id, draft in placed:
        if draft.attachment_ids:
            try:
                await claim_for_message(
                    uow,
                    actor,
                    ticket_id=ticket_id,
                    message_id=draft.id,
                    attachment_ids=list(draft.attachment_ids),
                )
            except ValidationFailed as exc:
                raise InboundRefused(draft.id, exc.detail) from exc
    return {row["id"]: row for row in rows}


def _message_data(draft: InboundDraft, body: str) -> dict[str, Any]:
    return {
        "id": draft.id,
        "public": True,
        "author_kind": "customer",
        "body": body,
        "attachment_ids": list(draft.attachment_ids),
        "external_id": draft.external_id,
    }


async def announce_inbound(
    uow: UnitOfWork,
    actor: Actor,
    tickets: list[InboundTicket],
    replies: list[InboundReply],
    stored: dict[uuid.UUID, dict[str, Any]],
    *,
    now: datetime,
) -> None:
    """Record ``ticket.created`` for each new ticket and, per reply, ``ticket.message_added`` (with the
    alarm count and new entities as changes) plus the status change a customer message makes: a
    ``pending`` ticket, or a resolved one answered by reference, goes back to ``open``. No commit."""
    audit_rows: list[dict[str, Any]] = []
    for inbound in tickets:
        audit_row, domain_event = build_event(
            actor,
            stored[inbound.columns["id"]],
            ev.TICKET_CREATED,
            {"status": {"from": None, "to": Status.NEW.value}},
            extra={
                "message": _message_data(inbound.message, sanitize_body(inbound.message.body)),
                "intake": inbound.context,
                **(inbound.template or {}),
            },
        )
        audit_rows.append(audit_row)
        uow.emit(domain_event)
    touched: list[dict[str, Any]] = []
    if replies and uow.dialect == "postgresql" and PG_PLAIN_JOINED:
        rows = await _pg_joined_tickets(uow, sorted({reply.ticket_id for reply in replies}))
        if any(_reopened_by_customer(row["status"], row["merged_into_id"]) for row in rows.values()):
            # A status change to make (rare): the ORM path below, with its transition.
            await _announce_replies(uow, actor, replies, audit_rows, now=now)
        else:
            for reply in replies:
                audit_rows.append(_announce_reply(uow, actor, rows[reply.ticket_id], reply, now=now))
            touched = [{key: row[key] for key in _TOUCHED_KEYS} for row in rows.values()]
    elif replies:
        await _announce_replies(uow, actor, replies, audit_rows, now=now)
    if uow.dialect == "postgresql" and audit_rows:
        # Every event recorded here and every queued outbox row (the rows ``commit`` would write) in
        # one statement of fixed text, however many (``db.bulk``).
        outbox_rows = [uow.outbox_row(domain_event) for domain_event in uow.take_events()]
        outbox_keys = tuple(outbox_rows[0]) if outbox_rows else _NO_ROWS
        parameters = {"events": bulk.rows(audit_rows), "outbox": bulk.rows(outbox_rows)}
        if touched:
            parameters["touched"] = bulk.rows(touched)
        await uow.session.execute(
            _pg_events_with_outbox(tuple(audit_rows[0]), outbox_keys, bool(touched)), parameters
        )
    elif audit_rows:
        await uow.session.execute(insert(TicketEvent), audit_rows)


def _reopened_by_customer(status: str, merged_into_id: uuid.UUID | None) -> bool:
    """Whether a customer's message moves the ticket it joins back to ``open``: a ``pending`` one, or
    a resolved (or, by reference, closed) one; never a ticket merged into another."""
    return merged_into_id is None and status in {
        Status.PENDING.value,
        Status.RESOLVED.value,
        Status.CLOSED.value,
    }


def _message_changes(
    alarm_occurrences: int | None, fields: dict[str, Any] | None, reply: InboundReply
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What one customer message changes on the ticket it joins (before, after): the alarm count,
    and the entities it names that the ticket does not know yet."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if reply.alarm:
        before["alarm_occurrences"] = alarm_occurrences
        after["alarm_occurrences"] = (alarm_occurrences or 0) + 1
    fields = fields or {}
    known = {(e.get("kind"), e.get("normalized")) for e in fields.get("entities", [])}
    added = [e for e in reply.entities if (e.get("kind"), e.get("normalized")) not in known]
    if added:
        before["fields"] = fields
        after["fields"] = {**fields, "entities": [*fields.get("entities", []), *added]}
    return before, after


def _announce_reply(
    uow: UnitOfWork, actor: Actor, row: dict[str, Any], reply: InboundReply, *, now: datetime
) -> dict[str, Any]:
    """PostgreSQL, no status to change: apply one message to the joined ticket's row (written with the
    events, ``_TOUCHED_KEYS``) and emit its ``ticket.message_added``; returns the audit row."""
    before, after = _message_changes(row["alarm_occurrences"], row["fields"], reply)
    row.update(after)
    row["last_message_at"] = now
    row["updated_at"] = utcnow()
    return _message_added(uow, actor, row, reply, diff(before, after))


def _message_added(
    uow: UnitOfWork,
    actor: Actor,
    ticket: Ticket | dict[str, Any],
    reply: InboundReply,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Emit ``ticket.message_added`` for a customer message that joined ``ticket`` (already changed);
    returns the audit row."""
    audit_row, domain_event = build_event(
        actor,
        ticket,
        ev.TICKET_MESSAGE_ADDED,
        changes,
        extra={
            "message": _message_data(reply.message, sanitize_body(reply.message.body)),
            "intake": reply.context,
        },
    )
    uow.emit(domain_event)
    return audit_row


async def _pg_joined_tickets(uow: UnitOfWork, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The joined tickets' rows (``_JOINED_COLUMNS``), locked for update, by id."""
    connection = await session_driver_connection(uow.session)
    cursor = connection.cursor()
    await cursor.execute(_PG_JOINED, {"tenant_id": uow.tenant_id, "ids": ids})
    found = {}
    for values in await cursor.fetchall():
        row = dict(zip(_JOINED_COLUMNS, values, strict=True))
        row["created_at"] = ensure_utc(row["created_at"])
        row["updated_at"] = ensure_utc(row["updated_at"])
        row["tags"] = list(row["tags"] or [])
        found[row["id"]] = row
    return found


async def _announce_replies(
    uow: UnitOfWork,
    actor: Actor,
    replies: list[InboundReply],
    audit_rows: list[dict[str, Any]],
    *,
    now: datetime,
) -> None:
    """The ORM way (SQLite, and a status change to make): load the joined tickets locked, apply each
    message, record its event and the customer's reopening; the tickets are flushed at commit."""
    wanted = sorted({reply.ticket_id for reply in replies})
    joined = {
        ticket.id: ticket
        for ticket in (
            await uow.session.execute(
                select(Ticket).where(Ticket.id.in_(wanted)).order_by(Ticket.id).with_for_update()
            )
        ).scalars()
    }
    for reply in replies:
        ticket = joined[reply.ticket_id]
        before, after = _message_changes(ticket.alarm_occurrences, ticket.fields, reply)
        _apply(ticket, {**after, "last_message_at": now})
        audit_rows.append(_message_added(uow, actor, ticket, reply, diff(before, after)))
        if _reopened_by_customer(ticket.status, ticket.merged_into_id):
            await _transition(uow, actor, ticket, Status.OPEN, "customer replied")
