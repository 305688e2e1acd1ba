"""The read side of intake: what the pipeline looks up in the ticket pool before it decides.

Every function takes many keys at once, so a batch of a thousand messages costs a few statements,
not a few thousand. The session is tenant-scoped (``db.session``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.entry_points.queries import get_entry_point
from huiliu.intake.domain import OPEN_STATUSES, EntryPointRules, IntakeDefaults, RecentMessage, fold_key
from huiliu.tickets.models import Message, Ticket


@dataclass(frozen=True)
class Delivered:
    """A message already in the pool, found by (channel, external id), and its ticket."""

    message_id: uuid.UUID
    ticket_id: uuid.UUID
    ticket_number: int
    ticket_status: str
    merged_into_id: uuid.UUID | None


@dataclass(frozen=True)
class PoolTicket:
    """A ticket a message may join."""

    id: uuid.UUID
    number: int
    status: str
    customer_id: uuid.UUID | None
    entry_point_id: uuid.UUID | None
    alarm_key: str | None
    merged_into_id: uuid.UUID | None
    last_activity_at: datetime


_POOL_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.status,
    Ticket.customer_id,
    Ticket.entry_point_id,
    Ticket.alarm_key,
    Ticket.merged_into_id,
    func.coalesce(Ticket.last_message_at, Ticket.created_at).label("last_activity_at"),
)


def _pool_ticket(row: Any) -> PoolTicket:
    return PoolTicket(
        id=row.id,
        number=row.number,
        status=row.status,
        customer_id=row.customer_id,
        entry_point_id=row.entry_point_id,
        alarm_key=row.alarm_key,
        merged_into_id=row.merged_into_id,
        last_activity_at=row.last_activity_at,
    )


async def entry_point_rules(
    session: AsyncSession, entry_point_ids: Iterable[uuid.UUID], defaults: IntakeDefaults
) -> dict[uuid.UUID, EntryPointRules]:
    """The entry points (of the session's tenant) among ``entry_point_ids``; unknown ids are absent."""
    found: dict[uuid.UUID, EntryPointRules] = {}
    for entry_point_id in dict.fromkeys(entry_point_ids):
        entry_point = await get_entry_point(session, entry_point_id)
        if entry_point is None:
            continue
        found[entry_point_id] = EntryPointRules.from_config(
            entry_point_id=entry_point.id,
            name=entry_point.name,
            channel=entry_point.channel,
            is_active=entry_point.is_active,
            config=entry_point.config or {},
            defaults=defaults,
        )
    return found


async def delivered(
    session: AsyncSession, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], Delivered]:
    """Messages already stored under these (channel, external id) keys, with their tickets."""
    if not keys:
        return {}
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, []).append(external_id)
    rows = await session.execute(
        select(
            Message.channel,
            Message.external_id,
            Message.id,
            Ticket.id.label("ticket_id"),
            Ticket.number,
            Ticket.status,
            Ticket.merged_into_id,
        )
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(
            or_(*(and_(Message.channel == c, Message.external_id.in_(ids)) for c, ids in by_channel.items()))
        )
    )
    return {
        (row.channel, row.external_id): Delivered(
            message_id=row.id,
            ticket_id=row.ticket_id,
            ticket_number=row.number,
            ticket_status=row.status,
            merged_into_id=row.merged_into_id,
        )
        for row in rows
    }


async def tickets_by_id(
    session: AsyncSession, ticket_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PoolTicket]:
    if not ticket_ids:
        return {}
    rows = await session.execute(select(*_POOL_COLUMNS).where(Ticket.id.in_(list(ticket_ids))))
    return {row.id: _pool_ticket(row) for row in rows}


async def open_tickets_of_customers(
    session: AsyncSession, customer_ids: Collection[uuid.UUID]
) -> list[PoolTicket]:
    """The customers' open tickets (new, open, pending, on hold; not merged away), locked for update
    in id order: a message may join one of them in this transaction."""
    if not customer_ids:
        return []
    rows = await session.execute(
        select(*_POOL_COLUMNS)
        .where(
            Ticket.customer_id.in_(list(customer_ids)),
            Ticket.status.in_(sorted(OPEN_STATUSES)),
            Ticket.merged_into_id.is_(None),
        )
        .order_by(Ticket.id)
        .with_for_update()
    )
    return [_pool_ticket(row) for row in rows]


async def open_alarm_tickets(session: AsyncSession, alarm_keys: Collection[str]) -> dict[str, PoolTicket]:
    """The open ticket of each device alarm key (the most recently active one if there are several),
    locked for update."""
    if not alarm_keys:
        return {}
    rows = await session.execute(
        select(*_POOL_COLUMNS)
        .where(
            Ticket.alarm_key.in_(list(alarm_keys)),
            Ticket.status.in_(sorted(OPEN_STATUSES)),
            Ticket.merged_into_id.is_(None),
        )
        .order_by(Ticket.id)
        .with_for_update()
    )
    found: dict[str, PoolTicket] = {}
    for ticket in map(_pool_ticket, rows):
        assert ticket.alarm_key is not None
        current = found.get(ticket.alarm_key)
        if current is None or ticket.last_activity_at > current.last_activity_at:
            found[ticket.alarm_key] = ticket
    return found


async def recent_customer_messages(
    session: AsyncSession, ticket_ids: Collection[uuid.UUID], since: datetime
) -> list[RecentMessage]:
    """Customer messages written since ``since`` on these tickets, as fold keys."""
    if not ticket_ids:
        return []
    rows = await session.execute(
        select(Message.ticket_id, Message.body, Message.created_at).where(
            Message.ticket_id.in_(list(ticket_ids)),
            Message.author_kind == "customer",
            Message.created_at >= since,
        )
    )
    return [RecentMessage(row.ticket_id, fold_key(row.body), row.created_at) for row in rows]
