"""Loading what the rules see about one ticket inside a unit of work: its row, customer, messages and
the audit events that matter (status changes, ratings), turned into :class:`TicketFacts` by
:mod:`.facts_builder`. Used by the trigger reactor, the timer handler and :func:`apply.apply_actions`
(templates render from the same facts)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.automation.domain import TicketFacts
from huiliu.automation.facts_builder import STATUS_EVENTS, build_facts
from huiliu.core.clock import ensure_utc
from huiliu.core.errors import NotFound
from huiliu.customers.models import Customer
from huiliu.db.session import UnitOfWork
from huiliu.tickets.models import Message, Ticket, TicketEvent

# The audit event a rating writes (``automation.ratings``); its changes carry ``rating`` and ``comment``
# (from the previous rating to this one).
TICKET_RATED = "ticket.rated"


async def load_ticket(uow: UnitOfWork, ticket_id: uuid.UUID) -> Ticket:
    """The ticket row in the unit of work's session (the same object the ticket service changes)."""
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
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket not found")
    customer = None
    if ticket.customer_id is not None:
        customer = await session.get(Customer, ticket.customer_id)
    messages = [
        _Message(row)
        for row in (
            await session.execute(
                select(
                    Message.author_kind, Message.public, Message.body, Message.created_at, Message.received_at
                ).where(Message.ticket_id == ticket_id)
            )
        ).all()
    ]
    events = [
        _Event(row.type, row.changes or {}, row.created_at)
        for row in (
            await session.execute(
                select(TicketEvent.type, TicketEvent.changes, TicketEvent.created_at)
                .where(
                    TicketEvent.ticket_id == ticket_id,
                    TicketEvent.type.in_([*STATUS_EVENTS, TICKET_RATED]),
                )
                .order_by(TicketEvent.created_at, TicketEvent.id)
            )
        ).all()
    ]
    facts = build_facts(_TicketView(ticket), customer, messages, events, now=now)
    rated = [event for event in events if event.type == TICKET_RATED]
    if rated:
        last = rated[-1].changes
        rating, comment = (last.get(name) or {} for name in ("rating", "comment"))
        facts = replace(facts, rating=rating.get("to"), rating_comment=str(comment.get("to") or ""))
    return facts
