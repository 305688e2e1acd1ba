"""The read side of tickets: queue pages (keyset, index-backed), detail with its timeline."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, false, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.attachments import queries as attachment_queries
from huiliu.auth.domain import Actor, DataScope
from huiliu.core.clock import ensure_utc
from huiliu.core.errors import NotFound, ValidationFailed
from huiliu.tickets.models import Message, Ticket, TicketEvent, TicketLink, TicketTag

SUMMARY_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.status,
    Ticket.priority,
    Ticket.category,
    Ticket.scenario,
    Ticket.channel,
    Ticket.entry_point_id,
    Ticket.customer_id,
    Ticket.team_id,
    Ticket.assignee_id,
    Ticket.tags,
    Ticket.created_at,
    Ticket.updated_at,
)
SORTS = {"-created_at", "created_at", "-updated_at", "updated_at"}
MAX_LIMIT = 200
MAX_COUNT = 10_000
MAX_TICKET_NUMBER = 2**31 - 1


def scope_clause(actor: Actor) -> ColumnElement[bool] | None:
    """The data-scope filter of a role. The one place ticket visibility by scope is decided for SQL;
    ``Actor.sees`` is the same rule for a single loaded row."""
    if actor.data_scope is DataScope.ALL:
        return None
    mine = Ticket.assignee_id == actor.id if actor.id is not None else false()
    if actor.data_scope is DataScope.TEAM:
        return or_(Ticket.team_id == actor.team_id, mine) if actor.team_id else mine
    if actor.data_scope is DataScope.DEPARTMENT:
        return or_(Ticket.team_id.in_(actor.team_ids), mine) if actor.team_ids else mine
    return mine


@dataclass
class TicketFilters:
    statuses: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    assignee: str | None = None  # "me", "none" or a user id
    team: str | None = None  # "none" or a team id
    channel: str | None = None
    category: str | None = None
    customer_id: uuid.UUID | None = None
    tag: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None


def _parse_uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be a UUID, 'me' or 'none'") from exc


def _is_ticket_number(text: str) -> bool:
    """ASCII digits within the column's range (``isdigit`` alone admits "²" and numbers the database
    cannot compare to an INTEGER column)."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_TICKET_NUMBER


