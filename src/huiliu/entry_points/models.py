"""Tables of the entry points package."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class EntryPoint(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A concrete door customers come through: an account, an app, a QR code, a mailbox, an API client.

    ``kind`` says what sort of door it is (``h5_form``, ``webhook``, ``api`` …), ``channel`` the channel
    tickets from it carry, ``public_key`` the unguessable key public routes (forms, QR codes) use, and
    ``config`` the defaults and secrets validated per kind by ``entry_points.domain``."""

    __tablename__ = "entry_points"

    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
