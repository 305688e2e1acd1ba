"""Two transactions routing at the same time cannot push an agent past their cap (PostgreSQL: the
second waits on the agent's profile row and re-checks the open count it then sees)."""

from __future__ import annotations

import asyncio

import pytest

from huiliu.routing import service
from huiliu.runtime import Runtime
from huiliu.settings import Settings
from tests.conftest import is_postgres
from tests.routing.helpers import make_desk


async def test_concurrent_routes_respect_the_cap(runtime: Runtime, settings: Settings) -> None:
    if not is_postgres(settings.database_url):
        pytest.skip("SQLite has one writer at a time; the row lock is PostgreSQL's")
    desk = await make_desk(runtime)
    capped = await desk.agent("限一单", capacity=1)
    policy = await desk.policy({"strategy": "least_loaded", "final": "team_queue"})
    first_ticket = await desk.ticket()
    second_ticket = await desk.ticket()
    first_decided = asyncio.Event()

    async def first() -> service.RoutingOutcome:
        async with runtime.db.uow(desk.tenant.id) as uow:
            uow.reacting = True  # hold the transaction open: the ticket service's commit returns
            outcome = await service.route(uow, first_ticket, policy=policy.id)
            first_decided.set()
            await asyncio.sleep(0.5)  # the second transaction reads its snapshot meanwhile
            uow.reacting = False
            await uow.commit()
            return outcome

    async def second() -> service.RoutingOutcome:
        await first_decided.wait()
        async with runtime.db.uow(desk.tenant.id) as uow:
            outcome = await service.route(uow, second_ticket, policy=policy.id)
            await uow.commit()
            return outcome

    one, two = await asyncio.gather(first(), second())

    assert one.agent_id == capped.user.id
    assert two.kind == "team_queue"
    assert two.steps[-1]["excluded"] == {"at_capacity": 1}
    assert (await desk.load(second_ticket)).assignee_id is None
