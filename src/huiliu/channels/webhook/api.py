"""``POST /hooks/{entry_point_id}``: signed events from short-video platforms, IoT platforms, ERPs and
mini-program backends (outside /api/v1: senders are configured once with this address). Also the
list of shipped mapping presets for the console."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from starlette.responses import JSONResponse, Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.channels.webhook import service
from huiliu.channels.webhook.presets import presets
from huiliu.channels.webhook.schemas import HookResult, PresetList
from huiliu.core.errors import PayloadTooLarge
from huiliu.entry_points.service import PERMISSION
from huiliu.intake.service import defaults_from
from huiliu.orders.lookup import OrderLookupDep

router = APIRouter(tags=["webhook intake"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not valid JSON (malformed-json)"},
    401: {
        "description": "Missing or wrong signature (bad-signature), "
        "or a timestamp outside the window (stale-timestamp)"
    },
    404: {"description": "No active webhook entry point with this id"},
    413: {"description": "The body is larger than the limit"},
    422: {
        "description": "The mapping found no external id or text in the event, or a value of the wrong shape"
    },
}


async def _body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes", limit=limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes", limit=limit)
    return bytes(body)


@router.post(
    "/hooks/{entry_point_id}",
    response_model=HookResult,
    summary="Receive a signed event for a webhook entry point",
    responses={201: {"model": HookResult, "description": "A new ticket was created"}, **PROBLEMS},
)
async def receive_hook(
    entry_point_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    order_lookup: OrderLookupDep,
    timestamp: Annotated[str | None, Header(alias="X-Huiliu-Timestamp")] = None,
    signature: Annotated[str | None, Header(alias="X-Huiliu-Signature")] = None,
) -> Response:
    """Sign ``timestamp + "." + raw body`` with HMAC-SHA256 and the entry point's secret, send
    ``X-Huiliu-Signature: sha256=<hex>`` and ``X-Huiliu-Timestamp: <Unix seconds>`` (±300 s). Answers
    201 when the event opened a ticket, 200 when it joined one, repeated an earlier event (same
    external id: nothing changes) or was left out by the mapping's ``accept``."""
    entry_point = await service.open_hook(runtime.db, entry_point_id)
    body = await _body(request, runtime.settings.webhook_intake_max_bytes)
    received = await service.receive(
        runtime.db,
        entry_point,
        timestamp=timestamp,
        signature=signature,
        body=body,
        tolerance=runtime.settings.webhook_intake_tolerance_seconds,
        defaults=defaults_from(runtime.settings),
        order_lookup=order_lookup,
    )
    if received.result is None:
        reply = HookResult(ignored=True, reason=received.ignored_reason)
        return JSONResponse(reply.model_dump(mode="json"), status_code=200)
    result = received.result
    reply = HookResult(
        ticket_id=result.ticket_id,
        ticket_number=result.ticket_number,
        created=result.created,
        outcome=result.outcome.value,
        message_id=result.message_id,
    )
    return JSONResponse(reply.model_dump(mode="json"), status_code=201 if result.created else 200)


@router.get(
    "/api/v1/webhook-presets",
    response_model=PresetList,
    summary="Shipped mappings for webhook entry points (Douyin, IoT, ERP, mini-program)",
)
async def list_presets(actor: ActorDep) -> dict[str, Any]:
    actor.require(PERMISSION)
    return {
        "items": [
            {
                "name": preset.name,
                "label": preset.label,
                "description": preset.description,
                "channel": preset.channel,
                "mapping": preset.mapping,
                "example": preset.example,
            }
            for preset in presets().values()
        ]
    }
