"""The read side of administration: users, teams, roles and API keys of the session's tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.auth.domain import ADMIN_ROLE
from huiliu.auth.models import ApiKey, Role, Team, User
from huiliu.core.errors import NotFound

MAX_USER_PAGE = 200

USER_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.role_id,
    Role.name.label("role"),
    User.team_id,
    User.is_active,
    User.locale,
    User.last_login_at,
    User.created_at,
)


@dataclass
class UserFilters:
    team_id: uuid.UUID | None = None
    role: str | None = None  # a role name or id
    active: bool | None = None
    text: str | None = None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _role_clause(role: str) -> Any:
    try:
        return User.role_id == uuid.UUID(role)
    except ValueError:
        return Role.name == role


async def list_users(
    session: AsyncSession, filters: UserFilters, *, limit: int = 50, offset: int = 0
) -> tuple[list[Any], int]:
    """A page of users ordered by creation, and how many match in all. Tenants have at most a few
    thousand users, so offset pages stay cheap; the count lets the console show page numbers."""
    where: list[Any] = []
    if filters.team_id is not None:
        where.append(User.team_id == filters.team_id)
    if filters.role:
        where.append(_role_clause(filters.role))
    if filters.active is not None:
        where.append(User.is_active.is_(filters.active))
    if filters.text:
        pattern = _like(filters.text.lower())
        where.append(
            or_(func.lower(User.name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    base = select(*USER_COLUMNS).join(Role, Role.id == User.role_id).where(*where)
    total = (
        await session.execute(
            select(func.count()).select_from(User).join(Role, Role.id == User.role_id).where(*where)
        )
    ).scalar_one()
    rows = (
        await session.execute(
            base.order_by(User.created_at, User.id)
            .limit(min(max(limit, 1), MAX_USER_PAGE))
            .offset(max(offset, 0))
        )
    ).all()
    return list(rows), int(total)


async def get_user_row(session: AsyncSession, user_id: uuid.UUID) -> Any:
    row = (
        await session.execute(
            select(*USER_COLUMNS).join(Role, Role.id == User.role_id).where(User.id == user_id)
        )
    ).first()
    if row is None:
        raise NotFound("user not found")
    return row


async def list_teams(session: AsyncSession) -> list[dict[str, Any]]:
    """Every team, flat, with its parent, member counts and number of child teams; the console builds
    the department tree from ``parent_id``."""
    teams = (await session.execute(select(Team).order_by(Team.name, Team.id))).scalars().all()
    members = {
        row.team_id: (int(row.total), int(row.active or 0))
        for row in (
            await session.execute(
                select(
                    User.team_id,
                    func.count().label("total"),
                    func.sum(case((User.is_active.is_(True), 1), else_=0)).label("active"),
                )
                .where(User.team_id.is_not(None))
                .group_by(User.team_id)
            )
        ).all()
    }
    children: dict[uuid.UUID, int] = {}
    for team in teams:
        if team.parent_id is not None:
            children[team.parent_id] = children.get(team.parent_id, 0) + 1
    return [
        {
            "id": t.id,
            "name": t.name,
            "parent_id": t.parent_id,
            "member_count": members.get(t.id, (0, 0))[0],
            "active_member_count": members.get(t.id, (0, 0))[1],
            "child_count": children.get(t.id, 0),
            "created_at": t.created_at,
        }
        for t in teams
    ]


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> dict[str, Any]:
    for team in await list_teams(session):
        if team["id"] == team_id:
            return team
    raise NotFound("team not found")


async def team_parents(session: AsyncSession) -> dict[uuid.UUID, uuid.UUID | None]:
    return {row.id: row.parent_id for row in (await session.execute(select(Team.id, Team.parent_id))).all()}


def _role_out(role: Role, user_count: int) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "permissions": sorted(role.permissions),
        "data_scope": role.data_scope,
        "builtin": role.name == ADMIN_ROLE,
        "user_count": user_count,
        "created_at": role.created_at,
    }


async def list_roles(session: AsyncSession) -> list[dict[str, Any]]:
    roles = (await session.execute(select(Role).order_by(Role.created_at, Role.id))).scalars().all()
    counts = dict((await session.execute(select(User.role_id, func.count()).group_by(User.role_id))).all())
    return [_role_out(role, int(counts.get(role.id, 0))) for role in roles]


async def get_role(session: AsyncSession, role_id: uuid.UUID) -> dict[str, Any]:
    role = await session.get(Role, role_id)
    if role is None:
        raise NotFound("role not found")
    count = (await session.execute(select(func.count()).where(User.role_id == role_id))).scalar_one()
    return _role_out(role, int(count))


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key of the tenant, newest first, revoked ones included (with ``revoked_at``)."""
    return list(
        (await session.execute(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())))
        .scalars()
        .all()
    )
