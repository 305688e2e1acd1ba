"""Customer routes under /api/v1/customers: search, create, profile with recent tickets, edit, the 360
view, manual merge, merge history and undo.

Phone identities are shown masked (138****1234) to callers without ``customer.write``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from pydantic import Field

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.core.idempotency_api import run_idempotent
from huiliu.customers import merges, queries, service
from huiliu.customers.domain import mask_phone
from huiliu.customers.models import Customer, CustomerEvent, CustomerMerge
from huiliu.customers.schemas import (
    Customer360,
    CustomerCreate,
    CustomerDetail,
    CustomerOut,
    CustomerPage,
    CustomerTicket,
    CustomerUpdate,
    IdentityOut,
    MergeHistory,
    MergeOut,
    MergeRequest,
)
from huiliu.orders import queries as order_queries
from huiliu.orders.schemas import OpportunityOut, OrderOut
from huiliu.runtime import Runtime
from huiliu.tickets import queries as ticket_queries

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
RECENT_TICKETS = 20
RECENT_ORDERS = 20
TIMELINE_LIMIT = 100
# Customer pages share the tickets' cursor format (sort name, created_at, id).
CURSOR_SORT = "-created_at"


def _identity(identity: Any, *, full: bool) -> IdentityOut:
    value = identity.value if full or identity.kind != "phone" else mask_phone(identity.value)
    return IdentityOut(
        id=identity.id,
        kind=identity.kind,
        value=value,
        verified=identity.verified,
        created_at=identity.created_at,
    )


def _shape(actor: Actor, customer: Customer, identities: list[Any]) -> dict[str, Any]:
    full = actor.can("customer.write")
    return {
        "id": customer.id,
        "name": customer.name,
        "level": customer.level,
        "attributes": customer.attributes or {},
        "merged_into_id": customer.merged_into_id,
        "identities": [_identity(identity, full=full) for identity in identities],
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }


@router.get("", response_model=CustomerPage, summary="Search customers (keyset pages, newest first)")
async def list_customers(
    actor: ActorDep,
    runtime: RuntimeDep,
    q: Annotated[
        str | None, Query(max_length=200, description="a name fragment or a whole identity value")
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 25,
) -> dict[str, Any]:
    actor.require("customer.read")
    after = ticket_queries.decode_cursor(CURSOR_SORT, cursor) if cursor else None
    async with runtime.db.uow(actor.tenant_id) as uow:
        customers, more = await queries.list_customers(
            uow.session, text=q.strip() if q else None, after=after, limit=limit
        )
        identities = await queries.identities_of(uow.session, [c.id for c in customers])
    next_cursor = ticket_queries.encode_cursor(CURSOR_SORT, customers[-1]) if more and customers else None
    return {"items": [_shape(actor, c, identities[c.id]) for c in customers], "next_cursor": next_cursor}


async def _detail(runtime: Runtime, actor: Actor, customer_id: uuid.UUID) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        customer = await queries.get_customer(uow.session, customer_id)
        identities = (await queries.identities_of(uow.session, [customer.id]))[customer.id]
        tickets: list[Any] = []
        if actor.can("ticket.read"):
            tickets, _ = await ticket_queries.list_tickets(
                uow.session,
                actor,
                ticket_queries.TicketFilters(customer_id=customer.id),
                limit=RECENT_TICKETS,
            )
    return {
        **_shape(actor, customer, identities),
        "tickets": [CustomerTicket.model_validate(t, from_attributes=True) for t in tickets],
    }


@router.post("", status_code=201, response_model=CustomerDetail, summary="Create a customer")
async def create_customer(
    body: CustomerCreate, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """409 when one of the identities already belongs to a customer (listed in ``conflicts``)."""
    actor.require("customer.write")
    customer_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        actor.id or actor.tenant_id,
        "customers.create",
        idempotency_key,
        body.model_dump(mode="json"),
        lambda uow, new_id: service.create_customer(uow, actor, body, customer_id=new_id),
    )
    return await _detail(runtime, actor, customer_id)


@router.get(
    "/{customer_id}",
    response_model=CustomerDetail,
    summary="A customer with identities and the newest tickets the caller may see",
)
async def get_customer(customer_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require("customer.read")
    return await _detail(runtime, actor, customer_id)


@router.patch("/{customer_id}", response_model=CustomerOut, summary="Change name, level or attributes")
async def update_customer(
    customer_id: uuid.UUID, body: CustomerUpdate, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        customer = await service.update_customer(uow, actor, customer_id, body)
        identities = (await queries.identities_of(uow.session, [customer.id]))[customer.id]
    return _shape(actor, customer, identities)


def _masked(value: Any) -> Any:
    """Phone numbers inside event and merge data ({"kind": "phone", "value": …}) shown masked."""
    if isinstance(value, dict):
        if value.get("kind") == "phone" and isinstance(value.get("value"), str):
            return {**value, "value": mask_phone(value["value"])}
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _merge(merge: CustomerMerge, actor: Actor) -> MergeOut:
    shaped = MergeOut.model_validate(merge, from_attributes=True)
    if not actor.can("customer.write"):
        shaped.moved = _masked(shaped.moved)
    return shaped


@router.post(
    "/{customer_id}/merge",
    status_code=201,
    response_model=MergeOut,
    summary="Merge another customer into this one (this one survives; undoable)",
)
async def merge_customer(
    customer_id: uuid.UUID, body: MergeRequest, actor: ActorDep, runtime: RuntimeDep
) -> MergeOut:
    """Identities, tickets (and orders/opportunities, where registered) of ``other_id`` move to this
    customer; ``other_id`` keeps existing with ``merged_into_id`` set. 409 when either customer was
    already merged away."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        merge = await merges.merge_customers(uow, actor, customer_id, body.other_id, body.reason)
    return _merge(merge, actor)


