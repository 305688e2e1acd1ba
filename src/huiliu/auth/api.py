"""Login, logout and "who am I" under /api/v1/auth."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from huiliu.auth import service
from huiliu.auth.deps import CSRF_COOKIE, SESSION_COOKIE, ActorDep, RuntimeDep, start_console_session
from huiliu.auth.domain import Actor
from huiliu.auth.models import User
from huiliu.auth.schemas import LoginRequest, MeOut, PasswordChange, ProfileUpdate, TokenOut
from huiliu.runtime import Runtime

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut, summary="Log in with e-mail and password")
async def login(body: LoginRequest, response: Response, runtime: RuntimeDep) -> dict[str, Any]:
    """Returns a bearer token for API clients and sets the console's session cookie (HttpOnly,
    SameSite=Lax) with a readable CSRF cookie that the console echoes in ``X-CSRF-Token``."""
    user = await service.login(runtime.db, body.email, body.password)
    token, max_age = start_console_session(response, runtime.settings, user)
    return {"access_token": token, "token_type": "bearer", "expires_in": max_age}


@router.post("/logout", status_code=204, summary="End the console session")
async def logout(response: Response) -> Response:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=MeOut, summary="The caller")
async def me(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    return await _me(runtime, actor)


@router.patch("/me", response_model=MeOut, summary="Change your own name or UI language")
async def update_me(body: ProfileUpdate, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        user = await service.update_profile(uow, actor, body, runtime.actor_cache)
    return await _me(
        runtime, await service.actor_for_user(runtime.db, user.id, actor.tenant_id, runtime.actor_cache)
    )


@router.post("/me/password", status_code=204, summary="Change your own password")
async def change_password(
    body: PasswordChange, actor: ActorDep, runtime: RuntimeDep, request: Request
) -> Response:
    """Needs the current password; a wrong one is a 422 pointing at ``current_password``. Every
    session and bearer token issued before ends; a console session (cookie) continues on a fresh
    cookie set in this answer, bearer clients log in again."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        user = await service.change_own_password(
            uow, actor, body.current_password, body.new_password, runtime.actor_cache
        )
    response = Response(status_code=204)
    if SESSION_COOKIE in request.cookies:
        start_console_session(response, runtime.settings, user)
    return response


async def _me(runtime: Runtime, actor: Actor) -> dict[str, Any]:
    email = locale = None
    if actor.kind.value == "user" and actor.id is not None:
        async with runtime.db.uow(actor.tenant_id) as uow:
            user = await uow.session.get(User, actor.id)
            if user is not None:
                email, locale = user.email, user.locale
    return {
        "id": actor.id,
        "tenant_id": actor.tenant_id,
        "name": actor.name,
        "kind": actor.kind.value,
        "email": email,
        "locale": locale,
        "team_id": actor.team_id,
        "data_scope": actor.data_scope.value,
        "permissions": sorted(actor.permissions),
    }
