"""The incremental ticket export for BI tools: every ticket the caller sees, in (updated_at, id)
order, page after page from an opaque cursor. A consumer stores the last ``next_cursor`` and asks
again later for what changed since; it upserts by ``id`` (a ticket changed twice appears twice, at
its latest position).

Rows updated in the last ``SETTLE_SECONDS`` are held back until the next call: a transaction that
commits a moment after a faster one could otherwise land behind a cursor that already moved past
its ``updated_at``."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.auth.domain import Actor
from huiliu.core.clock import ensure_utc, utcnow
from huiliu.core.errors import ValidationFailed

# The read side of tickets decides visibility; the export reads the same table with the same rule.
from huiliu.tickets.models import Ticket
from huiliu.tickets.queries import scope_clause

CURSOR_VERSION = "t1"
MAX_LIMIT = 1000
SETTLE_SECONDS = 5

EXPORT_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.description,
    Ticket.status,
    Ticket.priority,
    Ticket.category,
    Ticket.scenario,
    Ticket.channel,
    Ticket.entry_point_id,
    Ticket.customer_id,
    Ticket.team_id,
    Ticket.assignee_id,
    Ticket.parent_id,
    Ticket.merged_into_id,
    Ticket.tags,
    Ticket.fields,
    Ticket.created_at,
    Ticket.updated_at,
    Ticket.first_response_at,
    Ticket.resolved_at,
    Ticket.closed_at,
    Ticket.reopened_at,
    Ticket.reopen_count,
)


def encode_cursor(updated_at: datetime, ticket_id: uuid.UUID) -> str:
    raw = orjson.dumps([CURSOR_VERSION, ensure_utc(updated_at).isoformat(), str(ticket_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, moment, ticket_id = orjson.loads(base64.urlsafe_b64decode(padded))
        if version != CURSOR_VERSION:
            raise ValueError("unknown cursor version")
        return ensure_utc(datetime.fromisoformat(moment)), uuid.UUID(ticket_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed("cursor is not a cursor this export gave out") from exc


async def ticket_changes(
    session: AsyncSession, actor: Actor, *, cursor: str | None, limit: int
) -> dict[str, Any]:
    """One page after ``cursor``: ``items``, ``next_cursor`` (where to continue; the same cursor when
    nothing changed) and ``has_more`` (another page is ready now)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be from 1 to {MAX_LIMIT}")
    position = decode_cursor(cursor) if cursor else None
    where: list[Any] = [Ticket.updated_at < utcnow() - timedelta(seconds=SETTLE_SECONDS)]
    scope = scope_clause(actor)
    if scope is not None:
        where.append(scope)
    if position is not None:
        where.append(tuple_(Ticket.updated_at, Ticket.id) > tuple_(*position))
    query = (
        select(*EXPORT_COLUMNS)
        .where(*where)
        .order_by(Ticket.updated_at.asc(), Ticket.id.asc())
        .limit(limit + 1)
    )
    rows = (await session.execute(query)).all()
    page = rows[:limit]
    items = [dict(row._mapping) for row in page]
    if page:
        next_cursor: str | None = encode_cursor(page[-1].updated_at, page[-1].id)
    else:
        next_cursor = cursor
    return {"items": items, "next_cursor": next_cursor, "has_more": len(rows) > limit}
