"""Tables of the Tencent channels: platform access tokens shared by every process, and the 微信客服
``sync_msg`` cursor of each customer-service account."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.db.base import Base, IdMixin, TenantScoped


class PlatformToken(IdMixin, TenantScoped, Base):
    """One cached credential of an entry point (``access_token``, ``jsapi_ticket``) with its expiry.

    ``refreshing_until`` is the lease of the one process refreshing it: others wait for its result
    instead of asking the platform too (each refresh invalidates the previous token on WeChat)."""

    __tablename__ = "tencent_tokens"
    __table_args__ = (UniqueConstraint("entry_point_id", "kind"),)

    entry_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entry_points.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    refreshing_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class KfCursor(IdMixin, TenantScoped, Base):
    """Where ``kf/sync_msg`` stopped for one 微信客服 account of a wecom_kf entry point."""

    __tablename__ = "wecom_kf_cursors"
    __table_args__ = (UniqueConstraint("entry_point_id", "open_kfid"),)

    entry_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entry_points.id", ondelete="CASCADE"))
    open_kfid: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime]
