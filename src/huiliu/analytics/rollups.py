"""Keeping the ticket facts up to date.

``refresh`` reads a tenant's new audit events in (created_at, id) order from its stored cursor, in
batches, and recomputes the facts of the tickets those events touched — a recomputation from the
ticket, its SLA outcomes, its events and its messages, so applying it twice changes nothing. Nothing
runs on the ticket write path (no shared counter rows to contend on); the worker calls it every
``analytics_refresh_seconds``. Events are read only once they are ``settle`` old, so a transaction
that commits a little after it stamped its events is not skipped; back-dated writes older than the
cursor (imports replaying history) are picked up by ``rebuild`` (``huiliu analytics rebuild``).
docs/decisions/0027."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.analytics.domain import (
    ASSIGNED,
    RATED,
    STATUS_CHANGED,
    EventRow,
    SlaOutcome,
    TicketRow,
    build_fact,
)
from huiliu.analytics.models import RollupCursor, TicketFact
from huiliu.auth.models import Tenant
from huiliu.core.clock import ensure_utc, utcnow
from huiliu.customers.models import Customer
from huiliu.db.session import Database
from huiliu.sla.models import TicketSla
from huiliu.tickets.models import Message, Ticket, TicketEvent

# Events older than this are taken to be committed (see the module docstring).
SETTLE = timedelta(seconds=30)
EVENT_BATCH = 2000
SQLITE_EVENT_BATCH = 500
TICKET_BATCH = 500
REGION_FIELD = "region"
FACT_EVENT_TYPES = (ASSIGNED, STATUS_CHANGED, "ticket.reopened", RATED)

Progress = Callable[[int, int], None]
FACTS_TABLE = cast(Table, TicketFact.__table__)


@dataclass(frozen=True)
class RefreshResult:
    events: int
    tickets: int


def _region(fields: dict[str, Any] | None, attributes: dict[str, Any] | None) -> str | None:
    for source in (fields or {}, attributes or {}):
        value = source.get(REGION_FIELD)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _among(column: Any, ids: list[uuid.UUID], contiguous: bool) -> Any:
    """``column IN ids``, or for ``contiguous`` ids (every ticket of the tenant between the first and
    the last, as ``rebuild`` reads them) the same set as one index range."""
    if contiguous:
        return column.between(ids[0], ids[-1])
    return column.in_(ids)


async def refresh_tickets(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ticket_ids: Sequence[uuid.UUID],
    *,
    contiguous: bool = False,
) -> int:
    """Recompute the facts of ``ticket_ids`` (same tenant) in the session's transaction; returns how
    many facts were written (merged tickets have none). ``contiguous``: the ids are sorted and are all
    of the tenant's tickets in their range."""
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        return 0
    tickets = (
        await session.execute(
            select(
                Ticket.id,
                Ticket.created_at,
                Ticket.status,
                Ticket.priority,
                Ticket.category,
                Ticket.scenario,
                Ticket.channel,
                Ticket.entry_point_id,
                Ticket.team_id,
                Ticket.assignee_id,
                Ticket.first_response_at,
                Ticket.resolved_at,
                Ticket.reopen_count,
                Ticket.merged_into_id,
                Ticket.fields,
                Customer.level,
                Customer.attributes,
            )
            .outerjoin(Customer, Customer.id == Ticket.customer_id)
            .where(_among(Ticket.id, ids, contiguous))
        )
    ).all()
    slas = {
        row.ticket_id: SlaOutcome(
            row.first_response_minutes, row.first_response_met, row.resolution_minutes, row.resolution_met
        )
        for row in (
            await session.execute(
                select(
                    TicketSla.ticket_id,
                    TicketSla.first_response_minutes,
                    TicketSla.first_response_met,
                    TicketSla.resolution_minutes,
                    TicketSla.resolution_met,
                ).where(_among(TicketSla.ticket_id, ids, contiguous))
            )
        ).all()
    }
    events: dict[uuid.UUID, list[EventRow]] = defaultdict(list)
    for row in (
        await session.execute(
            select(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.created_at, TicketEvent.changes)
            .where(_among(TicketEvent.ticket_id, ids, contiguous), TicketEvent.type.in_(FACT_EVENT_TYPES))
            .order_by(TicketEvent.created_at, TicketEvent.id)
        )
    ).all():
        events[row.ticket_id].append(EventRow(row.type, ensure_utc(row.created_at), row.changes or {}))
    replies = {
        row.ticket_id: int(row.n)
        for row in (
            await session.execute(
                select(Message.ticket_id, func.count().label("n"))
                .where(
                    _among(Message.ticket_id, ids, contiguous),
                    Message.author_kind == "agent",
                    Message.public.is_(True),
                )
                .group_by(Message.ticket_id)
            )
        ).all()
    }
    facts: list[dict[str, Any]] = []
    now = utcnow()
    for row in tickets:
        ticket = TicketRow(
            id=row.id,
            created_at=ensure_utc(row.created_at),
            status=row.status,
            priority=row.priority,
            category=row.category,
            scenario=row.scenario,
            channel=row.channel,
            entry_point_id=row.entry_point_id,
            team_id=row.team_id,
            assignee_id=row.assignee_id,
            first_response_at=row.first_response_at,
            resolved_at=row.resolved_at,
            reopen_count=row.reopen_count or 0,
            merged_into_id=row.merged_into_id,
            region=_region(row.fields, row.attributes),
            customer_level=row.level,
        )
        fact = build_fact(tenant_id, ticket, slas.get(row.id), events.get(row.id, []), replies.get(row.id, 0))
        if fact is not None:
            fact["refreshed_at"] = now
            facts.append(fact)
    await session.execute(
        delete(TicketFact)
        .where(_among(TicketFact.ticket_id, ids, contiguous))
        .execution_options(synchronize_session=False)
    )
    if facts:
        # A Core executemany on the table (uniform keys: one batch); the ORM's bulk insert splits rows
        # by which values are NULL and sent them a few at a time.
        await session.execute(insert(FACTS_TABLE), facts)
    return len(facts)


