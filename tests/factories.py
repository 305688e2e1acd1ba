"""Builders for test data. Everything goes through the services, as production code does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from huiliu.auth import service as auth
from huiliu.auth.domain import Actor
from huiliu.auth.models import Team, Tenant, User
from huiliu.runtime import Runtime
from huiliu.tenancy.service import provision_tenant
from huiliu.tickets import service as tickets
from huiliu.tickets.schemas import TicketCreate

PASSWORD = "correct-horse-42"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Member:
    user: User
    token: str
    actor: Actor

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_tenant(runtime: Runtime, name: str = "测试企业") -> Tenant:
    return await provision_tenant(runtime.db, unique("t"), name)


async def make_team(
    runtime: Runtime, tenant: Tenant, name: str | None = None, parent_id: uuid.UUID | None = None
) -> Team:
    async with runtime.db.uow(tenant.id) as uow:
        team = await auth.create_team(uow, name or unique("team"), parent_id)
        await uow.commit()
        return team


async def make_member(
    runtime: Runtime, tenant: Tenant, role: str = "admin", team: Team | None = None, name: str = "客服小王"
) -> Member:
    async with runtime.db.uow(tenant.id) as uow:
        role_row = await auth.role_by_name(uow, role)
        user = await auth.create_user(
            uow,
            email=f"{unique('u')}@example.com",
            name=name,
            password=PASSWORD,
            role_id=role_row.id,
            team_id=team.id if team else None,
        )
        await uow.commit()
    token = auth.issue_token(runtime.settings.secret_key, user, 60)
    actor = await auth.actor_for_user(runtime.db, user.id, tenant.id, auth.ActorCache(ttl=0))
    return Member(user=user, token=token, actor=actor)


async def make_ticket(runtime: Runtime, member: Member, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"title": "打印机卡纸", "description": "门店3号打印机一直卡纸"}
    payload.update(fields)
    async with runtime.db.uow(member.actor.tenant_id) as uow:
        return await tickets.create_ticket(uow, member.actor, TicketCreate(**payload))
