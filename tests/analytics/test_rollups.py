"""The refresher: the settle window, idempotence, merged tickets, every tenant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from huiliu.analytics import rollups
from huiliu.analytics.models import TicketFact
from huiliu.tickets import service as tickets
from tests.factories import make_member, make_tenant, make_ticket


async def test_events_are_read_once_settled_and_only_once(runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    await make_ticket(runtime, admin)
    fresh = await rollups.refresh(runtime.db, tenant.id)  # default settle: the event is too new
    assert fresh.events == 0
    first = await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    assert (first.events, first.tickets) == (1, 1)
    again = await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    assert (again.events, again.tickets) == (0, 0)


async def test_a_merged_ticket_leaves_the_facts(runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    source = await make_ticket(runtime, admin)
    target = await make_ticket(runtime, admin)
    await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    async with runtime.db.uow(tenant.id) as uow:
        await tickets.merge(uow, admin.actor, source["id"], target["id"])
    await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    async with runtime.db.read(tenant.id) as session:
        ids = set((await session.execute(select(TicketFact.ticket_id))).scalars())
    assert ids == {target["id"]}


async def test_refresh_all_covers_every_tenant(runtime: Any) -> None:
    first, second = await make_tenant(runtime), await make_tenant(runtime)
    for tenant in (first, second):
        await make_ticket(runtime, await make_member(runtime, tenant))
    results = await rollups.refresh_all(runtime.db, settle=timedelta(0))
    assert results[first.id].tickets >= 1 and results[second.id].tickets >= 1
