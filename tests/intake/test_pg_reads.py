"""PostgreSQL reads an intake transaction's look-ups in two psycopg pipelines (``queries.pg_first_look``
and ``queries.pg_decision_reads``, decision 0056) instead of one ORM statement each. The messages
must go where the ORM look-ups send them and leave the same rows: new tickets, threads, folds, device
alarms, replies by reference, repeats (in the batch and of an earlier transaction), one by one and as
a group."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select

from huiliu.customers.models import Customer
from huiliu.intake import service
from huiliu.intake.domain import Deferred, InboundMessage, IngestOutcome
from huiliu.tickets import inbound as tickets_inbound
from huiliu.tickets.models import Ticket
from tests.factories import make_tenant
from tests.intake.test_group_writes import ENTRY_POINT, script, snapshot
from tests.intake.test_pipeline import inbound, ingest, ingest_many, integration, make_entry_point


def longer_script(entry_point: Any, run: str) -> list[InboundMessage]:
    """``test_group_writes.script`` plus a fold (the same words again from the same customer) and a
    reply by reference to the first message."""
    return [
        *script(entry_point, run),
        inbound(entry_point, "打印机卡纸", phone="13900000002", external_id=f"{run}-g"),
        inbound(
            entry_point,
            "补充：发票抬头写公司",
            phone="13900000009",
            external_id=f"{run}-h",
            reply_to_external_id=f"{run}-a",
        ),
    ]


async def run_script(runtime: Any, tenant: Any, name: str, grouped: bool) -> tuple[Any, list[Any]]:
    """``longer_script`` for a fresh entry point of ``tenant``, as one group or one message at a time;
    returns the entry point and the answers."""
    actor = integration(tenant.id)
    entry_point = await make_entry_point(runtime, tenant.id, **ENTRY_POINT)
    messages = longer_script(entry_point, name)
    if grouped:
        return entry_point, await ingest_many(runtime, actor, messages)
    return entry_point, [await ingest(runtime, actor, m) for m in messages]


def hold_first_store(monkeypatch: Any) -> tuple[asyncio.Event, asyncio.Event]:
    """The first intake transaction to store its rows stops there (``inside`` is set) until
    ``release`` is: it holds its locks meanwhile, as a slow transaction of another process would."""
    inside, release = asyncio.Event(), asyncio.Event()
    real_store = service.tickets.store_inbound

    async def held_store(uow: Any, *args: Any, **kwargs: Any) -> Any:
        if not inside.is_set():
            inside.set()
            await release.wait()
        return await real_store(uow, *args, **kwargs)

    monkeypatch.setattr(service.tickets, "store_inbound", held_store)
    return inside, release


@pytest.fixture
def postgres_only(runtime: Any) -> None:
    if runtime.db.engine.dialect.name != "postgresql":
        pytest.skip("the pipelined look-ups are PostgreSQL's")


@pytest.mark.parametrize("grouped", [False, True], ids=["one-by-one", "group"])
async def test_pipelined_reads_write_the_rows_of_the_orm_reads(runtime, postgres_only, monkeypatch, grouped):
    orm_tenant, pipelined_tenant = await make_tenant(runtime), await make_tenant(runtime)
    answers = {}
    # Run names are replaced in the snapshots: they must not occur in other text ("orm" is in "normalized").
    for name, tenant, pipelined in (("qx1", orm_tenant, False), ("qx2", pipelined_tenant, True)):
        monkeypatch.setattr(service, "PG_PIPELINED_READS", pipelined)
        entry_point, answers[name] = await run_script(runtime, tenant, name, grouped)
        # Every message again, in a later transaction: each is a repeat of the stored one.
        again = await ingest_many(runtime, integration(tenant.id), longer_script(entry_point, name))
        assert [a.outcome for a in again] == [IngestOutcome.REPEAT] * len(answers[name])
        assert [a.message_id for a in again] == [a.message_id for a in answers[name]]

    outcomes = [a.outcome for a in answers["qx1"]]
    assert outcomes == [a.outcome for a in answers["qx2"]]
    assert {IngestOutcome.THREADED, IngestOutcome.FOLDED, IngestOutcome.ALARM} <= set(outcomes)
    assert await snapshot(runtime, orm_tenant.id, "qx1") == await snapshot(
        runtime, pipelined_tenant.id, "qx2"
    )


@pytest.mark.parametrize("grouped", [False, True], ids=["one-by-one", "group"])
async def test_joined_tickets_as_plain_rows_write_what_the_orm_writes(
    runtime, postgres_only, monkeypatch, grouped
):
    """A thread, a device alarm's repeat (its count), new entities on a joined ticket and a reply by
    reference leave the same tickets, events and outbox rows whether ``announce_inbound`` works on ORM
    objects or on plain rows written with the events."""
    orm_tenant, plain_tenant = await make_tenant(runtime), await make_tenant(runtime)
    answers = {}
    for name, tenant, plain in (("qy1", orm_tenant, False), ("qy2", plain_tenant, True)):
        monkeypatch.setattr(tickets_inbound, "PG_PLAIN_JOINED", plain)
        _, answers[name] = await run_script(runtime, tenant, name, grouped)
    outcomes = [a.outcome for a in answers["qy1"]]
    assert outcomes == [a.outcome for a in answers["qy2"]]
    assert {IngestOutcome.THREADED, IngestOutcome.ALARM} <= set(outcomes)
    orm, plain = (
        await snapshot(runtime, orm_tenant.id, "qy1"),
        await snapshot(runtime, plain_tenant.id, "qy2"),
    )
    assert orm == plain
    assert any(row[10] == 2 for row in plain["tickets"])  # the alarm counted twice
    assert any(event[1] == "ticket.message_added" and "entities" in event[3] for event in plain["events"])


async def test_first_look_reads_only_the_tenants_rows(runtime, postgres_only):
    """The statements spell out the tenant scope the ORM adds: another tenant's identical external id
    and phone are neither a repeat nor the same customer."""
    first, second = await make_tenant(runtime), await make_tenant(runtime)
    results = []
    for tenant in (first, second):
        entry_point = await make_entry_point(runtime, tenant.id)
        message = inbound(entry_point, "你好", phone="13900000077", external_id="same-id")
        results.append(await ingest(runtime, integration(tenant.id), message))
    assert [r.outcome for r in results] == [IngestOutcome.CREATED, IngestOutcome.CREATED]
    assert results[0].ticket_id != results[1].ticket_id


async def test_an_identity_registered_after_the_look_up_starts_the_transaction_over(
    runtime, postgres_only, monkeypatch
):
    """The owners were read before another transaction registered the sender's phone (simulated: the
    first look-up misses the owner): the new customer's identity insert writes nothing, the attempt
    rolls back, and the next one finds the owner. No second customer is left behind."""
    tenant = await make_tenant(runtime)
    actor = integration(tenant.id)
    entry_point = await make_entry_point(runtime, tenant.id, thread_window_hours=0)
    first = await ingest(runtime, actor, inbound(entry_point, "第一次来", phone="13900000123"))
    real_first_look = service.queries.pg_first_look
    looks = []

    async def stale_owners(session, tenant_id, **kwargs):
        look = await real_first_look(session, tenant_id, **kwargs)
        looks.append(look)
        return dataclasses.replace(look, owner_rows=[]) if len(looks) == 1 else look

    monkeypatch.setattr(service.queries, "pg_first_look", stale_owners)
    second = await ingest(runtime, actor, inbound(entry_point, "第二次来", phone="13900000123"))
    assert len(looks) == 2
    assert second.outcome is IngestOutcome.CREATED and second.ticket_id != first.ticket_id
    async with runtime.db.read(tenant.id) as session:
        owners = (
            await session.execute(
                select(Ticket.customer_id).where(Ticket.id.in_([first.ticket_id, second.ticket_id]))
            )
        ).scalars()
        assert len(set(owners)) == 1
        assert (await session.execute(select(func.count()).select_from(Customer))).scalar_one() == 1


async def test_first_look_knows_only_the_tenants_orders(runtime, postgres_only):
    """The first pipeline also asks which extracted order numbers the tenant has: a number only another
    tenant knows links nothing, and the tenant's own links in a group as it does alone."""
    from huiliu.core.ids import new_id
    from huiliu.orders import queries as order_queries
    from huiliu.orders import service as orders
    from huiliu.orders.schemas import OrderCreate
    from tests.factories import make_member

    owner, other = await make_tenant(runtime), await make_tenant(runtime)
    admin = await make_member(runtime, owner, "admin")
    async with runtime.db.uow(owner.id) as uow:
        await orders.create_order(uow, admin.actor, OrderCreate(number="SO20261111002"), order_id=new_id())
    linked = {}
    for tenant in (other, owner):
        entry_point = await make_entry_point(runtime, tenant.id)
        answers = await ingest_many(
            runtime,
            integration(tenant.id),
            [
                inbound(entry_point, "单号 SO20261111002 少发了一件", phone="13900000078", external_id="o-1"),
                inbound(entry_point, "订单号 SO99999999998 没到", phone="13900000079", external_id="o-2"),
            ],
        )
        async with runtime.db.read(tenant.id) as session:
            linked[tenant.id] = [
                [link.order.number for link in await order_queries.orders_for_ticket(session, a.ticket_id)]
                for a in answers
            ]
    assert linked[other.id] == [[], []]
    assert linked[owner.id] == [["SO20261111002"], []]
    # The read itself spells out the tenant scope (the ORM's link step would hide a leak).
    for tenant, known in ((other, set()), (owner, {"SO20261111002"})):
        async with runtime.db.uow(tenant.id) as uow:
            look = await service.queries.pg_first_look(
                uow.session,
                tenant.id,
                entry_point_ids=[],
                channels=["api"],
                external_ids=[],
                identity_keys=[],
                defaults=service.IntakeDefaults(),
                order_numbers=["SO20261111002", "SO99999999998"],
            )
        assert look.known_orders == known


