"""Creates on the PostgreSQL driver pool under load share transactions (group commit, decision 0048):
every caller gets its own ticket, numbers stay distinct, a phone repeated inside one group resolves to
one customer, and each ticket has its audit event and outbox row — the same as creates one by one."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from huiliu.core.outbox import OutboxRow
from huiliu.customers.models import CustomerIdentity
from huiliu.tickets import service
from huiliu.tickets.models import Ticket, TicketEvent
from huiliu.tickets.schemas import TicketCreate
from tests.conftest import is_postgres
from tests.factories import make_member, make_tenant


async def test_concurrent_creates_share_transactions_and_lose_nothing(runtime, database_url):
    if not is_postgres(database_url):
        pytest.skip("the driver pool exists on PostgreSQL only")
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    group = runtime.db.driver_pool._group
    transactions, statements = group.transactions, group.statements
    # Forty creates at once; phones repeat (every fourth request is a customer seen before).
    phones = [f"1390000{n % 30:04d}" for n in range(40)]
    requests = [
        TicketCreate(title=f"并发创建 {n}", description="压测", customer={"phone": phone})
        for n, phone in enumerate(phones)
    ]
    created = await asyncio.gather(
        *(service.create_ticket_direct(runtime.db, admin.actor, request) for request in requests)
    )
    assert group.statements - statements == 40
    assert group.transactions - transactions < 40  # some creates shared a transaction
    assert sorted(t["number"] for t in created) == list(range(1, 41))

    customers_by_phone: dict[str, set] = {}
    for phone, ticket in zip(phones, created, strict=True):
        customers_by_phone.setdefault(phone, set()).add(ticket["customer_id"])
    assert all(len(ids) == 1 and None not in ids for ids in customers_by_phone.values())

    async with runtime.db.read(tenant.id) as session:
        tickets = (await session.execute(select(Ticket.id, Ticket.customer_id))).all()
        assert len(tickets) == 40
        assert {t.customer_id for t in tickets} == {t["customer_id"] for t in created}
        identities = await session.scalar(select(func.count()).select_from(CustomerIdentity))
        assert identities == 30
        events = Counter(
            (await session.execute(select(TicketEvent.ticket_id).where(TicketEvent.type == "ticket.created")))
            .scalars()
            .all()
        )
        assert events == Counter({t["id"]: 1 for t in created})
        # A phone repeated in one group went to a later statement of its transaction (decision 0059),
        # so no create lost an identity race and had to be settled afterwards with an update.
        updated = await session.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.type == "ticket.updated")
        )
        assert updated == 0
        outbox = (
            await session.execute(select(OutboxRow.payload).where(OutboxRow.tenant_id == tenant.id))
        ).scalars()
        numbers = sorted(p["data"]["ticket"]["number"] for p in outbox if p["type"] == "ticket.created")
        assert numbers == list(range(1, 41))


async def test_a_failing_statement_fails_only_its_caller(runtime, database_url):
    if not is_postgres(database_url):
        pytest.skip("the driver pool exists on PostgreSQL only")
    pool = runtime.db.driver_pool
    statements = [("SELECT %(n)s::int", {"n": n}) for n in range(12)]
    statements[5] = ("SELECT 1 / %(n)s", {"n": 0})
    outcomes = await asyncio.gather(
        *(pool.fetchone_grouped(sql, params) for sql, params in statements), return_exceptions=True
    )
    assert isinstance(outcomes[5], Exception) and "division by zero" in str(outcomes[5])
    assert [o for i, o in enumerate(outcomes) if i != 5] == [(n,) for n in range(12) if n != 5]


async def test_a_caller_that_gave_up_while_queued_is_not_run(runtime, database_url):
    if not is_postgres(database_url):
        pytest.skip("the driver pool exists on PostgreSQL only")
    pool = runtime.db.driver_pool
    group = pool._group
    before = group.statements
    # Fill every slot with slow statements so the next one queues, then cancel it.
    busy = [
        asyncio.ensure_future(pool.fetchone_grouped("SELECT pg_sleep(0.3)", {}))
        for _ in range(group.concurrency)
    ]
    await asyncio.sleep(0.05)
    queued = asyncio.ensure_future(pool.fetchone_grouped("SELECT 1", {}))
    await asyncio.sleep(0)
    queued.cancel()
    await asyncio.gather(*busy)
    await asyncio.sleep(0.05)
    assert queued.cancelled()
    assert group.statements - before == group.concurrency  # the cancelled one never ran
