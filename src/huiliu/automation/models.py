"""Tables of the automation package: the tenant's rules and the record of every change to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class Rule(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One rule (trigger or automation). ``definition`` is the normalised definition the engine
    compiles (``automation.domain.parse_rule``), with ``id`` set to this row's id; ``name``, ``kind``,
    ``position``, ``active`` and ``stop_processing`` repeat it as columns for lists and ordering and are
    always written together with it. ``preset_key`` names the preset a rule was installed from, so
    installing presets twice adds nothing. ``fired_count`` and ``last_fired_at`` are kept by the write
    path that applies rules."""

    __tablename__ = "rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "preset_key"),
        Index("ix_rules_position", "tenant_id", "position", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    stop_processing: Mapped[bool] = mapped_column(default=False)
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    preset_key: Mapped[str | None] = mapped_column(String(64))
    fired_count: Mapped[int] = mapped_column(default=0)
    last_fired_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleChange(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """Append-only audit of rule changes: who created, changed, reordered or deleted a rule, with the
    definition before and after. ``rule_id`` is not a foreign key, so a deleted rule's history stays."""

    __tablename__ = "rule_changes"
    __table_args__ = (Index("ix_rule_changes_rule", "tenant_id", "rule_id", "created_at"),)

    rule_id: Mapped[uuid.UUID]
    action: Mapped[str] = mapped_column(String(16))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()


class RuleRun(IdMixin, TenantScoped, Base):
    """An automation (time-based rule) that fired on a ticket for one anchor (``automation.domain.
    schedule.anchor_key``: the timestamps its time conditions count from), so the timer sweep does not
    fire it again for the same ticket state. Unique per rule, ticket and anchor; deleted with the
    ticket, kept when the rule is deleted (``rule_id`` is not a foreign key, like ``RuleChange``)."""

    __tablename__ = "rule_runs"
    __table_args__ = (
        UniqueConstraint("rule_id", "ticket_id", "anchor"),
        Index("ix_rule_runs_ticket", "ticket_id"),
    )

    rule_id: Mapped[uuid.UUID]
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    anchor: Mapped[str] = mapped_column(String(200), default="")
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
