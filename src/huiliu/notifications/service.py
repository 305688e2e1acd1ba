"""Use cases of notifications: configure provider channels (``admin.notifications``), read and mark
one's own inbox, set one's own preferences, retry a dead delivery. One transaction each."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from huiliu.auth.domain import Actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, PermissionDenied, ValidationFailed
from huiliu.core.outbox import STATE_DEAD, STATE_PENDING, OutboxRow
from huiliu.db.session import UnitOfWork
from huiliu.notifications import queries, templates
from huiliu.notifications.channel_settings import check_channel_settings
from huiliu.notifications.domain import CHANNEL_PROVIDERS, IN_APP, KIND_NOTIFICATION_DELIVERY
from huiliu.notifications.models import (
    InboxItem,
    NotificationChannel,
    NotificationDelivery,
    NotificationPolicy,
    NotificationPreference,
    NotificationTemplate,
)
from huiliu.notifications.schemas import (
    ChannelCreate,
    ChannelUpdate,
    Preferences,
    TemplateCreate,
    TemplatePreview,
    TemplateUpdate,
    TenantPolicy,
)

PERMISSION = "admin.notifications"


def user_of(actor: Actor) -> uuid.UUID:
    """The signed-in user: an inbox and preferences belong to a person, not to an API key."""
    if actor.id is None:
        raise PermissionDenied("notifications belong to a signed-in user")
    return actor.id


async def create_channel(uow: UnitOfWork, actor: Actor, request: ChannelCreate) -> NotificationChannel:
    """Configure a provider for the tenant; deliveries on its channel use the oldest active one."""
    actor.require(PERMISSION)
    if await queries.channel_named(uow.session, request.name) is not None:
        raise Conflict(f"a notification channel named {request.name!r} exists")
    now = utcnow()
    channel = NotificationChannel(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        name=request.name,
        kind=request.kind,
        config=request.config,
        secrets=request.secrets,
        is_active=request.is_active,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(channel)
    await uow.commit()
    return channel


async def update_channel(
    uow: UnitOfWork, actor: Actor, channel_id: uuid.UUID, request: ChannelUpdate
) -> NotificationChannel:
    """Change the name, settings, credentials (merged: the ones given replace) or active flag."""
    actor.require(PERMISSION)
    channel = await queries.get_channel(uow.session, channel_id)
    config = dict(request.config) if request.config is not None else dict(channel.config)
    secrets = {**channel.secrets, **(request.secrets or {})}
    try:
        check_channel_settings(channel.kind, config, request.secrets or {}, partial=True)
        check_channel_settings(channel.kind, config, secrets, partial=False)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    if request.name is not None and request.name != channel.name:
        if await queries.channel_named(uow.session, request.name) is not None:
            raise Conflict(f"a notification channel named {request.name!r} exists")
        channel.name = request.name
    channel.config = config
    channel.secrets = secrets
    if request.is_active is not None:
        channel.is_active = request.is_active
    channel.updated_at = utcnow()
    await uow.commit()
    return channel


async def delete_channel(uow: UnitOfWork, actor: Actor, channel_id: uuid.UUID) -> None:
    """Remove a provider. Its pending deliveries fail at their next attempt (visible as dead letters,
    retryable once another provider serves the channel)."""
    actor.require(PERMISSION)
    channel = await queries.get_channel(uow.session, channel_id)
    await uow.session.delete(channel)
    await uow.commit()


async def set_preferences(uow: UnitOfWork, actor: Actor, request: Preferences) -> NotificationPreference:
    """Replace the signed-in user's notification preferences."""
    user_id = user_of(actor)
    preference = await queries.preference_of(uow.session, user_id)
    if preference is None:
        preference = NotificationPreference(id=uuid.uuid4(), tenant_id=actor.tenant_id, user_id=user_id)
        uow.session.add(preference)
    preference.event_channels = request.event_channels
    preference.quiet_start = request.quiet_start
    preference.quiet_end = request.quiet_end
    preference.timezone = request.timezone
    preference.phone = request.phone
    preference.digest_minutes = request.digest_minutes
    preference.updated_at = utcnow()
    await uow.commit()
    return preference


async def set_policy(uow: UnitOfWork, actor: Actor, request: TenantPolicy) -> NotificationPolicy:
    """Replace the tenant's notification policy: quiet hours for everyone (critical ones still go at
    once; the rest wait until the window ends) and the customer notice switches."""
    actor.require(PERMISSION)
    policy = await queries.policy_of(uow.session)
    if policy is None:
        policy = NotificationPolicy(id=uuid.uuid4(), tenant_id=actor.tenant_id)
        uow.session.add(policy)
    policy.quiet_start = request.quiet_start
    policy.quiet_end = request.quiet_end
    policy.timezone = request.timezone
    policy.customer_notices = dict(request.customer_notices)
    policy.updated_at = utcnow()
    await uow.commit()
    return policy


