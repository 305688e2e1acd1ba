"""Builders for routing service tests: a tenant with a team, agents with stored profiles, policies
stored through the service, tickets created through the ticket service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from huiliu.auth.models import Team, Tenant
from huiliu.routing import service
from huiliu.routing.models import AgentProfile, RoutingPolicyRow
from huiliu.runtime import Runtime
from huiliu.tickets.models import Ticket, TicketEvent
from tests.factories import Member, make_member, make_team, make_tenant, make_ticket, unique


@dataclass
class Desk:
    """A tenant with one team, an admin (no profile) and the agents created so far."""

    runtime: Runtime
    tenant: Tenant
    team: Team
    admin: Member
    agents: dict[str, Member] = field(default_factory=dict)

    async def agent(self, name: str, team: Team | None = None, **profile: Any) -> Member:
        member = await make_member(self.runtime, self.tenant, role="agent", team=team or self.team, name=name)
        body = {"presence": "online", **profile}
        async with self.runtime.db.uow(self.tenant.id) as uow:
            await service.put_profile(uow, self.admin.actor, member.user.id, body)
        self.agents[name] = member
        return member

    def name_of(self, user_id: uuid.UUID | None) -> str | None:
        for name, member in self.agents.items():
            if member.user.id == user_id:
                return name
        return None

    async def policy(
        self, definition: dict[str, Any], *, name: str | None = None, **flags: Any
    ) -> RoutingPolicyRow:
        async with self.runtime.db.uow(self.tenant.id) as uow:
            return await service.create_policy(
                uow, self.admin.actor, {"name": name or unique("policy"), "definition": definition, **flags}
            )

    async def ticket(self, **fields: Any) -> uuid.UUID:
        fields.setdefault("team_id", str(self.team.id))
        created = await make_ticket(self.runtime, self.admin, **fields)
        return uuid.UUID(str(created["id"]))

    async def route(
        self, ticket_id: uuid.UUID, policy: str | uuid.UUID | None = None
    ) -> service.RoutingOutcome:
        async with self.runtime.db.uow(self.tenant.id) as uow:
            outcome = await service.route(uow, ticket_id, policy=policy)
            await uow.commit()
        return outcome

    async def load(self, ticket_id: uuid.UUID) -> Ticket:
        async with self.runtime.db.read(self.tenant.id) as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            return ticket

    async def events(self, ticket_id: uuid.UUID, event_type: str) -> list[TicketEvent]:
        async with self.runtime.db.read(self.tenant.id) as session:
            rows = await session.execute(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id, TicketEvent.type == event_type)
                .order_by(TicketEvent.created_at)
            )
            return list(rows.scalars().all())

    async def profile(self, name: str) -> AgentProfile:
        async with self.runtime.db.read(self.tenant.id) as session:
            profile = await session.get(AgentProfile, self.agents[name].user.id)
            assert profile is not None
            return profile


async def make_desk(runtime: Runtime) -> Desk:
    tenant = await make_tenant(runtime)
    team = await make_team(runtime, tenant, "售后")
    admin = await make_member(runtime, tenant, name="管理员")
    return Desk(runtime, tenant, team, admin)
