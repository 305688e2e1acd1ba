"""Routing a batch of new tickets (an intake batch) on one snapshot of the agents: each decision sees
the ones before it (round robin moves on, caps fill), and the statements do not grow per ticket by
the roster read."""

from __future__ import annotations

import uuid
from collections import Counter
from itertools import pairwise
from typing import Any

from sqlalchemy import event, select

from huiliu.routing.service import ROUTING_FAILED
from huiliu.runtime import Runtime
from huiliu.tickets.models import Ticket
from tests.intake.test_pipeline import inbound, ingest_many, integration, phone
from tests.routing.helpers import make_desk


async def _assignees(runtime: Runtime, tenant_id: uuid.UUID, ticket_ids: list[uuid.UUID]) -> list[Any]:
    async with runtime.db.read(tenant_id) as session:
        rows = await session.execute(select(Ticket.id, Ticket.assignee_id).where(Ticket.id.in_(ticket_ids)))
        by_id = dict(rows.all())
    return [by_id[ticket_id] for ticket_id in ticket_ids]


async def test_an_intake_batch_is_routed_round_robin_on_one_snapshot(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    first = await desk.agent("甲")
    second = await desk.agent("乙")
    await desk.policy({"strategy": "round_robin", "team_only": False}, is_default=True)
    messages = [inbound(None, f"第 {n} 台打印机卡纸", phone=phone()) for n in range(6)]
    roster_reads: list[str] = []

    def count_roster(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "agent_profiles" in statement and "JOIN" in statement:
            roster_reads.append(statement)

    engine = runtime.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count_roster)
    try:
        results = await ingest_many(runtime, integration(desk.tenant.id), messages)
    finally:
        event.remove(engine, "before_cursor_execute", count_roster)

    assignees = await _assignees(runtime, desk.tenant.id, [result.ticket_id for result in results])
    assert Counter(assignees) == {first.user.id: 3, second.user.id: 3}
    assert all(a != b for a, b in pairwise(assignees))  # alternating
    assert len(roster_reads) == 1


async def test_caps_fill_within_a_batch_and_the_rest_is_recorded_as_not_routed(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    capped = await desk.agent("限一单", capacity=1)
    await desk.policy({"strategy": "least_loaded", "team_only": False}, is_default=True)
    messages = [inbound(None, f"投诉 {n}", phone=phone()) for n in range(3)]

    results = await ingest_many(runtime, integration(desk.tenant.id), messages)

    ticket_ids = [result.ticket_id for result in results]
    assignees = await _assignees(runtime, desk.tenant.id, ticket_ids)
    assert assignees.count(capped.user.id) == 1
    unrouted = [
        ticket_id for ticket_id, assignee in zip(ticket_ids, assignees, strict=True) if assignee is None
    ]
    assert len(unrouted) == 2
    for ticket_id in unrouted:  # no team on an intake ticket here: recorded, not silent
        assert len(await desk.events(ticket_id, ROUTING_FAILED)) == 1
