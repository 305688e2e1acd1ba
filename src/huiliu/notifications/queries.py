"""The read side of notifications: configured channels, a user's inbox (unread first), preferences,
deliveries and dead letters. Sessions are tenant-scoped, so another tenant's ids are not found."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.core.clock import ensure_utc
from huiliu.core.errors import NotFound, ValidationFailed
from huiliu.notifications.channel_settings import secret_hints
from huiliu.notifications.domain import DEFAULT_TIMEZONE, notices_switched_on
from huiliu.notifications.models import (
    CustomerNotice,
    InboxItem,
    NotificationChannel,
    NotificationDelivery,
    NotificationPolicy,
    NotificationPreference,
    NotificationTemplate,
)

MAX_PAGE = 200


def channel_out(channel: NotificationChannel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "config": dict(channel.config),
        "secret_hints": secret_hints(channel.secrets),
        "is_active": channel.is_active,
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
    }


async def get_channel(session: AsyncSession, channel_id: uuid.UUID) -> NotificationChannel:
    channel = (
        await session.execute(select(NotificationChannel).where(NotificationChannel.id == channel_id))
    ).scalar_one_or_none()
    if channel is None:
        raise NotFound("no such notification channel")
    return channel


async def channel_named(session: AsyncSession, name: str) -> NotificationChannel | None:
    return (
        await session.execute(select(NotificationChannel).where(NotificationChannel.name == name))
    ).scalar_one_or_none()


async def list_channels(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(NotificationChannel).order_by(NotificationChannel.created_at, NotificationChannel.id)
        )
    ).scalars()
    return [channel_out(row) for row in rows]


async def preference_of(session: AsyncSession, user_id: uuid.UUID) -> NotificationPreference | None:
    return (
        await session.execute(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    ).scalar_one_or_none()


def preference_out(preference: NotificationPreference | None) -> dict[str, Any]:
    if preference is None:
        return {
            "event_channels": {},
            "quiet_start": None,
            "quiet_end": None,
            "timezone": "Asia/Shanghai",
            "phone": None,
            "digest_minutes": None,
        }
    return {
        "event_channels": dict(preference.event_channels),
        "quiet_start": preference.quiet_start,
        "quiet_end": preference.quiet_end,
        "timezone": preference.timezone,
        "phone": preference.phone,
        "digest_minutes": preference.digest_minutes,
    }


async def policy_of(session: AsyncSession) -> NotificationPolicy | None:
    """The session's tenant's notification policy, if it set one."""
    return (await session.execute(select(NotificationPolicy).limit(1))).scalar_one_or_none()


def policy_out(policy: NotificationPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {
            "quiet_start": None,
            "quiet_end": None,
            "timezone": DEFAULT_TIMEZONE,
            "customer_notices": notices_switched_on({}),
        }
    return {
        "quiet_start": policy.quiet_start,
        "quiet_end": policy.quiet_end,
        "timezone": policy.timezone,
        "customer_notices": notices_switched_on(policy.customer_notices or {}),
    }


async def customer_notices(session: AsyncSession, ticket_id: uuid.UUID) -> list[CustomerNotice]:
    """What a ticket's customer was told, oldest first."""
    statement = (
        select(CustomerNotice)
        .where(CustomerNotice.ticket_id == ticket_id)
        .order_by(CustomerNotice.created_at, CustomerNotice.id)
    )
    return list((await session.execute(statement)).scalars())


# --- inbox -----------------------------------------------------------------------------------------------

_RANK = case((InboxItem.read_at.is_(None), 0), else_=1)


def _encode(parts: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(parts)).decode("ascii").rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise ValidationFailed("cursor is not valid for this list") from exc
    if not isinstance(parts, list) or len(parts) != size:
        raise ValidationFailed("cursor is not valid for this list")
    return parts


def _position(cursor: str) -> tuple[int, datetime, uuid.UUID]:
    rank, created_at, item_id = _decode(cursor, 3)
    try:
        return int(rank), ensure_utc(datetime.fromisoformat(created_at)), uuid.UUID(item_id)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("cursor is not valid for this list") from exc