def _filter_clauses(actor: Actor, filters: TicketFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    scope = scope_clause(actor)
    if scope is not None:
        clauses.append(scope)
    if filters.priorities:
        clauses.append(Ticket.priority.in_(filters.priorities))
    if filters.assignee == "me":
        clauses.append(Ticket.assignee_id == actor.id if actor.id else false())
    elif filters.assignee == "none":
        clauses.append(Ticket.assignee_id.is_(None))
    elif filters.assignee:
        clauses.append(Ticket.assignee_id == _parse_uuid(filters.assignee, "assignee_id"))
    if filters.team == "none":
        clauses.append(Ticket.team_id.is_(None))
    elif filters.team:
        clauses.append(Ticket.team_id == _parse_uuid(filters.team, "team_id"))
    if filters.channel:
        clauses.append(Ticket.channel == filters.channel)
    if filters.category:
        clauses.append(Ticket.category == filters.category)
    if filters.customer_id:
        clauses.append(Ticket.customer_id == filters.customer_id)
    if filters.tag:
        clauses.append(Ticket.id.in_(select(TicketTag.ticket_id).where(TicketTag.tag == filters.tag)))
    if filters.created_from:
        clauses.append(Ticket.created_at >= filters.created_from)
    if filters.created_to:
        clauses.append(Ticket.created_at < filters.created_to)
    if filters.text:
        pattern = "%" + filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        number_match = [Ticket.number == int(filters.text)] if _is_ticket_number(filters.text) else []
        clauses.append(
            or_(
                Ticket.title.ilike(pattern, escape="\\"),
                Ticket.description.ilike(pattern, escape="\\"),
                *number_match,
            )
        )
    return clauses


def encode_cursor(sort: str, row: Any) -> str:
    key = sort.lstrip("-")
    value = getattr(row, key)
    raw = orjson.dumps([sort, ensure_utc(value).isoformat(), str(row.id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, value, row_id = orjson.loads(base64.urlsafe_b64decode(padded))
        if cursor_sort != sort:
            raise ValueError("cursor was made for another sort order")
        return ensure_utc(datetime.fromisoformat(value)), uuid.UUID(row_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed("cursor is not valid for this list") from exc


def _page_query(
    sort: str, clauses: list[ColumnElement[bool]], cursor: tuple[datetime, uuid.UUID] | None, limit: int
) -> Select:  # type: ignore[type-arg]
    column = Ticket.updated_at if sort.lstrip("-") == "updated_at" else Ticket.created_at
    descending = sort.startswith("-")
    where = list(clauses)
    if cursor is not None:
        # A row-value comparison is one index range seek; the equivalent OR of two conditions is not.
        value, row_id = cursor
        key = tuple_(column, Ticket.id)
        where.append(key < tuple_(value, row_id) if descending else key > tuple_(value, row_id))
    order = (column.desc(), Ticket.id.desc()) if descending else (column.asc(), Ticket.id.asc())
    return select(*SUMMARY_COLUMNS).where(*where).order_by(*order).limit(limit)


async def list_tickets(
    session: AsyncSession,
    actor: Actor,
    filters: TicketFilters,
    *,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 25,
) -> tuple[list[Any], str | None]:
    """One page of the tickets the actor may see, newest first by default.

    Several statuses are read as one index range each and merged here: a single ``status IN (...)``
    cannot walk the (tenant, status, created_at) index in order, and would sort every match."""
    if sort not in SORTS:
        raise ValidationFailed(f"sort must be one of {sorted(SORTS)}")
    limit = max(1, min(limit, MAX_LIMIT))
    position = decode_cursor(sort, cursor) if cursor else None
    clauses = _filter_clauses(actor, filters)
    statuses = list(dict.fromkeys(filters.statuses))
    if len(statuses) <= 1:
        status_clauses = [[*clauses, Ticket.status == statuses[0]]] if statuses else [clauses]
    else:
        status_clauses = [[*clauses, Ticket.status == status] for status in statuses]
    rows: list[Any] = []
    for where in status_clauses:
        rows.extend((await session.execute(_page_query(sort, where, position, limit + 1))).all())
    key = sort.lstrip("-")
    rows.sort(key=lambda r: (ensure_utc(getattr(r, key)), r.id), reverse=sort.startswith("-"))
    page = rows[:limit]
    next_cursor = encode_cursor(sort, page[-1]) if len(rows) > limit else None
    return page, next_cursor


async def count_tickets(
    session: AsyncSession, actor: Actor, filters: TicketFilters, *, cap: int = MAX_COUNT
) -> tuple[int, bool]:
    """How many tickets match, counting at most ``cap`` + 1 index entries: (count, exact)."""
    cap = max(1, min(cap, MAX_COUNT))
    where = _filter_clauses(actor, filters)
    statuses = list(dict.fromkeys(filters.statuses))
    if statuses:
        where.append(Ticket.status.in_(statuses))
    matches = select(literal(1)).select_from(Ticket).where(*where).limit(cap + 1).subquery()
    found = int((await session.execute(select(func.count()).select_from(matches))).scalar_one())
    return min(found, cap), found <= cap


async def get_visible_ticket(session: AsyncSession, actor: Actor, ticket_id: uuid.UUID) -> Ticket:
    """The ticket if it exists in the tenant and lies in the actor's scope; NotFound otherwise (an
    out-of-scope ticket is indistinguishable from a missing one)."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or not actor.sees(team_id=ticket.team_id, assignee_id=ticket.assignee_id):
        raise NotFound("ticket not found")
    return ticket


async def ticket_columns(session: AsyncSession, ticket_id: uuid.UUID) -> dict[str, Any]:
    """Every column of the ticket, read by primary key (no scope check: for the write path that
    answers with the ticket it just wrote)."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket not found")
    return {column.key: getattr(ticket, column.key) for column in Ticket.__table__.columns}


async def ticket_timeline(session: AsyncSession, ticket_id: uuid.UUID) -> dict[str, Any]:
    messages = (
        (
            await session.execute(
                select(Message).where(Message.ticket_id == ticket_id).order_by(Message.created_at, Message.id)
            )
        )
        .scalars()
        .all()
    )
    events = (
        (
            await session.execute(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.created_at, TicketEvent.id)
            )
        )
        .scalars()
        .all()
    )
    attachments = await attachment_queries.for_ticket(session, ticket_id)
    links = (
        await session.execute(
            select(TicketLink.id, TicketLink.kind, TicketLink.source_id, TicketLink.target_id).where(
                or_(TicketLink.source_id == ticket_id, TicketLink.target_id == ticket_id)
            )
        )
    ).all()
    other_ids = {link.target_id if link.source_id == ticket_id else link.source_id for link in links}
    children = (
        await session.execute(
            select(Ticket.id, Ticket.number, Ticket.title, Ticket.status).where(Ticket.parent_id == ticket_id)
        )
    ).all()
    others = {}
    if other_ids:
        others = {
            row.id: row
            for row in (
                await session.execute(
                    select(Ticket.id, Ticket.number, Ticket.title, Ticket.status).where(
                        Ticket.id.in_(other_ids)
                    )
                )
            ).all()
        }
    return {
        "messages": messages,
        "events": events,
        "attachments": attachments,
        "links": links,
        "linked_tickets": others,
        "children": children,
    }


async def ticket_detail(session: AsyncSession, actor: Actor, ticket_id: uuid.UUID) -> dict[str, Any]:
    """The ticket with its messages, events, attachments and links, for the detail page."""
    actor.require("ticket.read")
    ticket = await get_visible_ticket(session, actor, ticket_id)
    return {"ticket": ticket, **await ticket_timeline(session, ticket.id)}


async def customer_overview(
    session: AsyncSession, actor: Actor, customer_id: uuid.UUID, *, recent: int
) -> dict[str, Any]:
    """For a customer's 360 view, only tickets inside the actor's data scope: counts by status, the
    newest ``recent`` tickets (with resolved/closed times) and how many messages each has."""
    clauses: list[ColumnElement[bool]] = [Ticket.customer_id == customer_id]
    scope = scope_clause(actor)
    if scope is not None:
        clauses.append(scope)
    counts = {
        row.status: int(row.n)
        for row in (
            await session.execute(
                select(Ticket.status, func.count().label("n")).where(*clauses).group_by(Ticket.status)
            )
        ).all()
    }
    rows = (
        await session.execute(
            select(*SUMMARY_COLUMNS, Ticket.resolved_at, Ticket.closed_at)
            .where(*clauses)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(max(1, min(recent, MAX_LIMIT)))
        )
    ).all()
    message_counts: dict[uuid.UUID, int] = {}
    if rows:
        message_counts = {
            row.ticket_id: int(row.n)
            for row in (
                await session.execute(
                    select(Message.ticket_id, func.count().label("n"))
                    .where(Message.ticket_id.in_([r.id for r in rows]))
                    .group_by(Message.ticket_id)
                )
            ).all()
        }
    return {"counts": counts, "recent": rows, "message_counts": message_counts}
