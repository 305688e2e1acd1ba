"""Auth use cases: tenants, users, teams, roles, passwords, tokens and API keys."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from huiliu.auth.domain import (
    ADMIN_ROLE,
    AGENT_PERMISSIONS,
    API_KEY_SCOPES,
    PERMISSIONS,
    Actor,
    ActorKind,
    DataScope,
    creates_cycle,
    department_subtree,
    permissions_for_scopes,
    require_grantable,
    unknown_permissions,
)
from huiliu.auth.models import ApiKey, Role, Team, Tenant, User
from huiliu.auth.schemas import (
    ProfileUpdate,
    RoleCreate,
    RoleUpdate,
    TeamCreate,
    TeamUpdate,
    UserCreate,
    UserUpdate,
)
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.core.single_flight import SingleFlight
from huiliu.db.session import Database, UnitOfWork

_hasher = PasswordHasher()
# Hash compared against when the e-mail is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("huiliu-timing-equaliser")
TOKEN_ALGORITHM = "HS256"
API_KEY_PREFIX = "hl_"

DEFAULT_ROLES: dict[str, tuple[frozenset[str], DataScope]] = {
    "admin": (PERMISSIONS, DataScope.ALL),
    "lead": (AGENT_PERMISSIONS | {"admin.users", "analytics.read"}, DataScope.DEPARTMENT),
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
        uow.session.add(
            Role(
                id=new_id(),
                tenant_id=tenant.id,
                name=role_name,
                permissions=sorted(permissions),
                data_scope=scope.value,
                created_at=utcnow(),
            )
        )
    await uow.session.flush()
    return tenant


async def create_team(
    uow: UnitOfWork, name: str, parent_id: uuid.UUID | None = None, *, team_id: uuid.UUID | None = None
) -> Team:
    assert uow.tenant_id is not None
    if parent_id is not None and await uow.session.get(Team, parent_id) is None:
        raise ValidationFailed("parent team does not exist")
    team = Team(
        id=team_id or new_id(), tenant_id=uow.tenant_id, name=name, parent_id=parent_id, created_at=utcnow()
    )
    uow.session.add(team)
    await uow.session.flush()
    return team


async def role_by_name(uow: UnitOfWork, name: str) -> Role:
    role = (await uow.session.execute(select(Role).where(Role.name == name))).scalar_one_or_none()
    if role is None:
        raise ValidationFailed(f"role {name} does not exist")
    return role


async def create_user(
    uow: UnitOfWork,
    *,
    email: str,
    name: str,
    password: str,
    role_id: uuid.UUID,
    team_id: uuid.UUID | None = None,
    locale: str = "zh-CN",
    user_id: uuid.UUID | None = None,
) -> User:
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
    user = User(
        id=user_id or new_id(),
        tenant_id=uow.tenant_id,
        email=email,
        name=name,
        password_hash=hash_password(password),
        role_id=role_id,
        team_id=team_id,
        is_active=True,
        locale=locale,
        created_at=utcnow(),
    )
    uow.session.add(user)
    await uow.session.flush()
    return user


async def check_assignable(
    uow: UnitOfWork, *, team_id: uuid.UUID | None, assignee_id: uuid.UUID | None
) -> None:
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
    claims = {
        "sub": str(user.id),
        "tid": str(user.tenant_id),
        "iat": now,
        "exp": now + minutes * 60,
        "typ": "access",
        "ver": user.token_version or 0,
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    expires_at: float  # Unix time
    version: int  # the user's token_version when it was issued


def decode_token(secret: str, token: str) -> TokenClaims:
    """Verify an access token; NotAuthenticated otherwise. Tokens issued before ``ver`` existed count
    as version 0."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "sub", "tid"]}
        )
        if claims.get("typ") != "access":
            raise NotAuthenticated("not an access token")
        version = claims.get("ver", 0)
        if not isinstance(version, int):
            raise NotAuthenticated("invalid token")
        return TokenClaims(uuid.UUID(claims["sub"]), uuid.UUID(claims["tid"]), float(claims["exp"]), version)
    except (jwt.PyJWTError, ValueError) as exc:
        raise NotAuthenticated("invalid or expired token") from exc


