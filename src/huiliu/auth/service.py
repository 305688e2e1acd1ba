"""Auth use cases: tenants, users, teams, roles, passwords, tokens and API keys."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update

from huiliu.auth.domain import (
    AGENT_PERMISSIONS,
    PERMISSIONS,
    Actor,
    ActorKind,
    DataScope,
    department_subtree,
    permissions_for_scopes,
)
from huiliu.auth.models import ApiKey, Role, Team, Tenant, User
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotAuthenticated, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.db.session import Database, UnitOfWork

_hasher = PasswordHasher()
# Hash compared against when the e-mail is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("huiliu-timing-equaliser")
TOKEN_ALGORITHM = "HS256"
API_KEY_PREFIX = "hl_"

DEFAULT_ROLES: dict[str, tuple[frozenset[str], DataScope]] = {
    "admin": (PERMISSIONS, DataScope.ALL),
    "lead": (AGENT_PERMISSIONS | {"admin.users"}, DataScope.DEPARTMENT),
    "agent": (AGENT_PERMISSIONS, DataScope.TEAM),
}


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValidationFailed("a password has at least 8 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_tenant(uow: UnitOfWork, slug: str, name: str) -> Tenant:
    """A tenant with the default roles (admin, lead, agent). ``tenancy.service`` wraps this with the
    set-up other packages need and commits."""
    if (await uow.session.execute(select(Tenant.id).where(Tenant.slug == slug))).first():
        raise Conflict(f"tenant {slug} exists")
    tenant = Tenant(id=new_id(), slug=slug, name=name, settings={}, created_at=utcnow())
    uow.session.add(tenant)
    await uow.session.flush()
    for role_name, (permissions, scope) in DEFAULT_ROLES.items():
        uow.session.add(Role(id=new_id(), tenant_id=tenant.id, name=role_name, permissions=sorted(permissions),
                             data_scope=scope.value, created_at=utcnow()))
    await uow.session.flush()
    return tenant


async def create_team(uow: UnitOfWork, name: str, parent_id: uuid.UUID | None = None) -> Team:
    assert uow.tenant_id is not None
    if parent_id is not None and await uow.session.get(Team, parent_id) is None:
        raise ValidationFailed("parent team does not exist")
    team = Team(id=new_id(), tenant_id=uow.tenant_id, name=name, parent_id=parent_id, created_at=utcnow())
    uow.session.add(team)
    await uow.session.flush()
    return team


async def role_by_name(uow: UnitOfWork, name: str) -> Role:
    role = (await uow.session.execute(select(Role).where(Role.name == name))).scalar_one_or_none()
    if role is None:
        raise ValidationFailed(f"role {name} does not exist")
    return role


async def create_user(uow: UnitOfWork, *, email: str, name: str, password: str, role_id: uuid.UUID,
                      team_id: uuid.UUID | None = None, locale: str = "zh-CN") -> User:
    assert uow.tenant_id is not None
    email = email.strip().lower()
    async with uow.db.session(None, system=True) as everyone:
        exists = (await everyone.execute(select(User.id).where(User.email == email))).first()
    if exists:
        raise Conflict("a user with this e-mail exists")
    if await uow.session.get(Role, role_id) is None:
        raise ValidationFailed("role does not exist")
    if team_id is not None and await uow.session.get(Team, team_id) is None:
        raise ValidationFailed("team does not exist")
    user = User(id=new_id(), tenant_id=uow.tenant_id, email=email, name=name, password_hash=hash_password(password),
                role_id=role_id, team_id=team_id, is_active=True, locale=locale, created_at=utcnow())
    uow.session.add(user)
    await uow.session.flush()
    return user


async def check_assignable(uow: UnitOfWork, *, team_id: uuid.UUID | None, assignee_id: uuid.UUID | None) -> None:
    """Team and agent must exist in the tenant (the session is tenant-scoped) and the agent be active."""
    if team_id is not None and await uow.session.get(Team, team_id) is None:
        raise ValidationFailed("team does not exist")
    if assignee_id is not None:
        user = await uow.session.get(User, assignee_id)
        if user is None or not user.is_active:
            raise ValidationFailed("assignee does not exist or is inactive")


# --- tokens -------------------------------------------------------------------------------------------


def issue_token(secret: str, user: User, minutes: int) -> str:
    now = int(time.time())
    claims = {"sub": str(user.id), "tid": str(user.tenant_id), "iat": now, "exp": now + minutes * 60, "typ": "access"}
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def decode_token(secret: str, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        claims = jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "sub", "tid"]})
        if claims.get("typ") != "access":
            raise NotAuthenticated("not an access token")
        return uuid.UUID(claims["sub"]), uuid.UUID(claims["tid"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise NotAuthenticated("invalid or expired token") from exc


async def login(db: Database, email: str, password: str) -> User:
    """The active user with this e-mail and password; NotAuthenticated otherwise (same answer either way)."""
    async with db.uow(None, system=True) as uow:
        user = (await uow.session.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()
        if user is None:
            verify_password(_DUMMY_HASH, password)
            raise NotAuthenticated("wrong e-mail or password")
        if not verify_password(user.password_hash, password) or not user.is_active:
            raise NotAuthenticated("wrong e-mail or password")
        await uow.session.execute(update(User).where(User.id == user.id).values(last_login_at=utcnow()))
        await uow.commit()
        return user


class ActorCache:
    """Actors by user id, kept a few seconds so a request costs no query for who is asking.
    Role or team changes take effect within ``ttl`` seconds."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._entries: dict[Any, tuple[float, Actor]] = {}

    def get(self, key: Any) -> Actor | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: Any, actor: Actor) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, actor)

    def clear(self) -> None:
        self._entries.clear()


