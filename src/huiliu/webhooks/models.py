"""Tables of the webhooks package."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class WebhookSubscription(IdMixin, TenantScoped, CreatedAtMixin, Base):
    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(255))
    events: Mapped[list[str]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(String(500), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
