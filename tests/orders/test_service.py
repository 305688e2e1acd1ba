"""Order services: linking extracted order numbers inside intake's transaction (local orders, the ERP,
failures, idempotency, events and outbox rows), and orders following customer merges."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from huiliu.auth.domain import system_actor
from huiliu.core.ids import new_id
from huiliu.customers import merges
from huiliu.orders import queries, service
from huiliu.orders.lookup import OrderLookup
from huiliu.orders.models import Order, TicketOrder
from huiliu.orders.schemas import OpportunityCreate, OrderCreate
from huiliu.runtime import Runtime
from tests.factories import Member, make_ticket
from tests.orders.conftest import ERP_TOKEN, ERP_URL, FakeErp, make_customer
from tests.tickets.conftest import assert_outbox_matches, journal

ERP_ORDER = {"number": "SO20261123001", "platform": "erp", "status": "shipped", "amount": "1299.00"}


async def add_order(
    runtime: Runtime, member: Member, number: str, customer_id: uuid.UUID | None = None
) -> Order:
    async with runtime.db.uow(member.actor.tenant_id) as uow:
        return await service.create_order(
            uow,
            member.actor,
            OrderCreate(number=number, customer_id=customer_id, amount=Decimal("99.00")),
            order_id=new_id(),
        )


async def links(runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> list[queries.LinkedOrder]:
    async with runtime.db.read(tenant_id) as session:
        return await queries.orders_for_ticket(session, ticket_id)


async def extract(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    ticket: dict[str, Any],
    numbers: list[str],
    lookup: OrderLookup | None = None,
) -> list[uuid.UUID]:
    async with runtime.db.uow(tenant_id) as uow:
        linked = await service.link_extracted_orders(
            uow,
            ticket_id=ticket["id"],
            customer_id=ticket["customer_id"],
            order_numbers=numbers,
            lookup=lookup,
        )
        await uow.commit()
        return linked


async def test_extracted_local_order_is_linked_with_an_event_and_outbox_row(
    runtime: Runtime, admin: Member
) -> None:
    ticket = await make_ticket(runtime, admin, customer={"name": "张三", "phone": "13800138000"})
    order = await add_order(runtime, admin, "123456789012345678", ticket["customer_id"])
    log = await journal(runtime, admin.actor.tenant_id)

    linked = await extract(runtime, admin.actor.tenant_id, ticket, ["123456789012345678"])

    assert linked == [order.id]
    (link,) = await links(runtime, admin.actor.tenant_id, ticket["id"])
    assert (link.order.id, link.source, link.actor_name) == (order.id, "extracted", "intake")
    written = await log.since()
    assert written.types() == ["ticket.order_linked"]
    intake = system_actor(admin.actor.tenant_id, "intake")
    assert_outbox_matches(written, intake)
    data = written.outbox[0].payload["data"]
    assert data["order"] == {"id": str(order.id), "number": order.number, "platform": None, "status": None}
    assert data["source"] == "extracted"


async def test_linking_twice_changes_nothing(runtime: Runtime, admin: Member) -> None:
    ticket = await make_ticket(runtime, admin, customer={"name": "张三", "phone": "13800138001"})
    order = await add_order(runtime, admin, "SO20261123001")
    await extract(runtime, admin.actor.tenant_id, ticket, ["SO20261123001"])
    log = await journal(runtime, admin.actor.tenant_id)

    again = await extract(runtime, admin.actor.tenant_id, ticket, ["so20261123001", "SO20261123001"])

    assert again == [order.id]
    assert len(await links(runtime, admin.actor.tenant_id, ticket["id"])) == 1
    written = await log.since()
    assert written.events == [] and written.outbox == []


async def test_unknown_and_invalid_numbers_are_skipped_without_writing(
    runtime: Runtime, admin: Member
) -> None:
    ticket = await make_ticket(runtime, admin)
    log = await journal(runtime, admin.actor.tenant_id)
    assert (
        await extract(runtime, admin.actor.tenant_id, ticket, ["999999999999999999", "not an order", ""])
        == []
    )
    written = await log.since()
    assert written.events == [] and written.outbox == []


async def test_local_order_without_customer_gets_the_ticket_customer(runtime: Runtime, admin: Member) -> None:
    ticket = await make_ticket(runtime, admin, customer={"name": "李四", "phone": "13800138002"})
    order = await add_order(runtime, admin, "231123-123456789012345")
    await extract(runtime, admin.actor.tenant_id, ticket, ["231123-123456789012345"])
    async with runtime.db.read(admin.actor.tenant_id) as session:
        assert (await queries.get_order(session, order.id)).customer_id == ticket["customer_id"]


async def test_order_of_another_customer_keeps_its_customer(runtime: Runtime, admin: Member) -> None:
    other = await make_customer(runtime, admin, "王五")
    ticket = await make_ticket(runtime, admin, customer={"name": "李四", "phone": "13800138003"})
    order = await add_order(runtime, admin, "SO777", other)
    assert await extract(runtime, admin.actor.tenant_id, ticket, ["SO777"]) == [order.id]
    async with runtime.db.read(admin.actor.tenant_id) as session:
        assert (await queries.get_order(session, order.id)).customer_id == other


async def test_number_unknown_locally_is_fetched_from_the_erp_and_kept(
    runtime: Runtime, admin: Member
) -> None:
    erp = FakeErp(orders={"SO20261123001": ERP_ORDER})
    lookup = OrderLookup(ERP_URL, token=ERP_TOKEN, transport=erp.transport())
    ticket = await make_ticket(runtime, admin, customer={"name": "赵六", "phone": "13800138004"})
    local = await add_order(runtime, admin, "123456789012345678")

    linked = await extract(
        runtime, admin.actor.tenant_id, ticket, ["SO20261123001", "123456789012345678"], lookup
    )

    assert erp.numbers_asked() == ["SO20261123001"]  # the local one is not asked for
    async with runtime.db.read(admin.actor.tenant_id) as session:
        fetched = (await queries.orders_by_number(session, ["SO20261123001"]))["SO20261123001"]
    assert linked == [fetched.id, local.id]
    assert (fetched.origin, fetched.status, fetched.amount, fetched.customer_id) == (
        "lookup",
        "shipped",
        Decimal("1299.00"),
        ticket["customer_id"],
    )
    # A second message with the same number finds the stored order: the ERP is not asked again.
    ticket2 = await make_ticket(runtime, admin, customer={"name": "赵六", "phone": "13800138004"})
    assert await extract(runtime, admin.actor.tenant_id, ticket2, ["SO20261123001"], lookup) == [fetched.id]
    assert erp.numbers_asked() == ["SO20261123001"]


async def test_erp_down_never_fails_intake(runtime: Runtime, admin: Member) -> None:
    erp = FakeErp(orders={"SO20261123001": ERP_ORDER}, fail_with=503)
    lookup = OrderLookup(ERP_URL, token=ERP_TOKEN, transport=erp.transport())
    ticket = await make_ticket(runtime, admin)
    local = await add_order(runtime, admin, "SO1")
    assert await extract(runtime, admin.actor.tenant_id, ticket, ["SO20261123001", "SO1"], lookup) == [
        local.id
    ]


async def test_erp_timeout_never_fails_intake(runtime: Runtime, admin: Member) -> None:
    erp = FakeErp(orders={"SO20261123001": ERP_ORDER}, delay=5)
    lookup = OrderLookup(ERP_URL, token=ERP_TOKEN, transport=erp.transport(), timeout_seconds=0.05)
    ticket = await make_ticket(runtime, admin)
    assert await extract(runtime, admin.actor.tenant_id, ticket, ["SO20261123001"], lookup) == []


async def test_nothing_is_kept_when_the_intake_transaction_rolls_back(
    runtime: Runtime, admin: Member
) -> None:
    erp = FakeErp(orders={"SO20261123001": ERP_ORDER})
    lookup = OrderLookup(ERP_URL, token=ERP_TOKEN, transport=erp.transport())
    ticket = await make_ticket(runtime, admin)
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        await service.link_extracted_orders(
            uow, ticket_id=ticket["id"], customer_id=None, order_numbers=["SO20261123001"], lookup=lookup
        )
    async with runtime.db.read(admin.actor.tenant_id) as session:
        assert await queries.orders_by_number(session, ["SO20261123001"]) == {}
        assert (await session.execute(select(TicketOrder))).first() is None


async def test_orders_of_another_tenant_are_never_linked(
    runtime: Runtime, admin: Member, tenant: Any
) -> None:
    from tests.factories import make_member, make_tenant

    other_tenant = await make_tenant(runtime)
    other = await make_member(runtime, other_tenant, "admin")
    await add_order(runtime, other, "SO424242")
    ticket = await make_ticket(runtime, admin)
    assert await extract(runtime, admin.actor.tenant_id, ticket, ["SO424242"]) == []


async def test_storing_the_same_erp_order_twice_returns_the_first_row(
    runtime: Runtime, admin: Member
) -> None:
    from huiliu.orders.lookup import parse_erp_order

    found = parse_erp_order(ERP_ORDER)
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        first = await service._store_erp_order(uow, found, None)
        second = await service._store_erp_order(uow, found, None)
        await uow.commit()
    assert first.id == second.id


async def test_orders_and_opportunities_follow_a_customer_merge_and_its_undo(
    runtime: Runtime, admin: Member
) -> None:
    survivor = await make_customer(runtime, admin, "张三", "13900139000")
    merged = await make_customer(runtime, admin, "张三（抖音）")
    order = await add_order(runtime, admin, "SO555", merged)
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        opportunity = await service.create_opportunity(
            uow, admin.actor, OpportunityCreate(customer_id=merged, title="年框采购"), opportunity_id=new_id()
        )
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        merge = await merges.merge_customers(uow, admin.actor, survivor, merged, "same person")
    assert merge.moved["orders"] == [str(order.id)]
    assert merge.moved["opportunities"] == [str(opportunity.id)]
    async with runtime.db.read(admin.actor.tenant_id) as session:
        assert [o.id for o in await queries.orders_for_customer(session, survivor)] == [order.id]
        assert [o.id for o in await queries.opportunities_for_customer(session, survivor)] == [opportunity.id]
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        await merges.undo_merge(uow, admin.actor, merge.id)
    async with runtime.db.read(admin.actor.tenant_id) as session:
        assert [o.id for o in await queries.orders_for_customer(session, merged)] == [order.id]
        assert [o.id for o in await queries.opportunities_for_customer(session, merged)] == [opportunity.id]
        assert await queries.orders_for_customer(session, survivor) == []
