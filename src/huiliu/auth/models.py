"""Tables of the auth package."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class Tenant(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Team(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A team or department; ``parent_id`` builds the department tree."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))


class Role(IdMixin, TenantScoped, CreatedAtMixin, Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    permissions: Mapped[list[str]] = mapped_column(default=list)
    data_scope: Mapped[str] = mapped_column(String(16), default="own")


class User(IdMixin, TenantScoped, CreatedAtMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_tenant_team", "tenant_id", "team_id"),
        UniqueConstraint("tenant_id", "wecom_userid"),
    )

    # E-mail is the login name, unique across the installation.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roles.id"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(String(16), default="zh-CN")
    last_login_at: Mapped[datetime | None]
    # Carried in every access token (claim ``ver``); a password change or reset raises it, which ends
    # every session and token issued before.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The member's WeCom UserID, for WeCom login (扫码登录 / OAuth in the WeCom client) and app messages.
    wecom_userid: Mapped[str | None] = mapped_column(String(64))


class ApiKey(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """An integration's key. Only the SHA-256 of the secret is stored; the prefix identifies it."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
