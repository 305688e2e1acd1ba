"""The read side of SLA: calendars, policies, a ticket's SLA state and the breaching-soon queue."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.auth.domain import Actor
from huiliu.core.errors import NotFound
from huiliu.sla.domain import BusinessCalendar
from huiliu.sla.models import SlaPolicy, StoredCalendar, TicketSla

# The queue joins the tickets' table for its visibility rule (tickets.queries.scope_clause).
from huiliu.tickets.models import Ticket
from huiliu.tickets.queries import scope_clause

MAX_QUEUE = 200


def calendar_value(row: StoredCalendar | None) -> BusinessCalendar:
    """The calendar a stored row describes; None: the built-in default (Asia/Shanghai, Monday to
    Friday 09:00-12:00 and 13:00-18:00, China's statutory holidays)."""
    if row is None:
        return BusinessCalendar.from_spec(cn_statutory=True)
    return BusinessCalendar.from_spec(
        timezone=row.timezone,
        hours=row.hours,
        holidays=[date.fromisoformat(day) for day in row.holidays],
        workdays=[date.fromisoformat(day) for day in row.workdays],
        cn_statutory=row.cn_statutory,
    )


async def list_calendars(session: AsyncSession) -> list[StoredCalendar]:
    result = await session.execute(select(StoredCalendar).order_by(StoredCalendar.name, StoredCalendar.id))
    return list(result.scalars())


async def calendars_by_id(session: AsyncSession, calendar_ids: Iterable[uuid.UUID]) -> list[StoredCalendar]:
    """The tenant's calendars with these ids (ids naming none are left out)."""
    wanted = list(set(calendar_ids))
    if not wanted:
        return []
    return list(
        (await session.execute(select(StoredCalendar).where(StoredCalendar.id.in_(wanted)))).scalars()
    )


async def get_calendar(session: AsyncSession, calendar_id: uuid.UUID) -> StoredCalendar:
    row = await session.get(StoredCalendar, calendar_id)
    if row is None:
        raise NotFound("calendar not found")
    return row


async def default_calendar(session: AsyncSession) -> StoredCalendar | None:
    return (
        await session.execute(select(StoredCalendar).where(StoredCalendar.is_default.is_(True)).limit(1))
    ).scalar_one_or_none()


async def policy_calendar(session: AsyncSession, policy: SlaPolicy | None) -> StoredCalendar | None:
    """The policy's own calendar, else the tenant's default calendar (None: the built-in default)."""
    if policy is not None and policy.calendar_id is not None:
        row = await session.get(StoredCalendar, policy.calendar_id)
        if row is not None:
            return row
    return await default_calendar(session)


async def list_policies(session: AsyncSession) -> list[SlaPolicy]:
    result = await session.execute(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id))
    return list(result.scalars())


async def active_policies(session: AsyncSession) -> list[SlaPolicy]:
    result = await session.execute(
        select(SlaPolicy).where(SlaPolicy.active.is_(True)).order_by(SlaPolicy.position, SlaPolicy.id)
    )
    return list(result.scalars())


async def has_active_policy(session: AsyncSession) -> bool:
    found = await session.scalar(select(SlaPolicy.id).where(SlaPolicy.active.is_(True)).limit(1))
    return found is not None


async def get_policy(session: AsyncSession, policy_id: uuid.UUID) -> SlaPolicy:
    row = await session.get(SlaPolicy, policy_id)
    if row is None:
        raise NotFound("SLA policy not found")
    return row


async def last_position(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.max(SlaPolicy.position)))


async def policies_using_calendar(session: AsyncSession, calendar_id: uuid.UUID) -> list[str]:
    result = await session.execute(select(SlaPolicy.name).where(SlaPolicy.calendar_id == calendar_id))
    return list(result.scalars())


async def ticket_sla(session: AsyncSession, ticket_id: uuid.UUID) -> TicketSla | None:
    return await session.get(TicketSla, ticket_id)


async def ticket_sla_for_update(
    session: AsyncSession, ticket_id: uuid.UUID
) -> tuple[TicketSla, Ticket] | None:
    """The ticket's SLA row (locked) and the ticket itself, in one statement (the timer handler)."""
    found = (
        await session.execute(
            select(TicketSla, Ticket)
            .join(Ticket, Ticket.id == TicketSla.ticket_id)
            .where(TicketSla.ticket_id == ticket_id)
            .with_for_update(of=TicketSla)
        )
    ).one_or_none()
    return None if found is None else (found[0], found[1])


async def ticket_slas_for_update(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> list[tuple[TicketSla, Ticket]]:
    """Several tickets' SLA rows (locked, in id order so concurrent lockers cannot deadlock) with
    their tickets, in one statement."""
    rows = (
        await session.execute(
            select(TicketSla, Ticket)
            .join(Ticket, Ticket.id == TicketSla.ticket_id)
            .where(TicketSla.ticket_id.in_(list(ticket_ids)))
            .order_by(TicketSla.ticket_id)
            .with_for_update(of=TicketSla)
        )
    ).all()
    return [(row[0], row[1]) for row in rows]


async def breaching_soon(
    session: AsyncSession, actor: Actor, *, now: datetime, until: datetime, include_overdue: bool, limit: int
) -> list[tuple[TicketSla, Any]]:
    """Open SLA cycles due before ``until`` on tickets the actor sees, soonest first (overdue ones
    first when included), with the ticket's queue columns."""
    where = [TicketSla.next_due_at.is_not(None), TicketSla.next_due_at <= until]
    if not include_overdue:
        where.append(TicketSla.next_due_at > now)
    scope = scope_clause(actor)
    if scope is not None:
        where.append(scope)
    statement = (
        select(
            TicketSla,
            Ticket.number,
            Ticket.title,
            Ticket.status,
            Ticket.priority,
            Ticket.team_id,
            Ticket.assignee_id,
        )
        .join(Ticket, Ticket.id == TicketSla.ticket_id)
        .where(*where)
        .order_by(TicketSla.next_due_at, TicketSla.ticket_id)
        .limit(min(limit, MAX_QUEUE))
    )
    return [(row[0], row[1:]) for row in (await session.execute(statement)).all()]
