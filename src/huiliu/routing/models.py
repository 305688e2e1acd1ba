"""Tables of the routing package: the tenant's routing policies and one routing profile per agent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class RoutingPolicyRow(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A named routing policy. ``definition`` is the normalised JSON ``routing.domain.parse_policy``
    reads (written back by ``policy_spec``). At most one policy per tenant is the default (the
    service clears the flag on the others when it sets it); the reactor routes new tickets with the
    default policy when it is also active."""

    __tablename__ = "routing_policies"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_routing_policies_default", "tenant_id", "is_default"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_default: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentProfile(TenantScoped, Base):
    """How routing sees one user: presence, skills with levels (1–5), regions, seniority, a cap on
    open tickets and a weekly shift (``shift`` is the ``Shift.from_spec`` JSON; null means always on
    shift). ``last_assigned_at`` is the round-robin position, written by every routed assignment so
    the rotation is fair across processes. Users without a profile are not routed to."""

    __tablename__ = "agent_profiles"
    __table_args__ = (Index("ix_agent_profiles_presence", "tenant_id", "presence"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    presence: Mapped[str] = mapped_column(String(16), default="offline")
    presence_changed_at: Mapped[datetime | None]
    skills: Mapped[dict[str, Any]] = mapped_column(default=dict)
    regions: Mapped[list[str]] = mapped_column(default=list)
    senior: Mapped[bool] = mapped_column(default=False)
    capacity: Mapped[int | None]
    shift: Mapped[dict[str, Any] | None] = mapped_column()
    last_assigned_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
