"""Tables of the analytics package: one fact row per ticket (the rollup dashboards aggregate) and the
per-tenant cursor of the refresher that keeps the facts up to date from the audit events."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, TenantScoped

# Carried by the open-ticket index (PostgreSQL INCLUDE) so that scope and dashboard filters need no
# table read when counting the backlog.
UNRESOLVED_DIMENSIONS = (
    "team_id",
    "assignee_id",
    "channel",
    "priority",
    "category",
    "scenario",
    "entry_point_id",
    "customer_level",
    "region",
)

CREATED_CARD_COLUMNS = (
    "team_id",
    "assignee_id",
    "first_response_minutes",
    "first_response_met",
    "resolution_met",
    "csat",
    "reopened",
    "ever_resolved",
    "fcr",
    "transfers",
)
RESOLVED_CARD_COLUMNS = ("team_id", "assignee_id", "resolution_minutes")


class TicketFact(TenantScoped, Base):
    """A ticket as reports see it: its dimensions, milestones, durations (business minutes where an
    SLA applies), SLA outcomes, CSAT, reopen and hand-over counts, and the time buckets it falls in
    (UTC hour, Asia/Shanghai day, Asia/Shanghai hour of the week). Written only by
    ``analytics.rollups``; docs/decisions/0027."""

    __tablename__ = "ticket_facts"
    __table_args__ = (
        # The summary's card scans (a period's created tickets, its resolutions) read only these
        # columns for the "all" and team scopes: index-only scans on PostgreSQL (decision 0046).
        Index(
            "ix_ticket_facts_created",
            "tenant_id",
            "created_at",
            postgresql_include=list(CREATED_CARD_COLUMNS),
        ),
        Index("ix_ticket_facts_created_hour", "tenant_id", "created_hour"),
        Index(
            "ix_ticket_facts_resolved",
            "tenant_id",
            "resolved_at",
            "created_at",
            postgresql_include=list(RESOLVED_CARD_COLUMNS),
        ),
        # Open tickets (backlog, aging, workload): a small part of the table once history piles up,
        # but scattered over all of it — so on PostgreSQL the index carries the scope and filter
        # dimensions and the counts are index-only scans (UNRESOLVED_DIMENSIONS; decision 0046).
        Index(
            "ix_ticket_facts_unresolved",
            "tenant_id",
            "created_at",
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_include=list(UNRESOLVED_DIMENSIONS),
        ),
        Index("ix_ticket_facts_team", "tenant_id", "team_id", "created_at"),
        Index("ix_ticket_facts_assignee", "tenant_id", "assignee_id", "created_at"),
        Index("ix_ticket_facts_open", "tenant_id", "status", "created_at"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime]
    created_hour: Mapped[datetime]
    created_day: Mapped[date] = mapped_column(Date)
    hour_of_week: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(100))
    scenario: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    entry_point_id: Mapped[uuid.UUID | None]
    team_id: Mapped[uuid.UUID | None]
    assignee_id: Mapped[uuid.UUID | None]
    customer_level: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(200))
    accepted_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_hour: Mapped[datetime | None]
    resolved_day: Mapped[date | None] = mapped_column(Date)
    first_response_minutes: Mapped[float | None]
    first_response_business: Mapped[bool] = mapped_column(default=False)
    resolution_minutes: Mapped[float | None]
    resolution_business: Mapped[bool] = mapped_column(default=False)
    first_response_met: Mapped[bool | None]
    resolution_met: Mapped[bool | None]
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime | None]
    reopened: Mapped[bool] = mapped_column(default=False)
    ever_resolved: Mapped[bool] = mapped_column(default=False)
    fcr: Mapped[bool | None]
    transfers: Mapped[int] = mapped_column(default=0)
    agent_replies: Mapped[int] = mapped_column(default=0)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RollupCursor(TenantScoped, Base):
    """How far the refresher has read a tenant's audit events: the (created_at, id) of the last one."""

    __tablename__ = "analytics_cursors"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    event_created_at: Mapped[datetime | None]
    event_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
