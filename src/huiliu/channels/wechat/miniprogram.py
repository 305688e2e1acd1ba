"""Mini-program login, ``POST /api/v1/public/miniprogram/{entry_point_id}/session`` (public, like the
H5 form): the mini-program sends the ``wx.login`` code; the server asks ``sns/jscode2session`` for the
user's openid (and unionid), records them as the customer's identities, and answers with a signed
identity token (``channels.wechat.identity_token``) the H5 / mini-program intake accepts to
attribute the submission. The ``session_key`` never leaves the server (it is not even stored).

``POST /api/v1/public/miniprogram/{entry_point_id}/tickets`` is that intake for the mini-program
itself: with the token as ``Authorization: Bearer``, the customer's request becomes (or joins) a
ticket of the mini-program entry point, attributed to the openid / unionid the token carries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import anyio
import httpx
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from huiliu.auth.deps import RuntimeDep
from huiliu.auth.domain import system_actor
from huiliu.channels.tencent.callbacks import open_entry_point, sync_engine
from huiliu.channels.tencent.client import Account, ApiError, TencentClient
from huiliu.channels.tencent.tokens import TokenStore
from huiliu.channels.webform.domain import progress_token, progress_url
from huiliu.channels.wechat.domain import miniprogram_identity
from huiliu.channels.wechat.identity_token import BadIdentityToken, issue_identity_token, read_identity_token
from huiliu.core.clock import utcnow
from huiliu.core.errors import HuiliuError, ValidationFailed
from huiliu.core.netguard import guarded_client
from huiliu.customers.domain import EXTERNAL, WECHAT_UNIONID
from huiliu.customers.service import resolve_identities
from huiliu.entry_points.domain import WECHAT_MINIPROGRAM
from huiliu.intake import service as intake
from huiliu.intake.domain import InboundMessage, SenderIdentity
from huiliu.intake.service import defaults_from
from huiliu.orders.lookup import OrderLookupDep

router = APIRouter(prefix="/api/v1/public/miniprogram", tags=["wechat"])
API_TIMEOUT_SECONDS = 10.0
# jscode2session answers: the code is invalid or used (40029, 40163), the user is blocked (40226).
REFUSED_CODES = frozenset({40029, 40163, 40226})


class LoginUnavailable(HuiliuError):
    status = 502
    slug = "platform-unavailable"
    title = "WeChat did not answer the mini-program login"


class SessionRequest(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="the code of wx.login()")


class MiniProgramSession(BaseModel):
    identity_token: str = Field(description="give it to the intake (H5 form: identity_token)")
    expires_at: datetime
    customer_id: uuid.UUID | None = Field(description="the customer these identities belong to")
    has_unionid: bool


@router.post(
    "/{entry_point_id}/session",
    response_model=MiniProgramSession,
    summary="Mini-program login: wx.login code → the customer's identity token",
    responses={
        404: {"description": "No active wechat_miniprogram entry point with this id"},
        422: {"description": "WeChat refused the code (invalid, already used, or a blocked user)"},
        502: {"description": "WeChat did not answer (platform-unavailable)"},
    },
)
async def miniprogram_session(
    entry_point_id: uuid.UUID, body: SessionRequest, request: Request, runtime: RuntimeDep
) -> dict[str, Any]:
    entry_point = await open_entry_point(runtime.db, entry_point_id, {WECHAT_MINIPROGRAM})
    engine = sync_engine(request, runtime.settings.database_url)
    account = Account(entry_point.tenant_id, entry_point.id, entry_point.kind, dict(entry_point.config))

    def login() -> dict[str, Any]:
        with guarded_client(runtime.settings, timeout=API_TIMEOUT_SECONDS) as http:
            return TencentClient(http, TokenStore(engine), account).code2session(body.code)

    try:
        answer = await anyio.to_thread.run_sync(login)
    except ApiError as exc:
        if exc.errcode in REFUSED_CODES:
            raise ValidationFailed(f"WeChat refused the login code (errcode {exc.errcode})") from exc
        raise LoginUnavailable(str(exc)) from exc
    except httpx.HTTPError as exc:
        raise LoginUnavailable(f"{type(exc).__name__}: {exc}") from exc
    openid = answer.get("openid")
    if not isinstance(openid, str) or not openid:
        raise LoginUnavailable("the jscode2session answer has no openid")
    identities: list[tuple[str, str]] = [
        (EXTERNAL, miniprogram_identity(str(entry_point.config.get("app_id", "")), openid))
    ]
    unionid = answer.get("unionid")
    if isinstance(unionid, str) and unionid:
        identities.append((WECHAT_UNIONID, unionid))
    actor = system_actor(entry_point.tenant_id, f"mini-program: {entry_point.name}")
    async with runtime.db.uow(entry_point.tenant_id) as uow:
        resolution = await resolve_identities(uow, None, identities, actor=actor)
        await uow.commit()
    token, expires_at = issue_identity_token(
        runtime.settings.secret_key, entry_point.tenant_id, entry_point.id, tuple(identities), utcnow()
    )
    return {
        "identity_token": token,
        "expires_at": expires_at,
        "customer_id": resolution.customer_id,
        "has_unionid": len(identities) > 1,
    }


class MiniProgramRequest(BaseModel):
    description: str = Field(min_length=1, max_length=5000)
    title: str | None = Field(default=None, max_length=300)


class MiniProgramReceipt(BaseModel):
    ticket_number: int
    outcome: str = Field(description="created, or threaded onto the customer's open ticket")
    progress_url: str


@router.post(
    "/{entry_point_id}/tickets",
    status_code=201,
    response_model=MiniProgramReceipt,
    summary="A customer's request from the mini-program, attributed by the identity token",
    responses={
        401: {"description": "No identity token, or not a genuine, unexpired one for this entry point"},
        404: {"description": "No active wechat_miniprogram entry point with this id"},
    },
)
async def miniprogram_ticket(
    entry_point_id: uuid.UUID,
    body: MiniProgramRequest,
    runtime: RuntimeDep,
    order_lookup: OrderLookupDep,
    authorization: Annotated[str | None, Header(max_length=1200)] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    """Resending with the same ``Idempotency-Key`` is a repeat: the same ticket, nothing new."""
    entry_point = await open_entry_point(runtime.db, entry_point_id, {WECHAT_MINIPROGRAM})
    scheme, _, credential = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise BadIdentityToken("send the identity token of the mini-program login as a Bearer token")
    identity = read_identity_token(runtime.settings.secret_key, credential.strip(), utcnow())
    if identity.entry_point_id != entry_point.id or identity.tenant_id != entry_point.tenant_id:
        raise BadIdentityToken("this identity token belongs to another mini-program")
    message = InboundMessage(
        channel=entry_point.channel,
        text=body.description,
        received_at=utcnow(),
        entry_point_id=entry_point.id,
        external_id=f"mp:{idempotency_key}" if idempotency_key else None,
        identities=tuple(SenderIdentity(kind, value) for kind, value in identity.identities),
        title=body.title or None,
    )
    actor = system_actor(entry_point.tenant_id, f"mini-program: {entry_point.name}")
    async with runtime.db.uow(entry_point.tenant_id) as uow:
        result = await intake.ingest(
            uow, actor, message, defaults=defaults_from(runtime.settings), order_lookup=order_lookup
        )
    token = progress_token(runtime.settings.secret_key, entry_point.tenant_id, result.ticket_id)
    return {
        "ticket_number": result.ticket_number,
        "outcome": result.outcome.value,
        "progress_url": progress_url(runtime.settings.public_url, token),
    }
