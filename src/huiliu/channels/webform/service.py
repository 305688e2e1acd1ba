"""Use cases of the public form: a customer submits the form (with photos), adds a message on the
progress page. Both write through intake or the ticket service in the entry point's tenant; a
refusal leaves nothing behind (see ``submit`` for the photos)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from huiliu.attachments.domain import classify
from huiliu.attachments.models import Attachment
from huiliu.attachments.storage import LocalStorage
from huiliu.auth.domain import Actor, ActorKind, DataScope, system_actor
from huiliu.channels.webform import domain
from huiliu.channels.webform.queries import progress_ticket
from huiliu.channels.webform.schemas import SubmissionIn
from huiliu.channels.webform.upload import StagedPhoto
from huiliu.core.clock import utcnow
from huiliu.core.errors import NotFound, UnsupportedMediaType, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.db.session import Database
from huiliu.entry_points.domain import H5_FORM
from huiliu.entry_points.models import EntryPoint
from huiliu.entry_points.queries import get_by_public_key
from huiliu.intake import service as intake
from huiliu.intake.domain import (
    InboundMessage,
    IngestOutcome,
    IngestResult,
    IntakeDefaults,
    SenderIdentity,
)
from huiliu.orders.lookup import OrderLookup
from huiliu.ticket_templates import service as ticket_templates
from huiliu.tickets import service as tickets
from huiliu.tickets.models import Message

# Only these may reply on the progress page: a customer acting on their own ticket.
CUSTOMER_PERMISSIONS = frozenset({"ticket.reply"})


@dataclass(frozen=True)
class Accepted:
    result: IngestResult
    tenant_id: uuid.UUID


async def open_form(db: Database, public_key: str) -> EntryPoint:
    """The active h5_form entry point behind a public key; NotFound for anything else (unknown,
    inactive or another kind look the same from outside)."""
    if not public_key or len(public_key) > 64:
        raise NotFound("form not found")
    async with db.read(None, system=True) as session:
        entry_point = await get_by_public_key(session, public_key)
    if entry_point is None or not entry_point.is_active or entry_point.kind != H5_FORM:
        raise NotFound("form not found")
    return entry_point


def check_photos(photos: Sequence[StagedPhoto]) -> list[str]:
    """The sniffed type of each photo; UnsupportedMediaType when one is not an image we accept or is
    disguised (its bytes disagree with its name or declared type)."""
    types = []
    for photo in photos:
        content_type = classify(
            photo.staged.head,
            filename=photo.filename,
            declared_type=photo.declared_type,
            utf8_text=photo.staged.utf8_text,
        )
        if content_type not in domain.PHOTO_TYPES:
            raise UnsupportedMediaType(f"{photo.filename} is not a photo (JPEG, PNG, GIF, WebP or HEIC)")
        types.append(content_type)
    return types


def _identities(submission: SubmissionIn) -> tuple[SenderIdentity, ...]:
    found = []
    if submission.contact.phone:
        found.append(SenderIdentity("phone", submission.contact.phone))
    if submission.contact.email:
        found.append(SenderIdentity("email", str(submission.contact.email)))
    return tuple(found)


async def submit(
    db: Database,
    entry_point: EntryPoint,
    submission: SubmissionIn,
    photos: Sequence[StagedPhoto],
    storage: LocalStorage,
    *,
    submission_key: str | None = None,
    defaults: IntakeDefaults | None = None,
    order_lookup: OrderLookup | None = None,
    identities: Sequence[SenderIdentity] = (),
) -> Accepted:
    """Turn a form submission into an inbound message and hand it to intake, photos included.
    ``submission_key`` (the client's Idempotency-Key) makes a resent form a repeat; ``defaults`` and
    ``order_lookup`` are intake's windows and ERP look-up (see ``intake.service.ingest``).

    The photos are recorded first, unlinked and visible to nobody (intake may roll its transaction
    back and start over, so they cannot ride in it); intake then claims them for the ticket's message.
    When intake refuses the message, the photo rows and the files this request added are removed
    again, so a refused submission leaves nothing behind."""
    domain.check_contact(
        domain.Contact(submission.contact.name, submission.contact.phone, submission.contact.email),
        str(entry_point.config.get("contact_required", "none")),
    )
    allowed = domain.max_photos(entry_point.config)
    if len(photos) > allowed:
        raise ValidationFailed(f"this form takes at most {allowed} photos")
    content_types = check_photos(photos)
    tenant_id = entry_point.tenant_id
    fields, template = await _template_fields(db, entry_point, submission)
    added_files: list[Path] = []
    attachment_ids: list[uuid.UUID] = []
    try:
        if photos:
            attachment_ids = await _record_photos(db, tenant_id, photos, content_types, storage, added_files)
        message = InboundMessage(
            channel=entry_point.channel,
            text=submission.description,
            received_at=utcnow(),
            entry_point_id=entry_point.id,
            external_id=f"h5:{submission_key}" if submission_key else None,
            sender_name=submission.contact.name,
            identities=(*_identities(submission), *identities),
            title=submission.title or None,
            attachment_ids=tuple(attachment_ids),
            source=submission.source,
            fields=fields,
            template=template,
        )
        actor = system_actor(tenant_id, f"H5 form: {entry_point.name}")
        async with db.uow(tenant_id) as uow:
            result = await intake.ingest(uow, actor, message, defaults=defaults, order_lookup=order_lookup)
    except BaseException:
        if attachment_ids:
            await _forget_photos(db, tenant_id, attachment_ids)
        for path in added_files:
            path.unlink(missing_ok=True)
        raise
    if result.outcome is IngestOutcome.REPEAT and attachment_ids:
        # A resent form: the first delivery has its photos; these copies are not needed.
        await _forget_photos(db, tenant_id, attachment_ids)
        for path in added_files:
            path.unlink(missing_ok=True)
    return Accepted(result, tenant_id)


def _template_id(entry_point: EntryPoint) -> uuid.UUID | None:
    configured = entry_point.config.get("default_template_id")
    return uuid.UUID(str(configured)) if configured else None


async def form_template(db: Database, entry_point: EntryPoint) -> dict[str, Any] | None:
    """The entry point's published ticket template as the form shows it (None: no template)."""
    template_id = _template_id(entry_point)
    if template_id is None:
        return None
    async with db.uow(entry_point.tenant_id) as uow:
        return await ticket_templates.public_form(uow, template_id, entry_point.channel)


async def _template_fields(
    db: Database, entry_point: EntryPoint, submission: SubmissionIn
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The submission's fields checked against the entry point's published template (422 with
    per-field errors when they do not pass), and the template use the ticket records; the fields as
    sent when the entry point has no template, or one that is no longer published (the form then
    shows no template fields either: a customer is never refused for an admin's archive)."""
    template_id = _template_id(entry_point)
    if template_id is None:
        return dict(submission.fields), None
    actor = system_actor(entry_point.tenant_id, f"H5 form: {entry_point.name}")
    async with db.uow(entry_point.tenant_id) as uow:
        try:
            use = await ticket_templates.use_for_new_ticket(
                uow, actor, template_id, submission.fields, channel=entry_point.channel
            )
        except ticket_templates.TemplateUnavailable:
            return dict(submission.fields), None
    return use.values, use.event_data()


async def _record_photos(
    db: Database,
    tenant_id: uuid.UUID,
    photos: Sequence[StagedPhoto],
    content_types: list[str],
    storage: LocalStorage,
    added_files: list[Path],
) -> list[uuid.UUID]:
    """Move the staged photos into storage and record them as unlinked uploads with no uploader."""
    ids = []
    async with db.uow(tenant_id) as uow:
        for photo, content_type in zip(photos, content_types, strict=True):
            path = storage.root / LocalStorage.relative_path(tenant_id, photo.staged.sha256)
            if not path.exists():
                added_files.append(path)
            storage_path = await storage.store(tenant_id, photo.staged)
            attachment = Attachment(
                id=new_id(),
                tenant_id=tenant_id,
                ticket_id=None,
                message_id=None,
                filename=photo.filename,
                content_type=content_type,
                size=photo.staged.size,
                sha256=photo.staged.sha256,
                storage_path=storage_path,
                uploaded_by_id=None,
                created_at=utcnow(),
            )
            uow.session.add(attachment)
            ids.append(attachment.id)
        await uow.commit()
    return ids


async def _forget_photos(db: Database, tenant_id: uuid.UUID, attachment_ids: list[uuid.UUID]) -> None:
    """Remove photo rows no message claimed."""
    async with db.uow(tenant_id) as uow:
        await uow.session.execute(
            delete(Attachment)
            .where(Attachment.id.in_(attachment_ids), Attachment.message_id.is_(None))
            .execution_options(synchronize_session=False)
        )
        await uow.commit()


def customer_actor(tenant_id: uuid.UUID, customer_id: uuid.UUID | None) -> Actor:
    """The customer behind a progress link, allowed to reply on that ticket only (the caller has
    checked the link; ``DataScope.ALL`` lets the ticket service load it)."""
    return Actor(ActorKind.CUSTOMER, tenant_id, customer_id, "customer", CUSTOMER_PERMISSIONS, DataScope.ALL)


async def add_customer_message(
    db: Database, tenant_id: uuid.UUID, ticket_id: uuid.UUID, text: str, *, days_after_close: int = 0
) -> Message:
    """A public message from the customer on their ticket, through the ticket write path (which
    reopens a resolved ticket and tells agents live). A ticket merged into another takes the
    message on the ticket it was merged into. ``Gone`` when the link has expired (see
    ``queries.progress_ticket``)."""
    async with db.uow(tenant_id) as uow:
        ticket = await progress_ticket(uow.session, tenant_id, ticket_id, days_after_close=days_after_close)
        actor = customer_actor(tenant_id, ticket.customer_id)
        return await tickets.add_message(uow, actor, ticket.id, text, public=True)
