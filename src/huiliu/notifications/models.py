"""Tables of the notifications package."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class NotificationChannel(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A tenant's configured provider (a DingTalk robot, an SMTP server, an SMS account …). ``config``
    holds the settings shown back; ``secrets`` the credentials, never shown back."""

    __tablename__ = "notification_channels"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secrets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationPreference(IdMixin, TenantScoped, Base):
    """One user's choices: channels per event, quiet hours, and the mobile number SMS and robot
    mentions use."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_channels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    phone: Mapped[str | None] = mapped_column(String(32))
    # Gather info-severity notifications into one message per channel every N minutes (None: off).
    digest_minutes: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxItem(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """An in-app notification in one user's inbox. Its id is the delivery's id, so a repeated
    delivery stores it once."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at", "created_at"),
        Index("ix_notifications_created", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    notification_id: Mapped[uuid.UUID]
    ticket_id: Mapped[uuid.UUID | None]
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(2000))
    read_at: Mapped[datetime | None]


class NotificationDelivery(TenantScoped, CreatedAtMixin, Base):
    """One notification to one recipient on one channel (one group, for group robots). Its id is the
    id of the outbox row that carries it; the row's attempts are its delivery log."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_deliveries_state", "tenant_id", "state", "created_at"),
        Index("ix_notification_deliveries_ticket", "ticket_id", "created_at"),
        Index("ix_notification_deliveries_digest", "digest_id"),
        Index("ix_notification_deliveries_recent", "recipient_id", "channel", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    notification_id: Mapped[uuid.UUID]
    ticket_id: Mapped[uuid.UUID | None]
    recipient_id: Mapped[uuid.UUID | None]
    channel: Mapped[str] = mapped_column(String(32))
    provider_channel_id: Mapped[uuid.UUID | None]
    # A notification waiting in a digest (state ``digested``) names the digest delivery that sends it.
    digest_id: Mapped[uuid.UUID | None]
    # Same ticket, text and severity: how repeats are recognised (domain.fingerprint).
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # Quiet hours: not sent before this instant.
    not_before: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationTemplate(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A tenant's wording of notifications for one event, channel and locale (``*`` for any event or
    channel); Jinja2 sources rendered in the sandbox."""

    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "event", "channel", "locale"),)

    event: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationPolicy(IdMixin, TenantScoped, Base):
    """A tenant's notification policy: quiet hours for everyone (on top of each user's own; critical
    notifications still go at once) and which customer notices (受理 / 处理中 / 已解决) are sent."""

    __tablename__ = "notification_policies"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Moment (accepted / in_progress / resolved) → switched on; a moment not named is on.
    customer_notices: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerNotice(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One notice to a ticket's customer at one moment (its id derives from the ticket and the moment,
    so a ticket tells its customer each moment once). ``channel`` is how it reached them: wechat /
    wecom (a channel message), email, sms, or progress_page (shown on the H5 progress page)."""

    __tablename__ = "customer_notices"
    __table_args__ = (Index("ix_customer_notices_ticket", "ticket_id", "created_at"),)

    ticket_id: Mapped[uuid.UUID]
    moment: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
