"""Tables of the attachments package."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class Attachment(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One uploaded file. ``ticket_id`` is set when it was uploaded for a ticket or used in a message
    (then it is visible to whoever sees the ticket); until then only its uploader sees it. The bytes
    live in content-addressed storage at ``storage_path`` (relative to the files directory)."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_ticket", "ticket_id"),
        Index("ix_attachments_message", "message_id"),
    )

    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
