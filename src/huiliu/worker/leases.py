"""Leases on outbox rows: how workers share the outbox without delivering a row twice at once.

A dispatcher claims due rows by writing ``locked_until = now + lease`` (the lease value doubles as a
token: whoever holds the row knows it). The task that processes a row first takes it over, a
compare-and-set on that token that also extends the lease, so a stale task (its row was re-claimed
after the lease ran out) does nothing. Settling a row (delivered, retry later, dead) is again a
compare-and-set on the token. A worker that dies mid-delivery leaves its lease to run out; the sweeper
then frees the row and the dispatcher claims it again: at-least-once delivery, with the same event id."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from huiliu.core.outbox import STATE_PENDING, OutboxRow


@dataclass(frozen=True, slots=True)
class Claim:
    row_id: uuid.UUID
    kind: str
    lease: datetime


def lease_until(now: datetime, lease_seconds: float) -> datetime:
    return now + timedelta(seconds=lease_seconds)


def claim_due(
    session: Session,
    *,
    now: datetime,
    lease_seconds: float,
    limit: int,
    kinds: Collection[str],
    tenant_id: uuid.UUID | None = None,
) -> list[Claim]:
    """Lease up to ``limit`` due, unleased rows of ``kinds``, oldest due first. One statement: on
    PostgreSQL the inner SELECT takes ``FOR UPDATE SKIP LOCKED`` so concurrent dispatchers split the
    rows between them; SQLite runs one writer at a time. ``tenant_id`` narrows the claim to one tenant
    (draining a single tenant)."""
    if limit <= 0:
        return []
    lease = lease_until(now, lease_seconds)
    due = (
        select(OutboxRow.id)
        .where(
            OutboxRow.state == STATE_PENDING,
            OutboxRow.next_attempt_at <= now,
            OutboxRow.locked_until.is_(None),
            OutboxRow.kind.in_(list(kinds)),
        )
        .order_by(OutboxRow.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if tenant_id is not None:
        due = due.where(OutboxRow.tenant_id == tenant_id)
    statement = (
        update(OutboxRow)
        .where(OutboxRow.id.in_(due.scalar_subquery()), OutboxRow.locked_until.is_(None))
        .values(locked_until=lease)
        .returning(OutboxRow.id, OutboxRow.kind)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(statement).all()
    return [Claim(row_id=row.id, kind=row.kind, lease=lease) for row in rows]


def take_over(
    session: Session, row_id: uuid.UUID, token: datetime, *, now: datetime, lease_seconds: float
) -> datetime | None:
    """Start processing a claimed row: extend its lease if ``token`` is still the row's lease and the
    row is still pending. Returns the new lease (the token for ``settle``), or None for a stale task."""
    renewed = lease_until(now, lease_seconds)
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id, OutboxRow.state == STATE_PENDING, OutboxRow.locked_until == token)
        .values(locked_until=renewed)
        .execution_options(synchronize_session=False)
    )
    return renewed if _rowcount(result) == 1 else None


def take_over_many(
    session: Session, row_ids: Collection[uuid.UUID], token: datetime, *, now: datetime, lease_seconds: float
) -> tuple[datetime, list[uuid.UUID]]:
    """``take_over`` for a batch of rows claimed together (one token): returns the new lease and the
    rows still ours."""
    renewed = lease_until(now, lease_seconds)
    if not row_ids:
        return renewed, []
    result = session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.id.in_(list(row_ids)), OutboxRow.state == STATE_PENDING, OutboxRow.locked_until == token
        )
        .values(locked_until=renewed)
        .returning(OutboxRow.id)
        .execution_options(synchronize_session=False)
    )
    return renewed, list(result.scalars())


def lease_due(
    session: Session, row_ids: Collection[uuid.UUID], lease: datetime, *, now: datetime
) -> list[uuid.UUID]:
    """Lease rows just created (a fan-out's children) that are due now and free, so the task that
    created them sends them at once instead of waiting for the next claim."""
    if not row_ids:
        return []
    result = session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.id.in_(list(row_ids)),
            OutboxRow.state == STATE_PENDING,
            OutboxRow.locked_until.is_(None),
            OutboxRow.next_attempt_at <= now,
        )
        .values(locked_until=lease)
        .returning(OutboxRow.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


def settle(session: Session, row_id: uuid.UUID, token: datetime, values: dict[str, Any]) -> bool:
    """Write a row's outcome and release its lease, if this worker still holds it."""
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id, OutboxRow.locked_until == token)
        .values(locked_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def release_expired(session: Session, *, now: datetime) -> int:
    """The sweeper: free pending rows whose lease ran out (their worker died or stalled) so the
    dispatcher claims them again."""
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.state == STATE_PENDING, OutboxRow.locked_until < now)
        .values(locked_until=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
