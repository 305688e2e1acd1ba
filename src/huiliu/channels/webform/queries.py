"""The read side of the progress page: one ticket's status and its public conversation. Internal
notes, events, agents' names and everything about other tickets stay out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.attachments.models import Attachment
from huiliu.attachments.queries import get_attachment
from huiliu.auth.domain import system_actor
from huiliu.core.clock import ensure_utc, utcnow
from huiliu.core.errors import Gone, NotFound
from huiliu.tickets.domain import Status
from huiliu.tickets.models import Message, Ticket
from huiliu.tickets.queries import get_visible_ticket, ticket_timeline

# Authors whose public messages the customer sees (a system message marked public is a notice to them).
VISIBLE_AUTHORS = frozenset({"customer", "agent", "system"})


async def progress_ticket(
    session: AsyncSession, tenant_id: uuid.UUID, ticket_id: uuid.UUID, *, days_after_close: int
) -> Ticket:
    """The ticket behind a progress link; a ticket merged into another shows the one it became.
    ``Gone`` once the ticket has been closed for longer than ``days_after_close`` days (0: never)."""
    actor = system_actor(tenant_id)
    ticket = await get_visible_ticket(session, actor, ticket_id)
    if ticket.merged_into_id is not None:
        ticket = await get_visible_ticket(session, actor, ticket.merged_into_id)
    if link_expired(ticket, days_after_close, utcnow()):
        raise Gone("this progress link has expired: the ticket was closed")
    return ticket


def link_expired(ticket: Ticket, days_after_close: int, now: datetime) -> bool:
    if days_after_close <= 0 or ticket.status != Status.CLOSED.value or ticket.closed_at is None:
        return False
    return ensure_utc(ticket.closed_at) + timedelta(days=days_after_close) < now


def attachment_url(token: str, attachment_id: uuid.UUID) -> str:
    return f"/api/v1/public/progress/{token}/attachments/{attachment_id}"


async def progress_view(
    session: AsyncSession, tenant_id: uuid.UUID, ticket_id: uuid.UUID, token: str, *, days_after_close: int
) -> dict[str, Any]:
    ticket = await progress_ticket(session, tenant_id, ticket_id, days_after_close=days_after_close)
    timeline = await ticket_timeline(session, ticket.id)
    public_ids = {
        message.id
        for message in timeline["messages"]
        if message.public and message.author_kind in VISIBLE_AUTHORS
    }
    files: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for attachment in timeline["attachments"]:
        if attachment.message_id in public_ids:
            files.setdefault(attachment.message_id, []).append(
                {
                    "id": attachment.id,
                    "filename": attachment.filename,
                    "content_type": attachment.content_type,
                    "size": attachment.size,
                    "url": attachment_url(token, attachment.id),
                }
            )
    return {
        "ticket_number": ticket.number,
        "title": ticket.title,
        "status": ticket.status,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "messages": [
            {
                "id": message.id,
                "author_kind": message.author_kind,
                "body": message.body,
                "created_at": message.created_at,
                "attachments": files.get(message.id, []),
            }
            for message in timeline["messages"]
            if message.id in public_ids
        ],
    }


async def progress_attachment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ticket_id: uuid.UUID,
    attachment_id: uuid.UUID,
    *,
    days_after_close: int,
) -> Attachment:
    """An attachment of a public message on the link's ticket; NotFound for anything else."""
    ticket = await progress_ticket(session, tenant_id, ticket_id, days_after_close=days_after_close)
    attachment = await get_attachment(session, attachment_id)
    if attachment.ticket_id != ticket.id or attachment.message_id is None:
        raise NotFound("attachment not found")
    message = await session.get(Message, attachment.message_id)
    if message is None or not message.public or message.author_kind not in VISIBLE_AUTHORS:
        raise NotFound("attachment not found")
    return attachment
