"""Administration routes: users, teams (the department tree), roles, permissions and API keys.

Each route needs the matching ``admin.*`` permission; services check it (and that nobody grants more
than they hold), routes parse and shape. Every read and write is scoped to the caller's tenant by the
session, so another tenant's ids answer 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from huiliu.auth import queries, service
from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import API_KEY_SCOPES, PERMISSION_LABELS, Actor
from huiliu.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    PasswordReset,
    PermissionList,
    RoleCreate,
    RoleList,
    RoleOut,
    RoleUpdate,
    TeamCreate,
    TeamList,
    TeamOut,
    TeamUpdate,
    UserCreate,
    UserOut,
    UserPage,
    UserUpdate,
)
from huiliu.core.idempotency_api import run_idempotent
from huiliu.runtime import Runtime

router = APIRouter(prefix="/api/v1")
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _principal(actor: Actor) -> uuid.UUID:
    return actor.id or actor.tenant_id


# --- users ------------------------------------------------------------------------------------------


async def _user_out(runtime: Runtime, actor: Actor, user_id: uuid.UUID) -> UserOut:
    async with runtime.db.uow(actor.tenant_id) as uow:
        row = await queries.get_user_row(uow.session, user_id)
    return UserOut.model_validate(row, from_attributes=True)


@router.get("/users", response_model=UserPage, tags=["users"], summary="List users")
async def list_users(
    actor: ActorDep,
    runtime: RuntimeDep,
    team_id: uuid.UUID | None = None,
    role: Annotated[str | None, Query(max_length=100, description="role name or id")] = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_USER_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Users of the tenant ordered by creation; ``q`` matches a name or e-mail fragment. Agents who
    may assign tickets read it too (the assignee picker and @mentions)."""
    actor.require_any("admin.users", "ticket.assign")
    filters = queries.UserFilters(team_id=team_id, role=role, active=active, text=q)
    async with runtime.db.uow(actor.tenant_id) as uow:
        rows, total = await queries.list_users(uow.session, filters, limit=limit, offset=offset)
    return {
        "items": [UserOut.model_validate(row, from_attributes=True) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.post("/users", status_code=201, response_model=UserOut, tags=["users"], summary="Create a user")
async def create_user(
    body: UserCreate, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> UserOut:
    actor.require("admin.users")
    payload = body.model_dump(mode="json", exclude={"password"})
    user_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        _principal(actor),
        "users.create",
        idempotency_key,
        payload,
        lambda uow, new_id: service.add_user(uow, actor, body, user_id=new_id),
    )
    return await _user_out(runtime, actor, user_id)


@router.get("/users/{user_id}", response_model=UserOut, tags=["users"], summary="A user")
async def get_user(user_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> UserOut:
    actor.require("admin.users")
    return await _user_out(runtime, actor, user_id)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    tags=["users"],
    summary="Change a user's name, role, team, active flag or locale",
)
async def update_user(user_id: uuid.UUID, body: UserUpdate, actor: ActorDep, runtime: RuntimeDep) -> UserOut:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.update_user(uow, actor, user_id, body, runtime.actor_cache)
    return await _user_out(runtime, actor, user_id)


@router.post(
    "/users/{user_id}/password",
    status_code=204,
    tags=["users"],
    summary="Set a new password for a user (administrator reset)",
)
async def reset_password(
    user_id: uuid.UUID, body: PasswordReset, actor: ActorDep, runtime: RuntimeDep
) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.reset_password(uow, actor, user_id, body.password, runtime.actor_cache)
    return Response(status_code=204)


# --- teams ------------------------------------------------------------------------------------------


async def _team_out(runtime: Runtime, actor: Actor, team_id: uuid.UUID) -> TeamOut:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return TeamOut.model_validate(await queries.get_team(uow.session, team_id))


@router.get("/teams", response_model=TeamList, tags=["teams"], summary="All teams, flat, with parent_id")
async def list_teams(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require_any("admin.teams", "ticket.assign")  # the assignment picker needs the teams
    async with runtime.db.uow(actor.tenant_id) as uow:
        return {"items": await queries.list_teams(uow.session)}


@router.post("/teams", status_code=201, response_model=TeamOut, tags=["teams"], summary="Create a team")
async def create_team(
    body: TeamCreate, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> TeamOut:
    actor.require("admin.teams")
    team_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        _principal(actor),
        "teams.create",
        idempotency_key,
        body.model_dump(mode="json"),
        lambda uow, new_id: service.add_team(uow, actor, body, team_id=new_id),
    )
    return await _team_out(runtime, actor, team_id)


@router.get("/teams/{team_id}", response_model=TeamOut, tags=["teams"], summary="A team")
async def get_team(team_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> TeamOut:
    actor.require("admin.teams")
    return await _team_out(runtime, actor, team_id)


@router.patch("/teams/{team_id}", response_model=TeamOut, tags=["teams"], summary="Rename or move a team")
async def update_team(team_id: uuid.UUID, body: TeamUpdate, actor: ActorDep, runtime: RuntimeDep) -> TeamOut:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.update_team(uow, actor, team_id, body, runtime.actor_cache)
    return await _team_out(runtime, actor, team_id)


@router.delete(
    "/teams/{team_id}", status_code=204, tags=["teams"], summary="Delete a team without members or sub-teams"
)
async def delete_team(team_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_team(uow, actor, team_id, runtime.actor_cache)
    return Response(status_code=204)


# --- roles and permissions --------------------------------------------------------------------------


async def _role_out(runtime: Runtime, actor: Actor, role_id: uuid.UUID) -> RoleOut:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return RoleOut.model_validate(await queries.get_role(uow.session, role_id))


@router.get("/roles", response_model=RoleList, tags=["roles"], summary="Roles with their permissions")
async def list_roles(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require("admin.roles")
    async with runtime.db.uow(actor.tenant_id) as uow:
        return {"items": await queries.list_roles(uow.session)}


@router.post("/roles", status_code=201, response_model=RoleOut, tags=["roles"], summary="Create a role")
async def create_role(
    body: RoleCreate, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> RoleOut:
    actor.require("admin.roles")
    role_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        _principal(actor),
        "roles.create",
        idempotency_key,
        body.model_dump(mode="json"),
        lambda uow, new_id: service.add_role(uow, actor, body, role_id=new_id),
    )
    return await _role_out(runtime, actor, role_id)


@router.get("/roles/{role_id}", response_model=RoleOut, tags=["roles"], summary="A role")
async def get_role(role_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> RoleOut:
    actor.require("admin.roles")
    return await _role_out(runtime, actor, role_id)


@router.patch(
    "/roles/{role_id}",
    response_model=RoleOut,
    tags=["roles"],
    summary="Rename a role or change its permissions or data scope",
)
async def update_role(role_id: uuid.UUID, body: RoleUpdate, actor: ActorDep, runtime: RuntimeDep) -> RoleOut:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.update_role(uow, actor, role_id, body, runtime.actor_cache)
    return await _role_out(runtime, actor, role_id)


@router.delete("/roles/{role_id}", status_code=204, tags=["roles"], summary="Delete a role nobody holds")
async def delete_role(role_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_role(uow, actor, role_id)
    return Response(status_code=204)


@router.get(
    "/permissions",
    response_model=PermissionList,
    tags=["roles"],
    summary="Every permission with its zh-CN and English label, and the API key scopes",
)
async def list_permissions(actor: ActorDep) -> dict[str, Any]:
    """Reference data for the role editor and the API key form; any signed-in caller may read it."""
    return {
        "items": [{"name": name, "labels": labels} for name, labels in PERMISSION_LABELS.items()],
        "api_key_scopes": {scope: sorted(perms) for scope, perms in API_KEY_SCOPES.items()},
    }


# --- API keys ---------------------------------------------------------------------------------------


@router.get(
    "/api-keys",
    response_model=ApiKeyList,
    tags=["api-keys"],
    summary="API keys, newest first, revoked ones included",
)
async def list_api_keys(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require("admin.api_keys")
    async with runtime.db.uow(actor.tenant_id) as uow:
        keys = await queries.list_api_keys(uow.session)
    return {"items": [ApiKeyOut.model_validate(key, from_attributes=True) for key in keys]}


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    tags=["api-keys"],
    summary="Create an API key (the secret is shown once)",
)
async def create_api_key(body: ApiKeyCreate, actor: ActorDep, runtime: RuntimeDep) -> ApiKeyCreated:
    """Idempotency-Key is not honoured here: the secret is never stored, so a replay could not return
    it. A client that lost the answer revokes the unknown key and creates another."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        key, plain = await service.issue_api_key(uow, actor, body.name, body.scopes)
    return ApiKeyCreated.model_validate(
        {**ApiKeyOut.model_validate(key, from_attributes=True).model_dump(), "key": plain}
    )


@router.delete("/api-keys/{key_id}", status_code=204, tags=["api-keys"], summary="Revoke an API key")
async def revoke_api_key(key_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    """The key stops working in this API process at once and in the others within 5 seconds (the
    lifetime of their cached credentials)."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.revoke_api_key(uow, actor, key_id, runtime.actor_cache)
    return Response(status_code=204)
