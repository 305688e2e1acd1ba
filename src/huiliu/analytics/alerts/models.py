"""Tables of analytics alerts and scheduled reports: the rules (with their incident state), every
firing, and the weekly reports each tenant e-mails."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class AlertRule(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A rule on one metric: ``filters`` are the metric filter's dimensions (team_ids, channels…),
    ``condition`` the normalised JSON of ``alerts.domain.parse_condition``, ``recipients`` the users
    and roles told (``{"users": [...], "roles": [...]}``) on ``channels``. The incident state is
    written by the evaluator only: the last bucket evaluated, whether an incident is open and when
    one was last told."""

    __tablename__ = "analytics_alert_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_analytics_alert_rules_enabled", "tenant_id", "enabled"),
    )

    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(64))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    condition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recipients: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channels: Mapped[list[str]] = mapped_column(default=list)
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    cooldown_hours: Mapped[int] = mapped_column(default=6)
    enabled: Mapped[bool] = mapped_column(default=True)
    last_evaluated_bucket: Mapped[datetime | None]
    incident_open: Mapped[bool] = mapped_column(default=False)
    last_fired_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertFiring(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One incident told: what was seen, against what, the message and suggestion sent, and the
    notification outbox row that carried it. At most one firing per rule and bucket, so two workers
    evaluating the same rule at once tell it once."""

    __tablename__ = "analytics_alert_firings"
    __table_args__ = (
        UniqueConstraint("rule_id", "bucket_start"),
        Index("ix_analytics_alert_firings_recent", "tenant_id", "created_at"),
    )

    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("analytics_alert_rules.id", ondelete="CASCADE"))
    bucket_start: Mapped[datetime]
    value: Mapped[float | None]
    baseline: Mapped[float | None]
    message: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(2000), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recipients: Mapped[list[str]] = mapped_column(default=list)
    notification_id: Mapped[uuid.UUID | None]


class ScheduledReport(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A weekly report e-mailed to ``recipients`` (addresses) at ``weekday`` (0 = Monday) ``hour``
    in ``timezone``, about the previous seven local days. ``last_period_start`` is the week last
    sent, so each week goes out once however often the worker looks."""

    __tablename__ = "analytics_scheduled_reports"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    recipients: Mapped[list[str]] = mapped_column(default=list)
    weekday: Mapped[int] = mapped_column(SmallInteger, default=0)
    hour: Mapped[int] = mapped_column(SmallInteger, default=9)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    last_period_start: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(16))
    # Failed attempts at the current week's report; reset when a new week is due.
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
