"""The read side of orders and opportunities: keyset pages (newest first), one record, a customer's
orders and opportunities (for the customer 360 view) and a ticket's orders.

Other packages read orders only through these functions; every one runs on a tenant-scoped session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.core.errors import NotFound
from huiliu.orders.models import Opportunity, Order, TicketOrder

MAX_LIMIT = 200
CURSOR_SORT = "-created_at"  # the tickets' cursor format (sort name, created_at, id)


@dataclass(frozen=True)
class OrderFilters:
    customer_id: uuid.UUID | None = None
    number: str | None = None  # normalized (see domain.normalize_order_number)
    platform: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class OpportunityFilters:
    customer_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    stage: str | None = None


def _after(model: Any, after: tuple[datetime, uuid.UUID] | None) -> list[Any]:
    if after is None:
        return []
    created_at, row_id = after
    return [or_(model.created_at < created_at, and_(model.created_at == created_at, model.id < row_id))]


async def list_orders(
    session: AsyncSession, filters: OrderFilters, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> tuple[list[Order], bool]:
    """Orders newest first matching ``filters``; returns the page and whether more follow."""
    where: list[Any] = _after(Order, after)
    if filters.customer_id is not None:
        where.append(Order.customer_id == filters.customer_id)
    if filters.number is not None:
        where.append(Order.number == filters.number)
    if filters.platform is not None:
        where.append(Order.platform == filters.platform)
    if filters.status is not None:
        where.append(Order.status == filters.status)
    limit = max(1, min(limit, MAX_LIMIT))
    rows = (
        (
            await session.execute(
                select(Order)
                .where(*where)
                .order_by(Order.created_at.desc(), Order.id.desc())
                .limit(limit + 1)
            )
        )
        .scalars()
        .all()
    )
    return list(rows[:limit]), len(rows) > limit


# ``known_numbers`` as fixed text for a psycopg pipeline (intake's first look sends it with its other
# reads): parameters ``tenant_id`` and ``order_numbers`` (normalized), one column ``number``.
PG_KNOWN_NUMBERS = """
SELECT number FROM orders WHERE tenant_id = %(tenant_id)s AND number = ANY(%(order_numbers)s::text[])
"""


async def known_numbers(session: AsyncSession, numbers: list[str]) -> set[str]:
    """Which of these (normalized) order numbers the tenant has: a column read, no ORM objects."""
    if not numbers:
        return set()
    return set((await session.execute(select(Order.number).where(Order.number.in_(numbers)))).scalars())


async def get_order(session: AsyncSession, order_id: uuid.UUID) -> Order:
    order = await session.get(Order, order_id)
    if order is None:
        raise NotFound("order not found")
    return order


async def orders_by_number(session: AsyncSession, numbers: list[str]) -> dict[str, Order]:
    """The tenant's orders with these (normalized) numbers, by number."""
    if not numbers:
        return {}
    rows = (await session.execute(select(Order).where(Order.number.in_(numbers)))).scalars()
    return {order.number: order for order in rows}


async def list_opportunities(
    session: AsyncSession,
    filters: OpportunityFilters,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[Opportunity], bool]:
    where: list[Any] = _after(Opportunity, after)
    if filters.customer_id is not None:
        where.append(Opportunity.customer_id == filters.customer_id)
    if filters.owner_id is not None:
        where.append(Opportunity.owner_id == filters.owner_id)
    if filters.stage is not None:
        where.append(Opportunity.stage == filters.stage)
    limit = max(1, min(limit, MAX_LIMIT))
    rows = (
        (
            await session.execute(
                select(Opportunity)
                .where(*where)
                .order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
                .limit(limit + 1)
            )
        )
        .scalars()
        .all()
    )
    return list(rows[:limit]), len(rows) > limit


async def get_opportunity(session: AsyncSession, opportunity_id: uuid.UUID) -> Opportunity:
    opportunity = await session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound("opportunity not found")
    return opportunity


async def orders_for_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, limit: int = 50
) -> list[Order]:
    """The customer's orders, newest first (for the customer 360 view)."""
    orders, _ = await list_orders(session, OrderFilters(customer_id=customer_id), after=None, limit=limit)
    return orders


async def opportunities_for_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, limit: int = 50
) -> list[Opportunity]:
    """The customer's opportunities, newest first (for the customer 360 view)."""
    opportunities, _ = await list_opportunities(
        session, OpportunityFilters(customer_id=customer_id), after=None, limit=limit
    )
    return opportunities


@dataclass(frozen=True)
class LinkedOrder:
    order: Order
    source: str  # extracted | manual
    linked_at: datetime
    actor_name: str


async def orders_for_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> list[LinkedOrder]:
    """The orders linked to a ticket, in the order they were linked. The caller checks that the
    ticket is visible to whoever asks."""
    rows = (
        await session.execute(
            select(Order, TicketOrder.source, TicketOrder.created_at, TicketOrder.actor_name)
            .join(TicketOrder, TicketOrder.order_id == Order.id)
            .where(TicketOrder.ticket_id == ticket_id)
            .order_by(TicketOrder.created_at, TicketOrder.id)
        )
    ).all()
    return [LinkedOrder(row[0], row[1], row[2], row[3]) for row in rows]


async def ticket_ids_for_order(session: AsyncSession, order_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(TicketOrder.ticket_id).where(TicketOrder.order_id == order_id).order_by(TicketOrder.created_at)
    )
    return list(rows.scalars())


async def link_of(session: AsyncSession, ticket_id: uuid.UUID, order_id: uuid.UUID) -> TicketOrder | None:
    return (
        await session.execute(
            select(TicketOrder).where(TicketOrder.ticket_id == ticket_id, TicketOrder.order_id == order_id)
        )
    ).scalar_one_or_none()
