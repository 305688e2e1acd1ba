"""FastAPI dependencies: the runtime, and the actor behind a request (bearer token, API key or the
console's session cookie with its CSRF check)."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Annotated

from fastapi import Depends, Request, Response

from huiliu.auth.domain import Actor
from huiliu.auth.models import User
from huiliu.auth.service import TokenClaims, actor_for_api_key, actor_for_user, decode_token, issue_token
from huiliu.core.errors import NotAuthenticated, PermissionDenied
from huiliu.runtime import Runtime
from huiliu.settings import Settings

SESSION_COOKIE = "huiliu_session"
CSRF_COOKIE = "huiliu_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs plain ``def`` dependencies in a worker thread, and that hop cost
    # more than the rest of a cheap request (measured with py-spy on the create benchmark).
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def current_actor(request: Request, runtime: RuntimeDep) -> Actor:
    header = request.headers.get("authorization", "")
    if header:
        return await bearer_actor(runtime, header)
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        raise NotAuthenticated()
    if request.method not in SAFE_METHODS:
        # Double-submit check: a cross-site form can send the cookie but cannot read it into a header.
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(expected, request.headers.get(CSRF_HEADER, "")):
            raise PermissionDenied("missing or wrong CSRF token")
    claims = _decoded(runtime, session)
    return await actor_for_user(
        runtime.db, claims.user_id, claims.tenant_id, runtime.actor_cache, claims.version
    )


async def bearer_actor(runtime: Runtime, header: str) -> Actor:
    """The actor behind an ``Authorization`` header: a bearer token or an API key (``hl_…``)."""
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise NotAuthenticated("use Authorization: Bearer <token>")
    credential = credential.strip()
    if credential.startswith("hl_"):
        return await actor_for_api_key(runtime.db, credential, runtime.actor_cache)
    claims = _decoded(runtime, credential)
    return await actor_for_user(
        runtime.db, claims.user_id, claims.tenant_id, runtime.actor_cache, claims.version
    )


def _decoded(runtime: Runtime, token: str) -> TokenClaims:
    """Verify a token once and remember its claims until it expires: the HMAC check and JSON
    decoding are a measurable share of a cheap request."""
    cached = runtime.token_cache.get(token)
    if cached is not None and cached.expires_at > time.time():
        return cached
    claims = decode_token(runtime.settings.secret_key, token)
    if len(runtime.token_cache) > 50_000:
        runtime.token_cache.clear()
    runtime.token_cache[token] = claims
    return claims


ActorDep = Annotated[Actor, Depends(current_actor)]


def start_console_session(response: Response, settings: Settings, user: User) -> tuple[str, int]:
    """Set the console's session cookie (HttpOnly, SameSite=Lax) and the readable CSRF cookie the
    console echoes in ``X-CSRF-Token``; returns the bearer token and its lifetime in seconds."""
    token = issue_token(settings.secret_key, user, settings.access_token_minutes)
    max_age = settings.access_token_minutes * 60
    secure = settings.cookie_secure
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )
    csrf = secrets.token_urlsafe(24)
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/"
    )
    return token, max_age
