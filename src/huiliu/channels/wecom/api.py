"""``GET|POST /callbacks/wecom/{entry_point_id}``: the 接收消息服务器 URL of a WeCom app (wecom_app) or
of 微信客服 (wecom_kf), as pasted into the WeCom admin (outside /api/v1)."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

import anyio
import httpx
from fastapi import APIRouter, BackgroundTasks, Query, Request
from sqlalchemy import Engine
from starlette.responses import PlainTextResponse

from huiliu.auth.deps import RuntimeDep
from huiliu.channels.tencent.callbacks import SUCCESS, open_entry_point, read_body, sync_engine
from huiliu.channels.tencent.client import Account, TencentClient
from huiliu.channels.tencent.tokens import TokenStore
from huiliu.channels.wecom import domain, service
from huiliu.core.netguard import guarded_client
from huiliu.entry_points.domain import WECOM_APP, WECOM_KF
from huiliu.entry_points.models import EntryPoint
from huiliu.intake.service import defaults_from
from huiliu.orders.lookup import OrderLookup, OrderLookupDep
from huiliu.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["wecom"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed or unsafe XML (malformed-xml), or a ciphertext that does not decrypt"},
    401: {"description": "Missing or wrong msg_signature (bad-signature)"},
    404: {"description": "No active wecom_app or wecom_kf entry point with this id"},
    413: {"description": "The body is larger than the limit"},
}
Param = Annotated[str | None, Query(max_length=1024)]
KINDS = {WECOM_APP, WECOM_KF}
API_TIMEOUT_SECONDS = 10.0


@router.get(
    "/callbacks/wecom/{entry_point_id}",
    response_class=PlainTextResponse,
    summary="WeCom callback URL verification",
    responses=PROBLEMS,
)
async def verify_wecom_url(
    entry_point_id: uuid.UUID,
    runtime: RuntimeDep,
    msg_signature: Param = None,
    timestamp: Param = None,
    nonce: Param = None,
    echostr: Param = None,
) -> PlainTextResponse:
    """Answers ``echostr`` decrypted when ``msg_signature`` signs it."""
    entry_point = await open_entry_point(runtime.db, entry_point_id, KINDS)
    return PlainTextResponse(service.verify_url(entry_point, msg_signature, timestamp, nonce, echostr))


@router.post(
    "/callbacks/wecom/{entry_point_id}",
    response_class=PlainTextResponse,
    summary="Receive a WeCom app message or event, or a 微信客服 notice",
    responses=PROBLEMS,
)
async def receive_wecom_callback(
    entry_point_id: uuid.UUID,
    request: Request,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    order_lookup: OrderLookupDep,
    msg_signature: Param = None,
    timestamp: Param = None,
    nonce: Param = None,
) -> PlainTextResponse:
    """A wecom_app message or external-contact change is committed before ``success``; a wecom_kf
    notice is acknowledged at once and its messages are pulled with ``sync_msg`` right after."""
    entry_point = await open_entry_point(runtime.db, entry_point_id, KINDS)
    body = await read_body(request)
    fields = service.open_callback(entry_point, msg_signature, timestamp, nonce, body)
    if entry_point.kind == WECOM_APP:
        received = await service.receive_app_callback(
            runtime.db,
            entry_point,
            fields,
            defaults=defaults_from(runtime.settings),
            order_lookup=order_lookup,
        )
        if isinstance(received, domain.ContactChange) and received.change in domain.CONTACT_KEPT:
            engine = sync_engine(request, runtime.settings.database_url)
            background.add_task(enrich_contact, runtime, engine, entry_point, received)
        return PlainTextResponse(SUCCESS)
    try:
        notice = domain.kf_notice(fields)
    except domain.UnsupportedMessage:
        return PlainTextResponse(SUCCESS)
    background.add_task(
        pull_kf_messages,
        runtime,
        sync_engine(request, runtime.settings.database_url),
        entry_point,
        notice,
        order_lookup,
    )
    return PlainTextResponse(SUCCESS)


def _client(http: httpx.Client, engine: Engine, entry_point: EntryPoint) -> TencentClient:
    account = Account(entry_point.tenant_id, entry_point.id, entry_point.kind, dict(entry_point.config))
    return TencentClient(http, TokenStore(engine), account)


async def enrich_contact(
    runtime: Runtime, engine: Engine, entry_point: EntryPoint, change: domain.ContactChange
) -> None:
    """After the answer: ask ``externalcontact/get`` for the contact's name and unionid, so the
    customer is tied to the same person's WeChat identities. A failure leaves the external_userid
    identity as recorded (the next edit event tries again)."""
    try:
        with guarded_client(runtime.settings, timeout=API_TIMEOUT_SECONDS) as http:
            client = _client(http, engine, entry_point)
            answer = await anyio.to_thread.run_sync(lambda: client.external_contact(change.external_userid))
        contact = answer.get("external_contact") or {}
        unionid = contact.get("unionid") if isinstance(contact.get("unionid"), str) else None
        name = contact.get("name") if isinstance(contact.get("name"), str) else None
        await service.record_contact_change(runtime.db, entry_point, change, unionid=unionid, name=name)
    except Exception:
        log.exception("wecom %s: externalcontact/get for %s failed", entry_point.id, change.external_userid)


async def pull_kf_messages(
    runtime: Runtime,
    engine: Engine,
    entry_point: EntryPoint,
    notice: domain.KfNotice,
    order_lookup: OrderLookup | None,
) -> int:
    """``sync_msg`` from the stored cursor into intake (after the callback was answered). A failure
    loses nothing: the messages stay with WeCom and the next notice pulls from the same cursor."""
    with guarded_client(runtime.settings, timeout=API_TIMEOUT_SECONDS) as http:
        client = _client(http, engine, entry_point)

        async def page(cursor: str | None) -> dict[str, Any]:
            return await anyio.to_thread.run_sync(
                lambda: client.kf_sync_msg(cursor, notice.token, notice.open_kfid)
            )

        try:
            return await service.sync_kf(
                runtime.db,
                entry_point,
                notice.open_kfid,
                page,
                defaults=defaults_from(runtime.settings),
                order_lookup=order_lookup,
            )
        except Exception:
            log.exception(
                "wecom_kf %s: sync_msg failed; the next notice pulls from the same cursor", entry_point.id
            )
            return 0
