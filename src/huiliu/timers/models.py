"""The timer table: when each ticket next needs attention, per kind of timer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.db.base import Base, TenantScoped


class TicketTimer(TenantScoped, Base):
    """One due instant of one ticket for one kind of timer (``"sla"``, ``"rules"``). The sweep reads
    ``ix_ticket_timers_due`` across tenants; a row without a due instant is deleted, not kept."""

    __tablename__ = "ticket_timers"
    __table_args__ = (Index("ix_ticket_timers_due", "next_timer_at"),)

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_timer_at: Mapped[datetime]
