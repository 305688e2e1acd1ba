"""Tables of the customers package."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class Customer(IdMixin, TenantScoped, CreatedAtMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_tenant_name", "tenant_id", "name"),
        Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200), default="")
    level: Mapped[str] = mapped_column(String(32), default="normal")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerIdentity(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One way of recognising a customer; (tenant, kind, value) is unique."""

    __tablename__ = "customer_identities"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "value"),
        Index("ix_customer_identities_customer", "customer_id"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(255))
    verified: Mapped[bool] = mapped_column(default=False)


class CustomerMerge(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One merge of ``merged`` into ``survivor``, with a snapshot of exactly what moved so it can be
    undone: ``moved`` maps a record kind (``identities``, ``tickets``, ``orders`` …) to ids, and
    ``profile`` to the values copied into gaps of the survivor's profile."""

    __tablename__ = "customer_merges"
    __table_args__ = (
        Index("ix_customer_merges_survivor", "survivor_id", "created_at"),
        Index("ix_customer_merges_merged", "merged_id", "created_at"),
    )

    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    merged_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(16))  # auto | manual
    reason: Mapped[str | None] = mapped_column(String(500))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    undone_at: Mapped[datetime | None]
    undone_by_kind: Mapped[str | None] = mapped_column(String(16))
    undone_by_id: Mapped[uuid.UUID | None]
    undone_by_name: Mapped[str | None] = mapped_column(String(200))


class CustomerEvent(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """Append-only history of one customer (created, updated, identities added, merged, unmerged,
    imported): the customer side of the 360 timeline."""

    __tablename__ = "customer_events"
    __table_args__ = (Index("ix_customer_events_customer", "customer_id", "created_at"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