async def actor_for_user(db: Database, user_id: uuid.UUID, tenant_id: uuid.UUID, cache: ActorCache) -> Actor:
    cached = cache.get(user_id)
    if cached is not None:
        return cached
    async with db.uow(tenant_id) as uow:
        row = (await uow.session.execute(
            select(User.id, User.name, User.team_id, User.is_active, Role.permissions, Role.data_scope)
            .join(Role, Role.id == User.role_id).where(User.id == user_id)
        )).first()
        if row is None or not row.is_active:
            raise NotAuthenticated("user is unknown or inactive")
        team_ids: frozenset[uuid.UUID] = frozenset()
        if row.data_scope == DataScope.DEPARTMENT.value and row.team_id is not None:
            parents = {t.id: t.parent_id for t in (await uow.session.execute(select(Team.id, Team.parent_id))).all()}
            team_ids = department_subtree(row.team_id, parents)
    actor = Actor(ActorKind.USER, tenant_id, row.id, row.name, frozenset(row.permissions) & PERMISSIONS,
                  DataScope(row.data_scope), row.team_id, team_ids)
    cache.put(user_id, actor)
    return actor


def _key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(uow: UnitOfWork, *, name: str, scopes: list[str], created_by_id: uuid.UUID | None) -> tuple[ApiKey, str]:
    """A new key; the plain value is returned once and never stored."""
    assert uow.tenant_id is not None
    permissions_for_scopes(scopes)
    prefix = secrets.token_hex(4)
    plain = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(id=new_id(), tenant_id=uow.tenant_id, name=name, prefix=prefix, key_hash=_key_hash(plain),
                 scopes=scopes, created_by_id=created_by_id, created_at=utcnow())
    uow.session.add(key)
    await uow.session.flush()
    return key, plain


async def actor_for_api_key(db: Database, plain: str, cache: ActorCache) -> Actor:
    digest = _key_hash(plain)
    cached = cache.get(digest)
    if cached is not None:
        return cached
    async with db.uow(None, system=True) as uow:
        key = (await uow.session.execute(select(ApiKey).where(ApiKey.key_hash == digest))).scalar_one_or_none()
        if key is None or key.revoked_at is not None:
            raise NotAuthenticated("invalid API key")
        await uow.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=utcnow()))
        await uow.commit()
    actor = Actor(ActorKind.API_KEY, key.tenant_id, key.id, f"api-key:{key.name}", permissions_for_scopes(key.scopes),
                  DataScope.ALL)
    cache.put(digest, actor)
    return actor


def token_lifetime(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)

