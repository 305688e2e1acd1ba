"""Helpers: a ``notification`` outbox row written the way automation writes it, provider channels
through the service, reading deliveries and inbox rows back."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from huiliu.core.clock import utcnow
from huiliu.core.ids import new_id
from huiliu.core.outbox import STATE_PENDING, OutboxRow
from huiliu.notifications import service
from huiliu.notifications.domain import KIND_NOTIFICATION
from huiliu.notifications.models import InboxItem, NotificationChannel, NotificationDelivery
from huiliu.notifications.schemas import ChannelCreate, Preferences
from huiliu.runtime import Runtime
from tests.factories import Member
from tests.notifications.fake_providers import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    DINGTALK_SECRET,
    DINGTALK_TOKEN,
    FEISHU_SECRET,
    FEISHU_TOKEN,
    TENCENT_SECRET_ID,
    TENCENT_SECRET_KEY,
    WECOM_KEY,
)


def provider_request(kind: str, base_url: str, smtp_port: int = 0) -> dict[str, Any]:
    requests: dict[str, dict[str, Any]] = {
        "dingtalk": {
            "config": {"base_url": base_url},
            "secrets": {"access_token": DINGTALK_TOKEN, "secret": DINGTALK_SECRET},
        },
        "feishu": {
            "config": {"base_url": base_url},
            "secrets": {"token": FEISHU_TOKEN, "secret": FEISHU_SECRET},
        },
        "wecom": {"config": {"base_url": base_url}, "secrets": {"key": WECOM_KEY}},
        "aliyun_sms": {
            "config": {
                "base_url": base_url,
                "access_key_id": ALIYUN_KEY_ID,
                "sign_name": "汇流",
                "template_code": "SMS_1",
            },
            "secrets": {"access_key_secret": ALIYUN_SECRET},
        },
        "tencent_sms": {
            "config": {
                "base_url": base_url,
                "secret_id": TENCENT_SECRET_ID,
                "sdk_app_id": "1400000001",
                "sign_name": "汇流",
                "template_id": "449739",
            },
            "secrets": {"secret_key": TENCENT_SECRET_KEY},
        },
        "email": {
            "config": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "security": "none",
                "from_address": "notify@huiliu.example",
            },
            "secrets": {},
        },
    }
    return {"name": f"{kind}-{uuid.uuid4().hex[:6]}", "kind": kind, **requests[kind]}


async def add_provider(
    runtime: Runtime, admin: Member, kind: str, base_url: str, smtp_port: int = 0, **overrides: Any
) -> NotificationChannel:
    request = provider_request(kind, base_url, smtp_port)
    for key, value in overrides.items():
        request[key] = {**request[key], **value} if isinstance(value, dict) else value
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        return await service.create_channel(uow, admin.actor, ChannelCreate(**request))


async def set_preferences(runtime: Runtime, member: Member, **values: Any) -> None:
    async with runtime.db.uow(member.actor.tenant_id) as uow:
        await service.set_preferences(uow, member.actor, Preferences(**values))


async def notify(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    recipients: list[Member],
    *,
    channels: list[str] | None = None,
    severity: str = "warning",
    message: str = "工单即将超时，请尽快处理",
    origin_kind: str = "rule",
    ticket_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A ``notification`` outbox row with automation's payload shape (automation.apply._notification)."""
    notification_id = new_id()
    now = utcnow()
    payload = {
        "id": str(notification_id),
        "ticket": {
            "id": str(ticket_id or uuid.uuid4()),
            "number": "T-1001",
            "title": "打印机卡纸",
            "team_id": None,
        },
        "recipients": [str(member.user.id) for member in recipients],
        "channels": channels or [],
        "severity": severity,
        "message": message,
        "origin": {"kind": origin_kind, "id": "r1", "name": "超时提醒"},
    }
    async with runtime.db.uow(tenant_id) as uow:
        uow.session.add(
            OutboxRow(
                id=notification_id,
                tenant_id=tenant_id,
                kind=KIND_NOTIFICATION,
                event_id=notification_id,
                event_type="ticket.notified",
                payload=payload,
                state=STATE_PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        await uow.commit()
    return notification_id


async def deliveries_of(runtime: Runtime, tenant_id: uuid.UUID) -> list[NotificationDelivery]:
    async with runtime.db.read(tenant_id) as session:
        statement = select(NotificationDelivery).order_by(
            NotificationDelivery.channel, NotificationDelivery.id
        )
        return list((await session.execute(statement)).scalars())


async def inbox_of(runtime: Runtime, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[InboxItem]:
    async with runtime.db.read(tenant_id) as session:
        statement = select(InboxItem).where(InboxItem.user_id == user_id).order_by(InboxItem.created_at)
        return list((await session.execute(statement)).scalars())
