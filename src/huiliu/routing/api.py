"""Routing routes: policies (CRUD and a dry preview on a ticket), agent profiles (presence, skills,
regions, seniority, capacity, shift) with their open load, the caller's own presence, and routing a
ticket now. Writes to policies and profiles need ``admin.routing``; agents may read them; another
tenant's ids answer 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.core.errors import NotFound
from huiliu.routing import queries, service
from huiliu.routing.models import AgentProfile, RoutingPolicyRow
from huiliu.routing.schemas import (
    POLICY_EXAMPLE,
    AgentList,
    AgentOut,
    AgentProfileIn,
    OutcomeOut,
    PolicyList,
    PolicyOut,
    PresenceIn,
    PresenceOut,
    PreviewRequest,
    RouteRequest,
)
from huiliu.runtime import Runtime

# The preview and "route now" check the ticket through the tickets' read side (visibility included).
from huiliu.tickets import queries as ticket_queries

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])
READ_PERMISSIONS = (service.PERMISSION, "ticket.read")
PolicyBody = Annotated[
    dict[str, Any],
    Body(
        description='{"name", "description"?, "definition", "is_default"?, "active"?}; the definition '
        "is a routing policy (docs/routing.md)",
        openapi_examples={"skills first": {"value": POLICY_EXAMPLE}},
    ),
]
PolicyPatch = Annotated[
    dict[str, Any],
    Body(
        description="keys to change (name, description, definition, is_default, active)",
        openapi_examples={"switch off": {"value": {"active": False}}},
    ),
]


def policy_out(row: RoutingPolicyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "definition": row.definition,
        "is_default": row.is_default,
        "active": row.active,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def agent_out(row: queries.AgentRow) -> dict[str, Any]:
    profile = row.profile
    return {
        "user_id": row.user_id,
        "name": row.name,
        "email": row.email,
        "team_id": row.team_id,
        "is_active": row.is_active,
        "has_profile": profile is not None,
        "presence": profile.presence if profile is not None else "offline",
        "presence_changed_at": profile.presence_changed_at if profile is not None else None,
        "skills": dict(profile.skills) if profile is not None else {},
        "regions": list(profile.regions) if profile is not None else [],
        "senior": profile.senior if profile is not None else False,
        "capacity": profile.capacity if profile is not None else None,
        "shift": profile.shift if profile is not None and profile.shift is not None else "always",
        "last_assigned_at": profile.last_assigned_at if profile is not None else None,
        "open_load": dict(row.open_load),
        "open_total": row.open_total,
    }


def presence_out(profile: AgentProfile) -> dict[str, Any]:
    return {
        "user_id": profile.user_id,
        "presence": profile.presence,
        "presence_changed_at": profile.presence_changed_at,
    }


async def _agent(runtime: Runtime, actor: Actor, user_id: uuid.UUID) -> dict[str, Any]:
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.agent_rows(session, user_id, with_profile_only=False)
    if not rows:
        raise NotFound("user not found")
    return agent_out(rows[0])


# --- policies ---------------------------------------------------------------------------------------


@router.get("/policies", response_model=PolicyList, summary="The tenant's routing policies")
async def list_policies(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require_any(*READ_PERMISSIONS)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.list_policies(session)
    return {"items": [policy_out(row) for row in rows]}


@router.post("/policies", status_code=201, response_model=PolicyOut, summary="Create a routing policy")
async def create_policy(body: PolicyBody, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The definition is checked by the routing domain and stored normalised; ``is_default`` takes the
    flag from the previous default policy."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        row = await service.create_policy(uow, actor, body)
    return policy_out(row)


@router.get("/policies/{policy_id}", response_model=PolicyOut, summary="A routing policy")
async def get_policy(policy_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require_any(*READ_PERMISSIONS)
    async with runtime.db.read(actor.tenant_id) as session:
        return policy_out(await queries.require_policy(session, policy_id))


@router.patch("/policies/{policy_id}", response_model=PolicyOut, summary="Change a routing policy")
async def update_policy(
    policy_id: uuid.UUID, body: PolicyPatch, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        row = await service.update_policy(uow, actor, policy_id, body)
    return policy_out(row)


@router.delete(
    "/policies/{policy_id}", status_code=204, response_class=Response, summary="Delete a routing policy"
)
async def delete_policy(policy_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_policy(uow, actor, policy_id)
    return Response(status_code=204)


@router.post(
    "/policies/{policy_id}/preview",
    response_model=OutcomeOut,
    summary="Which agent this policy would choose for a ticket now, and why (writes nothing)",
)
async def preview_policy(
    policy_id: uuid.UUID, body: PreviewRequest, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Works on inactive policies too, so a policy can be checked before it is switched on."""
    actor.require(service.PERMISSION)
    actor.require("ticket.read")
    async with runtime.db.read(actor.tenant_id) as session:
        await ticket_queries.get_visible_ticket(session, actor, body.ticket_id)
        row = await queries.require_policy(session, policy_id)
        outcome = await service.preview(session, body.ticket_id, row)
    return outcome.as_dict()


# --- routing a ticket now ---------------------------------------------------------------------------


@router.post(
    "/tickets/{ticket_id}:route",
    response_model=OutcomeOut,
    summary="Route a ticket now with a policy (the tenant's default when none is named)",
)
async def route_ticket(
    ticket_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep, body: RouteRequest | None = None
) -> dict[str, Any]:
    """The same code path as automatic routing: the decision's reason is recorded on the
    ``ticket.assigned`` event, with the caller's name in the routing actor."""
    actor.require("ticket.assign")
    request = body or RouteRequest()
    async with runtime.db.uow(actor.tenant_id) as uow:
        await ticket_queries.get_visible_ticket(uow.session, actor, ticket_id)
        outcome = await service.route(
            uow, ticket_id, policy=request.policy, actor_name=f"routing (by {actor.name})"
        )
        await uow.commit()
    return outcome.as_dict()


# --- agents -----------------------------------------------------------------------------------------


@router.get("/agents", response_model=AgentList, summary="Agents with their routing profiles and open load")
async def list_agents(actor: ActorDep, runtime: RuntimeDep, all_users: bool = False) -> dict[str, Any]:
    """Users with a routing profile; ``all_users=true`` lists every user (``has_profile`` false for
    those routing does not consider yet)."""
    actor.require_any(*READ_PERMISSIONS)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.agent_rows(session, with_profile_only=not all_users)
    return {"items": [agent_out(row) for row in rows]}


@router.get("/agents/{user_id}", response_model=AgentOut, summary="One agent's routing profile and open load")
async def get_agent(user_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require_any(*READ_PERMISSIONS)
    return await _agent(runtime, actor, user_id)


@router.put(
    "/agents/{user_id}", response_model=AgentOut, summary="Create or change an agent's routing profile"
)
async def put_agent(
    user_id: uuid.UUID, body: AgentProfileIn, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.put_profile(uow, actor, user_id, body.model_dump(exclude_unset=True))
    return await _agent(runtime, actor, user_id)


@router.get("/presence", response_model=PresenceOut, summary="The caller's own presence")
async def get_presence(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    if actor.id is None:
        raise NotFound("only a signed-in user has a presence")
    async with runtime.db.read(actor.tenant_id) as session:
        profile = await session.get(AgentProfile, actor.id)
    if profile is None:
        return {"user_id": actor.id, "presence": "offline", "presence_changed_at": None}
    return presence_out(profile)


@router.put("/presence", response_model=PresenceOut, summary="Set the caller's own presence")
async def put_presence(body: PresenceIn, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        profile = await service.set_presence(uow, actor, body.presence)
    return presence_out(profile)
