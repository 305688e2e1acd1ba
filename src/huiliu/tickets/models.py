"""Tables of the tickets package."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class Ticket(IdMixin, TenantScoped, CreatedAtMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        # Keyset pages (newest first) for the queues agents live in; see docs/decisions/0003.
        Index("ix_tickets_status_created", "tenant_id", "status", "created_at", "id"),
        Index("ix_tickets_created", "tenant_id", "created_at", "id"),
        Index("ix_tickets_assignee_status", "tenant_id", "assignee_id", "status", "created_at"),
        Index("ix_tickets_team_status", "tenant_id", "team_id", "status", "created_at"),
        Index("ix_tickets_customer", "tenant_id", "customer_id", "created_at"),
        Index("ix_tickets_updated", "tenant_id", "updated_at"),
        # Children of a ticket (detail view); most tickets have no parent.
        Index(
            "ix_tickets_parent",
            "parent_id",
            postgresql_where=text("parent_id IS NOT NULL"),
            sqlite_where=text("parent_id IS NOT NULL"),
        ),
        # Intake folds repeats of a device alarm onto the open ticket of that device and alarm code.
        Index(
            "ix_tickets_alarm_key",
            "tenant_id",
            "alarm_key",
            postgresql_where=text("alarm_key IS NOT NULL"),
            sqlite_where=text("alarm_key IS NOT NULL"),
        ),
    )

    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    category: Mapped[str | None] = mapped_column(String(100))
    scenario: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32), default="api")
    entry_point_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("entry_points.id", ondelete="SET NULL")
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopened_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime | None]
    # Device alarms (intake): "<device_sn>:<alarm_code>" and how often it was raised while this ticket
    # was open. Both are NULL on tickets that are not alarms; rules can test the count ("three crashes").
    alarm_key: Mapped[str | None] = mapped_column(String(255))
    alarm_occurrences: Mapped[int | None]
    # The ticket template version the ticket was made with (ticket_templates); its fields are checked
    # against that version for the ticket's whole life, whatever the template becomes later.
    template_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ticket_template_versions.id", ondelete="SET NULL")
    )


class TicketCounter(TenantScoped, Base):
    """Next human-readable ticket number per tenant (SQLite; PostgreSQL uses a sequence per tenant)."""

    __tablename__ = "ticket_counters"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(default=0)


class TicketTag(TenantScoped, Base):
    """Tag membership for filtering; the ticket row keeps the ordered list for display."""

    __tablename__ = "ticket_tags"
    __table_args__ = (Index("ix_ticket_tags_tag", "tenant_id", "tag", "ticket_id"),)

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)


class TicketLink(IdMixin, TenantScoped, CreatedAtMixin, Base):
    __tablename__ = "ticket_links"
    __table_args__ = (
        UniqueConstraint("source_id", "target_id", "kind"),
        Index("ix_ticket_links_target", "target_id"),
    )

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))


class Message(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One entry of the conversation: a public reply or an internal note."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_ticket", "ticket_id", "created_at"),
        Index("uq_messages_external", "tenant_id", "channel", "external_id", unique=True),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_kind: Mapped[str] = mapped_column(String(16))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL")
    )
    public: Mapped[bool] = mapped_column(default=True)
    channel: Mapped[str] = mapped_column(String(32), default="console")
    body: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    # When the channel received an inbound message (it may reach intake later, e.g. in a batch).
    received_at: Mapped[datetime | None]
    delivery_state: Mapped[str | None] = mapped_column(String(16))


class TicketEvent(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """Append-only audit: who changed what, before and after, and why."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        Index("ix_ticket_events_ticket", "ticket_id", "created_at"),
        # The analytics refresher reads a tenant's events in (created_at, id) order from its cursor.
        Index("ix_ticket_events_tenant_created", "tenant_id", "created_at", "id"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(String(500))
