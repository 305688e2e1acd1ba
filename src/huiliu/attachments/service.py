"""Attachment use cases: store an upload, and link uploads to a message of a ticket."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, false, or_, update

from huiliu.attachments.domain import classify
from huiliu.attachments.models import Attachment
from huiliu.attachments.storage import LocalStorage
from huiliu.attachments.upload import ReceivedUpload
from huiliu.auth.domain import Actor, ActorKind
from huiliu.core.clock import utcnow
from huiliu.core.errors import PermissionDenied, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.db.session import UnitOfWork


def require_upload_permission(actor: Actor) -> None:
    """Uploading is part of replying or writing a note."""
    if not (actor.can("ticket.reply") or actor.can("ticket.note")):
        raise PermissionDenied("missing permission ticket.reply or ticket.note")


async def store_upload(
    uow: UnitOfWork, actor: Actor, upload: ReceivedUpload, storage: LocalStorage
) -> Attachment:
    """Check the staged upload against the allowlist (refusing disguised files), move it into
    content-addressed storage and record it, linked to ``upload.ticket_id`` when given.

    The caller has checked that the ticket, if any, is visible to ``actor``. Uploads that are not
    linked to a ticket belong to their uploader, so only users may make them."""
    require_upload_permission(actor)
    if upload.ticket_id is None and actor.kind is not ActorKind.USER:
        raise ValidationFailed("uploads made with an API key must name the ticket_id they belong to")
    staged = upload.staged
    content_type = classify(
        staged.head, filename=upload.filename, declared_type=upload.declared_type, utf8_text=staged.utf8_text
    )
    storage_path = await storage.store(actor.tenant_id, staged)
    attachment = Attachment(
        id=new_id(),
        tenant_id=actor.tenant_id,
        ticket_id=upload.ticket_id,
        message_id=None,
        filename=upload.filename,
        content_type=content_type,
        size=staged.size,
        sha256=staged.sha256,
        storage_path=storage_path,
        uploaded_by_id=actor.id if actor.kind is ActorKind.USER else None,
        created_at=utcnow(),
    )
    uow.session.add(attachment)
    await uow.commit()
    return attachment


async def claim_for_message(
    uow: UnitOfWork,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    message_id: uuid.UUID,
    attachment_ids: list[uuid.UUID],
) -> None:
    """Link uploads to a new message of a ticket, inside the caller's transaction (no commit).

    Each must be unused by any message and either already belong to this ticket or be an unlinked
    upload of ``actor`` (for the system: an upload a channel stored without an uploader); otherwise
    the whole message fails."""
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return
    # The message row must exist before attachment rows can point at it.
    await uow.session.flush()
    if actor.kind is ActorKind.USER and actor.id:
        own_upload = Attachment.uploaded_by_id == actor.id
    elif actor.kind is ActorKind.SYSTEM:
        # Channels (the public H5 form) store customers' uploads with no uploader and hand their ids
        # to intake, which claims them as the system.
        own_upload = Attachment.uploaded_by_id.is_(None)
    else:
        own_upload = false()
    claimed = await uow.session.execute(
        update(Attachment)
        .where(
            Attachment.id.in_(wanted),
            Attachment.message_id.is_(None),
            or_(Attachment.ticket_id == ticket_id, and_(Attachment.ticket_id.is_(None), own_upload)),
        )
        .values(message_id=message_id, ticket_id=ticket_id)
        .returning(Attachment.id)
        .execution_options(synchronize_session=False)
    )
    if len(claimed.scalars().all()) != len(wanted):
        raise ValidationFailed("an attachment does not exist, is already used or is not yours")
