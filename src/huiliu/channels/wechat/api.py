"""``GET|POST /callbacks/wechat/{entry_point_id}``: the Official Account's server URL (服务器地址) as
pasted into the WeChat admin (outside /api/v1: WeChat is configured once with this address)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import PlainTextResponse

from huiliu.auth.deps import RuntimeDep
from huiliu.channels.tencent.callbacks import SUCCESS, open_entry_point, read_body
from huiliu.channels.wechat import service
from huiliu.entry_points.domain import WECHAT_MP
from huiliu.intake.service import defaults_from
from huiliu.orders.lookup import OrderLookupDep

router = APIRouter(tags=["wechat"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed or unsafe XML (malformed-xml), or a ciphertext that does not decrypt"},
    401: {"description": "Missing or wrong signature / msg_signature (bad-signature)"},
    404: {"description": "No active wechat_mp entry point with this id"},
    413: {"description": "The body is larger than the limit"},
}
Param = Annotated[str | None, Query(max_length=512)]


@router.get(
    "/callbacks/wechat/{entry_point_id}",
    response_class=PlainTextResponse,
    summary="WeChat Official Account URL verification",
    responses=PROBLEMS,
)
async def verify_wechat_url(
    entry_point_id: uuid.UUID,
    runtime: RuntimeDep,
    signature: Param = None,
    timestamp: Param = None,
    nonce: Param = None,
    echostr: Param = None,
) -> PlainTextResponse:
    """Answers ``echostr`` when ``signature`` is SHA1 over the sorted token, timestamp and nonce."""
    entry_point = await open_entry_point(runtime.db, entry_point_id, {WECHAT_MP})
    query = service.CallbackQuery(signature, timestamp, nonce)
    return PlainTextResponse(service.verify_url(entry_point, query, echostr))


@router.post(
    "/callbacks/wechat/{entry_point_id}",
    response_class=PlainTextResponse,
    summary="Receive a WeChat Official Account message or event",
    responses=PROBLEMS,
)
async def receive_wechat_callback(
    entry_point_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    order_lookup: OrderLookupDep,
    signature: Param = None,
    timestamp: Param = None,
    nonce: Param = None,
    encrypt_type: Param = None,
    msg_signature: Param = None,
) -> PlainTextResponse:
    """Plaintext, compatible or safe mode (``encrypt_type=aes``). Answers ``success`` once the message
    is committed (a repeat of the same MsgId changes nothing)."""
    entry_point = await open_entry_point(runtime.db, entry_point_id, {WECHAT_MP})
    body = await read_body(request)
    query = service.CallbackQuery(signature, timestamp, nonce, encrypt_type, msg_signature)
    fields = service.open_callback(entry_point, query, body)
    await service.receive(
        runtime.db, entry_point, fields, defaults=defaults_from(runtime.settings), order_lookup=order_lookup
    )
    return PlainTextResponse(SUCCESS)