async def mark_read(uow: UnitOfWork, actor: Actor, item_id: uuid.UUID) -> InboxItem:
    """Mark one of the user's own notifications read (reading twice keeps the first time)."""
    item = await queries.inbox_item(uow.session, user_of(actor), item_id)
    if item.read_at is None:
        item.read_at = utcnow()
    await uow.commit()
    return item


async def mark_all_read(uow: UnitOfWork, actor: Actor) -> int:
    """Mark every unread notification of the user read; returns how many."""
    user_id = user_of(actor)
    result = await uow.session.execute(
        update(InboxItem)
        .where(InboxItem.user_id == user_id, InboxItem.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def retry_delivery(uow: UnitOfWork, actor: Actor, delivery_id: uuid.UUID) -> NotificationDelivery:
    """Re-queue a dead delivery: due now with a fresh retry schedule, on the channel's current active
    provider. Its id (and so the e-mail Message-ID, the SMS OutId) stays the same."""
    actor.require(PERMISSION)
    delivery = await queries.get_delivery(uow.session, delivery_id)
    if delivery.state != STATE_DEAD:
        raise Conflict(f"only a dead delivery can be retried (this one is {delivery.state})")
    row = await uow.session.get(OutboxRow, delivery.id)
    if row is None or row.kind != KIND_NOTIFICATION_DELIVERY:
        raise Conflict("the delivery's outbox row is gone; it cannot be retried")
    provider = await _current_provider(uow, delivery.channel)
    if delivery.channel != IN_APP and provider is None:
        raise Conflict(f"no active provider is configured for the {delivery.channel} channel")
    now = utcnow()
    provider_id = provider.id if provider is not None else None
    row.payload = {**row.payload, "provider_channel_id": str(provider_id) if provider_id else None}
    row.target_id = provider_id
    row.state = STATE_PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.locked_until = None
    delivery.state = STATE_PENDING
    delivery.attempts = 0
    delivery.provider_channel_id = provider_id
    delivery.updated_at = now
    await uow.commit()
    return delivery


async def _current_provider(uow: UnitOfWork, channel: str) -> NotificationChannel | None:
    kinds = CHANNEL_PROVIDERS.get(channel, ())
    if not kinds:
        return None
    return (
        await uow.session.execute(
            select(NotificationChannel)
            .where(NotificationChannel.is_active.is_(True), NotificationChannel.kind.in_(kinds))
            .order_by(NotificationChannel.created_at, NotificationChannel.id)
            .limit(1)
        )
    ).scalar_one_or_none()


async def create_template(uow: UnitOfWork, actor: Actor, request: TemplateCreate) -> NotificationTemplate:
    """Word the notifications of one event, channel and locale; the sources must render."""
    actor.require(PERMISSION)
    _check_template(request.title, request.body)
    existing = await queries.template_for(uow.session, request.event, request.channel, request.locale)
    if existing is not None:
        raise Conflict("a template for this event, channel and locale exists")
    now = utcnow()
    template = NotificationTemplate(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        event=request.event,
        channel=request.channel,
        locale=request.locale,
        title=request.title,
        body=request.body,
        is_active=request.is_active,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(template)
    await uow.commit()
    return template


async def update_template(
    uow: UnitOfWork, actor: Actor, template_id: uuid.UUID, request: TemplateUpdate
) -> NotificationTemplate:
    actor.require(PERMISSION)
    template = await queries.get_template(uow.session, template_id)
    title = request.title if request.title is not None else template.title
    body = request.body if request.body is not None else template.body
    _check_template(title, body)
    template.title, template.body = title, body
    if request.is_active is not None:
        template.is_active = request.is_active
    template.updated_at = utcnow()
    await uow.commit()
    return template


async def delete_template(uow: UnitOfWork, actor: Actor, template_id: uuid.UUID) -> None:
    actor.require(PERMISSION)
    await uow.session.delete(await queries.get_template(uow.session, template_id))
    await uow.commit()


def preview_template(actor: Actor, request: TemplatePreview) -> templates.Rendered:
    """Render sources against given variables (or the sample) without storing anything."""
    actor.require(PERMISSION)
    _check_template(request.title, request.body)
    try:
        return templates.render(request.title, request.body, request.context or templates.SAMPLE_CONTEXT)
    except templates.TemplateProblem as exc:
        raise ValidationFailed(str(exc)) from exc


def _check_template(title: str, body: str) -> None:
    try:
        templates.check(title, body)
    except templates.TemplateProblem as exc:
        raise ValidationFailed(f"the template does not render: {exc}") from exc
