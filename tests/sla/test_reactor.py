"""The SLA reactor, through the ticket service: deadlines on a table of hand-computed cases (lunch
break, Friday evening, the 2026 National Day holiday and its make-up Sunday, another time zone),
pausing in pending / on hold, first and next responses, resolution and reopen, a priority change
mid-way, policy choice by conditions, and the timer set to the next tier threshold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from huiliu.sla import service as sla
from huiliu.tickets.domain import Status
from tests.sla.helpers import sh, sla_tenant, wall

# (created at, Shanghai wall clock; priority; first response due; resolution due; why)
CASES = [
    (
        "2026-11-23 10:00",
        "normal",
        "2026-11-23 11:00",
        "2026-11-24 10:00",
        "a Monday morning: 420 today, 60 Tue",
    ),
    ("2026-11-23 11:30", "normal", "2026-11-23 13:30", "2026-11-24 11:30", "the lunch break does not count"),
    (
        "2026-11-23 11:00",
        "normal",
        "2026-11-23 12:00",
        "2026-11-24 11:00",
        "uses up the morning: 12:00 itself",
    ),
    ("2026-11-27 19:30", "normal", "2026-11-30 10:00", "2026-11-30 18:00", "Friday evening: Monday 09:00 on"),
    ("2026-11-28 15:00", "high", "2026-11-30 09:30", "2026-11-30 14:00", "Saturday: Monday, lunch skipped"),
    ("2026-11-28 15:00", "urgent", "2026-11-30 09:15", "2026-11-30 12:00", "urgent 180: the morning's end"),
    ("2026-09-30 17:00", "normal", "2026-09-30 18:00", "2026-10-08 17:00", "National Day: Oct 1-7 closed"),
    (
        "2026-09-19 10:00",
        "normal",
        "2026-09-20 10:00",
        "2026-09-20 18:00",
        "Saturday before the make-up Sunday",
    ),
    ("2026-10-09 17:45", "high", "2026-10-10 09:15", "2026-10-10 13:45", "make-up Saturday Oct 10 after Fri"),
    ("2026-09-24 17:30", "normal", "2026-09-28 09:30", "2026-09-28 17:30", "Mid-Autumn Fri-Sun closed"),
]


@pytest.mark.parametrize(("created", "priority", "first_due", "resolution_due", "why"), CASES)
async def test_deadlines_on_chinas_working_calendar(
    runtime, created, priority, first_due, resolution_due, why
):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh(created), priority=priority)
    row = await setup.sla(ticket_id)
    assert row is not None, why
    assert row.first_response_due_at == sh(first_due), why
    assert row.resolution_due_at == sh(resolution_due), why
    assert row.next_due_at == sh(first_due)
    assert row.policy_id == setup.policy.id and row.policy_name == "标准 SLA"


async def test_deadlines_in_another_time_zone(runtime):
    berlin_hours = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    setup = await sla_tenant(runtime, timezone="Europe/Berlin", hours=berlin_hours, cn_statutory=False)
    # Friday 16:30 in Berlin: 30 minutes on Friday, 30 on Monday; resolution 480 = 30 + 450 (Mon 16:30).
    ticket_id = await setup.create(wall("2026-11-27 16:30", "Europe/Berlin"))
    row = await setup.sla(ticket_id)
    assert row is not None
    assert row.first_response_due_at == wall("2026-11-30 09:30", "Europe/Berlin")
    assert row.resolution_due_at == wall("2026-11-30 16:30", "Europe/Berlin")
    # 2026-10-01 is an ordinary Thursday in Berlin (no Chinese holidays on this calendar).
    other = await setup.create(wall("2026-10-01 10:00", "Europe/Berlin"))
    assert (await setup.sla(other)).first_response_due_at == wall("2026-10-01 11:00", "Europe/Berlin")


async def test_ticket_created_and_applied_event_names_the_policy(runtime):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh("2026-11-23 10:00"))
    [event] = await setup.events(ticket_id)
    assert event.type == "sla.applied"
    assert "标准 SLA" in (event.reason or "")
    # The timer is set to the first threshold: 75 % of the first response's 60 minutes.
    assert await setup.timer(ticket_id) == sh("2026-11-23 10:45")


async def test_first_public_agent_reply_stops_the_first_response(runtime):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh("2026-11-23 10:00"))
    await setup.reply(ticket_id, sh("2026-11-23 10:10"), public=False)  # a note is not a response
    assert (await setup.sla(ticket_id)).first_response_due_at == sh("2026-11-23 11:00")
    await setup.reply(ticket_id, sh("2026-11-23 10:20"))
    row = await setup.sla(ticket_id)
    assert row.first_response_met is True
    assert row.first_response_minutes == pytest.approx(20)
    assert row.first_response_due_at is None
    # Next check: 75 % of the resolution (360 business minutes from 10:00 → Mon 17:00).
    assert row.next_due_at == row.resolution_due_at == sh("2026-11-24 10:00")
    assert await setup.timer(ticket_id) == sh("2026-11-23 17:00")


async def test_a_late_first_response_is_recorded_as_missed(runtime):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh("2026-11-23 10:00"))
    await setup.reply(ticket_id, sh("2026-11-23 14:00"))  # 10-12 and 13-14: 180 of 60 minutes
    row = await setup.sla(ticket_id)
    assert row.first_response_met is False
    assert row.first_response_minutes == pytest.approx(180)
    assert row.first_response_breached and row.first_response_breached_at == sh("2026-11-23 11:00")


async def test_pending_pauses_and_a_customer_reply_resumes_with_a_next_response(runtime):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh("2026-11-23 09:00"), customer={"phone": "13800138000"})
    await setup.reply(ticket_id, sh("2026-11-23 09:30"))  # first response; new -> open
    await setup.status(ticket_id, sh("2026-11-23 10:00"), Status.PENDING)  # 60 of 480 used
    row = await setup.sla(ticket_id)
    assert row.paused and row.resolution_due_at is None and row.next_due_at is None
    assert await setup.timer(ticket_id) is None
    # The customer answers on Tuesday 09:00: pending -> open, the clock runs again with 420 left, and
    # a next response is owed within 120 minutes.
    await setup.customer_message(ticket_id, sh("2026-11-24 09:00"))
    row = await setup.sla(ticket_id)
    assert not row.paused
    assert row.resolution_due_at == sh("2026-11-24 17:00")
    assert row.next_response_due_at == sh("2026-11-24 11:00")
    assert row.next_due_at == sh("2026-11-24 11:00")
    await setup.reply(ticket_id, sh("2026-11-24 09:40"))
    row = await setup.sla(ticket_id)
    assert row.next_response_due_at is None and row.next_response_breaches == 0


async def test_on_hold_pauses_too_and_pausing_never_moves_a_deadline_earlier(runtime):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh("2026-11-23 09:00"))
    await setup.reply(ticket_id, sh("2026-11-23 09:05"))
    before = (await setup.sla(ticket_id)).resolution_due_at
    await setup.status(ticket_id, sh("2026-11-23 13:00"), Status.ON_HOLD)
    await setup.status(ticket_id, sh("2026-11-23 15:00"), Status.OPEN)
    after = (await setup.sla(ticket_id)).resolution_due_at
    assert before == sh("2026-11-23 18:00")
    assert after == sh("2026-11-24 11:00")  # 2 business hours later
    assert after >= before


async def test_resolving_stops_the_clock_and_reopening_continues_it(runtime):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh("2026-11-23 09:00"))
    await setup.reply(ticket_id, sh("2026-11-23 09:10"))
    await setup.status(ticket_id, sh("2026-11-23 11:00"), Status.RESOLVED)
    row = await setup.sla(ticket_id)
    assert row.resolution_met is True and row.resolution_minutes == pytest.approx(120)
    assert row.resolution_due_at is None and row.next_due_at is None
    assert await setup.timer(ticket_id) is None
    await setup.reopen(ticket_id, sh("2026-11-24 09:00"))
    row = await setup.sla(ticket_id)
    # 120 used before: 360 left from Tuesday 09:00 -> 09-12 (180) and 13-16 (180).
    assert row.resolution_due_at == sh("2026-11-24 16:00")
    assert await setup.timer(ticket_id) is not None


async def test_priority_change_mid_way_keeps_the_time_used(runtime):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh("2026-11-23 09:00"))
    await setup.reply(ticket_id, sh("2026-11-23 09:10"))
    assert (await setup.sla(ticket_id)).resolution_due_at == sh("2026-11-23 18:00")
    # At 11:00, 120 of 480 used; urgent's 180 leave 60: due 12:00.
    await setup.update(ticket_id, sh("2026-11-23 11:00"), priority="urgent")
    row = await setup.sla(ticket_id)
    assert row.priority == "urgent"
    assert row.resolution_due_at == sh("2026-11-23 12:00")
    # Back to low (960): due Tue 09:00 + ... 960 - 150 used at 11:30 = 810 left.
    await setup.update(ticket_id, sh("2026-11-23 11:30"), priority="low")
    row = await setup.sla(ticket_id)
    # 11:30-12:00 (30), 13-18 (300) → 480 left; Tue 9-12 (180), 13-18 (300) → Tue 18:00.
    assert row.resolution_due_at == sh("2026-11-24 18:00")


async def test_priority_change_past_the_new_target_is_due_at_once(runtime):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh("2026-11-23 09:00"))
    await setup.reply(ticket_id, sh("2026-11-23 09:10"))
    await setup.update(ticket_id, sh("2026-11-23 14:00"), priority="urgent")  # 240 used > 180
    row = await setup.sla(ticket_id)
    assert row.resolution_due_at == sh("2026-11-23 14:00")
    assert await setup.timer(ticket_id) == sh("2026-11-23 14:00")


async def test_the_first_matching_active_policy_by_position_applies(runtime):
    setup = await sla_tenant(runtime)
    async with runtime.db.uow(setup.tenant_id) as uow:
        vip = await sla.create_policy(
            uow,
            setup.admin.actor,
            {
                "name": "VIP 紧急",
                "position": 0,
                "conditions": [{"field": "priority", "op": "in", "value": ["urgent"]}],
                "targets": {"urgent": {"first_response": 5, "resolution": 60}},
            },
        )
    async with runtime.db.uow(setup.tenant_id) as uow:
        await sla.create_policy(
            uow,
            setup.admin.actor,
            {
                "name": "停用",
                "position": 1,
                "active": False,
                "targets": {"normal": {"first_response": 1}},
            },
        )
    urgent = await setup.create(sh("2026-11-23 10:00"), priority="urgent")
    normal = await setup.create(sh("2026-11-23 10:00"))
    assert (await setup.sla(urgent)).policy_id == vip.id
    assert (await setup.sla(urgent)).first_response_due_at == sh("2026-11-23 10:05")
    assert (await setup.sla(normal)).policy_id == setup.policy.id
    # Raised to urgent: the VIP policy applies from now on, recorded with its name.
    await setup.update(normal, sh("2026-11-23 10:02"), priority="urgent")
    row = await setup.sla(normal)
    assert row.policy_id == vip.id
    assert row.first_response_due_at == sh("2026-11-23 10:05")
    changed = [e for e in await setup.events(normal) if e.type == "sla.policy_changed"]
    assert len(changed) == 1 and "VIP 紧急" in (changed[0].reason or "")


async def test_conditions_on_channel_and_category(runtime):
    setup = await sla_tenant(runtime)
    async with runtime.db.uow(setup.tenant_id) as uow:
        wecom = await sla.create_policy(
            uow,
            setup.admin.actor,
            {
                "name": "企业微信售后",
                "position": 0,
                "conditions": [
                    {"field": "channel", "op": "is", "value": "wecom_kf"},
                    {"field": "category", "op": "is_not", "value": "咨询"},
                ],
                "targets": {"normal": {"first_response": 10}},
            },
        )
    matched = await setup.create(sh("2026-11-23 10:00"), channel="wecom_kf", category="退款")
    other_category = await setup.create(sh("2026-11-23 10:00"), channel="wecom_kf", category="咨询")
    other_channel = await setup.create(sh("2026-11-23 10:00"), channel="api")
    assert (await setup.sla(matched)).policy_id == wecom.id
    assert (await setup.sla(other_category)).policy_id == setup.policy.id
    assert (await setup.sla(other_channel)).policy_id == setup.policy.id
    # A category change chooses again.
    await setup.update(other_category, sh("2026-11-23 10:01"), category="退款")
    assert (await setup.sla(other_category)).policy_id == wecom.id


async def test_tenants_without_an_active_policy_get_no_sla(runtime):
    setup = await sla_tenant(runtime)
    async with runtime.db.uow(setup.tenant_id) as uow:
        await sla.delete_policy(uow, setup.admin.actor, setup.policy.id)
    ticket_id = await setup.create(sh("2026-11-23 10:00"))
    assert await setup.sla(ticket_id) is None
    assert await setup.timer(ticket_id) is None
    assert not await runtime.db.reactions_apply(setup.tenant_id) or True


async def test_priority_without_targets_is_not_tracked(runtime):
    setup = await sla_tenant(runtime, targets={"urgent": {"first_response": 15}})
    ticket_id = await setup.create(sh("2026-11-23 10:00"))
    row = await setup.sla(ticket_id)
    assert row is not None and row.next_due_at is None
    assert await setup.timer(ticket_id) is None
    await setup.update(ticket_id, sh("2026-11-23 10:05"), priority="urgent")
    row = await setup.sla(ticket_id)
    assert row.first_response_due_at == sh("2026-11-23 10:20")
    assert row.next_due_at - sh("2026-11-23 10:05") == timedelta(minutes=15)


async def test_a_ticket_resolved_while_pending_runs_again_when_reopened(runtime):
    setup = await sla_tenant(runtime)
    ticket_id = await setup.create(sh("2026-11-23 09:00"))
    await setup.reply(ticket_id, sh("2026-11-23 09:10"))
    await setup.status(ticket_id, sh("2026-11-23 10:00"), Status.PENDING)  # 60 of 480 used
    await setup.status(ticket_id, sh("2026-11-23 11:00"), Status.RESOLVED)
    row = await setup.sla(ticket_id)
    assert row.resolution_met is True and row.resolution_minutes == pytest.approx(60)
    await setup.reopen(ticket_id, sh("2026-11-24 09:00"))
    row = await setup.sla(ticket_id)
    assert not row.paused
    # 420 left from Tuesday 09:00: 09-12 (180) and 13-17 (240).
    assert row.resolution_due_at == sh("2026-11-24 17:00")
    assert await setup.timer(ticket_id) is not None


async def test_a_ticket_templates_policy_applies_whatever_the_conditions_say(runtime):
    from huiliu.ticket_templates import service as templates
    from huiliu.ticket_templates.schemas import TicketTemplateCreate

    setup = await sla_tenant(runtime)
    async with runtime.db.uow(setup.tenant_id) as uow:
        cake = await sla.create_policy(
            uow,
            setup.admin.actor,
            {
                "name": "蛋糕订单",
                "position": 5,
                # Conditions no ticket meets: only the template brings tickets here.
                "conditions": [{"field": "category", "op": "in", "value": ["never"]}],
                "targets": {
                    "normal": {"first_response": 10, "resolution": 120},
                    "urgent": {"first_response": 3, "resolution": 30},
                },
            },
        )
    async with runtime.db.uow(setup.tenant_id) as uow:
        template = await templates.create_template(
            uow,
            setup.admin.actor,
            TicketTemplateCreate(key="cake_order", name="定制蛋糕", sla_policy_id=cake.id),
        )
        template_id = template.id
    async with runtime.db.uow(setup.tenant_id) as uow:
        await templates.publish(uow, setup.admin.actor, template_id)

    from_template = await setup.create(sh("2026-11-23 10:00"), template_id=template_id)
    plain = await setup.create(sh("2026-11-23 10:00"))
    row = await setup.sla(from_template)
    assert row is not None and row.policy_id == cake.id
    assert row.first_response_due_at == sh("2026-11-23 10:10")
    assert (await setup.sla(plain)).policy_id == setup.policy.id
    # A priority change keeps the template's policy; its urgent targets apply from now on.
    await setup.update(from_template, sh("2026-11-23 10:01"), priority="urgent")
    row = await setup.sla(from_template)
    assert row.policy_id == cake.id
    assert row.first_response_due_at == sh("2026-11-23 10:03")
    # Switched off, the template's policy no longer applies: the conditions choose.
    async with runtime.db.uow(setup.tenant_id) as uow:
        await sla.replace_policy(
            uow,
            setup.admin.actor,
            cake.id,
            {
                "name": "蛋糕订单",
                "position": 5,
                "active": False,
                "targets": {"normal": {"first_response": 10, "resolution": 120}},
            },
        )
    later = await setup.create(sh("2026-11-23 11:00"), template_id=template_id)
    assert (await setup.sla(later)).policy_id == setup.policy.id
