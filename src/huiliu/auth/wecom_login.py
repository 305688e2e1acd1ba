"""The auth side of WeCom login: which console user a WeCom UserID is (per tenant), and binding a
user to their WeCom UserID. The platform protocol (the login URL, ``auth/getuserinfo``) lives in
``channels.wecom.login``; this module only knows users."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from huiliu.auth.domain import Actor
from huiliu.auth.models import Tenant, User
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from huiliu.db.session import Database, UnitOfWork

PERMISSION = "admin.users"
# WeCom UserIDs: 1-64 letters, digits and _-.@ (成员 UserID rules of 通讯录管理).
WECOM_USERID = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")


def check_wecom_userid(value: str) -> str:
    cleaned = value.strip()
    if not WECOM_USERID.fullmatch(cleaned):
        raise ValidationFailed("wecom_userid is 1-64 letters, digits, '_', '-', '.' or '@'")
    return cleaned


async def login_wecom_member(db: Database, tenant_id: uuid.UUID, wecom_userid: str) -> User:
    """The active user of ``tenant_id`` bound to this WeCom UserID, with ``last_login_at`` set;
    NotAuthenticated when nobody (active) is bound to it."""
    async with db.uow(tenant_id) as uow:
        user = await uow.session.scalar(select(User).where(User.wecom_userid == wecom_userid))
        if user is None or not user.is_active:
            raise NotAuthenticated("this WeCom member is not bound to an active Huiliu user")
        await uow.session.execute(update(User).where(User.id == user.id).values(last_login_at=utcnow()))
        await uow.commit()
        return user


async def wecom_bindings(db: Database, actor: Actor) -> list[dict[str, Any]]:
    """Every user of the caller's tenant with their WeCom UserID (None when unbound), by name."""
    actor.require(PERMISSION)
    async with db.read(actor.tenant_id) as session:
        rows = await session.execute(
            select(User.id, User.name, User.email, User.is_active, User.wecom_userid).order_by(
                User.name, User.id
            )
        )
        return [dict(row._mapping) for row in rows]


async def bind_wecom_userid(
    uow: UnitOfWork, actor: Actor, user_id: uuid.UUID, wecom_userid: str | None
) -> User:
    """Bind (or with None, unbind) a user's WeCom UserID; one user per UserID in a tenant."""
    actor.require(PERMISSION)
    value = check_wecom_userid(wecom_userid) if wecom_userid is not None else None
    user = await uow.session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    user.wecom_userid = value
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        raise Conflict(f"another user is already bound to WeCom UserID {value}") from exc
    await uow.commit()
    return user


async def tenant_id_by_slug(db: Database, slug: str) -> uuid.UUID | None:
    """The tenant a login page names (``?tenant=slug``), or ``None``."""
    async with db.read(None, system=True) as session:
        found: uuid.UUID | None = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    return found