async def inbox(
    session: AsyncSession, user_id: uuid.UUID, *, unread_only: bool, cursor: str | None, limit: int
) -> tuple[list[InboxItem], str | None]:
    """A user's notifications: unread first, newest first within each, ``limit`` at a time."""
    statement = select(InboxItem).where(InboxItem.user_id == user_id)
    if unread_only:
        statement = statement.where(InboxItem.read_at.is_(None))
    if cursor:
        rank, created_at, item_id = _position(cursor)
        statement = statement.where(
            or_(
                _RANK.op(">")(rank),
                and_(
                    _RANK.op("=")(rank),
                    or_(
                        InboxItem.created_at < created_at,
                        and_(InboxItem.created_at == created_at, InboxItem.id < item_id),
                    ),
                ),
            )
        )
    statement = statement.order_by(_RANK, InboxItem.created_at.desc(), InboxItem.id.desc()).limit(limit + 1)
    rows = list((await session.execute(statement)).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([0 if last.read_at is None else 1, last.created_at.isoformat(), str(last.id)])
    return rows, next_cursor


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(InboxItem)
        .where(InboxItem.user_id == user_id, InboxItem.read_at.is_(None))
    )
    return int(count or 0)


async def inbox_item(session: AsyncSession, user_id: uuid.UUID, item_id: uuid.UUID) -> InboxItem:
    item = (
        await session.execute(select(InboxItem).where(InboxItem.id == item_id, InboxItem.user_id == user_id))
    ).scalar_one_or_none()
    if item is None:
        raise NotFound("no such notification")
    return item


# --- deliveries ------------------------------------------------------------------------------------------


async def deliveries(
    session: AsyncSession,
    *,
    state: str | None,
    ticket_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[NotificationDelivery], str | None]:
    """Deliveries newest first, optionally of one state and one ticket."""
    statement = select(NotificationDelivery)
    if state is not None:
        statement = statement.where(NotificationDelivery.state == state)
    if ticket_id is not None:
        statement = statement.where(NotificationDelivery.ticket_id == ticket_id)
    if cursor:
        created_raw, id_raw = _decode(cursor, 2)
        try:
            created_at, row_id = ensure_utc(datetime.fromisoformat(created_raw)), uuid.UUID(id_raw)
        except (ValueError, TypeError) as exc:
            raise ValidationFailed("cursor is not valid for this list") from exc
        statement = statement.where(
            or_(
                NotificationDelivery.created_at < created_at,
                and_(NotificationDelivery.created_at == created_at, NotificationDelivery.id < row_id),
            )
        )
    statement = statement.order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc())
    rows = list((await session.execute(statement.limit(limit + 1))).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode([rows[-1].created_at.isoformat(), str(rows[-1].id)])
    return rows, next_cursor


async def get_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> NotificationDelivery:
    row = (
        await session.execute(select(NotificationDelivery).where(NotificationDelivery.id == delivery_id))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such notification delivery")
    return row


# --- templates -------------------------------------------------------------------------------------------


async def get_template(session: AsyncSession, template_id: uuid.UUID) -> NotificationTemplate:
    template = (
        await session.execute(select(NotificationTemplate).where(NotificationTemplate.id == template_id))
    ).scalar_one_or_none()
    if template is None:
        raise NotFound("no such notification template")
    return template


async def template_for(
    session: AsyncSession, event: str, channel: str, locale: str
) -> NotificationTemplate | None:
    return (
        await session.execute(
            select(NotificationTemplate).where(
                NotificationTemplate.event == event,
                NotificationTemplate.channel == channel,
                NotificationTemplate.locale == locale,
            )
        )
    ).scalar_one_or_none()


async def list_templates(session: AsyncSession) -> list[NotificationTemplate]:
    statement = select(NotificationTemplate).order_by(
        NotificationTemplate.event, NotificationTemplate.channel, NotificationTemplate.locale
    )
    return list((await session.execute(statement)).scalars())
