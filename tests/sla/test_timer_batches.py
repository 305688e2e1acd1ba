"""The SLA timer handler on a batch of due tickets (one transaction, set-based writes on PostgreSQL:
decision 0044) leaves the same rows as on one ticket at a time, and a tier whose actions escalate
the priority moves the deadlines of every ticket of the batch (the SLA reactor changes the rows the
batch has just written, in the same transaction)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from huiliu.core.clock import utcnow
from huiliu.core.outbox import OutboxRow
from huiliu.sla.row_writes import COLUMNS
from huiliu.tickets.models import Ticket
from huiliu.timers.service import sweep
from tests.sla.helpers import sh, sla_tenant

TIERS = [
    {
        "percent": 75,
        "actions": [
            {"type": "notify", "assignee": True, "channels": ["wecom"], "severity": "warning"},
            {"type": "add_tag", "tag": "sla-75"},
        ],
    },
    {
        "percent": 100,
        "actions": [
            {"type": "escalate", "raise_priority": True, "to_team_lead": False},
            {"type": "notify", "assignee": True, "channels": ["wecom", "sms"], "severity": "critical"},
        ],
    },
    {"percent": 150, "actions": []},
]


async def _sweep_at(runtime, moment):
    with time_machine.travel(moment, tick=False):
        return await sweep(runtime.db, utcnow())


def _row(row) -> dict:
    return {column: getattr(row, column) for column in (*COLUMNS, "policy_id", "priority")}


async def test_a_batch_leaves_the_same_sla_rows_as_one_ticket_at_a_time(runtime):
    # One tenant with one due ticket (handled alone), another with three (handled as one batch).
    alone = await sla_tenant(runtime, tiers=TIERS)
    batched = await sla_tenant(runtime, tiers=TIERS)
    single = await alone.create(sh("2026-11-23 10:00"), assignee_id=alone.admin.user.id)
    group = [
        await batched.create(sh("2026-11-23 10:00"), assignee_id=batched.admin.user.id) for _ in range(3)
    ]

    result = await _sweep_at(runtime, sh("2026-11-23 10:46"))

    assert result.handled >= 4 and result.failed == 0
    expected = _row(await alone.sla(single))
    assert expected["clocks"]["first_response"]["fired"] == [75]
    for ticket_id in group:
        row = _row(await batched.sla(ticket_id))
        assert {**row, "policy_id": None} == {**expected, "policy_id": None}
        assert [e.type for e in await batched.events(ticket_id)] == ["sla.applied", "sla.warning"]
        assert await batched.timer(ticket_id) == await alone.timer(single) == sh("2026-11-23 11:00")


async def test_an_escalating_tier_moves_the_deadlines_of_every_ticket_of_the_batch(runtime):
    setup = await sla_tenant(runtime, tiers=TIERS)
    ids = [await setup.create(sh("2026-11-23 10:00"), assignee_id=setup.admin.user.id) for _ in range(3)]
    await _sweep_at(runtime, sh("2026-11-23 10:46"))

    # 11:00:20: every first response breached at 11:00 -> priority normal -> high, in one batch.
    result = await _sweep_at(runtime, sh("2026-11-23 11:00") + timedelta(seconds=20))

    assert result.handled >= 3 and result.failed == 0  # other tests' tenants may have due timers too
    for ticket_id in ids:
        row = await setup.sla(ticket_id)
        assert row.first_response_breached and row.first_response_breached_at == sh("2026-11-23 11:00")
        assert row.clocks["first_response"]["fired"] == [75, 100]
        # The raised priority moved the resolution deadline: 240 business minutes from 10:00 -> 15:00.
        assert row.priority == "high" and row.resolution_due_at == sh("2026-11-23 15:00")
        async with runtime.db.read(setup.tenant_id) as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None and ticket.priority == "high" and "sla-75" in ticket.tags
        types = [e.type for e in await setup.events(ticket_id)]
        assert types == ["sla.applied", "sla.warning", "sla.breached"]
        # 150 % of the high first response (30 min) was reached at 10:45: due at the next sweep.
        due = await setup.timer(ticket_id)
        assert due is not None and due <= sh("2026-11-23 11:00") + timedelta(seconds=21)
    async with runtime.db.read(setup.tenant_id) as session:
        notifications = list(
            (await session.execute(select(OutboxRow).where(OutboxRow.kind == "notification"))).scalars()
        )
    assert sorted(n.payload["severity"] for n in notifications) == ["critical"] * 3 + ["warning"] * 3
