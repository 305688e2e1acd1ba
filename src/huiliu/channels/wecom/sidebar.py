"""The WeCom chat sidebar (聊天工具栏) of a wecom_app, under ``/api/v1/wecom/{entry_point_id}/sidebar``
(docs/decisions/0036). The page runs in the WeCom client with the agent's console session:

- ``js-sdk`` signs the page URL for ``wx.config`` (the corp's ``jsapi_ticket``) and ``wx.agentConfig``
  (the app's ``agent_config`` ticket): SHA1 of ``jsapi_ticket=…&noncestr=…&timestamp=…&url=…``, both
  tickets cached and shared like access tokens;
- ``contact`` finds the customer behind the chat's external contact (``getCurExternalContact`` gives
  the page the ``external_userid``);
- ``tickets`` opens a ticket for that contact from the chat (through intake: the customer is resolved
  or created by the ``wecom_external_userid`` identity in the same transaction)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import anyio
import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import system_actor
from huiliu.channels.tencent.callbacks import sync_engine
from huiliu.channels.tencent.client import AGENT_TICKET, JSAPI_TICKET, Account, ApiError, TencentClient
from huiliu.channels.tencent.crypto import jsapi_signature
from huiliu.channels.tencent.tokens import TokenStore, TokenUnavailable
from huiliu.core.clock import utcnow
from huiliu.core.errors import HuiliuError, NotFound
from huiliu.core.netguard import guarded_client
from huiliu.customers.domain import WECOM_EXTERNAL_USERID
from huiliu.customers.models import CustomerIdentity
from huiliu.entry_points.domain import WECOM_APP
from huiliu.entry_points.models import EntryPoint
from huiliu.entry_points.queries import require_entry_point
from huiliu.intake import service as intake
from huiliu.intake.domain import InboundMessage, SenderIdentity
from huiliu.intake.service import defaults_from
from huiliu.runtime import Runtime
from huiliu.tickets.domain import Priority
from huiliu.tickets.schemas import TicketUpdate
from huiliu.tickets.service import update_ticket

router = APIRouter(prefix="/api/v1/wecom", tags=["wecom"])
SIDEBAR_CHANNEL = "wecom_sidebar"
API_TIMEOUT_SECONDS = 10.0
EXTERNAL_USERID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"


class PlatformUnavailable(HuiliuError):
    status = 502
    slug = "platform-unavailable"
    title = "WeCom did not hand out a JS-SDK ticket"


class SignatureRequest(BaseModel):
    url: str = Field(min_length=8, max_length=2000, description="the page's own URL (location.href)")


class Signature(BaseModel):
    timestamp: int
    nonce_str: str
    signature: str


class JsSdkConfig(BaseModel):
    corp_id: str
    agent_id: str
    config: Signature = Field(description="for wx.config (the corp's jsapi_ticket)")
    agent_config: Signature = Field(description="for wx.agentConfig (the app's agent_config ticket)")


class SidebarContact(BaseModel):
    external_userid: str
    customer_id: uuid.UUID | None = Field(description="null until a ticket or a contact event made one")


class ChatTicketRequest(BaseModel):
    external_userid: str = Field(pattern=EXTERNAL_USERID_PATTERN)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=10_000)
    priority: Priority = Priority.NORMAL


class ChatTicket(BaseModel):
    ticket_id: uuid.UUID
    ticket_number: int
    outcome: str = Field(description="created, or threaded onto the contact's open sidebar ticket")
    customer_id: uuid.UUID | None


async def _wecom_app(runtime: Runtime, tenant_id: uuid.UUID, entry_point_id: uuid.UUID) -> EntryPoint:
    async with runtime.db.read(tenant_id) as session:
        entry_point = await require_entry_point(session, entry_point_id)
    if entry_point.kind != WECOM_APP or not entry_point.is_active:
        raise NotFound("not an active WeCom app entry point")
    return entry_point


def sign(ticket: str, url: str, timestamp: int, nonce_str: str) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "nonce_str": nonce_str,
        "signature": jsapi_signature(ticket, nonce_str, str(timestamp), url),
    }


@router.post(
    "/{entry_point_id}/sidebar/js-sdk",
    response_model=JsSdkConfig,
    summary="Signatures for wx.config and wx.agentConfig of the sidebar page",
    responses={502: {"description": "WeCom refused the ticket (platform-unavailable)"}},
)
async def sidebar_js_sdk(
    entry_point_id: uuid.UUID, body: SignatureRequest, request: Request, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    actor.require("customer.read")
    entry_point = await _wecom_app(runtime, actor.tenant_id, entry_point_id)
    engine = sync_engine(request, runtime.settings.database_url)
    account = Account(entry_point.tenant_id, entry_point.id, entry_point.kind, dict(entry_point.config))

    def tickets() -> tuple[str, str]:
        with guarded_client(runtime.settings, timeout=API_TIMEOUT_SECONDS) as http:
            client = TencentClient(http, TokenStore(engine), account)
            return client.js_ticket(JSAPI_TICKET), client.js_ticket(AGENT_TICKET)

    try:
        corp_ticket, agent_ticket = await anyio.to_thread.run_sync(tickets)
    except (ApiError, httpx.HTTPError, TokenUnavailable) as exc:
        raise PlatformUnavailable(str(exc)) from exc
    timestamp = int(utcnow().timestamp())
    return {
        "corp_id": str(entry_point.config.get("corp_id", "")),
        "agent_id": str(entry_point.config.get("agent_id", "")),
        "config": sign(corp_ticket, body.url, timestamp, secrets.token_urlsafe(12)),
        "agent_config": sign(agent_ticket, body.url, timestamp, secrets.token_urlsafe(12)),
    }


async def customer_of_contact(
    runtime: Runtime, tenant_id: uuid.UUID, external_userid: str
) -> uuid.UUID | None:
    async with runtime.db.read(tenant_id) as session:
        return await session.scalar(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == WECOM_EXTERNAL_USERID, CustomerIdentity.value == external_userid
            )
        )


@router.get(
    "/{entry_point_id}/sidebar/contacts/{external_userid}",
    response_model=SidebarContact,
    summary="The customer behind the chat's external contact",
)
async def sidebar_contact(
    entry_point_id: uuid.UUID, external_userid: str, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    actor.require("customer.read")
    await _wecom_app(runtime, actor.tenant_id, entry_point_id)
    customer_id = await customer_of_contact(runtime, actor.tenant_id, external_userid[:64])
    return {"external_userid": external_userid, "customer_id": customer_id}


@router.post(
    "/{entry_point_id}/sidebar/tickets",
    status_code=201,
    response_model=ChatTicket,
    summary="Open a ticket for the chat's external contact",
)
async def sidebar_ticket(
    entry_point_id: uuid.UUID, body: ChatTicketRequest, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The contact's customer is found (or created) by ``wecom_external_userid``; the ticket carries
    the ``wecom_sidebar`` channel: the agent answers in the WeCom chat itself."""
    actor.require("ticket.create")
    await _wecom_app(runtime, actor.tenant_id, entry_point_id)
    message = InboundMessage(
        channel=SIDEBAR_CHANNEL,
        text=body.description or body.title,
        received_at=utcnow(),
        identities=(SenderIdentity(WECOM_EXTERNAL_USERID, body.external_userid),),
        title=body.title,
    )
    async with runtime.db.uow(actor.tenant_id) as uow:
        result = await intake.ingest(uow, actor, message, defaults=defaults_from(runtime.settings))
    if result.created and body.priority is not Priority.NORMAL:
        # The agent may not see the new ticket (data scope "own" before routing assigns it): the
        # priority they chose is applied on their behalf, under a name that says so in the audit log.
        on_behalf = system_actor(actor.tenant_id, f"WeCom sidebar: {actor.name}")
        async with runtime.db.uow(actor.tenant_id) as uow:
            await update_ticket(uow, on_behalf, result.ticket_id, TicketUpdate(priority=body.priority))
    return {
        "ticket_id": result.ticket_id,
        "ticket_number": result.ticket_number,
        "outcome": result.outcome.value,
        "customer_id": await customer_of_contact(runtime, actor.tenant_id, body.external_userid),
    }
