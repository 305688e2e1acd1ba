"""The read side of attachments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.attachments.models import Attachment
from huiliu.core.errors import NotFound


async def get_attachment(session: AsyncSession, attachment_id: uuid.UUID) -> Attachment:
    """The attachment in the session's tenant; NotFound otherwise. Visibility by ticket scope or
    uploader is the caller's next check."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("attachment not found")
    return attachment


async def for_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> Sequence[Attachment]:
    """Every attachment of a ticket, oldest first (the detail page groups them by message)."""
    return (
        (
            await session.execute(
                select(Attachment)
                .where(Attachment.ticket_id == ticket_id)
                .order_by(Attachment.created_at, Attachment.id)
            )
        )
        .scalars()
        .all()
    )