async def test_a_new_customer_in_two_transactions_at_once_is_created_once_without_starting_over(
    runtime, postgres_only, monkeypatch
):
    """Two transactions (two API processes) each carry a message from the same new phone. The second
    waits at its first look (the identity's advisory lock) until the first committed, then finds the
    customer the first created and threads onto its ticket: no transaction starts over."""
    tenant = await make_tenant(runtime)
    actor = integration(tenant.id)
    entry_point = await make_entry_point(runtime, tenant.id)
    inside, release = hold_first_store(monkeypatch)
    restarts = []
    real_roll_back = service._roll_back

    async def counted_roll_back(uow):
        restarts.append(uow)
        await real_roll_back(uow)

    monkeypatch.setattr(service, "_roll_back", counted_roll_back)
    first = asyncio.create_task(ingest(runtime, actor, inbound(entry_point, "在吗", phone="13900000321")))
    await asyncio.wait_for(inside.wait(), 10)
    second = asyncio.create_task(
        ingest(runtime, actor, inbound(entry_point, "订单还没发货", phone="13900000321"))
    )
    await asyncio.sleep(0.3)
    assert not second.done()  # waiting for the first transaction's identity lock
    release.set()
    one, two = await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert one.outcome is IngestOutcome.CREATED
    assert two.outcome is IngestOutcome.THREADED and two.ticket_id == one.ticket_id
    assert restarts == []
    async with runtime.db.read(tenant.id) as session:
        assert (await session.execute(select(func.count()).select_from(Customer))).scalar_one() == 1


