"""The read side of entry points: one by id or public key, the list, and tickets counted per entry
point and source for reports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.core.errors import NotFound
from huiliu.entry_points.domain import source_label
from huiliu.entry_points.models import EntryPoint

# Reports count tickets by entry point; the tickets' read side has no such count yet, so the
# aggregate reads the tickets table directly (read only, tenant-scoped by the session).
from huiliu.tickets.models import Ticket


async def get_entry_point(session: AsyncSession, entry_point_id: uuid.UUID) -> EntryPoint | None:
    """The entry point with this id in the session's tenant (active or not), or None. On a system
    session (public routes that do not know the tenant yet) it finds the entry point in any tenant."""
    result = await session.execute(select(EntryPoint).where(EntryPoint.id == entry_point_id))
    return result.scalar_one_or_none()


async def get_by_public_key(session: AsyncSession, public_key: str) -> EntryPoint | None:
    """The entry point with this public key in any tenant (public routes open a system session to
    find the tenant), active or not; None when unknown."""
    result = await session.execute(select(EntryPoint).where(EntryPoint.public_key == public_key))
    return result.scalar_one_or_none()


async def require_entry_point(session: AsyncSession, entry_point_id: uuid.UUID) -> EntryPoint:
    """The entry point in the session's tenant; NotFound otherwise (another tenant's id included)."""
    entry_point = await get_entry_point(session, entry_point_id)
    if entry_point is None:
        raise NotFound("entry point not found")
    return entry_point


async def list_entry_points(session: AsyncSession, *, kind: str | None = None) -> Sequence[EntryPoint]:
    """The tenant's entry points, oldest first (a tenant has tens, not thousands)."""
    query = select(EntryPoint).order_by(EntryPoint.created_at, EntryPoint.id)
    if kind is not None:
        query = query.where(EntryPoint.kind == kind)
    return (await session.execute(query)).scalars().all()


async def has_tickets(session: AsyncSession, entry_point_id: uuid.UUID) -> bool:
    """Whether any ticket came in through this entry point."""
    found = await session.execute(select(Ticket.id).where(Ticket.entry_point_id == entry_point_id).limit(1))
    return found.first() is not None


async def ticket_counts(session: AsyncSession, *, start: datetime, end: datetime) -> dict[str, Any]:
    """Tickets created in [start, end) per entry point and, within each, per source (the pipeline
    keeps the source in ``fields["source"]``). Entry points without tickets in the period are listed
    with zero, so a report shows the doors nobody used."""
    source = Ticket.fields["source"].as_string()
    rows = (
        await session.execute(
            select(Ticket.entry_point_id, source.label("source"), func.count().label("tickets"))
            .where(
                Ticket.entry_point_id.is_not(None),
                Ticket.created_at >= start,
                Ticket.created_at < end,
            )
            .group_by(Ticket.entry_point_id, source)
        )
    ).all()
    per_entry_point: dict[uuid.UUID, list[tuple[str | None, int]]] = {}
    for row in rows:
        per_entry_point.setdefault(row.entry_point_id, []).append((row.source, int(row.tickets)))
    items: list[dict[str, Any]] = []
    for entry_point in await list_entry_points(session):
        counts = sorted(per_entry_point.get(entry_point.id, []), key=lambda item: (-item[1], item[0] or ""))
        items.append(
            {
                "entry_point_id": entry_point.id,
                "name": entry_point.name,
                "kind": entry_point.kind,
                "channel": entry_point.channel,
                "is_active": entry_point.is_active,
                "tickets": sum(count for _, count in counts),
                "sources": [
                    {"source": code, "label": source_label(entry_point.config, code), "tickets": count}
                    for code, count in counts
                ],
            }
        )
    items.sort(key=lambda item: -int(item["tickets"]))
    return {"from": start, "to": end, "total": sum(int(item["tickets"]) for item in items), "items": items}
