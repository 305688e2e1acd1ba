"""Tables of classification on tickets: the model's outputs per ticket (with the 待分类 triage flag)
and the corrections agents make (learning mode)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class TicketClassification(TenantScoped, CreatedAtMixin, Base):
    """What the classifier said about a ticket when it was created. ``needs_triage`` is true while a
    target's confidence was under the tenant's threshold and no agent has confirmed or corrected it."""

    __tablename__ = "ticket_classifications"
    __table_args__ = (
        Index(
            "ix_ticket_classifications_triage",
            "tenant_id",
            "created_at",
            postgresql_where=text("needs_triage"),
            sqlite_where=text("needs_triage = 1"),
        ),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The top guesses per target, best first: {"scenario": [["aftersales", 0.61], ...]}.
    guesses: Mapped[dict[str, Any]] = mapped_column(default=dict)
    low: Mapped[list[str]] = mapped_column(default=list)
    model_version: Mapped[str] = mapped_column(String(80))
    needs_triage: Mapped[bool] = mapped_column(default=False)
    triaged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    triaged_at: Mapped[datetime | None]


class ClassificationCorrection(IdMixin, TenantScoped, Base):
    """An agent's answer for one target of a ticket: ``corrected`` equal to ``predicted`` is a
    confirmation. Learning mode trains the tenant's model on these (``ticket_text`` + corrected label)."""

    __tablename__ = "classification_corrections"
    __table_args__ = (Index("ix_classification_corrections_tenant", "tenant_id", "created_at"),)

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(16))
    predicted: Mapped[str | None] = mapped_column(String(100))
    corrected: Mapped[str] = mapped_column(String(100))
    ticket_text: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# A unit of work's session remembers the classification rows it wrote or read, by ticket id (``None``:
# the ticket has none), with strong references (the identity map's are weak). The classification
# reactor records the rows it adds; the rules' facts loader records what it read. So the facts need no
# statement for them on later reaction passes, nor for tickets created in the same unit of work.
SESSION_ROWS = "huiliu.ticket_classifications"


def session_rows(info: dict[Any, Any]) -> dict[uuid.UUID, TicketClassification | None]:
    """The classification rows known to a session (its ``info`` map), by ticket id."""
    rows: dict[uuid.UUID, TicketClassification | None] = info.setdefault(SESSION_ROWS, {})
    return rows
