"""Loading what the rules see about one ticket inside a unit of work: its row, customer, messages,
the audit events that matter (status changes, ratings) and what the classifier said about it (its
``ticket_classifications`` row), turned into :class:`TicketFacts` by :mod:`.facts_builder`. Used by
the trigger reactor, the timer handler and :func:`apply.apply_actions` (templates render from the same
facts)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.automation.domain import TicketFacts
from huiliu.automation.facts_builder import STATUS_EVENTS, build_facts
from huiliu.core.clock import ensure_utc
from huiliu.core.errors import NotFound
from huiliu.customers.models import Customer
from huiliu.db.session import UnitOfWork
from huiliu.intelligence.models import TicketClassification, session_rows
from huiliu.tickets.models import Message, Ticket, TicketEvent

# The audit event a rating writes (``automation.ratings``); its changes carry ``rating`` and ``comment``
# (from the previous rating to this one).
TICKET_RATED = "ticket.rated"


async def load_ticket(uow: UnitOfWork, ticket_id: uuid.UUID) -> Ticket:
    """The ticket row in the unit of work's session (the same object the ticket service changes)."""
    # Loaded already (an action list asks for it several times per ticket; the timer sweep for
    # thousands of tickets): the identity map answers without the async round into the ORM.
    known = _in_session(uow.session, ticket_id)
    if known is not None:
        return known
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket not found")
    return ticket


class _Event:
    """An audit row as ``build_facts`` reads it, with aware timestamps (SQLite returns naive ones)."""

    __slots__ = ("changes", "created_at", "type")

    def __init__(self, type_: str, changes: dict[str, Any], created_at: datetime) -> None:
        self.type = type_
        self.changes = changes
        self.created_at = ensure_utc(created_at)


class _Message:
    __slots__ = ("author_kind", "body", "created_at", "public", "received_at")

    def __init__(self, row: Any) -> None:
        self.author_kind: str = row.author_kind
        self.public: bool = row.public
        self.body: str = row.body
        self.created_at = ensure_utc(row.created_at)
        self.received_at = ensure_utc(row.received_at) if row.received_at is not None else None


class _TicketView:
    """The ticket row with aware timestamps, for ``build_facts``."""

    def __init__(self, ticket: Ticket) -> None:
        self._ticket = ticket
        self.created_at = ensure_utc(ticket.created_at)
        self.first_response_at = (
            ensure_utc(ticket.first_response_at) if ticket.first_response_at is not None else None
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ticket, name)


async def load_facts(uow: UnitOfWork, ticket_id: uuid.UUID, *, now: datetime) -> TicketFacts:
    """The facts rules test about the ticket at ``now``, as this unit of work sees it (pending changes
    are flushed first, so rules see what earlier rules and actions did)."""
    await uow.session.flush()
    return await read_facts(uow.session, ticket_id, now=now)


async def read_facts(session: AsyncSession, ticket_id: uuid.UUID, *, now: datetime) -> TicketFacts:
    """The facts rules test about the ticket at ``now``, read with ``session`` (scoped to the
    ticket's tenant): what the reactor, the timer handler and the dry run see."""
    found = await read_facts_many(session, [ticket_id], now=now)
    if ticket_id not in found:
        raise NotFound("ticket not found")
    return found[ticket_id]


# The facts' message and event columns, selected with the ticket id (one statement for many tickets).
_MESSAGES = select(
    Message.ticket_id,
    Message.author_kind,
    Message.public,
    Message.body,
    Message.created_at,
    Message.received_at,
)
_EVENTS = select(
    TicketEvent.ticket_id, TicketEvent.type, TicketEvent.changes, TicketEvent.created_at
).order_by(TicketEvent.created_at, TicketEvent.id)
_FACT_EVENT_TYPES = [*STATUS_EVENTS, TICKET_RATED]
# Tickets with what the classifier said about them (none for most tenants): one statement.
_TICKETS = select(Ticket, TicketClassification).outerjoin(
    TicketClassification, TicketClassification.ticket_id == Ticket.id
)


