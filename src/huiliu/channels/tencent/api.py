"""Setup of the WeChat / WeCom entry points for the console: what to paste into the WeChat or WeCom
admin (the exact callback URL, Token, EncodingAESKey) and a "test connection" that asks the platform
for an access token with the stored credentials. Both need ``admin.entry_points``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import anyio
import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.channels.tencent.callbacks import sync_engine
from huiliu.channels.tencent.client import Account, ApiError, TencentClient
from huiliu.channels.tencent.tokens import TokenKey, TokenStore, TokenUnavailable
from huiliu.core.errors import NotFound
from huiliu.core.netguard import guarded_client
from huiliu.entry_points.domain import WECHAT_MINIPROGRAM, WECHAT_MP, WECOM_APP, WECOM_KF
from huiliu.entry_points.models import EntryPoint
from huiliu.entry_points.queries import require_entry_point
from huiliu.entry_points.service import PERMISSION
from huiliu.runtime import Runtime

router = APIRouter(prefix="/api/v1/entry-points", tags=["entry points"])
KINDS = {WECHAT_MP, WECOM_APP, WECOM_KF, WECHAT_MINIPROGRAM}
TEST_TIMEOUT_SECONDS = 10.0


class TencentSetup(BaseModel):
    entry_point_id: uuid.UUID
    kind: str
    callback_url: str = Field(description="服务器地址 (URL) to paste into the WeChat / WeCom admin")
    token: str
    encoding_aes_key: str
    encryption_mode: str | None = Field(default=None, description="wechat_mp: plaintext, compatible or safe")
    receive_id: str = Field(
        description="the AppID (wechat_mp) or CorpID (WeCom) the messages are encrypted for"
    )
    api_base_url: str
    token_expires_at: datetime | None = Field(default=None, description="the cached access token's expiry")


class ConnectionTest(BaseModel):
    ok: bool
    errcode: int | None = None
    errmsg: str | None = None
    token_expires_at: datetime | None = None


def callback_url(public_base_url: str, entry_point: EntryPoint) -> str:
    """The platform's callback address; for a mini-program (no callbacks), its login endpoint."""
    if entry_point.kind == WECHAT_MINIPROGRAM:
        return f"{public_base_url.rstrip('/')}/api/v1/public/miniprogram/{entry_point.id}/session"
    platform = "wechat" if entry_point.kind == WECHAT_MP else "wecom"
    return f"{public_base_url.rstrip('/')}/callbacks/{platform}/{entry_point.id}"


async def _entry_point(runtime: Runtime, tenant_id: uuid.UUID, entry_point_id: uuid.UUID) -> EntryPoint:
    async with runtime.db.read(tenant_id) as session:
        entry_point = await require_entry_point(session, entry_point_id)
    if entry_point.kind not in KINDS:
        raise NotFound("not a WeChat or WeCom entry point")
    return entry_point


def _store(request: Request, runtime: Runtime) -> TokenStore:
    return TokenStore(sync_engine(request, runtime.settings.database_url))


def _account(entry_point: EntryPoint) -> Account:
    return Account(entry_point.tenant_id, entry_point.id, entry_point.kind, dict(entry_point.config))


@router.get(
    "/{entry_point_id}/tencent-setup",
    response_model=TencentSetup,
    summary="What to paste into the WeChat / WeCom admin for this entry point",
)
async def tencent_setup(
    entry_point_id: uuid.UUID, request: Request, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    actor.require(PERMISSION)
    entry_point = await _entry_point(runtime, actor.tenant_id, entry_point_id)
    store = _store(request, runtime)
    account = _account(entry_point)
    cached = await anyio.to_thread.run_sync(store.cached, TokenKey(entry_point.tenant_id, entry_point.id))
    config = entry_point.config
    return {
        "entry_point_id": entry_point.id,
        "kind": entry_point.kind,
        "callback_url": callback_url(runtime.settings.public_url, entry_point),
        "token": str(config.get("token", "")),
        "encoding_aes_key": str(config.get("encoding_aes_key", "")),
        "encryption_mode": config.get("encryption_mode"),
        "receive_id": str(config.get("app_id" if account.is_official_account else "corp_id", "")),
        "api_base_url": account.base_url,
        "token_expires_at": cached.expires_at if cached is not None else None,
    }


@router.post(
    "/{entry_point_id}/tencent-test",
    response_model=ConnectionTest,
    summary="Ask the platform for a new access token with the stored credentials",
)
async def tencent_test(
    entry_point_id: uuid.UUID, request: Request, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """``ok`` with the new token's expiry, or the platform's ``errcode`` / ``errmsg`` (wrong secret,
    server IP not in the allow-list …). The new token replaces the cached one for every process."""
    actor.require(PERMISSION)
    entry_point = await _entry_point(runtime, actor.tenant_id, entry_point_id)
    store = _store(request, runtime)
    key = TokenKey(entry_point.tenant_id, entry_point.id)

    def run() -> dict[str, Any]:
        with guarded_client(runtime.settings, timeout=TEST_TIMEOUT_SECONDS) as http:
            client = TencentClient(http, store, _account(entry_point))
            cached = store.cached(key)
            client.access_token(rejected=cached.value if cached is not None else None)
        fresh = store.cached(key)
        return {"ok": True, "token_expires_at": fresh.expires_at if fresh is not None else None}

    try:
        return await anyio.to_thread.run_sync(run)
    except ApiError as exc:
        return {"ok": False, "errcode": exc.errcode, "errmsg": exc.errmsg}
    except (httpx.HTTPError, TokenUnavailable) as exc:
        return {"ok": False, "errmsg": f"{type(exc).__name__}: {exc}"}
