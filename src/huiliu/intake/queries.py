"""The read side of intake: what the pipeline looks up in the ticket pool before it decides.

Every function takes many keys at once, so a batch of a thousand messages costs a few statements,
not a few thousand. The session is tenant-scoped (``db.session``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.entry_points.models import EntryPoint
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
    """The entry points (of the session's tenant) among ``entry_point_ids``; unknown ids are absent.
    One query for all of them, reading columns (no ORM objects)."""
    wanted = list(dict.fromkeys(entry_point_ids))
    if not wanted:
        return {}
    rows = await session.execute(_ENTRY_POINTS, {"ids": wanted})
    return {
        row.id: EntryPointRules.from_config(
            entry_point_id=row.id,
            name=row.name,
            channel=row.channel,
            is_active=row.is_active,
            config=row.config or {},
            defaults=defaults,
        )
        for row in rows
    }


# Built once (expanding parameters): building a statement per call costs more than running it.
_ENTRY_POINTS = select(
    EntryPoint.id, EntryPoint.name, EntryPoint.channel, EntryPoint.is_active, EntryPoint.config
).where(EntryPoint.id.in_(bindparam("ids", expanding=True)))
# Channels × external ids: the caller keeps the exact pairs asked for.
_DELIVERED = (
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
        Message.channel.in_(bindparam("channels", expanding=True)),
        Message.external_id.in_(bindparam("external_ids", expanding=True)),
    )
)


async def delivered(
    session: AsyncSession, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], Delivered]:
    """Messages already stored under these (channel, external id) keys, with their tickets."""
    if not keys:
        return {}
    rows = await session.execute(
        _DELIVERED,
        {"channels": list({c for c, _ in keys}), "external_ids": list({e for _, e in keys})},
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
        if (row.channel, row.external_id) in keys
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