async def test_with_defer_contended_a_held_sender_waits_for_a_later_transaction_not_the_group(
    runtime, postgres_only, monkeypatch
):
    """The coalescer's groups ask for ``defer_contended``: a message whose sender identity another
    transaction holds is answered ``Deferred`` (nothing of it written) and the rest of the group
    commits without waiting; the message, tried again after the other transaction, threads."""
    tenant = await make_tenant(runtime)
    actor = integration(tenant.id)
    entry_point = await make_entry_point(runtime, tenant.id)
    inside, release = hold_first_store(monkeypatch)
    first = asyncio.create_task(ingest(runtime, actor, inbound(entry_point, "在吗", phone="13900000654")))
    await asyncio.wait_for(inside.wait(), 10)
    follow_up = inbound(entry_point, "订单还没发货", phone="13900000654", external_id="d-1")
    reply_to_it = inbound(
        entry_point, "补充一下", phone="13900000999", external_id="d-2", reply_to_external_id="d-1"
    )
    other = inbound(entry_point, "发票怎么开", phone="13900000655", external_id="d-3")
    async with runtime.db.uow(tenant.id) as uow:
        answers = await asyncio.wait_for(
            service.ingest_many(uow, actor, [follow_up, reply_to_it, other], defer_contended=True), 10
        )
    assert isinstance(answers[0], Deferred) and isinstance(answers[1], Deferred)
    assert answers[2].outcome is IngestOutcome.CREATED
    assert not first.done()  # the group did not wait for it
    release.set()
    created = await asyncio.wait_for(first, 10)
    again = await ingest_many(runtime, actor, [follow_up, reply_to_it])
    assert [a.outcome for a in again] == [IngestOutcome.THREADED, IngestOutcome.THREADED]
    assert again[0].ticket_id == again[1].ticket_id == created.ticket_id
