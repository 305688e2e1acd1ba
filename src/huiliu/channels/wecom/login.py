"""WeCom login for the console, under ``/api/v1/auth/wecom`` (docs/decisions/0035):

- ``start`` sends the browser to WeCom: the web login page with its QR code (企业微信Web登录,
  ``login.work.weixin.qq.com/wwlogin/sso/login?login_type=CorpApp&appid=CorpID&agentid=…``) or, inside
  the WeCom client, OAuth (``open.weixin.qq.com/connect/oauth2/authorize?…&scope=snsapi_base``), with a
  random ``state`` that is also kept in an HttpOnly cookie of this browser;
- ``callback`` is where WeCom sends it back with ``code`` and ``state``: the state must equal the
  cookie's (CSRF), the code becomes a WeCom UserID through ``auth/getuserinfo``, the UserID the Huiliu
  user bound to it in the entry point's tenant, and the browser gets the normal console session.

Only wecom_app entry points with ``config.console_login`` offer it; the base URLs are configurable
(``login_base_url``, ``oauth_base_url``, ``api_base_url``). Admins bind users to UserIDs here too."""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio
import httpx
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.responses import RedirectResponse

from huiliu.auth.deps import ActorDep, RuntimeDep, start_console_session
from huiliu.auth.wecom_login import bind_wecom_userid, login_wecom_member, tenant_id_by_slug, wecom_bindings
from huiliu.channels.tencent.callbacks import sync_engine
from huiliu.channels.tencent.client import Account, ApiError, TencentClient
from huiliu.channels.tencent.config import DEFAULT_WECOM_LOGIN, DEFAULT_WECOM_OAUTH
from huiliu.channels.tencent.tokens import TokenStore, TokenUnavailable
from huiliu.core.errors import HuiliuError, NotAuthenticated, NotFound
from huiliu.core.netguard import guarded_client
from huiliu.entry_points.domain import WECOM_APP
from huiliu.entry_points.models import EntryPoint
from huiliu.entry_points.queries import get_entry_point
from huiliu.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/auth/wecom", tags=["auth"])

STATE_COOKIE = "huiliu_wecom_state"
STATE_COOKIE_PATH = "/api/v1/auth/wecom"
STATE_SECONDS = 600
LOGIN_PAGE = "/login"
API_TIMEOUT_SECONDS = 10.0
# What the login page is told when WeCom login did not end in a session (``?wecom_error=``).
DENIED, PLATFORM, NOT_MEMBER, NOT_BOUND = "denied", "platform", "not-member", "not-bound"


class StateMismatch(HuiliuError):
    status = 400
    slug = "wecom-login-state"
    title = "The WeCom login state does not match this browser's"


class WecomLoginOption(BaseModel):
    entry_point_id: uuid.UUID
    name: str
    start_url: str = Field(description="where the console sends the browser to log in with WeCom")