@router.post(
    "/merges/{merge_id}/undo",
    response_model=MergeOut,
    summary="Undo a merge: move back exactly what it moved",
)
async def undo_merge(merge_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> MergeOut:
    """409 when already undone, or when the survivor was merged into a third customer since (undo
    that merge first; ``blocking_merge_id`` names it)."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        merge = await merges.undo_merge(uow, actor, merge_id)
    return _merge(merge, actor)


@router.get(
    "/{customer_id}/merges",
    response_model=MergeHistory,
    summary="Merges this customer took part in, newest first",
)
async def merge_history(customer_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> MergeHistory:
    actor.require("customer.read")
    async with runtime.db.read(actor.tenant_id) as session:
        await queries.get_customer(session, customer_id)
        found = await queries.merges_of(session, customer_id)
    return MergeHistory(items=[_merge(m, actor) for m in found])


def _event_entry(event: CustomerEvent, *, full: bool) -> dict[str, Any]:
    data = event.data if full else _masked(event.data)
    return {"at": event.created_at, "type": event.type, "actor_name": event.actor_name, "data": data}


def _ticket_entries(ticket: Any, messages: int) -> list[dict[str, Any]]:
    base = {"ticket_id": ticket.id, "ticket_number": ticket.number, "title": ticket.title}
    entries = [{"at": ticket.created_at, "type": "ticket.created", "message_count": messages, **base}]
    if ticket.resolved_at is not None:
        entries.append({"at": ticket.resolved_at, "type": "ticket.resolved", **base})
    if ticket.closed_at is not None:
        entries.append({"at": ticket.closed_at, "type": "ticket.closed", **base})
    return entries


class Customer360View(Customer360):
    orders: list[OrderOut] = Field(description="the newest 20 orders; empty without order.read")
    opportunities: list[OpportunityOut] = Field(
        description="the newest 20 opportunities (商机); empty without opportunity.read"
    )


@router.get(
    "/{customer_id}/360",
    response_model=Customer360View,
    summary="Customer 360: identities, tickets (caller's scope), orders, opportunities, merges, timeline",
)
async def customer_360(customer_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Tickets (counts by status, the newest 20) are limited to the caller's data scope, and empty
    without ``ticket.read``. The timeline merges ticket milestones (created with its message count,
    resolved, closed) with the customer's own events (created, updated, identities added, merged,
    unmerged) and orders placed, newest first."""
    actor.require("customer.read")
    overview: dict[str, Any] = {"counts": {}, "recent": [], "message_counts": {}}
    orders: list[Any] = []
    opportunities: list[Any] = []
    async with runtime.db.read(actor.tenant_id) as session:
        customer = await queries.get_customer(session, customer_id)
        identities = (await queries.identities_of(session, [customer.id]))[customer.id]
        history = await queries.merges_of(session, customer.id)
        events = await queries.events_of(session, customer.id, limit=TIMELINE_LIMIT)
        if actor.can("ticket.read"):
            overview = await ticket_queries.customer_overview(
                session, actor, customer.id, recent=RECENT_TICKETS
            )
        if actor.can("order.read"):
            orders = await order_queries.orders_for_customer(session, customer.id, limit=RECENT_ORDERS)
        if actor.can("opportunity.read"):
            opportunities = await order_queries.opportunities_for_customer(
                session, customer.id, limit=RECENT_ORDERS
            )
    full = actor.can("customer.write")
    timeline = [_event_entry(event, full=full) for event in events]
    for ticket in overview["recent"]:
        timeline.extend(_ticket_entries(ticket, overview["message_counts"].get(ticket.id, 0)))
    for order in orders:
        timeline.append(
            {
                "at": order.placed_at or order.created_at,
                "type": "order.placed",
                "title": order.number,
                "data": {"order_id": order.id, "status": order.status, "platform": order.platform},
            }
        )
    timeline.sort(key=lambda entry: entry["at"], reverse=True)
    counts: dict[str, int] = overview["counts"]
    return {
        "customer": _shape(actor, customer, identities),
        "tickets": {
            "counts": {"total": sum(counts.values()), "by_status": counts},
            "recent": [CustomerTicket.model_validate(t, from_attributes=True) for t in overview["recent"]],
        },
        "orders": [OrderOut.model_validate(o, from_attributes=True) for o in orders],
        "opportunities": [OpportunityOut.model_validate(o, from_attributes=True) for o in opportunities],
        "merges": [_merge(m, actor) for m in history],
        "timeline": timeline[:TIMELINE_LIMIT],
    }
