"""The "sla" timer handler on the sweep, with time travel (time-machine): a ticket warns at 75 %,
breaches at 100 % (escalating its priority and notifying its assignee through the tier's actions),
escalates at 150 %, each threshold acted on once; paused and resolved tickets are not acted on."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from huiliu.core.clock import utcnow
from huiliu.core.outbox import OutboxRow
from huiliu.tickets.domain import Status
from huiliu.tickets.models import Ticket
from huiliu.timers.service import sweep
from tests.sla.helpers import sh, sla_tenant

TIERS = [
    {"percent": 75, "actions": [{"type": "add_tag", "tag": "sla-75"}]},
    {
        "percent": 100,
        "actions": [
            {"type": "escalate", "raise_priority": True, "to_team_lead": False},
            {"type": "notify", "assignee": True, "channels": ["wecom", "sms"], "severity": "critical"},
        ],
    },
    {"percent": 150, "actions": [{"type": "add_tag", "tag": "sla-150"}]},
]


async def _sweep_at(runtime, moment):
    with time_machine.travel(moment, tick=False):
        assert utcnow() == moment
        return await sweep(runtime.db, utcnow())


async def _ticket(setup, ticket_id) -> Ticket:
    async with setup.runtime.db.read(setup.tenant_id) as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


async def test_a_ticket_warns_breaches_escalates_and_notifies(runtime):
    setup = await sla_tenant(runtime, tiers=TIERS)
    ticket_id = await setup.create(sh("2026-11-23 10:00"), assignee_id=setup.admin.user.id)
    assert await setup.timer(ticket_id) == sh("2026-11-23 10:45")

    # 10:40: nothing is due yet.
    await _sweep_at(runtime, sh("2026-11-23 10:40"))
    assert [e.type for e in await setup.events(ticket_id)] == ["sla.applied"]

    # 10:45: 75 % of the first response (60 min) -> warning, the tier's tag.
    await _sweep_at(runtime, sh("2026-11-23 10:45"))
    types = [e.type for e in await setup.events(ticket_id)]
    assert types == ["sla.applied", "sla.warning"]
    assert "sla-75" in (await _ticket(setup, ticket_id)).tags
    assert await setup.timer(ticket_id) == sh("2026-11-23 11:00")
    tier_events = await setup.events(ticket_id, "ticket.sla_tier_fired")
    assert len(tier_events) == 1 and "标准 SLA" in (tier_events[0].actor_name or "")

    # The same instant again: handled once.
    await _sweep_at(runtime, sh("2026-11-23 10:45"))
    assert [e.type for e in await setup.events(ticket_id)] == ["sla.applied", "sla.warning"]

    # 11:00:20: breached at 11:00 -> priority raised (normal -> high) and the assignee notified.
    await _sweep_at(runtime, sh("2026-11-23 11:00") + timedelta(seconds=20))
    events = await setup.events(ticket_id)
    assert [e.type for e in events] == ["sla.applied", "sla.warning", "sla.breached"]
    assert "标准 SLA" in (events[-1].reason or "")
    row = await setup.sla(ticket_id)
    assert row.first_response_breached and row.first_response_breached_at == sh("2026-11-23 11:00")
    ticket = await _ticket(setup, ticket_id)
    assert ticket.priority == "high"
    # The raised priority moved the resolution deadline: 240 business minutes from 10:00 -> 15:00.
    assert row.priority == "high" and row.resolution_due_at == sh("2026-11-23 15:00")
    async with runtime.db.read(setup.tenant_id) as session:
        notifications = (
            await session.execute(select(OutboxRow).where(OutboxRow.kind == "notification"))
        ).scalars()
        assert any(str(ticket_id) in str(n.payload) for n in notifications)

    # The first response's 150 % under the high target (30 min): reached already at 10:45, due now.
    await _sweep_at(runtime, sh("2026-11-23 11:01"))
    types = [e.type for e in await setup.events(ticket_id)]
    assert types.count("sla.escalated") == 1
    assert "sla-150" in (await _ticket(setup, ticket_id)).tags

    # The agent finally replies: the first response is closed as missed; the resolution goes on.
    await setup.reply(ticket_id, sh("2026-11-23 11:05"))
    row = await setup.sla(ticket_id)
    assert row.first_response_met is False
    # Next: 75 % of the resolution's 240 minutes = 180 -> 10-12 and 13:00-14:00.
    assert await setup.timer(ticket_id) == sh("2026-11-23 14:00")


async def test_paused_and_resolved_tickets_are_not_acted_on(runtime):
    setup = await sla_tenant(runtime, tiers=TIERS)
    paused = await setup.create(sh("2026-11-23 10:00"))
    await setup.reply(paused, sh("2026-11-23 10:05"))
    await setup.status(paused, sh("2026-11-23 10:10"), Status.PENDING)
    resolved = await setup.create(sh("2026-11-23 10:00"))
    await setup.reply(resolved, sh("2026-11-23 10:05"))
    await setup.status(resolved, sh("2026-11-23 10:10"), Status.RESOLVED)
    assert await setup.timer(paused) is None and await setup.timer(resolved) is None
    await _sweep_at(runtime, sh("2026-11-25 10:00"))
    for ticket_id in (paused, resolved):
        assert [e.type for e in await setup.events(ticket_id)] == ["sla.applied"]


async def test_a_late_sweep_fires_every_threshold_passed_in_order(runtime):
    setup = await sla_tenant(runtime, tiers=[{"percent": 50, "actions": []}, {"percent": 75, "actions": []}])
    ticket_id = await setup.create(sh("2026-11-23 10:00"))
    await setup.reply(ticket_id, sh("2026-11-23 10:01"))
    # Resolution 480: 50 % at 14:00, 75 % at 16:00, 100 % Tue 10:00. The sweep comes late, on Tue 11:00.
    await _sweep_at(runtime, sh("2026-11-24 11:00"))
    events = [e for e in await setup.events(ticket_id) if e.type != "sla.applied"]
    # Recorded at the same frozen instant: compare them in threshold order.
    assert sorted((e.changes["sla"]["percent"], e.type) for e in events) == [
        (50, "sla.warning"),
        (75, "sla.warning"),
        (100, "sla.breached"),
    ]
    row = await setup.sla(ticket_id)
    assert row.resolution_breached_at == sh("2026-11-24 10:00")
    assert await setup.timer(ticket_id) is None  # nothing left to check


async def test_a_tenants_due_tickets_are_handled_together(runtime):
    setup = await sla_tenant(runtime, tiers=TIERS)
    ids = [await setup.create(sh("2026-11-23 10:00"), assignee_id=setup.admin.user.id) for _ in range(3)]
    late = await setup.create(sh("2026-11-23 10:30"))
    await _sweep_at(runtime, sh("2026-11-23 10:46"))
    for ticket_id in ids:
        assert [e.type for e in await setup.events(ticket_id)] == ["sla.applied", "sla.warning"]
        assert "sla-75" in (await _ticket(setup, ticket_id)).tags
        assert await setup.timer(ticket_id) == sh("2026-11-23 11:00")
    # Not due yet (75 % at 11:15): untouched.
    assert [e.type for e in await setup.events(late)] == ["sla.applied"]
    assert await setup.timer(late) == sh("2026-11-23 11:15")


NOTIFY_TIERS = [
    {
        "percent": 75,
        "actions": [
            {"type": "notify", "assignee": True, "channels": ["wecom"], "severity": "warning"},
            {"type": "add_tag", "tag": "sla-75"},
        ],
    }
]


async def test_a_batch_of_due_tickets_records_each_tickets_notification_and_events(runtime):
    setup = await sla_tenant(runtime, tiers=NOTIFY_TIERS)
    ids = [await setup.create(sh("2026-11-23 10:00"), assignee_id=setup.admin.user.id) for _ in range(3)]

    result = await _sweep_at(runtime, sh("2026-11-23 10:46"))

    assert result.handled == 3 and result.failed == 0
    async with runtime.db.read(setup.tenant_id) as session:
        notifications = list(
            (await session.execute(select(OutboxRow).where(OutboxRow.kind == "notification"))).scalars()
        )
        event_rows = {
            row.event_id
            for row in (await session.execute(select(OutboxRow).where(OutboxRow.kind == "event"))).scalars()
        }
    assert sorted(n.payload["ticket"]["id"] for n in notifications) == sorted(str(i) for i in ids)
    assert all(n.payload["recipients"] == [str(setup.admin.user.id)] for n in notifications)
    for ticket_id in ids:
        [notified] = await setup.events(ticket_id, "ticket.notified")
        [fired] = await setup.events(ticket_id, "ticket.sla_tier_fired")
        [warning] = await setup.events(ticket_id, "sla.warning")
        assert {notified.id, fired.id, warning.id} <= event_rows  # each owed to webhooks as well
        assert (fired.reason or "").startswith("SLA tier 「") and "75 %" in fired.reason
        assert "sla-75" in (await _ticket(setup, ticket_id)).tags
        assert await setup.timer(ticket_id) == sh("2026-11-23 11:00")