async def login(db: Database, email: str, password: str) -> User:
    """The active user with this e-mail and password; NotAuthenticated otherwise (same answer either way)."""
    async with db.uow(None, system=True) as uow:
        user = (
            await uow.session.execute(select(User).where(User.email == email.strip().lower()))
        ).scalar_one_or_none()
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
    Role or team changes, deactivation and a password change take effect within ``ttl`` seconds in
    other processes (at once in the one that made the change). A user's entry remembers the token
    version it was loaded with: a token of another version misses and is checked against the database."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._entries: dict[Any, tuple[float, Actor, int]] = {}
        self._flights: SingleFlight[tuple[Any, int | None], Actor] = SingleFlight()
        self._generation = 0

    def get(self, key: Any, version: int = 0) -> Actor | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic() or entry[2] != version:
            return None
        return entry[1]

    def put(self, key: Any, actor: Actor, version: int = 0) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, actor, version)

    async def load(
        self, key: Any, version: int | None, loader: Callable[[], Awaitable[tuple[Actor, int]]]
    ) -> Actor:
        """Run ``loader`` (→ the actor and the token version to remember it with) once for all the
        callers asking for the same key and version meanwhile: when an entry expires under load,
        every request in flight would otherwise read the same user — or update the same API key's
        ``last_used_at`` row — at once. ``loader`` runs as its own task, on its own session."""
        generation = self._generation

        async def load_and_keep() -> Actor:
            actor, stored_version = await loader()
            if generation == self._generation:  # not forgotten (a change to the user) while loading
                self.put(key, actor, stored_version)
            return actor

        return await self._flights.run((key, version), load_and_keep)

    def discard(self, key: Any) -> None:
        """Forget one entry (a user id, or an API key's hash) so the next request loads it afresh."""
        self._generation += 1
        self._entries.pop(key, None)
        self._flights.forget(lambda flight: flight[0] == key)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._flights.forget()


async def actor_for_user(
    db: Database,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    cache: ActorCache,
    token_version: int | None = None,
) -> Actor:
    """The actor of a signed-in user. ``token_version`` (from the token) must be the user's current
    one — a password change or reset since the token was issued ends it; ``None`` skips that check
    (the caller holds no token: it has just authenticated the user another way)."""
    cached = cache.get(user_id, token_version) if token_version is not None else None
    if cached is not None:
        return cached

    async def load() -> tuple[Actor, int]:
        return await _load_user_actor(db, user_id, tenant_id, token_version)

    return await cache.load(user_id, token_version, load)


async def _load_user_actor(
    db: Database, user_id: uuid.UUID, tenant_id: uuid.UUID, token_version: int | None
) -> tuple[Actor, int]:
    async with db.read(tenant_id) as session:
        row = (
            await session.execute(
                select(
                    User.id,
                    User.name,
                    User.team_id,
                    User.is_active,
                    User.token_version,
                    Role.permissions,
                    Role.data_scope,
                )
                .join(Role, Role.id == User.role_id)
                .where(User.id == user_id)
            )
        ).first()
        if row is None or not row.is_active:
            raise NotAuthenticated("user is unknown or inactive")
        if token_version is not None and token_version != row.token_version:
            raise NotAuthenticated("this session ended when the password changed; log in again")
        team_ids: frozenset[uuid.UUID] = frozenset()
        if row.data_scope == DataScope.DEPARTMENT.value and row.team_id is not None:
            parents = {
                t.id: t.parent_id for t in (await session.execute(select(Team.id, Team.parent_id))).all()
            }
            team_ids = department_subtree(row.team_id, parents)
    actor = Actor(
        ActorKind.USER,
        tenant_id,
        row.id,
        row.name,
        frozenset(row.permissions) & PERMISSIONS,
        DataScope(row.data_scope),
        row.team_id,
        team_ids,
    )
    return actor, row.token_version


def _key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    uow: UnitOfWork, *, name: str, scopes: list[str], created_by_id: uuid.UUID | None
) -> tuple[ApiKey, str]:
    """A new key; the plain value is returned once and never stored."""
    assert uow.tenant_id is not None
    permissions_for_scopes(scopes)
    prefix = secrets.token_hex(4)
    plain = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        id=new_id(),
        tenant_id=uow.tenant_id,
        name=name,
        prefix=prefix,
        key_hash=_key_hash(plain),
        scopes=scopes,
        created_by_id=created_by_id,
        created_at=utcnow(),
    )
    uow.session.add(key)
    await uow.session.flush()
    return key, plain


async def actor_for_api_key(db: Database, plain: str, cache: ActorCache) -> Actor:
    digest = _key_hash(plain)
    cached = cache.get(digest)
    if cached is not None:
        return cached

    async def load() -> tuple[Actor, int]:
        return await _load_key_actor(db, digest), 0

    return await cache.load(digest, 0, load)


