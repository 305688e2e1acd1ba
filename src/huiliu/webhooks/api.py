"""Webhook routes: subscriptions (create, list, read, change, delete) and their delivery log with a
retry for dead deliveries. Every route needs ``admin.webhooks``; another tenant's ids answer 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.core.errors import ValidationFailed
from huiliu.core.idempotency_api import run_idempotent
from huiliu.core.netguard import outbound_policy
from huiliu.runtime import Runtime
from huiliu.webhooks import queries, service
from huiliu.webhooks.schemas import (
    DeliveryOut,
    DeliveryPage,
    DeliveryState,
    WebhookCreate,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


async def _webhook_out(runtime: Runtime, actor: Actor, subscription_id: uuid.UUID) -> WebhookOut:
    async with runtime.db.read(actor.tenant_id) as session:
        subscription = await queries.get_subscription(session, subscription_id)
        return WebhookOut.model_validate(queries.subscription_out(subscription))


async def _check_destination(runtime: Runtime, url: str) -> None:
    """Refuse a URL the worker would not call (core/netguard.py); resolving a name may block, so it
    runs in a worker thread."""
    refusal = await anyio.to_thread.run_sync(outbound_policy(runtime.settings).refusal, url)
    if refusal is not None:
        raise ValidationFailed(
            refusal, errors=[{"loc": ["body", "url"], "msg": refusal, "type": "non_public_destination"}]
        )


@router.post("/webhooks", status_code=201, response_model=WebhookOut, summary="Subscribe a URL to events")
async def create_webhook(
    body: WebhookCreate, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> WebhookOut:
    """Events committed after this call are POSTed to ``url``, signed with ``secret`` (see
    docs/webhooks.md). The secret is never returned; responses show ``secret_hint``. A URL whose host
    resolves to a private address is refused (422) unless the installation allows private networks."""
    actor.require(service.PERMISSION)
    await _check_destination(runtime, body.url)
    subscription_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        actor.id or actor.tenant_id,
        "webhooks.create",
        idempotency_key,
        body.model_dump(mode="json"),
        lambda uow, new_id: service.create_subscription(uow, actor, body, subscription_id=new_id),
    )
    return await _webhook_out(runtime, actor, subscription_id)


@router.get("/webhooks", response_model=WebhookList, summary="Webhook subscriptions")
async def list_webhooks(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"items": await queries.list_subscriptions(session)}


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, summary="A webhook subscription")
async def get_webhook(webhook_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> WebhookOut:
    actor.require(service.PERMISSION)
    return await _webhook_out(runtime, actor, webhook_id)


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=WebhookOut,
    summary="Change a subscription's url, events, secret, description or active flag",
)
async def update_webhook(
    webhook_id: uuid.UUID, body: WebhookUpdate, actor: ActorDep, runtime: RuntimeDep
) -> WebhookOut:
    actor.require(service.PERMISSION)
    if body.url is not None:
        await _check_destination(runtime, body.url)
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.update_subscription(uow, actor, webhook_id, body)
    return await _webhook_out(runtime, actor, webhook_id)


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Delete a subscription")
async def delete_webhook(webhook_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_subscription(uow, actor, webhook_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    summary="Delivery log: deliveries of this subscription, newest first, with every attempt",
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    actor: ActorDep,
    runtime: RuntimeDep,
    state: DeliveryState | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_DELIVERY_PAGE)] = 25,
) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        await queries.get_subscription(session, webhook_id)
        items, next_cursor = await queries.list_deliveries(
            session, webhook_id, state=state, cursor=cursor, limit=limit
        )
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
    summary="Re-queue a dead delivery (409 unless it is dead)",
)
async def retry_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.retry_delivery(uow, actor, webhook_id, delivery_id)
    async with runtime.db.read(actor.tenant_id) as session:
        return await queries.delivery_detail(session, webhook_id, delivery_id)
