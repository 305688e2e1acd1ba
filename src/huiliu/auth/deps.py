"""FastAPI dependencies: the runtime, and the actor behind a request (bearer token, API key or the
console's session cookie with its CSRF check)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from huiliu.auth.domain import Actor
from huiliu.auth.service import actor_for_api_key, actor_for_user, decode_token
from huiliu.core.errors import NotAuthenticated, PermissionDenied
from huiliu.runtime import Runtime

SESSION_COOKIE = "huiliu_session"
CSRF_COOKIE = "huiliu_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def current_actor(request: Request, runtime: RuntimeDep) -> Actor:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential:
            raise NotAuthenticated("use Authorization: Bearer <token>")
        credential = credential.strip()
        if credential.startswith("hl_"):
            return await actor_for_api_key(runtime.db, credential, runtime.actor_cache)
        user_id, tenant_id = decode_token(runtime.settings.secret_key, credential)
        return await actor_for_user(runtime.db, user_id, tenant_id, runtime.actor_cache)
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        raise NotAuthenticated()
    if request.method not in SAFE_METHODS:
        # Double-submit check: a cross-site form can send the cookie but cannot read it into a header.
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(expected, request.headers.get(CSRF_HEADER, "")):
            raise PermissionDenied("missing or wrong CSRF token")
    user_id, tenant_id = decode_token(runtime.settings.secret_key, session)
    return await actor_for_user(runtime.db, user_id, tenant_id, runtime.actor_cache)


ActorDep = Annotated[Actor, Depends(current_actor)]
