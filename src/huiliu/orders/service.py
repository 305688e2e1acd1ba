"""Order and opportunity use cases, and linking orders to tickets.

Creating and editing orders and opportunities runs in one transaction each and commits.
``link_extracted_orders`` runs inside the intake pipeline's transaction and does not commit. Linking
an order to a ticket (or unlinking it) appends a ``ticket.order_linked`` / ``ticket.order_unlinked``
event to the ticket through ``tickets.service.record``, so the ticket's audit log and webhooks see it.

Orders and opportunities follow their customer through merges and their undo (registered with
``customers.merges``)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from huiliu.auth import queries as auth_queries
from huiliu.auth.domain import Actor, system_actor
from huiliu.core import events as ev
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.customers import queries as customer_queries
from huiliu.customers.merges import register_customer_records
from huiliu.db.session import UnitOfWork
from huiliu.orders import queries
from huiliu.orders.domain import LinkSource, is_closed_stage, normalize_order_number
from huiliu.orders.lookup import ErpOrder, LookupOutcome, OrderLookup
from huiliu.orders.models import Opportunity, Order, TicketOrder
from huiliu.orders.queries import LinkedOrder
from huiliu.orders.schemas import OpportunityCreate, OpportunityUpdate, OrderCreate, OrderUpdate
from huiliu.tickets import queries as ticket_queries
from huiliu.tickets.service import record

log = logging.getLogger(__name__)

ORDER_READ = "order.read"
ORDER_WRITE = "order.write"
OPPORTUNITY_READ = "opportunity.read"
OPPORTUNITY_WRITE = "opportunity.write"
INTAKE_ACTOR_NAME = "intake"

ORIGIN_API = "api"
ORIGIN_LOOKUP = "lookup"
ORIGIN_IMPORT = "import"


# --- orders ----------------------------------------------------------------------------------------


async def _check_customer(uow: UnitOfWork, customer_id: uuid.UUID | None) -> None:
    if customer_id is None:
        return
    try:
        customer = await customer_queries.get_customer(uow.session, customer_id)
    except NotFound:
        raise ValidationFailed("customer_id: no such customer") from None
    if customer.merged_into_id is not None:
        raise ValidationFailed(f"customer_id: this customer was merged into {customer.merged_into_id}")


async def _check_number_free(uow: UnitOfWork, number: str, *, except_id: uuid.UUID | None = None) -> None:
    existing = (await queries.orders_by_number(uow.session, [number])).get(number)
    if existing is not None and existing.id != except_id:
        raise Conflict(f"order {number} already exists", order_id=str(existing.id))


async def _flush_unique(uow: UnitOfWork, number: str) -> None:
    """Flush, turning a lost race on the (tenant, number) unique key into a 409."""
    try:
        await uow.session.flush()
    except IntegrityError:
        raise Conflict(f"order {number} already exists") from None


async def create_order(
    uow: UnitOfWork, actor: Actor, request: OrderCreate, *, order_id: uuid.UUID, origin: str = ORIGIN_API
) -> Order:
    """Record an order. 409 when its number exists in the tenant; 422 for an unknown customer."""
    actor.require(ORDER_WRITE)
    await _check_customer(uow, request.customer_id)
    await _check_number_free(uow, request.number)
    now = utcnow()
    order = Order(
        id=order_id,
        tenant_id=actor.tenant_id,
        customer_id=request.customer_id,
        number=request.number,
        platform=request.platform,
        status=request.status.value if request.status else None,
        amount=request.amount,
        currency=request.currency,
        items=[item.stored() for item in request.items],
        placed_at=request.placed_at,
        attributes=request.attributes,
        origin=origin,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(order)
    await _flush_unique(uow, order.number)
    await uow.commit()
    return order


def _merge_attributes(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def update_order(uow: UnitOfWork, actor: Actor, order_id: uuid.UUID, request: OrderUpdate) -> Order:
    """Change the fields sent. A new number must be free in the tenant."""
    actor.require(ORDER_WRITE)
    order = await queries.get_order(uow.session, order_id)
    wanted = request.model_dump(exclude_unset=True)
    if "number" in wanted and wanted["number"] != order.number:
        await _check_number_free(uow, wanted["number"], except_id=order.id)
    if wanted.get("customer_id") is not None and wanted["customer_id"] != order.customer_id:
        await _check_customer(uow, wanted["customer_id"])
    if "items" in wanted:
        wanted["items"] = [item.stored() for item in request.items or []]
    if "attributes" in wanted:
        wanted["attributes"] = _merge_attributes(order.attributes, wanted["attributes"])
    if wanted.get("status") is not None:
        wanted["status"] = wanted["status"].value
    for name, value in wanted.items():
        setattr(order, name, value)
    order.updated_at = utcnow()
    await _flush_unique(uow, order.number)
    await uow.commit()
    return order


# --- opportunities -------------------------------------------------------------------------------


async def _check_owner(uow: UnitOfWork, owner_id: uuid.UUID | None) -> None:
    if owner_id is None:
        return
    try:
        row = await auth_queries.get_user_row(uow.session, owner_id)
    except NotFound:
        raise ValidationFailed("owner_id: no such user") from None
    if not row.is_active:
        raise ValidationFailed("owner_id: this user is deactivated")


def _closed_at(stage: str, current: datetime | None) -> datetime | None:
    if not is_closed_stage(stage):
        return None
    return current or utcnow()


async def create_opportunity(
    uow: UnitOfWork, actor: Actor, request: OpportunityCreate, *, opportunity_id: uuid.UUID
) -> Opportunity:
    """Record a sales opportunity (商机) with a customer."""
    opportunity = await add_opportunity(uow, actor, request, opportunity_id=opportunity_id)
    await uow.commit()
    return opportunity


async def update_opportunity(
    uow: UnitOfWork, actor: Actor, opportunity_id: uuid.UUID, request: OpportunityUpdate
) -> Opportunity:
    """Change the fields sent. Moving to won or lost sets ``closed_at``; moving back clears it."""
    actor.require(OPPORTUNITY_WRITE)
    opportunity = await queries.get_opportunity(uow.session, opportunity_id)
    wanted = request.model_dump(exclude_unset=True)
    if "customer_id" in wanted and wanted["customer_id"] != opportunity.customer_id:
        await _check_customer(uow, wanted["customer_id"])
    if wanted.get("owner_id") is not None and wanted["owner_id"] != opportunity.owner_id:
        await _check_owner(uow, wanted["owner_id"])
    if "attributes" in wanted:
        wanted["attributes"] = _merge_attributes(opportunity.attributes, wanted["attributes"])
    if "stage" in wanted:
        wanted["stage"] = wanted["stage"].value
        wanted["closed_at"] = _closed_at(wanted["stage"], opportunity.closed_at)
    for name, value in wanted.items():
        setattr(opportunity, name, value)
    opportunity.updated_at = utcnow()
    await uow.commit()
    return opportunity


# --- linking orders to tickets --------------------------------------------------------------------


def _insert(uow: UnitOfWork, model: Any) -> Any:
    """An INSERT that can skip rows conflicting with a unique key, on PostgreSQL and SQLite."""
    dialect_insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    return dialect_insert(model)


async def _store_erp_order(uow: UnitOfWork, found: ErpOrder, customer_id: uuid.UUID | None) -> Order:
    """Keep an order the ERP described, for ``customer_id``. A concurrent intake storing the same
    number first wins; its row is returned."""
    assert uow.tenant_id is not None
    now = utcnow()
    await uow.session.execute(
        _insert(uow, Order)
        .values(
            id=new_id(),
            tenant_id=uow.tenant_id,
            customer_id=customer_id,
            number=found.number,
            platform=found.platform,
            status=found.status,
            amount=found.amount,
            currency=found.currency,
            items=found.items,
            placed_at=found.placed_at,
            attributes=found.attributes,
            origin=ORIGIN_LOOKUP,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "number"])
    )
    stored = (await queries.orders_by_number(uow.session, [found.number]))[found.number]
    return stored


async def _add_link(
    uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, order_id: uuid.UUID, source: str
) -> bool:
    """Insert the (ticket, order) link unless it exists; True when this call created it."""
    created = (
        await uow.session.execute(
            _insert(uow, TicketOrder)
            .values(
                id=new_id(),
                tenant_id=actor.tenant_id,
                ticket_id=ticket_id,
                order_id=order_id,
                source=source,
                actor_kind=actor.kind.value,
                actor_id=actor.id,
                actor_name=actor.name,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["ticket_id", "order_id"])
            .returning(TicketOrder.id)
        )
    ).scalar_one_or_none()
    return created is not None


def _order_ref(order: Order) -> dict[str, Any]:
    return {"id": order.id, "number": order.number, "platform": order.platform, "status": order.status}


async def _resolve_numbers(
    uow: UnitOfWork, numbers: list[str], customer_id: uuid.UUID | None, lookup: OrderLookup | None
) -> dict[str, Order]:
    """Local orders for ``numbers``; the ones missing are asked of the ERP (concurrently) and kept."""
    assert uow.tenant_id is not None
    found = await queries.orders_by_number(uow.session, numbers)
    missing = [number for number in numbers if number not in found]
    if not missing or lookup is None:
        return found
    tenant_id = uow.tenant_id
    results = await asyncio.gather(*(lookup.find(tenant_id, number) for number in missing))
    for number, result in zip(missing, results, strict=True):
        if result.outcome is LookupOutcome.FOUND and result.order is not None:
            found[number] = await _store_erp_order(uow, result.order, customer_id)
    return found


async def link_extracted_orders(
    uow: UnitOfWork,
    *,
    ticket_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    order_numbers: list[str],
    lookup: OrderLookup | None = None,
    actor: Actor | None = None,
) -> list[uuid.UUID]:
    """Link the orders behind the order numbers intake extracted from a message to its ticket.

    Each number is looked up locally, then (when ``lookup`` is given) in the ERP; an order found
    there is stored for ``customer_id``. A local order without a customer gets ``customer_id``. Links
    are idempotent; each new one records ``ticket.order_linked`` on the ticket. Numbers that are not
    valid order numbers or that nobody knows are skipped: this never fails the intake.

    Runs inside the caller's unit of work and does not commit. Returns the ids of the orders now
    linked to the ticket for these numbers (new or earlier links), in the order of the numbers."""
    assert uow.tenant_id is not None
    actor = actor or system_actor(uow.tenant_id, INTAKE_ACTOR_NAME)
    numbers: list[str] = []
    for raw in order_numbers:
        try:
            numbers.append(normalize_order_number(raw))
        except ValidationFailed:
            log.debug("skipping %r: not an order number", raw)
    numbers = list(dict.fromkeys(numbers))
    if not numbers:
        return []
    await uow.session.flush()  # the ticket may have been added in this unit of work
    orders = await _resolve_numbers(uow, numbers, customer_id, lookup)
    if not orders:
        return []
    ticket = await ticket_queries.get_visible_ticket(uow.session, actor, ticket_id)
    linked: list[uuid.UUID] = []
    for number in numbers:
        order = orders.get(number)
        if order is None or order.id in linked:
            continue
        if order.customer_id is None and customer_id is not None:
            order.customer_id = customer_id
            order.updated_at = utcnow()
        if await _add_link(uow, actor, ticket_id, order.id, LinkSource.EXTRACTED):
            record(
                uow,
                actor,
                ticket,
                ev.TICKET_ORDER_LINKED,
                {},
                extra={"order": _order_ref(order), "source": LinkSource.EXTRACTED.value},
            )
        linked.append(order.id)
    return linked


async def link_order(
    uow: UnitOfWork,
    actor: Actor,
    ticket_id: uuid.UUID,
    *,
    order_id: uuid.UUID | None = None,
    number: str | None = None,
    lookup: OrderLookup | None = None,
) -> tuple[LinkedOrder, bool]:
    """Link an order to a ticket by hand (``ticket.update`` on a ticket in the actor's scope, and
    ``order.read``). By number, an order unknown locally is looked up in the ERP (when configured)
    and kept for the ticket's customer. Returns the link and whether this call created it."""
    actor.require("ticket.update")
    actor.require(ORDER_READ)
    ticket = await ticket_queries.get_visible_ticket(uow.session, actor, ticket_id)
    if order_id is not None:
        order = await queries.get_order(uow.session, order_id)
    elif number is not None:
        normalized = normalize_order_number(number)
        resolved = await _resolve_numbers(uow, [normalized], ticket.customer_id, lookup)
        if normalized not in resolved:
            raise NotFound(f"order {normalized} not found")
        order = resolved[normalized]
    else:
        raise ValidationFailed("give exactly one of order_id and number")
    created = await _add_link(uow, actor, ticket.id, order.id, LinkSource.MANUAL)
    if created:
        record(
            uow,
            actor,
            ticket,
            ev.TICKET_ORDER_LINKED,
            {},
            extra={"order": _order_ref(order), "source": LinkSource.MANUAL.value},
        )
    await uow.commit()
    link = next(
        item for item in await queries.orders_for_ticket(uow.session, ticket.id) if item.order.id == order.id
    )
    return link, created


