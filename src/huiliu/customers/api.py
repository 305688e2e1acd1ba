"""Customer routes under /api/v1/customers: search, create, profile with recent tickets, edit.

Phone identities are shown masked (138****1234) to callers without ``customer.write``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.core.idempotency_api import run_idempotent
from huiliu.customers import queries, service
from huiliu.customers.domain import mask_phone
from huiliu.customers.models import Customer
from huiliu.customers.schemas import (
    CustomerCreate,
    CustomerDetail,
    CustomerOut,
    CustomerPage,
    CustomerTicket,
    CustomerUpdate,
    IdentityOut,
)
from huiliu.runtime import Runtime
from huiliu.tickets import queries as ticket_queries

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
RECENT_TICKETS = 20
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