async def read_facts_many(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID], *, now: datetime
) -> dict[uuid.UUID, TicketFacts]:
    """``read_facts`` for several tickets of the session's tenant in four statements at most (tickets
    not in the session yet with their classifications, their customers, messages and events), not
    four per ticket; a fifth, once per session, for the classifications of tickets the session held
    already (see :func:`_classifications`). Tickets that do not exist (or are another tenant's) are
    left out of the answer."""
    wanted = list(dict.fromkeys(ticket_ids))
    if not wanted:
        return {}
    tickets: dict[uuid.UUID, Ticket] = {}
    missing: list[uuid.UUID] = []
    for ticket_id in wanted:
        known = _in_session(session, ticket_id)
        if known is None:
            missing.append(ticket_id)
        else:
            tickets[ticket_id] = known
    classified = session_rows(session.info)
    if missing:
        for loaded, classification in (await session.execute(_TICKETS.where(Ticket.id.in_(missing)))).all():
            tickets[loaded.id] = loaded
            classified[loaded.id] = classification
    if not tickets:
        return {}
    ids = list(tickets)
    await _classifications(session, tickets, classified)
    customer_ids = {ticket.customer_id for ticket in tickets.values() if ticket.customer_id is not None}
    customers: dict[uuid.UUID, Customer] = {}
    if customer_ids:
        rows = await session.execute(select(Customer).where(Customer.id.in_(list(customer_ids))))
        customers = {row.id: row for row in rows.scalars()}
    messages: dict[uuid.UUID, list[_Message]] = {ticket_id: [] for ticket_id in ids}
    for message in (await session.execute(_MESSAGES.where(Message.ticket_id.in_(ids)))).all():
        messages[message.ticket_id].append(_Message(message))
    events: dict[uuid.UUID, list[_Event]] = {ticket_id: [] for ticket_id in ids}
    statement = _EVENTS.where(TicketEvent.ticket_id.in_(ids), TicketEvent.type.in_(_FACT_EVENT_TYPES))
    for event in (await session.execute(statement)).all():
        events[event.ticket_id].append(_Event(event.type, event.changes or {}, event.created_at))
    return {
        ticket_id: _facts(
            ticket,
            customers.get(ticket.customer_id) if ticket.customer_id is not None else None,
            messages[ticket_id],
            events[ticket_id],
            now,
            classified.get(ticket_id),
        )
        for ticket_id, ticket in tickets.items()
    }


async def _classifications(
    session: AsyncSession,
    tickets: dict[uuid.UUID, Ticket],
    classified: dict[uuid.UUID, TicketClassification | None],
) -> None:
    """Complete ``classified`` (the session's known classification rows) for ``tickets``. A ticket this
    session inserted has a row only if the classification reactor added it, which records it; the
    others the session held already are read in one statement, once per session."""
    unknown: list[uuid.UUID] = []
    for ticket_id, ticket in tickets.items():
        if ticket_id in classified:
            row = classified[ticket_id]
            if row is None or not inspect(row).expired_attributes:
                continue
        if inspect(ticket).insert_order is not None:
            classified[ticket_id] = None
            continue
        unknown.append(ticket_id)
    if not unknown:
        return
    for ticket_id in unknown:
        classified[ticket_id] = None
    rows = await session.scalars(
        select(TicketClassification).where(TicketClassification.ticket_id.in_(unknown))
    )
    for row in rows:
        classified[row.ticket_id] = row


def _in_session(session: AsyncSession, ticket_id: uuid.UUID) -> Ticket | None:
    """The ticket when the session holds it already and fully loaded (no statement needed)."""
    found = session.sync_session.identity_map.get(session.sync_session.identity_key(Ticket, ticket_id))
    if not isinstance(found, Ticket):
        return None
    state = inspect(found)
    if state.expired_attributes or state.deleted or state.was_deleted:
        return None
    return found


def _facts(
    ticket: Ticket,
    customer: Customer | None,
    messages: list[_Message],
    events: list[_Event],
    now: datetime,
    classification: TicketClassification | None,
) -> TicketFacts:
    facts = build_facts(
        _TicketView(ticket), customer, messages, events, now=now, classification=classification
    )
    rated = [event for event in events if event.type == TICKET_RATED]
    if rated:
        last = rated[-1].changes
        rating, comment = (last.get(name) or {} for name in ("rating", "comment"))
        facts = replace(facts, rating=rating.get("to"), rating_comment=str(comment.get("to") or ""))
    return facts
