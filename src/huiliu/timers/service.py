"""Setting a ticket's timers and sweeping the due ones.

``set_timer`` is called by whoever knows when a ticket next needs attention (the SLA reactor, the
rules engine), inside the unit of work that changed the ticket. ``sweep`` is run by the worker every
``timer_sweep_seconds``: it claims due rows, runs the handler registered for each row's kind in a unit
of work of that row's tenant, one ticket per transaction, and stores the next due instant the handler
returns. A claim is a lease: the claimed rows' ``next_timer_at`` moves ``CLAIM_LEASE`` ahead in the
claiming statement, so another sweeper (or this one, next time) does not take them while they are
handled; a handler that fails leaves its row at the lease, which is the retry delay. See
docs/decisions/0016."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, TextClause, delete, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from huiliu.core import clock
from huiliu.core.clock import ensure_utc
from huiliu.db import bulk
from huiliu.db.session import Database, UnitOfWork
from huiliu.timers.models import TicketTimer

log = logging.getLogger("huiliu.timers")

# Claimed rows are due again after this long unless their handler stores a new instant first: the
# retry delay of a failed ticket and the recovery time of a sweeper that died mid-batch.
CLAIM_LEASE = timedelta(seconds=60)
# A handler that answers "due again now" is looked at again on the next sweep at the earliest, never
# in a tight loop within one.
MIN_RESCHEDULE = timedelta(seconds=1)
MAX_KIND_LENGTH = 16

# Due tickets of one tenant and kind handled together by a batch handler, in one transaction.
BATCH_TICKETS = 100

TimerHandler = Callable[[UnitOfWork, uuid.UUID, datetime], Awaitable[datetime | None]]
BatchTimerHandler = Callable[
    [UnitOfWork, Sequence[uuid.UUID], datetime], Awaitable[Mapping[uuid.UUID, datetime | None]]
]

_handlers: dict[str, TimerHandler] = {}
_batch_handlers: dict[str, BatchTimerHandler] = {}


def register_timer_handler(
    kind: str, handler: TimerHandler, *, batch: BatchTimerHandler | None = None
) -> None:
    """Make ``handler`` act on due timers of ``kind``. It gets the unit of work of the ticket's
    tenant, the ticket id and the sweep's "now", acts on the ticket through the service functions
    (no commit of its own needed: the sweep commits) and returns the next due instant or None.

    ``batch``, when given, does the same for up to ``BATCH_TICKETS`` tickets of one tenant in one unit
    of work and returns each one's next instant; if a batch fails, its tickets are handled one by one
    with ``handler``, so one failing ticket still does not hold back the others."""
    if not kind or len(kind) > MAX_KIND_LENGTH:
        raise ValueError(f"a timer kind is 1 to {MAX_KIND_LENGTH} characters, got {kind!r}")
    _handlers[kind] = handler
    if batch is None:
        _batch_handlers.pop(kind, None)
    else:
        _batch_handlers[kind] = batch


def unregister_timer_handler(kind: str) -> None:
    _handlers.pop(kind, None)
    _batch_handlers.pop(kind, None)


def timer_handler(kind: str) -> TimerHandler | None:
    return _handlers.get(kind)


# What the current transaction last set each (ticket, kind) timer to (``session.info``): setting it
# to the same instant again (a second reaction pass over the same ticket) needs no statement. Another
# transaction starts afresh: a sweeper may have moved the row since.
_SET = "timers.set"


def _already(uow: UnitOfWork, ticket_id: uuid.UUID, kind: str, at: datetime | None) -> bool:
    transaction = uow.session.sync_session.get_transaction()
    memo = uow.session.info.get(_SET)
    if memo is None or memo[0] is not transaction:
        memo = uow.session.info[_SET] = (transaction, {})
    known: dict[tuple[uuid.UUID, str], datetime | None] = memo[1]
    key = (ticket_id, kind)
    value = None if at is None else ensure_utc(at)
    if key in known and known[key] == value:
        return True
    known[key] = value
    return False


async def set_timer(uow: UnitOfWork, ticket_id: uuid.UUID, kind: str, at: datetime | None) -> None:
    """Set (insert or move) the ticket's timer of ``kind`` to ``at``; None removes it."""
    if at is not None and at.tzinfo is None:
        raise ValueError("a timer instant must be timezone-aware")
    if _already(uow, ticket_id, kind, at):
        return
    if at is None:
        await uow.session.execute(
            delete(TicketTimer)
            .where(TicketTimer.ticket_id == ticket_id, TicketTimer.kind == kind)
            .execution_options(synchronize_session=False)
        )
        return
    if at.tzinfo is None:
        raise ValueError("a timer instant must be timezone-aware")
    if uow.tenant_id is None:
        raise ValueError("timers are set in a tenant's unit of work")
    insert_fn = pg_insert if uow.dialect == "postgresql" else sqlite_insert
    statement = insert_fn(TicketTimer).values(
        tenant_id=uow.tenant_id, ticket_id=ticket_id, kind=kind, next_timer_at=ensure_utc(at)
    )
    await uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=["ticket_id", "kind"],
            set_={"next_timer_at": statement.excluded.next_timer_at},
        )
    )


