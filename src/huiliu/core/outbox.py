"""The outbox: side effects owed to the outside world, written in the same transaction as the change
that caused them and delivered by the worker (``huiliu.worker``) with retries and a delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped

# Row kinds. ``event`` rows fan out into per-subscriber rows (``webhook``) in the worker.
KIND_EVENT = "event"
KIND_WEBHOOK = "webhook"

STATE_PENDING = "pending"
STATE_DELIVERED = "delivered"
STATE_DEAD = "dead"


class OutboxRow(IdMixin, TenantScoped, CreatedAtMixin, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_tenant_created", "tenant_id", "created_at"),
        # The delivery log of one webhook subscription.
        Index("ix_outbox_target_created", "target_id", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(32))
    # The event id a receiver deduplicates on; repeated deliveries of a row always carry it.
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    target_id: Mapped[uuid.UUID | None]
    parent_id: Mapped[uuid.UUID | None]
    state: Mapped[str] = mapped_column(String(16), default=STATE_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class OutboxAttempt(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """The delivery log: one row per attempt, kept for operators and the console."""

    __tablename__ = "outbox_attempts"
    __table_args__ = (Index("ix_outbox_attempts_row", "outbox_id", "attempt"),)

    outbox_id: Mapped[uuid.UUID]
    attempt: Mapped[int]
    ok: Mapped[bool]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float]
