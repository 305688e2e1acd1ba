"""Tables of the SLA package: the tenant's business calendars and SLA policies, and each ticket's
SLA state (clocks, deadlines, breaches and the outcome fields reports read)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class StoredCalendar(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A business calendar in the preview endpoint's JSON shape (``hours`` as ``"HH:MM"`` pairs per
    weekday, ``holidays`` and ``workdays`` as ISO dates). One per tenant may be the default: policies
    without a calendar of their own use it."""

    __tablename__ = "business_calendars"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "preset_key"))

    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    holidays: Mapped[list[str]] = mapped_column(default=list)
    workdays: Mapped[list[str]] = mapped_column(default=list)
    cn_statutory: Mapped[bool] = mapped_column(default=False)
    is_default: Mapped[bool] = mapped_column(default=False)
    preset_key: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaPolicy(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """An SLA policy: the first active one by ``position`` whose ``conditions`` all hold covers a
    ticket. ``targets`` are business minutes per priority and metric; ``tiers`` are
    ``[{"percent": 75, "actions": [...]}]`` with automation actions."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("tenant_id", "preset_key"),
        Index("ix_sla_policies_position", "tenant_id", "position", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    calendar_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL")
    )
    targets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    preset_key: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketSla(TenantScoped, Base):
    """A ticket's SLA state. ``clocks`` holds each metric's clock (``sla.domain.ticket.to_json``); the
    columns beside it repeat what queues, the ticket view and reports read: deadlines, breaches,
    ``next_due_at`` (the earliest open deadline, for the breaching-soon queue) and the outcomes."""

    __tablename__ = "ticket_slas"
    __table_args__ = (Index("ix_ticket_slas_next_due", "tenant_id", "next_due_at"),)

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sla_policies.id", ondelete="SET NULL"))
    policy_name: Mapped[str] = mapped_column(String(200), default="")
    priority: Mapped[str] = mapped_column(String(16))
    clocks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    paused: Mapped[bool] = mapped_column(default=False)
    next_due_at: Mapped[datetime | None]
    first_response_due_at: Mapped[datetime | None]
    next_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_response_breached: Mapped[bool] = mapped_column(default=False)
    first_response_breached_at: Mapped[datetime | None]
    next_response_breached: Mapped[bool] = mapped_column(default=False)
    next_response_breached_at: Mapped[datetime | None]
    resolution_breached: Mapped[bool] = mapped_column(default=False)
    resolution_breached_at: Mapped[datetime | None]
    # Outcomes for reports: whether the target was met when the cycle closed, and the business minutes
    # used; next responses count their breaches (there is one cycle per customer message).
    first_response_met: Mapped[bool | None]
    first_response_minutes: Mapped[float | None]
    resolution_met: Mapped[bool | None]
    resolution_minutes: Mapped[float | None]
    next_response_breaches: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
