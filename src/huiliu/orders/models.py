"""Tables of the orders package: orders, opportunities (商机) and the links between tickets and orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped

# Yuan with fen; SQLite stores it as REAL, which is exact for 2 places below 10^13.
Money = Numeric(16, 2, asdecimal=True)


class Order(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """An order the customer placed on a platform or in the ERP; ``number`` is unique per tenant."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_orders_created", "tenant_id", "created_at", "id"),
        Index("ix_orders_customer", "tenant_id", "customer_id", "created_at"),
    )

    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    items: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    placed_at: Mapped[datetime | None]
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where the row came from: api (an agent or integrator), lookup (the ERP endpoint), import.
    origin: Mapped[str] = mapped_column(String(16), default="api")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Opportunity(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A sales opportunity (商机) with one customer, moving through stages to won or lost."""

    __tablename__ = "opportunities"
    __table_args__ = (
        Index("ix_opportunities_created", "tenant_id", "created_at", "id"),
        Index("ix_opportunities_customer", "tenant_id", "customer_id", "created_at"),
        Index("ix_opportunities_owner_stage", "tenant_id", "owner_id", "stage"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(32), default="qualification")
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    expected_close_at: Mapped[datetime | None]
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when the stage becomes won or lost, cleared when it leaves them.
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketOrder(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """An order a ticket concerns; (ticket, order) is unique, so linking twice changes nothing."""

    __tablename__ = "ticket_orders"
    __table_args__ = (
        UniqueConstraint("ticket_id", "order_id"),
        Index("ix_ticket_orders_order", "order_id"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # extracted | manual
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(200), default="")