async def set_timers(uow: UnitOfWork, kind: str, instants: Mapping[uuid.UUID, datetime | None]) -> None:
    """``set_timer`` for several tickets of the unit of work's tenant: one upsert, one delete."""
    if uow.tenant_id is None:
        raise ValueError("timers are set in a tenant's unit of work")
    instants = {ticket_id: at for ticket_id, at in instants.items() if not _already(uow, ticket_id, kind, at)}
    gone = [ticket_id for ticket_id, at in instants.items() if at is None]
    rows = [
        {"tenant_id": uow.tenant_id, "ticket_id": ticket_id, "kind": kind, "next_timer_at": ensure_utc(at)}
        for ticket_id, at in instants.items()
        if at is not None
    ]
    if gone:
        await uow.session.execute(
            delete(TicketTimer)
            .where(TicketTimer.ticket_id.in_(gone), TicketTimer.kind == kind)
            .execution_options(synchronize_session=False)
        )
    if rows and uow.dialect == "postgresql":
        # One statement of fixed text, the rows as one JSON parameter (``db.bulk``, decision 0041).
        await uow.session.execute(_pg_upsert_timers(), {"timers": bulk.rows(rows)})
    elif rows:
        statement = sqlite_insert(TicketTimer)
        await uow.session.execute(
            statement.on_conflict_do_update(
                index_elements=["ticket_id", "kind"],
                set_={"next_timer_at": statement.excluded.next_timer_at},
            ),
            rows,
        )


_TIMER_KEYS = ("tenant_id", "ticket_id", "kind", "next_timer_at")


@functools.cache
def _pg_upsert_timers() -> TextClause:
    table: Table = TicketTimer.__table__  # type: ignore[assignment]
    return text(
        f"""
        INSERT INTO {bulk.insert_columns(table, _TIMER_KEYS)}
        SELECT {bulk.select_columns(_TIMER_KEYS, "t")}
        FROM {bulk.rows_source(table, _TIMER_KEYS, "timers", "t")}
        ON CONFLICT (ticket_id, kind) DO UPDATE SET next_timer_at = excluded.next_timer_at
        """
    )


async def get_timer(uow: UnitOfWork, ticket_id: uuid.UUID, kind: str) -> datetime | None:
    return await uow.session.scalar(
        select(TicketTimer.next_timer_at).where(TicketTimer.ticket_id == ticket_id, TicketTimer.kind == kind)
    )


@dataclass(frozen=True, slots=True)
class Claim:
    tenant_id: uuid.UUID
    ticket_id: uuid.UUID
    kind: str


@dataclass
class SweepResult:
    """What one sweep did: rows claimed, handled (committed), failed (left at the lease, logged) and
    unhandled (no handler for their kind in this process; left at the lease)."""

    claimed: int = 0
    handled: int = 0
    failed: int = 0
    unhandled: int = 0
    batches: int = 0

    def add(self, other: SweepResult) -> None:
        self.claimed += other.claimed
        self.handled += other.handled
        self.failed += other.failed
        self.unhandled += other.unhandled
        self.batches += other.batches


async def claim_due(db: Database, now: datetime, limit: int) -> list[Claim]:
    """Take up to ``limit`` rows due at ``now`` (oldest first) by moving them to the lease, in one
    statement and its own transaction. On PostgreSQL, rows another sweeper holds are skipped
    (``FOR UPDATE SKIP LOCKED``); SQLite has a single writer."""
    lease = ensure_utc(now) + CLAIM_LEASE
    due = (
        select(TicketTimer.ticket_id, TicketTimer.kind)
        .where(TicketTimer.next_timer_at <= ensure_utc(now))
        .order_by(TicketTimer.next_timer_at)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(TicketTimer)
        .where(tuple_(TicketTimer.ticket_id, TicketTimer.kind).in_(due))
        .values(next_timer_at=lease)
        .returning(TicketTimer.tenant_id, TicketTimer.ticket_id, TicketTimer.kind)
        .execution_options(synchronize_session=False)
    )
    async with db.session(None, system=True) as session:
        rows = (await session.execute(statement)).all()
        await session.commit()
    return [Claim(tenant_id, ticket_id, kind) for tenant_id, ticket_id, kind in rows]