async def _load_key_actor(db: Database, digest: str) -> Actor:
    async with db.uow(None, system=True) as uow:
        key = (
            await uow.session.execute(select(ApiKey).where(ApiKey.key_hash == digest))
        ).scalar_one_or_none()
        if key is None or key.revoked_at is not None:
            raise NotAuthenticated("invalid API key")
        await uow.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=utcnow()))
        await uow.commit()
    actor = Actor(
        ActorKind.API_KEY,
        key.tenant_id,
        key.id,
        f"api-key:{key.name}",
        permissions_for_scopes(key.scopes),
        DataScope.ALL,
    )
    return actor


def token_lifetime(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)


# --- administration -------------------------------------------------------------------------------
# Every function below authorizes, changes one thing in one transaction and commits. Changes that alter
# what an Actor looks like drop the cached actors after commit: in this process at once, in other API
# processes when their entries expire (ActorCache.ttl, 5 s).


def _forget_actors_after_commit(uow: UnitOfWork, cache: ActorCache, user_id: uuid.UUID | None = None) -> None:
    if user_id is None:
        uow.after_commit(cache.clear)
    else:
        uow.after_commit(lambda: cache.discard(user_id))


async def _flush_unique(uow: UnitOfWork, message: str) -> None:
    """Flush, turning a unique-constraint race (two requests creating the same name) into a 409."""
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        raise Conflict(message) from exc


async def _role(uow: UnitOfWork, role_id: uuid.UUID) -> Role:
    role = await uow.session.get(Role, role_id)
    if role is None:
        raise NotFound("role not found")
    return role


async def _user(uow: UnitOfWork, user_id: uuid.UUID, *, for_update: bool = False) -> User:
    statement = select(User).where(User.id == user_id)
    if for_update:
        statement = statement.with_for_update()
    user = (await uow.session.execute(statement)).scalar_one_or_none()
    if user is None:
        raise NotFound("user not found")
    return user


async def _team(uow: UnitOfWork, team_id: uuid.UUID) -> Team:
    team = await uow.session.get(Team, team_id)
    if team is None:
        raise NotFound("team not found")
    return team


async def _check_manageable(uow: UnitOfWork, actor: Actor, user: User) -> None:
    """A user whose role holds more than the actor does is out of the actor's reach."""
    require_grantable(actor, set((await _role(uow, user.role_id)).permissions))


async def add_user(uow: UnitOfWork, actor: Actor, request: UserCreate, *, user_id: uuid.UUID) -> User:
    """Create a user in a role (by id or name) and optionally a team; the password is hashed."""
    actor.require("admin.users")
    if request.role_id is not None:
        role = await uow.session.get(Role, request.role_id)
        if role is None:
            raise ValidationFailed("role does not exist")
    else:
        assert request.role is not None
        role = await role_by_name(uow, request.role)
    require_grantable(actor, set(role.permissions))
    user = await create_user(
        uow,
        email=str(request.email),
        name=request.name,
        password=request.password,
        role_id=role.id,
        team_id=request.team_id,
        locale=request.locale,
        user_id=user_id,
    )
    await _flush_unique(uow, "a user with this e-mail exists")
    await uow.commit()
    return user


async def _active_admins_besides(uow: UnitOfWork, user_id: uuid.UUID) -> int:
    admin_role = await role_by_name(uow, ADMIN_ROLE)
    # Lock the admin role row so two admins demoting each other at once cannot both see the other.
    await uow.session.execute(select(Role.id).where(Role.id == admin_role.id).with_for_update())
    count = (
        await uow.session.execute(
            select(func.count())
            .select_from(User)
            .where(User.role_id == admin_role.id, User.is_active.is_(True), User.id != user_id)
        )
    ).scalar_one()
    return int(count)


async def update_user(
    uow: UnitOfWork, actor: Actor, user_id: uuid.UUID, request: UserUpdate, cache: ActorCache
) -> User:
    """Change a user's name, role, team, active flag or locale. Nobody deactivates themself, and the
    last active admin stays an active admin."""
    actor.require("admin.users")
    user = await _user(uow, user_id, for_update=True)
    await _check_manageable(uow, actor, user)
    changes = request.model_dump(exclude_unset=True)
    if changes.get("is_active") is False and user.id == actor.id:
        raise Conflict("you cannot deactivate yourself")
    if "role_id" in changes and changes["role_id"] != user.role_id:
        new_role = await uow.session.get(Role, changes["role_id"])
        if new_role is None:
            raise ValidationFailed("role does not exist")
        require_grantable(actor, set(new_role.permissions))
    if (
        "team_id" in changes
        and changes["team_id"] is not None
        and await uow.session.get(Team, changes["team_id"]) is None
    ):
        raise ValidationFailed("team does not exist")
    current_role = await _role(uow, user.role_id)
    leaves_admins = (
        current_role.name == ADMIN_ROLE
        and user.is_active
        and (changes.get("is_active") is False or changes.get("role_id", user.role_id) != user.role_id)
    )
    if leaves_admins and await _active_admins_besides(uow, user.id) == 0:
        raise Conflict("this is the last active admin; make another user admin first")
    for name, value in changes.items():
        setattr(user, name, value)
    await uow.session.flush()
    _forget_actors_after_commit(uow, cache, user.id)
    await uow.commit()
    return user


