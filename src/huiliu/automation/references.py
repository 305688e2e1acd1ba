"""Resolving the references rules name (agents, teams, roles) to the tenant's rows.

A rule names a team, agent or role by id (what the console picks) or by name. The presets name
``after_sales`` and ``qa`` by key; those keys also match the usual Chinese and English names, so the
presets work in a tenant that has a team called 售后 or a role called 质检 without editing them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar, cast

from sqlalchemy import func, or_, select

from huiliu.auth.models import Role, Team, User
from huiliu.db.session import UnitOfWork

T = TypeVar("T")

# Preset keys and the names they also match (compared case-insensitively).
ALIASES: dict[str, tuple[str, ...]] = {
    "after_sales": ("after_sales", "after-sales", "after sales", "售后", "售后组", "售后服务", "售后部"),
    "qa": ("qa", "质检", "质检组", "品质", "quality"),
    "lead": ("lead", "组长", "主管", "team lead"),
}
# The role whose active members lead their team (auth's default roles: admin, lead, agent).
LEAD_ROLE = "lead"


# Answers are remembered for the unit of work (``session.info``): a sweep batch or a reaction that
# notifies the same role or team lead for many tickets asks the database once.
_MEMO = "automation.references"


async def _memo(uow: UnitOfWork, key: tuple[Any, ...], load: Callable[[], Awaitable[T]]) -> T:
    memo: dict[tuple[Any, ...], Any] = uow.session.info.setdefault(_MEMO, {})
    if key not in memo:
        memo[key] = await load()
    value = memo[key]
    # A list is handed out as a copy: a caller extending it must not change the remembered answer.
    return cast(T, list(value) if isinstance(value, list) else value)


def _as_uuid(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def _names(ref: str) -> list[str]:
    return [name.casefold() for name in ALIASES.get(ref.casefold(), (ref,))]


async def resolve_team(uow: UnitOfWork, ref: str) -> uuid.UUID | None:
    """The team a reference names (id, name or preset key), or ``None`` when the tenant has none."""
    return await _memo(uow, ("team", ref), lambda: _resolve_team(uow, ref))


async def _resolve_team(uow: UnitOfWork, ref: str) -> uuid.UUID | None:
    by_id = _as_uuid(ref)
    if by_id is not None:
        return by_id if await uow.session.get(Team, by_id) is not None else None
    rows = await uow.session.execute(
        select(Team.id).where(func.lower(Team.name).in_(_names(ref))).order_by(Team.created_at, Team.id)
    )
    return rows.scalars().first()


async def resolve_user(uow: UnitOfWork, ref: str) -> uuid.UUID | None:
    """The active user a reference names (id, e-mail or name), or ``None``."""
    return await _memo(uow, ("user", ref), lambda: _resolve_user(uow, ref))


async def _resolve_user(uow: UnitOfWork, ref: str) -> uuid.UUID | None:
    by_id = _as_uuid(ref)
    query = select(User.id).where(User.is_active.is_(True))
    if by_id is not None:
        query = query.where(User.id == by_id)
    elif "@" in ref:
        query = query.where(User.email == ref.strip().lower())
    else:
        query = query.where(User.name == ref)
    return (await uow.session.execute(query.order_by(User.created_at, User.id))).scalars().first()


async def resolve_roles(uow: UnitOfWork, refs: Iterable[str]) -> list[uuid.UUID]:
    """The roles the references name (id, name or preset key); unknown references name none."""
    refs = tuple(refs)
    return await _memo(uow, ("roles", refs), lambda: _resolve_roles(uow, refs))


async def _resolve_roles(uow: UnitOfWork, refs: tuple[str, ...]) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    names: list[str] = []
    for ref in refs:
        by_id = _as_uuid(ref)
        if by_id is not None:
            ids.append(by_id)
        else:
            names += _names(ref)
    if not ids and not names:
        return []
    clause = or_(Role.id.in_(ids), func.lower(Role.name).in_(names))
    return list((await uow.session.execute(select(Role.id).where(clause))).scalars().all())


async def role_members(uow: UnitOfWork, role_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Active users holding one of the roles."""
    return await _memo(uow, ("members", tuple(role_ids)), lambda: _role_members(uow, role_ids))


async def _role_members(uow: UnitOfWork, role_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    if not role_ids:
        return []
    rows = await uow.session.execute(
        select(User.id).where(User.role_id.in_(role_ids), User.is_active.is_(True)).order_by(User.id)
    )
    return list(rows.scalars().all())


async def team_leads(uow: UnitOfWork, team_id: uuid.UUID | None) -> list[uuid.UUID]:
    """The leads of a team: its active members with the ``lead`` role, oldest account first."""
    return await _memo(uow, ("leads", team_id), lambda: _team_leads(uow, team_id))


async def _team_leads(uow: UnitOfWork, team_id: uuid.UUID | None) -> list[uuid.UUID]:
    if team_id is None:
        return []
    lead_roles = await resolve_roles(uow, [LEAD_ROLE])
    if not lead_roles:
        return []
    rows = await uow.session.execute(
        select(User.id)
        .where(User.team_id == team_id, User.role_id.in_(lead_roles), User.is_active.is_(True))
        .order_by(User.created_at, User.id)
    )
    return list(rows.scalars().all())


async def user_team(uow: UnitOfWork, user_id: uuid.UUID) -> uuid.UUID | None:
    user = await uow.session.get(User, user_id)
    return None if user is None else user.team_id
