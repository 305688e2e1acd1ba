"""Request and response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from huiliu.notifications import domain
from huiliu.notifications.channel_settings import check_channel_settings

ProviderKind = Literal["dingtalk", "feishu", "wecom", "aliyun_sms", "tencent_sms", "email", "wecom_app"]
DeliveryState = Literal["pending", "delivered", "dead", "digested"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelCreate(_Strict):
    name: str = Field(min_length=1, max_length=100)
    kind: ProviderKind
    config: dict[str, Any] = Field(
        default_factory=dict, description="Settings shown back (base_url, template ids …)"
    )
    secrets: dict[str, str] = Field(
        default_factory=dict, description="Credentials; write-only, never returned"
    )
    is_active: bool = True

    @model_validator(mode="after")
    def _settings(self) -> ChannelCreate:
        check_channel_settings(self.kind, self.config, self.secrets, partial=False)
        return self


class ChannelUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    config: dict[str, Any] | None = None
    secrets: dict[str, str] | None = Field(
        default=None, description="Credentials to set or replace (others are kept)"
    )
    is_active: bool | None = None


class ChannelOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    config: dict[str, Any]
    secret_hints: dict[str, str] = Field(description="Each stored credential's last characters, masked")
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ChannelList(BaseModel):
    items: list[ChannelOut]


class Preferences(_Strict):
    event_channels: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Channels per event (rule, sla_tier, or * for every event); a rule that names "
        "channels overrides them",
    )
    quiet_start: str | None = Field(default=None, description="HH:MM local time; with quiet_end")
    quiet_end: str | None = None
    timezone: str = domain.DEFAULT_TIMEZONE
    phone: str | None = Field(default=None, max_length=32, description="For SMS and robot @-mentions")
    digest_minutes: int | None = Field(
        default=None,
        ge=domain.MIN_DIGEST_MINUTES,
        le=domain.MAX_DIGEST_MINUTES,
        description="Gather info notifications on push channels into one message every N minutes",
    )

    @field_validator("event_channels")
    @classmethod
    def _channels(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return domain.normalize_event_channels(value)

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None:
            domain.parse_clock(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return domain.check_timezone(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        digits = value.removeprefix("+")
        if not digits.isdigit() or not 6 <= len(digits) <= 20:
            raise ValueError("phone must be digits, optionally after a +")
        return value

    @model_validator(mode="after")
    def _window(self) -> Preferences:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("set both quiet_start and quiet_end, or neither")
        return self


class InboxItemOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID | None
    severity: str
    title: str
    body: str
    link: str | None
    read_at: datetime | None
    created_at: datetime


class InboxPage(BaseModel):
    items: list[InboxItemOut]
    next_cursor: str | None
    unread: int


class UnreadCount(BaseModel):
    unread: int


class ReadAll(BaseModel):
    marked: int


class DeliveryOut(BaseModel):
    id: uuid.UUID
    notification_id: uuid.UUID
    ticket_id: uuid.UUID | None
    recipient_id: uuid.UUID | None
    channel: str
    provider_channel_id: uuid.UUID | None
    digest_id: uuid.UUID | None
    severity: str
    state: str
    attempts: int
    not_before: datetime | None
    provider_message_id: str | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


TemplateEvent = Literal[
    "*", "rule", "sla_tier", "customer.accepted", "customer.in_progress", "customer.resolved"
]
TemplateChannel = Literal["*", "in_app", "email", "sms", "wecom", "dingtalk", "feishu", "wechat"]
TemplateLocale = Literal["zh-CN", "en"]


class TemplateCreate(_Strict):
    event: TemplateEvent = "*"
    channel: TemplateChannel = "*"
    locale: TemplateLocale = "zh-CN"
    title: str = Field(min_length=1, max_length=300, description="Jinja2 (sandboxed); see the variables")
    body: str = Field(min_length=1, max_length=4000)
    is_active: bool = True


class TemplateUpdate(_Strict):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, min_length=1, max_length=4000)
    is_active: bool | None = None


class TemplateOut(BaseModel):
    id: uuid.UUID
    event: str
    channel: str
    locale: str
    title: str
    body: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class TemplateList(BaseModel):
    items: list[TemplateOut]
    variables: dict[str, str]
    defaults: dict[str, dict[str, str]]
    customer_defaults: dict[str, dict[str, dict[str, str]]] = Field(
        default_factory=dict, description="Shipped customer notices: event → locale → title and body"
    )


class TemplatePreview(_Strict):
    title: str = Field(max_length=300)
    body: str = Field(max_length=4000)
    context: dict[str, Any] | None = Field(
        default=None, description="Variables to render with; a sample if unset"
    )


class TemplatePreviewOut(BaseModel):
    title: str
    body: str


class TenantPolicy(_Strict):
    """The tenant's notification policy (``admin.notifications``)."""

    quiet_start: str | None = Field(
        default=None, description="HH:MM local time; with quiet_end. Only critical notifications go inside"
    )
    quiet_end: str | None = None
    timezone: str = domain.DEFAULT_TIMEZONE
    customer_notices: dict[str, bool] = Field(
        default_factory=lambda: dict.fromkeys(domain.CUSTOMER_MOMENTS, True),
        description="Customer notices switched on per moment: accepted (受理), in_progress (处理中), "
        "resolved (已解决, with the rating link)",
    )

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None:
            domain.parse_clock(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return domain.check_timezone(value)

    @field_validator("customer_notices")
    @classmethod
    def _moments(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(domain.CUSTOMER_MOMENTS))
        if unknown:
            raise ValueError(f"unknown moment {unknown[0]!r}: use {', '.join(domain.CUSTOMER_MOMENTS)}")
        return domain.notices_switched_on(value)

    @model_validator(mode="after")
    def _window(self) -> TenantPolicy:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("set both quiet_start and quiet_end, or neither")
        return self


class CustomerNoticeOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    moment: str
    channel: str
    title: str
    body: str
    state: str
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
