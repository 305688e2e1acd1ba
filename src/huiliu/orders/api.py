"""Order and opportunity routes under /api/v1: list (keyset pages, newest first, with filters),
create (``Idempotency-Key`` honoured), read and change; and a ticket's orders: list, link by id or
number, unlink. Another tenant's ids answer 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.core.idempotency_api import run_idempotent
from huiliu.orders import importer as _importer  # noqa: F401  (registers the order importers)
from huiliu.orders import queries, service
from huiliu.orders.domain import OpportunityStage, OrderStatus, normalize_order_number, normalize_platform
from huiliu.orders.lookup import OrderLookupDep
from huiliu.orders.queries import LinkedOrder, OpportunityFilters, OrderFilters
from huiliu.orders.schemas import (
    LinkedOrderList,
    LinkedOrderOut,
    OpportunityCreate,
    OpportunityOut,
    OpportunityPage,
    OpportunityUpdate,
    OrderCreate,
    OrderOut,
    OrderPage,
    OrderUpdate,
    TicketOrderLink,
)
from huiliu.runtime import Runtime
from huiliu.tickets import queries as ticket_queries

router = APIRouter(prefix="/api/v1", tags=["orders"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]


def _after(cursor: str | None) -> Any:
    return ticket_queries.decode_cursor(queries.CURSOR_SORT, cursor) if cursor else None


def _next(rows: list[Any], more: bool) -> str | None:
    return ticket_queries.encode_cursor(queries.CURSOR_SORT, rows[-1]) if more and rows else None


def _linked(link: LinkedOrder) -> LinkedOrderOut:
    return LinkedOrderOut.model_validate(
        {
            "order": OrderOut.model_validate(link.order, from_attributes=True),
            "source": link.source,
            "linked_at": link.linked_at,
            "linked_by": link.actor_name,
        }
    )


# --- orders --------------------------------------------------------------------------------------


@router.get("/orders", response_model=OrderPage, summary="List orders (keyset pages, newest first)")
async def list_orders(
    actor: ActorDep,
    runtime: RuntimeDep,
    customer_id: uuid.UUID | None = None,
    number: Annotated[str | None, Query(max_length=64, description="the whole order number")] = None,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    status: OrderStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> dict[str, Any]:
    actor.require(service.ORDER_READ)
    filters = OrderFilters(
        customer_id=customer_id,
        number=normalize_order_number(number) if number is not None else None,
        platform=normalize_platform(platform) if platform is not None else None,
        status=status.value if status else None,
    )
    async with runtime.db.read(actor.tenant_id) as session:
        orders, more = await queries.list_orders(session, filters, after=_after(cursor), limit=limit)
    return {"items": orders, "next_cursor": _next(orders, more)}


async def _order_out(runtime: Runtime, actor: Actor, order_id: uuid.UUID) -> OrderOut:
    async with runtime.db.read(actor.tenant_id) as session:
        return OrderOut.model_validate(await queries.get_order(session, order_id), from_attributes=True)


@router.post("/orders", status_code=201, response_model=OrderOut, summary="Record an order")
async def create_order(
    body: OrderCreate, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> OrderOut:
    """409 when the number exists in the tenant (``order_id`` names it); 422 for an unknown customer."""
    actor.require(service.ORDER_WRITE)
    order_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        actor.id or actor.tenant_id,
        "orders.create",
        idempotency_key,
        body.model_dump(mode="json"),
        lambda uow, new_id: service.create_order(uow, actor, body, order_id=new_id),
    )
    return await _order_out(runtime, actor, order_id)


@router.get("/orders/{order_id}", response_model=OrderOut, summary="An order")
async def get_order(order_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> OrderOut:
    actor.require(service.ORDER_READ)
    return await _order_out(runtime, actor, order_id)


@router.patch("/orders/{order_id}", response_model=OrderOut, summary="Change an order")
async def update_order(
    order_id: uuid.UUID, body: OrderUpdate, actor: ActorDep, runtime: RuntimeDep
) -> OrderOut:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.update_order(uow, actor, order_id, body)
    return await _order_out(runtime, actor, order_id)


# --- opportunities --------------------------------------------------------------------------------


@router.get(
    "/opportunities",
    response_model=OpportunityPage,
    summary="List opportunities (keyset pages, newest first)",
)
async def list_opportunities(
    actor: ActorDep,
    runtime: RuntimeDep,
    customer_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    stage: OpportunityStage | None = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> dict[str, Any]:
    actor.require(service.OPPORTUNITY_READ)
    filters = OpportunityFilters(
        customer_id=customer_id, owner_id=owner_id, stage=stage.value if stage else None
    )
    async with runtime.db.read(actor.tenant_id) as session:
        rows, more = await queries.list_opportunities(session, filters, after=_after(cursor), limit=limit)
    return {"items": rows, "next_cursor": _next(rows, more)}


async def _opportunity_out(runtime: Runtime, actor: Actor, opportunity_id: uuid.UUID) -> OpportunityOut:
    async with runtime.db.read(actor.tenant_id) as session:
        opportunity = await queries.get_opportunity(session, opportunity_id)
        return OpportunityOut.model_validate(opportunity, from_attributes=True)


@router.post(
    "/opportunities", status_code=201, response_model=OpportunityOut, summary="Record an opportunity"
)
async def create_opportunity(
    body: OpportunityCreate, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> OpportunityOut:
    """422 for an unknown customer or owner."""
    actor.require(service.OPPORTUNITY_WRITE)
    opportunity_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        actor.id or actor.tenant_id,
        "opportunities.create",
        idempotency_key,
        body.model_dump(mode="json"),
        lambda uow, new_id: service.create_opportunity(uow, actor, body, opportunity_id=new_id),
    )
    return await _opportunity_out(runtime, actor, opportunity_id)


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityOut, summary="An opportunity")
async def get_opportunity(opportunity_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> OpportunityOut:
    actor.require(service.OPPORTUNITY_READ)
    return await _opportunity_out(runtime, actor, opportunity_id)


@router.patch(
    "/opportunities/{opportunity_id}", response_model=OpportunityOut, summary="Change an opportunity"
)
async def update_opportunity(
    opportunity_id: uuid.UUID, body: OpportunityUpdate, actor: ActorDep, runtime: RuntimeDep
) -> OpportunityOut:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.update_opportunity(uow, actor, opportunity_id, body)
    return await _opportunity_out(runtime, actor, opportunity_id)


# --- a ticket's orders ----------------------------------------------------------------------------


@router.get(
    "/tickets/{ticket_id}/orders", response_model=LinkedOrderList, summary="The orders a ticket concerns"
)
async def list_ticket_orders(ticket_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> LinkedOrderList:
    actor.require("ticket.read")
    actor.require(service.ORDER_READ)
    async with runtime.db.read(actor.tenant_id) as session:
        await ticket_queries.get_visible_ticket(session, actor, ticket_id)
        links = await queries.orders_for_ticket(session, ticket_id)
    return LinkedOrderList(items=[_linked(link) for link in links])


@router.post(
    "/tickets/{ticket_id}/orders",
    status_code=201,
    response_model=LinkedOrderOut,
    summary="Link an order to a ticket (201; 200 when it was linked already)",
)
async def link_ticket_order(
    ticket_id: uuid.UUID,
    body: TicketOrderLink,
    actor: ActorDep,
    runtime: RuntimeDep,
    lookup: OrderLookupDep,
    response: Response,
) -> LinkedOrderOut:
    """By ``order_id``, or by ``number``: an order unknown locally is looked up in the ERP when one is
    configured (docs/orders.md) and kept for the ticket's customer; 404 when nobody knows it."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        link, created = await service.link_order(
            uow, actor, ticket_id, order_id=body.order_id, number=body.number, lookup=lookup
        )
    if not created:
        response.status_code = 200
    return _linked(link)


@router.delete(
    "/tickets/{ticket_id}/orders/{order_id}", status_code=204, summary="Unlink an order from a ticket"
)
async def unlink_ticket_order(
    ticket_id: uuid.UUID, order_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep
) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.unlink_order(uow, actor, ticket_id, order_id)
    return Response(status_code=204)