async def _cursor(session: AsyncSession, tenant_id: uuid.UUID) -> RollupCursor:
    """The tenant's cursor row, locked for the transaction (PostgreSQL): two workers refreshing the
    same tenant take turns instead of writing the same facts at once."""
    cursor = await session.get(RollupCursor, tenant_id, with_for_update=True)
    if cursor is None:
        cursor = RollupCursor(tenant_id=tenant_id, event_created_at=None, event_id=None, updated_at=utcnow())
        session.add(cursor)
    return cursor


async def refresh(
    db: Database, tenant_id: uuid.UUID, *, settle: timedelta = SETTLE, batch: int = EVENT_BATCH
) -> RefreshResult:
    """Bring the tenant's facts up to the events that are ``settle`` old; one transaction per batch."""
    horizon = utcnow() - settle
    if db.engine.dialect.name == "sqlite":
        # SQLite has one writer: shorter transactions keep ticket writes from waiting on the refresher.
        batch = min(batch, SQLITE_EVENT_BATCH)
    total_events = total_tickets = 0
    while True:
        async with db.uow(tenant_id) as uow:
            cursor = await _cursor(uow.session, tenant_id)
            where = [TicketEvent.created_at <= horizon]
            if cursor.event_created_at is not None and cursor.event_id is not None:
                where.append(
                    tuple_(TicketEvent.created_at, TicketEvent.id)
                    > tuple_(ensure_utc(cursor.event_created_at), cursor.event_id)
                )
            rows = (
                await uow.session.execute(
                    select(TicketEvent.created_at, TicketEvent.id, TicketEvent.ticket_id)
                    .where(*where)
                    .order_by(TicketEvent.created_at, TicketEvent.id)
                    .limit(batch)
                )
            ).all()
            if not rows:
                await uow.commit()
                break
            total_tickets += await refresh_tickets(uow.session, tenant_id, [row.ticket_id for row in rows])
            total_events += len(rows)
            cursor.event_created_at = ensure_utc(rows[-1].created_at)
            cursor.event_id = rows[-1].id
            cursor.updated_at = utcnow()
            await uow.commit()
        if len(rows) < batch:
            break
    return RefreshResult(total_events, total_tickets)


async def rebuild(
    db: Database, tenant_id: uuid.UUID, *, progress: Progress | None = None, batch: int = TICKET_BATCH
) -> int:
    """Recompute every fact of the tenant, then continue incrementally from the events that existed
    when the rebuild started (later ones are read again by ``refresh``: recomputing is idempotent)."""
    async with db.read(tenant_id) as session:
        total = int((await session.execute(select(func.count()).select_from(Ticket))).scalar_one())
        last = (
            await session.execute(
                select(TicketEvent.created_at, TicketEvent.id)
                .order_by(TicketEvent.created_at.desc(), TicketEvent.id.desc())
                .limit(1)
            )
        ).first()
    done = 0
    after: uuid.UUID | None = None
    if progress is not None:
        progress(0, total)
    while True:
        async with db.uow(tenant_id) as uow:
            query = select(Ticket.id).order_by(Ticket.id).limit(batch)
            if after is not None:
                query = query.where(Ticket.id > after)
            ids = list((await uow.session.execute(query)).scalars())
            if not ids:
                break
            await refresh_tickets(uow.session, tenant_id, ids, contiguous=True)
            await uow.commit()
        after = ids[-1]
        done += len(ids)
        if progress is not None:
            progress(done, total)
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics for the planner, and a visibility map for the index-only backlog counts
        # (the rewritten rows are not all-visible yet), now rather than whenever autovacuum gets to
        # the table. VACUUM runs outside a transaction.
        async with db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM (ANALYZE) ticket_facts"))
    async with db.uow(tenant_id) as uow:
        cursor = await _cursor(uow.session, tenant_id)
        cursor.event_created_at = ensure_utc(last.created_at) if last is not None else None
        cursor.event_id = last.id if last is not None else None
        cursor.updated_at = utcnow()
        await uow.commit()
    return done


async def tenant_ids(db: Database) -> list[uuid.UUID]:
    async with db.read(None, system=True) as session:
        return list((await session.execute(select(Tenant.id).order_by(Tenant.id))).scalars())


async def refresh_all(db: Database, *, settle: timedelta = SETTLE) -> dict[uuid.UUID, RefreshResult]:
    """``refresh`` every tenant (the worker's periodic step)."""
    results: dict[uuid.UUID, RefreshResult] = {}
    for tenant_id in await tenant_ids(db):
        results[tenant_id] = await refresh(db, tenant_id, settle=settle)
    return results