async def reset_password(
    uow: UnitOfWork, actor: Actor, user_id: uuid.UUID, password: str, cache: ActorCache
) -> None:
    """An administrator sets a new password for a user (who forgot theirs, or whose account may be in
    the wrong hands): every session and token the user holds ends."""
    actor.require("admin.users")
    user = await _user(uow, user_id)
    await _check_manageable(uow, actor, user)
    _set_password(uow, cache, user, password)
    await uow.commit()


def _set_password(uow: UnitOfWork, cache: ActorCache, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.token_version = (user.token_version or 0) + 1
    _forget_actors_after_commit(uow, cache, user.id)


def _require_user_actor(actor: Actor) -> uuid.UUID:
    if actor.kind is not ActorKind.USER or actor.id is None:
        raise PermissionDenied("only a signed-in user has a profile")
    return actor.id


async def update_profile(uow: UnitOfWork, actor: Actor, request: ProfileUpdate, cache: ActorCache) -> User:
    """The caller changes their own display name or UI language."""
    user = await _user(uow, _require_user_actor(actor))
    for name, value in request.model_dump(exclude_unset=True).items():
        setattr(user, name, value)
    _forget_actors_after_commit(uow, cache, user.id)
    await uow.commit()
    return user


async def change_own_password(
    uow: UnitOfWork, actor: Actor, current_password: str, new_password: str, cache: ActorCache
) -> User:
    """The caller changes their password, proving they know the current one. Every session and token
    issued before ends, the caller's own included: the API hands the console a fresh session."""
    user = await _user(uow, _require_user_actor(actor))
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed(
            "the current password is wrong",
            errors=[
                {
                    "loc": ["body", "current_password"],
                    "msg": "the current password is wrong",
                    "type": "wrong_password",
                }
            ],
        )
    _set_password(uow, cache, user, new_password)
    await uow.commit()
    return user


async def add_team(uow: UnitOfWork, actor: Actor, request: TeamCreate, *, team_id: uuid.UUID) -> Team:
    """A team, at the root of the department tree or under ``parent_id``."""
    actor.require("admin.teams")
    if (await uow.session.execute(select(Team.id).where(Team.name == request.name))).first():
        raise Conflict("a team with this name exists")
    try:
        team = await create_team(uow, request.name, request.parent_id, team_id=team_id)
    except IntegrityError as exc:
        raise Conflict("a team with this name exists") from exc
    await _flush_unique(uow, "a team with this name exists")
    await uow.commit()
    return team


async def update_team(
    uow: UnitOfWork, actor: Actor, team_id: uuid.UUID, request: TeamUpdate, cache: ActorCache
) -> Team:
    """Rename a team or move it in the tree; a move that would put a team below itself is refused."""
    actor.require("admin.teams")
    team = await _team(uow, team_id)
    changes = request.model_dump(exclude_unset=True)
    if (
        "name" in changes
        and changes["name"] != team.name
        and (await uow.session.execute(select(Team.id).where(Team.name == changes["name"]))).first()
    ):
        raise Conflict("a team with this name exists")
    if "parent_id" in changes and changes["parent_id"] != team.parent_id:
        parent_id = changes["parent_id"]
        if parent_id is not None and await uow.session.get(Team, parent_id) is None:
            raise ValidationFailed("parent team does not exist")
        parents = {
            row.id: row.parent_id for row in (await uow.session.execute(select(Team.id, Team.parent_id)))
        }
        if creates_cycle(team.id, parent_id, parents):
            raise ValidationFailed("a team cannot be moved below itself or one of its sub-teams")
        # Department scopes of everyone above the old and new position change.
        _forget_actors_after_commit(uow, cache)
    for name, value in changes.items():
        setattr(team, name, value)
    await _flush_unique(uow, "a team with this name exists")
    await uow.commit()
    return team


async def delete_team(uow: UnitOfWork, actor: Actor, team_id: uuid.UUID, cache: ActorCache) -> None:
    """Delete an empty team: one without members (active or not) and without sub-teams."""
    actor.require("admin.teams")
    team = await _team(uow, team_id)
    members = (
        await uow.session.execute(select(func.count()).select_from(User).where(User.team_id == team.id))
    ).scalar_one()
    if members:
        raise Conflict(f"the team still has {members} member(s); move them first")
    children = (
        await uow.session.execute(select(func.count()).select_from(Team).where(Team.parent_id == team.id))
    ).scalar_one()
    if children:
        raise Conflict(f"the team still has {children} sub-team(s); move or delete them first")
    await uow.session.delete(team)
    _forget_actors_after_commit(uow, cache)
    await uow.commit()


def _checked_permissions(actor: Actor, permissions: list[str]) -> list[str]:
    unknown = unknown_permissions(permissions)
    if unknown:
        raise ValidationFailed(f"unknown permissions: {', '.join(unknown)}")
    require_grantable(actor, set(permissions))
    return sorted(set(permissions))


async def _check_role_name_free(uow: UnitOfWork, name: str) -> None:
    if (await uow.session.execute(select(Role.id).where(Role.name == name))).first():
        raise Conflict("a role with this name exists")


async def add_role(uow: UnitOfWork, actor: Actor, request: RoleCreate, *, role_id: uuid.UUID) -> Role:
    """A custom role: a set of permissions and the data scope they apply in."""
    actor.require("admin.roles")
    permissions = _checked_permissions(actor, request.permissions)
    await _check_role_name_free(uow, request.name)
    role = Role(
        id=role_id,
        tenant_id=uow.tenant_id,
        name=request.name,
        permissions=permissions,
        data_scope=request.data_scope,
        created_at=utcnow(),
    )
    uow.session.add(role)
    await _flush_unique(uow, "a role with this name exists")
    await uow.commit()
    return role


async def update_role(
    uow: UnitOfWork, actor: Actor, role_id: uuid.UUID, request: RoleUpdate, cache: ActorCache
) -> Role:
    """Rename a role or change its permissions or data scope; its users get the change within the
    actor cache's lifetime. The built-in admin role is fixed."""
    actor.require("admin.roles")
    role = await _role(uow, role_id)
    if role.name == ADMIN_ROLE:
        raise Conflict("the built-in admin role cannot be changed")
    require_grantable(actor, set(role.permissions))
    changes = request.model_dump(exclude_unset=True)
    if "permissions" in changes:
        changes["permissions"] = _checked_permissions(actor, changes["permissions"])
    if "name" in changes and changes["name"] != role.name:
        await _check_role_name_free(uow, changes["name"])
    for name, value in changes.items():
        setattr(role, name, value)
    await _flush_unique(uow, "a role with this name exists")
    _forget_actors_after_commit(uow, cache)
    await uow.commit()
    return role


async def delete_role(uow: UnitOfWork, actor: Actor, role_id: uuid.UUID) -> None:
    """Delete a role no user holds; the built-in admin role stays."""
    actor.require("admin.roles")
    role = await _role(uow, role_id)
    if role.name == ADMIN_ROLE:
        raise Conflict("the built-in admin role cannot be deleted")
    require_grantable(actor, set(role.permissions))
    holders = (
        await uow.session.execute(select(func.count()).select_from(User).where(User.role_id == role.id))
    ).scalar_one()
    if holders:
        raise Conflict(f"the role is held by {holders} user(s); give them another role first")
    await uow.session.delete(role)
    await uow.commit()


async def issue_api_key(uow: UnitOfWork, actor: Actor, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """A new API key with the given scopes; returns the key and its secret, which is shown only now."""
    actor.require("admin.api_keys")
    unknown = [scope for scope in scopes if scope not in API_KEY_SCOPES]
    if unknown:
        raise ValidationFailed(
            f"unknown API key scopes: {', '.join(unknown)}; choose from {', '.join(sorted(API_KEY_SCOPES))}"
        )
    require_grantable(actor, set(permissions_for_scopes(scopes)))
    created_by = actor.id if actor.kind is ActorKind.USER else None
    key, plain = await create_api_key(
        uow, name=name, scopes=list(dict.fromkeys(scopes)), created_by_id=created_by
    )
    await uow.commit()
    return key, plain


async def revoke_api_key(uow: UnitOfWork, actor: Actor, key_id: uuid.UUID, cache: ActorCache) -> None:
    """Revoke a key. This process refuses it from the next request on; other API processes once their
    cached actor for it expires (ActorCache.ttl). Revoking twice is harmless."""
    actor.require("admin.api_keys")
    key = await uow.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API key not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    key_hash = key.key_hash
    uow.after_commit(lambda: cache.discard(key_hash))
    await uow.commit()
