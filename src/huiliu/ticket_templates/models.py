"""Tables of the ticket templates package: the template (with its editable draft) and its published,
immutable versions. Tickets point at the version they were made with (``tickets.template_version_id``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class TicketTemplate(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A template and its draft: ``fields``, ``defaults``, ``workflow_id`` and ``sla_policy_id`` are
    what the next publish snapshots; ``current_version`` is the latest published version number."""

    __tablename__ = "ticket_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        Index("ix_ticket_templates_status", "tenant_id", "status", "name"),
    )

    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    scenario: Mapped[str] = mapped_column(String(32), default="custom")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    fields: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    defaults: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A workflow definition of the workflows package; stored as given (that package checks it).
    workflow_id: Mapped[uuid.UUID | None]
    sla_policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    current_version: Mapped[int | None]
    current_version_id: Mapped[uuid.UUID | None]
    # True while the draft differs from the latest published version.
    has_draft_changes: Mapped[bool] = mapped_column(default=True)
    preset_key: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[uuid.UUID | None]


class TicketTemplateVersion(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One published version: never changed after it is written."""

    __tablename__ = "ticket_template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ticket_templates.id", ondelete="CASCADE"))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    defaults: Mapped[dict[str, Any]] = mapped_column(default=dict)
    workflow_id: Mapped[uuid.UUID | None]
    sla_policy_id: Mapped[uuid.UUID | None]
    published_by_id: Mapped[uuid.UUID | None]
