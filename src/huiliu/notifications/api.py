"""Notification routes: one's own inbox (unread first, mark read), one's own preferences, and for
``admin.notifications`` the provider channels (credentials write-only), the delivery log, the dead
letters and their retry."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.core.errors import ValidationFailed
from huiliu.notifications import queries, service, templates
from huiliu.notifications.schemas import (
    ChannelCreate,
    ChannelList,
    ChannelOut,
    ChannelUpdate,
    CustomerNoticeOut,
    DeliveryOut,
    DeliveryPage,
    DeliveryState,
    InboxItemOut,
    InboxPage,
    Preferences,
    ReadAll,
    TemplateCreate,
    TemplateList,
    TemplateOut,
    TemplatePreview,
    TemplatePreviewOut,
    TemplateUpdate,
    TenantPolicy,
    UnreadCount,
)
from huiliu.tickets.queries import get_visible_ticket

router = APIRouter(prefix="/api/v1", tags=["notifications"])
Cursor = Annotated[str | None, Query(max_length=300)]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]


# --- the signed-in user's inbox and preferences -------------------------------------------------------------


@router.get("/notifications", response_model=InboxPage, summary="My notifications, unread first")
async def list_notifications(
    actor: ActorDep,
    runtime: RuntimeDep,
    unread_only: bool = False,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> dict[str, Any]:
    user_id = service.user_of(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        items, next_cursor = await queries.inbox(
            session, user_id, unread_only=unread_only, cursor=cursor, limit=limit
        )
        unread = await queries.unread_count(session, user_id)
    return {"items": items, "next_cursor": next_cursor, "unread": unread}


@router.get("/notifications/unread-count", response_model=UnreadCount, summary="How many of mine are unread")
async def unread_count(actor: ActorDep, runtime: RuntimeDep) -> dict[str, int]:
    user_id = service.user_of(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"unread": await queries.unread_count(session, user_id)}


@router.post("/notifications:read-all", response_model=ReadAll, summary="Mark all of mine read")
async def read_all(actor: ActorDep, runtime: RuntimeDep) -> dict[str, int]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return {"marked": await service.mark_all_read(uow, actor)}


@router.post("/notifications/{notification_id}:read", response_model=InboxItemOut, summary="Mark one read")
async def read_one(notification_id: str, actor: ActorDep, runtime: RuntimeDep) -> Any:
    item_id = _uuid(notification_id, "notification_id")
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.mark_read(uow, actor, item_id)


@router.get("/notifications/preferences", response_model=Preferences, summary="My notification preferences")
async def get_preferences(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    user_id = service.user_of(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return queries.preference_out(await queries.preference_of(session, user_id))


@router.put("/notifications/preferences", response_model=Preferences, summary="Replace my preferences")
async def put_preferences(body: Preferences, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        preference = await service.set_preferences(uow, actor, body)
    return queries.preference_out(preference)


@router.get("/notifications/policy", response_model=TenantPolicy, summary="The tenant's notification policy")
async def get_policy(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return queries.policy_out(await queries.policy_of(session))


@router.put(
    "/notifications/policy",
    response_model=TenantPolicy,
    summary="Replace the tenant's quiet hours and customer notice switches",
)
async def put_policy(body: TenantPolicy, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        policy = await service.set_policy(uow, actor, body)
    return queries.policy_out(policy)


@router.get(
    "/tickets/{ticket_id}/customer-notices",
    response_model=list[CustomerNoticeOut],
    summary="What the ticket's customer was told (受理 / 处理中 / 已解决) and on which channel",
)
async def ticket_customer_notices(ticket_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Any:
    actor.require("ticket.read")
    async with runtime.db.read(actor.tenant_id) as session:
        await get_visible_ticket(session, actor, ticket_id)
        return await queries.customer_notices(session, ticket_id)


# --- administration ----------------------------------------------------------------------------------------


@router.get(
    "/notifications/deliveries",
    response_model=DeliveryPage,
    summary="Delivery log: deliveries newest first, by state and ticket",
)
async def list_deliveries(
    actor: ActorDep,
    runtime: RuntimeDep,
    state: DeliveryState | None = None,
    ticket_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        items, next_cursor = await queries.deliveries(
            session, state=state, ticket_id=ticket_id, cursor=cursor, limit=limit
        )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/notifications/dead-letters", response_model=DeliveryPage, summary="Deliveries given up on")
async def dead_letters(
    actor: ActorDep, runtime: RuntimeDep, cursor: Cursor = None, limit: Limit = 25
) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        items, next_cursor = await queries.deliveries(
            session, state="dead", ticket_id=None, cursor=cursor, limit=limit
        )
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/notifications/deliveries/{delivery_id}:retry",
    response_model=DeliveryOut,
    summary="Re-queue a dead delivery (409 unless it is dead)",
)
async def retry_delivery(delivery_id: str, actor: ActorDep, runtime: RuntimeDep) -> Any:
    row_id = _uuid(delivery_id, "delivery_id")
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.retry_delivery(uow, actor, row_id)
    async with runtime.db.read(actor.tenant_id) as session:
        return await queries.get_delivery(session, row_id)


@router.get("/notification-channels", response_model=ChannelList, summary="Configured providers")
async def list_channels(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"items": await queries.list_channels(session)}


@router.post(
    "/notification-channels", status_code=201, response_model=ChannelOut, summary="Configure a provider"
)
async def create_channel(body: ChannelCreate, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Credentials go in ``secrets`` and are never returned (``secret_hints`` shows their last
    characters)."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        channel = await service.create_channel(uow, actor, body)
    return queries.channel_out(channel)


@router.get("/notification-channels/{channel_id}", response_model=ChannelOut, summary="A provider")
async def get_channel(channel_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return queries.channel_out(await queries.get_channel(session, channel_id))


@router.patch("/notification-channels/{channel_id}", response_model=ChannelOut, summary="Change a provider")
async def update_channel(
    channel_id: uuid.UUID, body: ChannelUpdate, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        channel = await service.update_channel(uow, actor, channel_id, body)
    return queries.channel_out(channel)


@router.delete("/notification-channels/{channel_id}", status_code=204, summary="Remove a provider")
async def delete_channel(channel_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_channel(uow, actor, channel_id)
    return Response(status_code=204)


def _uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} is not a UUID") from exc


# --- templates ---------------------------------------------------------------------------------------------


@router.get("/notification-templates", response_model=TemplateList, summary="Templates, variables, defaults")
async def list_templates(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        items = await queries.list_templates(session)
    defaults = {
        locale: {"title": title, "body": body} for locale, (title, body) in templates.DEFAULTS.items()
    }
    customer_defaults = {
        event: {locale: {"title": title, "body": body} for locale, (title, body) in table.items()}
        for event, table in templates.CUSTOMER_DEFAULTS.items()
    }
    return {
        "items": items,
        "variables": templates.VARIABLES,
        "defaults": defaults,
        "customer_defaults": customer_defaults,
    }


@router.post(
    "/notification-templates",
    status_code=201,
    response_model=TemplateOut,
    summary="Word an event's notifications",
)
async def create_template(body: TemplateCreate, actor: ActorDep, runtime: RuntimeDep) -> Any:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.create_template(uow, actor, body)


@router.post(
    "/notification-templates:preview", response_model=TemplatePreviewOut, summary="Render without saving"
)
async def preview_template(body: TemplatePreview, actor: ActorDep) -> dict[str, str]:
    rendered = service.preview_template(actor, body)
    return {"title": rendered.title, "body": rendered.body}


@router.patch(
    "/notification-templates/{template_id}", response_model=TemplateOut, summary="Change a template"
)
async def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, actor: ActorDep, runtime: RuntimeDep
) -> Any:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.update_template(uow, actor, template_id, body)


@router.delete("/notification-templates/{template_id}", status_code=204, summary="Remove a template")
async def delete_template(template_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_template(uow, actor, template_id)
    return Response(status_code=204)