class WecomBinding(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    is_active: bool
    wecom_userid: str | None


class WecomBindingChange(BaseModel):
    wecom_userid: str | None = Field(default=None, max_length=64, description="null unbinds")


def safe_next(value: str | None) -> str:
    """A path on this site to go to after login; anything else (another host, ``//host``) is ``/``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:1000]


def _offers_login(entry_point: EntryPoint | None) -> bool:
    return (
        entry_point is not None
        and entry_point.is_active
        and entry_point.kind == WECOM_APP
        and entry_point.config.get("console_login") is True
    )


async def _login_entry_point(runtime: Runtime, entry_point_id: uuid.UUID) -> EntryPoint:
    async with runtime.db.read(None, system=True) as session:
        entry_point = await get_entry_point(session, entry_point_id)
    if entry_point is None or not _offers_login(entry_point):
        raise NotFound("no WeCom login with this id")
    return entry_point


def callback_url(public_url: str, entry_point_id: uuid.UUID) -> str:
    return f"{public_url.rstrip('/')}/api/v1/auth/wecom/{entry_point_id}/callback"


def wecom_login_url(entry_point: EntryPoint, redirect_uri: str, state: str, *, in_wecom: bool) -> str:
    """WeCom's page for this login: OAuth inside the WeCom client (no QR code to scan: the member
    is already signed in there), the web login page with its QR code everywhere else."""
    config = entry_point.config
    corp_id, agent_id = str(config.get("corp_id", "")), str(config.get("agent_id", ""))
    if in_wecom:
        base = str(config.get("oauth_base_url") or DEFAULT_WECOM_OAUTH).rstrip("/")
        query = urlencode(
            {
                "appid": corp_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
                "agentid": agent_id,
            }
        )
        return f"{base}/connect/oauth2/authorize?{query}#wechat_redirect"
    base = str(config.get("login_base_url") or DEFAULT_WECOM_LOGIN).rstrip("/")
    query = urlencode(
        {
            "login_type": "CorpApp",
            "appid": corp_id,
            "agentid": agent_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{base}/wwlogin/sso/login?{query}"


@router.get("/logins", response_model=list[WecomLoginOption], summary="WeCom logins the login page offers")
async def wecom_logins(
    runtime: RuntimeDep, tenant: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    """The active wecom_app entry points of the tenant the login page names (``?tenant=slug``, the
    address set as the WeCom app's home page) whose admin switched on ``console_login`` — one button
    each. Public, so it answers for one named tenant only: without a known slug the list is empty and
    nothing of any tenant is disclosed."""
    tenant_id = await tenant_id_by_slug(runtime.db, tenant) if tenant else None
    if tenant_id is None:
        return []
    async with runtime.db.read(tenant_id) as session:
        rows = await session.scalars(
            select(EntryPoint)
            .where(EntryPoint.kind == WECOM_APP, EntryPoint.is_active.is_(True))
            .order_by(EntryPoint.created_at, EntryPoint.id)
        )
        entry_points = [row for row in rows if _offers_login(row)]
    return [
        {
            "entry_point_id": entry_point.id,
            "name": entry_point.name,
            "start_url": f"/api/v1/auth/wecom/{entry_point.id}/start",
        }
        for entry_point in entry_points
    ]


@router.get(
    "/{entry_point_id}/start",
    status_code=302,
    response_class=RedirectResponse,
    summary="Go to WeCom to log in (QR code, or OAuth inside the WeCom client)",
    responses={404: {"description": "No wecom_app entry point with console login"}},
)
async def start_wecom_login(
    entry_point_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    next: Annotated[str | None, Query(max_length=1000)] = None,
) -> RedirectResponse:
    entry_point = await _login_entry_point(runtime, entry_point_id)
    state = secrets.token_urlsafe(24)
    in_wecom = "wxwork" in request.headers.get("user-agent", "").lower()
    target = wecom_login_url(
        entry_point, callback_url(runtime.settings.public_url, entry_point.id), state, in_wecom=in_wecom
    )
    response = RedirectResponse(target, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        f"{state}|{safe_next(next)}",
        max_age=STATE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.cookie_secure,
        path=STATE_COOKIE_PATH,
    )
    return response


def _back_to_login(error: str) -> RedirectResponse:
    response = RedirectResponse(f"{LOGIN_PAGE}?{urlencode({'wecom_error': error})}", status_code=302)
    response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH)
    return response


@router.get(
    "/{entry_point_id}/callback",
    status_code=302,
    response_class=RedirectResponse,
    summary="WeCom's redirect after login: code → UserID → console session",
    responses={
        400: {"description": "The state is missing or not this browser's (wecom-login-state)"},
        404: {"description": "No wecom_app entry point with console login"},
    },
)
async def finish_wecom_login(
    entry_point_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str | None, Query(max_length=512)] = None,
    state: Annotated[str | None, Query(max_length=256)] = None,
) -> RedirectResponse:
    """To the page the login started from with a session, or back to the login page with
    ``wecom_error`` (denied, platform, not-member, not-bound)."""
    entry_point = await _login_entry_point(runtime, entry_point_id)
    expected, _, next_path = request.cookies.get(STATE_COOKIE, "").partition("|")
    if not state or not expected or not hmac.compare_digest(expected.encode(), state.encode()):
        raise StateMismatch("start the WeCom login again from the login page")
    if not code:  # the member refused (WeCom sends no code then)
        return _back_to_login(DENIED)
    engine = sync_engine(request, runtime.settings.database_url)
    account = Account(entry_point.tenant_id, entry_point.id, entry_point.kind, dict(entry_point.config))

    def identify() -> dict[str, Any]:
        with guarded_client(runtime.settings, timeout=API_TIMEOUT_SECONDS) as http:
            return TencentClient(http, TokenStore(engine), account).member_of_code(code)

    try:
        answer = await anyio.to_thread.run_sync(identify)
    except (ApiError, httpx.HTTPError, TokenUnavailable) as exc:
        log.warning("wecom login %s: auth/getuserinfo failed: %s", entry_point.id, exc)
        return _back_to_login(PLATFORM)
    # ``userid`` in auth/getuserinfo; ``UserId`` in the older user/getuserinfo answer.
    wecom_userid = answer.get("userid") or answer.get("UserId")
    if not isinstance(wecom_userid, str) or not wecom_userid:
        return _back_to_login(NOT_MEMBER)
    try:
        user = await login_wecom_member(runtime.db, entry_point.tenant_id, wecom_userid)
    except NotAuthenticated:
        return _back_to_login(NOT_BOUND)
    response = RedirectResponse(safe_next(next_path), status_code=302)
    response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH)
    start_console_session(response, runtime.settings, user)
    return response


@router.get(
    "/bindings",
    response_model=list[WecomBinding],
    summary="Users of the tenant with their WeCom UserID (admin.users)",
)
async def list_wecom_bindings(actor: ActorDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return await wecom_bindings(runtime.db, actor)


@router.put(
    "/bindings/{user_id}",
    response_model=WecomBinding,
    summary="Bind a user to a WeCom UserID, or unbind with null (admin.users)",
    responses={409: {"description": "Another user of the tenant has this UserID"}},
)
async def put_wecom_binding(
    user_id: uuid.UUID, body: WecomBindingChange, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        user = await bind_wecom_userid(uow, actor, user_id, body.wecom_userid)
        return {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "is_active": user.is_active,
            "wecom_userid": user.wecom_userid,
        }