async def unlink_order(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """Remove an order from a ticket (the order itself stays). 404 when it is not linked."""
    actor.require("ticket.update")
    ticket = await ticket_queries.get_visible_ticket(uow.session, actor, ticket_id)
    link = await queries.link_of(uow.session, ticket.id, order_id)
    if link is None:
        raise NotFound("this order is not linked to the ticket")
    order = await queries.get_order(uow.session, order_id)
    await uow.session.delete(link)
    record(
        uow,
        actor,
        ticket,
        ev.TICKET_ORDER_UNLINKED,
        {},
        extra={"order": _order_ref(order), "source": link.source},
    )
    await uow.commit()


# --- customer merges -----------------------------------------------------------------------------


async def _move(
    uow: UnitOfWork,
    model: Any,
    from_customer_id: uuid.UUID,
    to_customer_id: uuid.UUID,
    ids: Sequence[uuid.UUID] | None,
) -> list[uuid.UUID]:
    if ids is not None and not ids:
        return []
    query = select(model.id).where(model.customer_id == from_customer_id).order_by(model.id)
    if ids is not None:
        query = query.where(model.id.in_(list(ids)))
    moved = list((await uow.session.execute(query)).scalars())
    now = utcnow()
    for start in range(0, len(moved), 500):
        await uow.session.execute(
            update(model)
            .where(model.id.in_(moved[start : start + 500]))
            .values(customer_id=to_customer_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return moved


async def reassign_customer_orders(
    uow: UnitOfWork,
    actor: Actor,
    from_customer_id: uuid.UUID,
    to_customer_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID] | None = None,
    reason: str,
) -> list[uuid.UUID]:
    """Move orders between customers for a merge (all, ``ids`` None) or its undo (exactly ``ids``).
    Runs inside the merge's unit of work; authorisation is the merge's."""
    return await _move(uow, Order, from_customer_id, to_customer_id, ids)


async def reassign_customer_opportunities(
    uow: UnitOfWork,
    actor: Actor,
    from_customer_id: uuid.UUID,
    to_customer_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID] | None = None,
    reason: str,
) -> list[uuid.UUID]:
    """Move opportunities between customers for a merge or its undo (see ``reassign_customer_orders``)."""
    return await _move(uow, Opportunity, from_customer_id, to_customer_id, ids)


register_customer_records("orders", reassign_customer_orders)
register_customer_records("opportunities", reassign_customer_opportunities)


# --- import ----------------------------------------------------------------------------------------


async def upsert_order(uow: UnitOfWork, actor: Actor, request: OrderCreate) -> tuple[Order, bool]:
    """Create the order, or update the one with this number (an import row). Does not commit.
    Returns the order and whether it was created."""
    actor.require(ORDER_WRITE)
    await _check_customer(uow, request.customer_id)
    existing = (await queries.orders_by_number(uow.session, [request.number])).get(request.number)
    now = utcnow()
    values: dict[str, Any] = {
        "customer_id": request.customer_id,
        "platform": request.platform,
        "status": request.status.value if request.status else None,
        "amount": request.amount,
        "currency": request.currency,
        "items": [item.stored() for item in request.items],
        "placed_at": request.placed_at,
        "updated_at": now,
    }
    if existing is not None:
        sent = request.model_fields_set
        for name, value in values.items():
            if name == "updated_at" or name in sent:
                setattr(existing, name, value)
        if "attributes" in sent:
            existing.attributes = _merge_attributes(existing.attributes, request.attributes)
        return existing, False
    order = Order(
        id=new_id(),
        tenant_id=actor.tenant_id,
        number=request.number,
        attributes=request.attributes,
        origin=ORIGIN_IMPORT,
        created_at=now,
        **values,
    )
    uow.session.add(order)
    await uow.session.flush()
    return order, True


async def add_opportunity(
    uow: UnitOfWork, actor: Actor, request: OpportunityCreate, *, opportunity_id: uuid.UUID | None = None
) -> Opportunity:
    """Add an opportunity to the unit of work without committing (an API create or an import row)."""
    actor.require(OPPORTUNITY_WRITE)
    await _check_customer(uow, request.customer_id)
    await _check_owner(uow, request.owner_id)
    now = utcnow()
    opportunity = Opportunity(
        id=opportunity_id or new_id(),
        tenant_id=actor.tenant_id,
        customer_id=request.customer_id,
        title=request.title,
        stage=request.stage.value,
        amount=request.amount,
        currency=request.currency,
        expected_close_at=request.expected_close_at,
        owner_id=request.owner_id,
        attributes=request.attributes,
        closed_at=_closed_at(request.stage.value, None),
        created_at=now,
        updated_at=now,
    )
    uow.session.add(opportunity)
    return opportunity


async def upsert_opportunity(
    uow: UnitOfWork, actor: Actor, request: OpportunityCreate
) -> tuple[Opportunity, bool]:
    """Create the opportunity, or update the customer's one with the same title (an import row):
    only the fields sent change. Does not commit. Returns it and whether it was created."""
    actor.require(OPPORTUNITY_WRITE)
    existing = (
        await uow.session.execute(
            select(Opportunity)
            .where(Opportunity.customer_id == request.customer_id, Opportunity.title == request.title)
            .order_by(Opportunity.created_at, Opportunity.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if existing is None:
        return await add_opportunity(uow, actor, request), True
    sent = request.model_fields_set - {"customer_id", "title"}
    if "owner_id" in sent and request.owner_id != existing.owner_id:
        await _check_owner(uow, request.owner_id)
    for name in sent - {"attributes", "stage"}:
        setattr(existing, name, getattr(request, name))
    if "stage" in sent:
        existing.stage = request.stage.value
        existing.closed_at = _closed_at(existing.stage, existing.closed_at)
    if "attributes" in sent:
        existing.attributes = _merge_attributes(existing.attributes, request.attributes)
    existing.updated_at = utcnow()
    return existing, False
