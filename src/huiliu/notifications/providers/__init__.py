"""Notification providers: one ``Notifier`` interface, one module per platform protocol."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine

from huiliu.notifications.providers.aliyun_sms import AliyunSms
from huiliu.notifications.providers.base import DeliveryFailed, Notifier, OutgoingMessage, Sent
from huiliu.notifications.providers.dingtalk import DingTalkRobot
from huiliu.notifications.providers.email import SmtpEmail
from huiliu.notifications.providers.feishu import FeishuBot
from huiliu.notifications.providers.tencent_sms import TencentSms
from huiliu.notifications.providers.wecom_app import WeComAppMessage
from huiliu.notifications.providers.wecom_robot import WeComRobot

HTTP_PROVIDERS: dict[str, type[DingTalkRobot | FeishuBot | WeComRobot | AliyunSms | TencentSms]] = {
    DingTalkRobot.kind: DingTalkRobot,
    FeishuBot.kind: FeishuBot,
    WeComRobot.kind: WeComRobot,
    AliyunSms.kind: AliyunSms,
    TencentSms.kind: TencentSms,
}
# Provider kinds a tenant configures in ``notification_channels`` (in-app needs no configuration).
PROVIDER_KINDS: tuple[str, ...] = (*HTTP_PROVIDERS, SmtpEmail.kind, WeComAppMessage.kind)


def build_notifier(
    kind: str,
    config: dict[str, Any],
    http: httpx.Client,
    *,
    timeout: float = 10.0,
    engine: Engine | None = None,
) -> Notifier:
    """The notifier for a configured channel of ``kind``; ``ValueError`` for an unknown kind.
    ``engine`` is for providers that send through an entry point (wecom_app: its credentials and
    the shared access-token cache)."""
    if kind == SmtpEmail.kind:
        return SmtpEmail(config, timeout=timeout)
    if kind == WeComAppMessage.kind:
        return WeComAppMessage(http, config, engine=engine)
    provider = HTTP_PROVIDERS.get(kind)
    if provider is None:
        raise ValueError(f"unknown provider kind {kind!r}")
    return provider(http, config)


__all__ = [
    "PROVIDER_KINDS",
    "DeliveryFailed",
    "Notifier",
    "OutgoingMessage",
    "Sent",
    "build_notifier",
]
