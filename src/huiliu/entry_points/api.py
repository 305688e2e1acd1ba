"""Entry point routes: create, list, read, change, delete (or deactivate), QR codes of H5 forms and
the per-entry-point ticket report. Every route needs ``admin.entry_points``; another tenant's ids
answer 404."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor

# Kind-specific config checks live with their channels; the router composes them (see pyproject's
# import contracts: this is the one place entry points look up at the channels).
from huiliu.channels.tencent.config import (
    check_wechat_miniprogram_config,
    check_wechat_mp_config,
    check_wecom_app_config,
    check_wecom_kf_config,
)
from huiliu.channels.webhook.presets import check_webhook_config
from huiliu.core.clock import ensure_utc, utcnow
from huiliu.core.errors import NotFound, ValidationFailed
from huiliu.core.idempotency_api import run_idempotent
from huiliu.entry_points import domain, queries, service
from huiliu.entry_points.models import EntryPoint
from huiliu.entry_points.schemas import (
    EntryPointCreate,
    EntryPointCreated,
    EntryPointDeleted,
    EntryPointList,
    EntryPointOut,
    EntryPointStats,
    EntryPointUpdate,
)
from huiliu.runtime import Runtime

router = APIRouter(prefix="/api/v1/entry-points", tags=["entry points"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
CONFIG_CHECKS: dict[str, service.ConfigCheck] = {
    domain.WEBHOOK: check_webhook_config,
    domain.WECHAT_MP: check_wechat_mp_config,
    domain.WECOM_APP: check_wecom_app_config,
    domain.WECOM_KF: check_wecom_kf_config,
    domain.WECHAT_MINIPROGRAM: check_wechat_miniprogram_config,
}
MAX_REPORT_DAYS = 366
QR_SCALE = {"png": 10, "svg": 10}


def entry_point_out(runtime: Runtime, entry_point: EntryPoint) -> dict[str, Any]:
    base = runtime.settings.public_url
    secret = entry_point.config.get("secret")
    is_form = entry_point.kind == domain.H5_FORM
    return {
        "id": entry_point.id,
        "kind": entry_point.kind,
        "name": entry_point.name,
        "channel": entry_point.channel,
        "public_key": entry_point.public_key,
        "is_active": entry_point.is_active,
        "config": domain.public_config(entry_point.config),
        "secret_hint": domain.secret_hint(secret) if isinstance(secret, str) else None,
        "form_url": domain.form_url(base, entry_point.public_key) if is_form else None,
        "qr_url": domain.qr_url(base, entry_point.id) if is_form else None,
        "hook_url": domain.hook_url(base, entry_point.id) if entry_point.kind == domain.WEBHOOK else None,
        "created_at": entry_point.created_at,
    }


async def _read(runtime: Runtime, actor: Actor, entry_point_id: uuid.UUID) -> EntryPoint:
    async with runtime.db.read(actor.tenant_id) as session:
        return await queries.require_entry_point(session, entry_point_id)


@router.post(
    "",
    status_code=201,
    response_model=EntryPointCreated,
    response_model_exclude_none=False,
    summary="Create an entry point (h5_form, webhook or api)",
)
async def create_entry_point(
    body: EntryPointCreate, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """An ``h5_form`` reply carries ``form_url`` and ``qr_url``; a ``webhook`` reply carries
    ``hook_url`` and, this once, ``secret`` (generated when the request gave none). Later replies show
    ``secret_hint`` only."""
    actor.require(service.PERMISSION)
    created: list[service.Created] = []

    async def create(uow: Any, new_id: uuid.UUID) -> None:
        created.append(
            await service.create_entry_point(uow, actor, body, entry_point_id=new_id, checks=CONFIG_CHECKS)
        )

    entry_point_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        actor.id or actor.tenant_id,
        "entry_points.create",
        idempotency_key,
        body.model_dump(mode="json"),
        create,
    )
    entry_point = await _read(runtime, actor, entry_point_id)
    reply = entry_point_out(runtime, entry_point)
    # The secret goes back once: to the request that set it, not to a replay of its key.
    if created and entry_point.kind == domain.WEBHOOK:
        reply["secret"] = entry_point.config.get("secret")
    return reply


@router.get("", response_model=EntryPointList, summary="Entry points of the tenant")
async def list_entry_points(
    actor: ActorDep, runtime: RuntimeDep, kind: Annotated[str | None, Query(max_length=32)] = None
) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.list_entry_points(session, kind=kind)
    return {"items": [entry_point_out(runtime, row) for row in rows]}


@router.get(
    "/stats",
    response_model=EntryPointStats,
    response_model_by_alias=True,
    summary="Tickets per entry point and source in a period",
)
async def entry_point_stats(
    actor: ActorDep,
    runtime: RuntimeDep,
    from_: Annotated[datetime | None, Query(alias="from", description="start (default: 30 days ago)")] = None,
    to: Annotated[datetime | None, Query(description="end, exclusive (default: now)")] = None,
) -> dict[str, Any]:
    """Tickets created in [from, to) per entry point, each split by source (the ``src`` of the QR
    code or the webhook mapping's source), largest first; entry points without tickets show zero."""
    actor.require(service.PERMISSION)
    end = ensure_utc(to) if to is not None else utcnow()
    start = ensure_utc(from_) if from_ is not None else end - timedelta(days=30)
    if start >= end:
        raise ValidationFailed("from must be before to")
    if end - start > timedelta(days=MAX_REPORT_DAYS):
        raise ValidationFailed(f"a report covers at most {MAX_REPORT_DAYS} days")
    async with runtime.db.read(actor.tenant_id) as session:
        return await queries.ticket_counts(session, start=start, end=end)


@router.get("/{entry_point_id}", response_model=EntryPointOut, summary="An entry point")
async def get_entry_point(entry_point_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    return entry_point_out(runtime, await _read(runtime, actor, entry_point_id))


@router.patch(
    "/{entry_point_id}",
    response_model=EntryPointOut,
    summary="Rename, (de)activate or change settings (config keys merge; null removes a key)",
)
async def update_entry_point(
    entry_point_id: uuid.UUID, body: EntryPointUpdate, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.update_entry_point(uow, actor, entry_point_id, body, checks=CONFIG_CHECKS)
    return entry_point_out(runtime, await _read(runtime, actor, entry_point_id))


@router.delete(
    "/{entry_point_id}",
    response_model=EntryPointDeleted,
    summary="Delete an unused entry point; one with tickets is deactivated instead",
)
async def delete_entry_point(
    entry_point_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        outcome = await service.delete_entry_point(uow, actor, entry_point_id)
    return {"id": entry_point_id, "outcome": outcome}


def _qr(
    runtime: Runtime, entry_point: EntryPoint, source: str | None, kind: Literal["png", "svg"]
) -> Response:
    if entry_point.kind != domain.H5_FORM:
        raise NotFound("only h5_form entry points have a QR code")
    if source is not None:
        source = domain.check_source_code(source)
    url = domain.form_url(runtime.settings.public_url, entry_point.public_key, source)
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    if kind == "png":
        code.save(buffer, kind="png", scale=QR_SCALE["png"], border=4)
        media_type = "image/png"
    else:
        code.save(buffer, kind="svg", scale=QR_SCALE["svg"], border=4, xmldecl=False, svgns=True)
        media_type = "image/svg+xml"
    filename = f"qr-{entry_point.public_key}{'-' + source if source else ''}.{kind}"
    return Response(
        buffer.getvalue(),
        media_type=media_type,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, max-age=300",
            "X-Content-Type-Options": "nosniff",
            "X-Form-Url": url,
        },
    )


QR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown entry point, or not an h5_form"},
    422: {"description": "The source code is not valid"},
}
SourceParam = Annotated[
    str | None, Query(max_length=64, description="source code put into the form URL as ?src=")
]


@router.get(
    "/{entry_point_id}/qr.png",
    summary="QR code (PNG) of an h5_form's URL",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **QR_RESPONSES},
)
async def qr_png(
    entry_point_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep, source: SourceParam = None
) -> Response:
    actor.require(service.PERMISSION)
    return _qr(runtime, await _read(runtime, actor, entry_point_id), source, "png")


@router.get(
    "/{entry_point_id}/qr.svg",
    summary="QR code (SVG) of an h5_form's URL, for print",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **QR_RESPONSES},
)
async def qr_svg(
    entry_point_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep, source: SourceParam = None
) -> Response:
    actor.require(service.PERMISSION)
    return _qr(runtime, await _read(runtime, actor, entry_point_id), source, "svg")