async def handle_claim(db: Database, claim: Claim, now: datetime) -> bool | None:
    """Run the handler of one claimed row in its own unit of work. True: committed; False: the
    handler failed (logged, rolled back, the row stays at its lease); None: no handler for its kind."""
    handler = _handlers.get(claim.kind)
    if handler is None:
        log.warning(
            "no timer handler for kind %r (ticket %s); retried after the lease", claim.kind, claim.ticket_id
        )
        return None
    try:
        with clock.at(now):
            async with db.uow(claim.tenant_id) as uow:
                next_at = await handler(uow, claim.ticket_id, now)
                await set_timer(uow, claim.ticket_id, claim.kind, _next(next_at, now))
                await uow.commit()
    except Exception:
        log.exception(
            "%s timer of ticket %s failed; retried after %ss",
            claim.kind,
            claim.ticket_id,
            int(CLAIM_LEASE.total_seconds()),
        )
        return False
    return True


def _next(at: datetime | None, now: datetime) -> datetime | None:
    return None if at is None else max(ensure_utc(at), ensure_utc(now) + MIN_RESCHEDULE)


async def handle_batch(db: Database, claims: list[Claim], now: datetime) -> bool:
    """Run the batch handler of the claims' kind (one tenant, one kind) in one unit of work. False
    when it failed (logged, rolled back): the caller handles the tickets one by one."""
    handler = _batch_handlers[claims[0].kind]
    ticket_ids = [claim.ticket_id for claim in claims]
    try:
        with clock.at(now):
            async with db.uow(claims[0].tenant_id) as uow:
                nexts = await handler(uow, ticket_ids, now)
                await set_timers(
                    uow,
                    claims[0].kind,
                    {ticket_id: _next(nexts.get(ticket_id), now) for ticket_id in ticket_ids},
                )
                await uow.commit()
    except Exception:
        log.warning(
            "%s timers of %d tickets failed as a batch; handling them one by one",
            claims[0].kind,
            len(claims),
            exc_info=True,
        )
        return False
    return True


def _units(claims: list[Claim]) -> list[list[Claim]]:
    """Claims grouped for handling: tickets of one tenant and a kind with a batch handler in chunks of
    ``BATCH_TICKETS``; every other claim alone."""
    groups: dict[tuple[uuid.UUID, str], list[Claim]] = {}
    units: list[list[Claim]] = []
    for claim in claims:
        if claim.kind in _batch_handlers:
            groups.setdefault((claim.tenant_id, claim.kind), []).append(claim)
        else:
            units.append([claim])
    for group in groups.values():
        units.extend(group[i : i + BATCH_TICKETS] for i in range(0, len(group), BATCH_TICKETS))
    return units


async def _handle_all(db: Database, claims: list[Claim], now: datetime, concurrency: int) -> SweepResult:
    result = SweepResult(claimed=len(claims), batches=1)
    units = _units(claims)
    pending = iter(units)

    def count(outcome: bool | None) -> None:
        if outcome is None:
            result.unhandled += 1
        elif outcome:
            result.handled += 1
        else:
            result.failed += 1

    async def run() -> None:
        for unit in pending:
            if len(unit) > 1 and await handle_batch(db, unit, now):
                result.handled += len(unit)
                continue
            for claim in unit:
                count(await handle_claim(db, claim, now))

    await asyncio.gather(*(run() for _ in range(max(1, min(concurrency, len(units))))))
    return result


async def sweep(
    db: Database, now: datetime, *, batch: int = 500, concurrency: int | None = None
) -> SweepResult:
    """Handle every timer due at ``now``: claim a batch, handle it (one ticket per transaction, so one
    failing ticket does not stop the others), until a claim comes back short. ``concurrency`` tickets
    are handled at a time (default: 4 on PostgreSQL, whose round trips overlap; 1 on SQLite)."""
    if concurrency is None:
        concurrency = 4 if db.engine.dialect.name == "postgresql" else 1
    total = SweepResult()
    while True:
        claims = await claim_due(db, now, batch)
        if not claims:
            return total
        total.add(await _handle_all(db, claims, now, concurrency))
        if len(claims) < batch:
            return total
