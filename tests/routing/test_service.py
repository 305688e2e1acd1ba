"""``routing.service.route`` end to end: stored policies and agent profiles, presence, shifts, caps,
the fallback chain, the reason recorded on ``ticket.assigned`` and the round-robin position."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from huiliu.core import clock
from huiliu.core import events as ev
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.outbox import OutboxRow
from huiliu.customers.models import Customer
from huiliu.routing import service
from huiliu.runtime import Runtime
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import Status
from tests.routing.helpers import make_desk

# Wednesday 2026-05-06 10:00 in Shanghai.
WEDNESDAY_10 = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
OFFICE = {
    "timezone": "Asia/Shanghai",
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}
NIGHT = {
    "timezone": "Asia/Shanghai",
    "hours": {d: [["18:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


async def test_least_loaded_assigns_and_records_the_reason(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    busy = await desk.agent("忙碌")
    await desk.agent("空闲")
    await desk.ticket(assignee_id=str(busy.user.id))
    policy = await desk.policy({"strategy": "least_loaded"})
    ticket_id = await desk.ticket()

    outcome = await desk.route(ticket_id, policy.id)

    assert outcome.kind == "assign"
    assert desk.name_of(outcome.agent_id) == "空闲"
    assert outcome.team_id == desk.team.id
    assert outcome.applied
    assert outcome.code.startswith("routing.")
    ticket = await desk.load(ticket_id)
    assert desk.name_of(ticket.assignee_id) == "空闲"
    [assigned] = await desk.events(ticket_id, ev.TICKET_ASSIGNED)
    assert assigned.reason == outcome.reason
    assert "least loaded of 2" in assigned.reason
    assert assigned.actor_kind == "system" and assigned.actor_name == "routing"
    async with runtime.db.read(desk.tenant.id) as session:
        row = await session.get(OutboxRow, assigned.id)
    assert row is not None and row.event_type == ev.TICKET_ASSIGNED
    assert row.payload["data"]["reason"] == outcome.reason


async def test_round_robin_rotates_through_the_stored_position(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    for name in ("甲", "乙", "丙"):
        await desk.agent(name)
    policy = await desk.policy({"strategy": "round_robin"}, name="轮询")
    chosen = []
    for minute in range(6):
        with clock.at(WEDNESDAY_10 + timedelta(minutes=minute)):
            ticket_id = await desk.ticket()
            outcome = await desk.route(ticket_id, "轮询")
        chosen.append(desk.name_of(outcome.agent_id))
    # Each agent once per round, the same order both rounds (the position is stored, not in memory).
    assert sorted(chosen[:3]) == ["丙", "乙", "甲"]
    assert chosen[3:] == chosen[:3]
    last = await desk.profile(chosen[-1] or "")
    assert last.last_assigned_at == WEDNESDAY_10 + timedelta(minutes=5)
    assert policy.name == "轮询"


async def test_skills_with_levels_choose_the_qualified_agent(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("普通话", skills={"粤语": 2})
    await desk.agent("粤语好", skills={"粤语": 4, "English": 3})
    policy = await desk.policy({"strategy": "skills", "fallback": [{"strategy": "least_loaded"}]})
    ticket_id = await desk.ticket(fields={"required_skills": {"粤语": 3}})

    outcome = await desk.route(ticket_id, policy.id)

    assert desk.name_of(outcome.agent_id) == "粤语好"
    assert not outcome.fallback
    assert "粤语≥3" in outcome.reason


async def test_region_matches_wider_coverage(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("华北", regions=["华北"])
    await desk.agent("华南", regions=["华南"])
    policy = await desk.policy({"strategy": "region"})
    ticket_id = await desk.ticket(fields={"region": "华南/广东/深圳"})

    outcome = await desk.route(ticket_id, policy.id)

    assert desk.name_of(outcome.agent_id) == "华南"


async def test_vip_goes_to_senior_and_normal_customers_fall_back(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("新人")
    await desk.agent("资深", senior=True, capacity=10)
    policy = await desk.policy({"strategy": "vip_senior", "fallback": [{"strategy": "round_robin"}]})
    vip_ticket = await desk.ticket(customer={"phone": "13800138001", "name": "大客户"})
    async with runtime.db.uow(desk.tenant.id) as uow:
        ticket = await desk.load(vip_ticket)
        customer = await uow.session.get(Customer, ticket.customer_id)
        assert customer is not None
        customer.level = "vip"
        await uow.commit()

    outcome = await desk.route(vip_ticket, policy.id)
    assert desk.name_of(outcome.agent_id) == "资深"
    assert not outcome.fallback

    normal_ticket = await desk.ticket()
    outcome = await desk.route(normal_ticket, policy.id)
    assert outcome.fallback
    assert outcome.steps[0]["outcome"] == "not_applicable"


async def test_familiar_agent_gets_the_customer_again(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("甲")
    familiar = await desk.agent("乙")
    await desk.agent("丙")
    customer = {"phone": "13800138002"}
    await desk.ticket(customer=customer, assignee_id=str(familiar.user.id))
    policy = await desk.policy({"strategy": "familiar_agent", "familiarity_days": 7})
    ticket_id = await desk.ticket(customer=customer)

    outcome = await desk.route(ticket_id, policy.id)

    assert outcome.agent_id == familiar.user.id


async def test_familiar_agent_by_device_serial(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("甲")
    engineer = await desk.agent("工程师")
    await desk.ticket(fields={"device_sn": "SN-7781"}, assignee_id=str(engineer.user.id))
    policy = await desk.policy({"strategy": "familiar_agent"})
    ticket_id = await desk.ticket(fields={"device_sn": "SN-7781"})

    outcome = await desk.route(ticket_id, policy.id)

    assert outcome.agent_id == engineer.user.id
    assert outcome.params.get("via") == "device" or "device" in outcome.reason


async def test_presence_and_shift_filter_agents(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("离线", presence="offline")
    await desk.agent("离开", presence="away")
    await desk.agent("夜班", shift=NIGHT)
    await desk.agent("白班", shift=OFFICE)
    policy = await desk.policy({"strategy": "least_loaded"})
    ticket_id = await desk.ticket()

    with clock.at(WEDNESDAY_10):
        outcome = await desk.route(ticket_id, policy.id)

    assert desk.name_of(outcome.agent_id) == "白班"
    excluded = outcome.steps[0]["excluded"]
    assert excluded == {"offline": 1, "away": 1, "off_shift": 1}


async def test_away_agents_count_when_the_policy_allows_it(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("离开", presence="away")
    policy = await desk.policy({"strategy": "least_loaded", "allow_away": True})
    outcome = await desk.route(await desk.ticket(), policy.id)
    assert desk.name_of(outcome.agent_id) == "离开"


async def test_capacity_cap_then_fallback_chain_to_team_queue(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    full = await desk.agent("满载", capacity=1)
    await desk.ticket(assignee_id=str(full.user.id))
    policy = await desk.policy({"strategy": "round_robin", "fallback": [{"strategy": "least_loaded"}]})
    ticket_id = await desk.ticket()

    outcome = await desk.route(ticket_id, policy.id)

    assert outcome.kind == "team_queue"
    assert outcome.team_id == desk.team.id
    assert outcome.fallback
    assert [step["excluded"] for step in outcome.steps] == [{"at_capacity": 1}, {"at_capacity": 1}]
    ticket = await desk.load(ticket_id)
    assert ticket.assignee_id is None and ticket.team_id == desk.team.id


async def test_unassigned_final_action_records_the_failure_and_keeps_the_assignment(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("离线", presence="offline")
    policy = await desk.policy({"strategy": "least_loaded", "final": "unassigned"})
    ticket_id = await desk.ticket()

    outcome = await desk.route(ticket_id, policy.id)

    assert outcome.kind == "unassigned" and outcome.alert
    [failed] = await desk.events(ticket_id, service.ROUTING_FAILED)
    assert failed.reason == outcome.reason
    assert await desk.events(ticket_id, ev.TICKET_NOTE_ADDED) == []
    assert await desk.events(ticket_id, ev.TICKET_ASSIGNED) == []


async def test_a_policy_asking_for_notes_adds_one_when_nobody_is_found(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("离线", presence="offline")
    policy = await desk.policy({"strategy": "least_loaded", "final": "unassigned", "note_on_failure": True})
    ticket_id = await desk.ticket()

    await desk.route(ticket_id, policy.id)

    assert len(await desk.events(ticket_id, service.ROUTING_FAILED)) == 1
    [note] = await desk.events(ticket_id, ev.TICKET_NOTE_ADDED)
    assert note.actor_name == "routing"


async def test_rerouting_does_not_count_the_ticket_against_its_own_agent(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    only = await desk.agent("唯一", capacity=1)
    ticket_id = await desk.ticket(assignee_id=str(only.user.id))
    policy = await desk.policy({"strategy": "least_loaded"})

    outcome = await desk.route(ticket_id, policy.id)

    assert outcome.agent_id == only.user.id
    assert not outcome.applied


async def test_default_policy_and_reason_prefix(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("甲")
    ticket_id = await desk.ticket()  # before the default policy exists: not routed on creation
    await desk.policy({"strategy": "least_loaded"}, is_default=True)
    async with runtime.db.uow(desk.tenant.id) as uow:
        outcome = await service.route(uow, ticket_id, actor_name="rule:退款", reason_prefix="rule 退款")
        await uow.commit()
    [assigned] = await desk.events(ticket_id, ev.TICKET_ASSIGNED)
    assert assigned.reason == outcome.reason
    assert assigned.reason.startswith("rule 退款: ")
    assert assigned.actor_name == "rule:退款"


async def test_route_refuses_missing_inactive_and_closed(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    await desk.agent("甲")
    ticket_id = await desk.ticket()
    with pytest.raises(NotFound):
        await desk.route(ticket_id)  # no default policy
    with pytest.raises(NotFound):
        await desk.route(ticket_id, "no such policy")
    with pytest.raises(NotFound):
        await desk.route(uuid.uuid4(), (await desk.policy({"strategy": "round_robin"})).id)
    inactive = await desk.policy({"strategy": "round_robin"}, active=False)
    with pytest.raises(Conflict):
        await desk.route(ticket_id, inactive.id)
    active = await desk.policy({"strategy": "round_robin"})
    async with runtime.db.uow(desk.tenant.id) as uow:
        await tickets.change_status(uow, desk.admin.actor, ticket_id, Status.RESOLVED)
    with pytest.raises(Conflict):
        await desk.route(ticket_id, active.id)
    assert await desk.events(ticket_id, ev.TICKET_ASSIGNED) == []


async def test_bad_required_skills_are_a_validation_error(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    policy = await desk.policy({"strategy": "skills"})
    ticket_id = await desk.ticket(fields={"required_skills": {"粤语": 9}})
    with pytest.raises(ValidationFailed):
        await desk.route(ticket_id, policy.id)


async def test_policies_of_another_tenant_are_invisible(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    other = await make_desk(runtime)
    await desk.agent("甲")
    foreign = await other.policy({"strategy": "round_robin"}, name="别家")
    ticket_id = await desk.ticket()
    with pytest.raises(NotFound):
        await desk.route(ticket_id, foreign.id)
    with pytest.raises(NotFound):
        await desk.route(ticket_id, "别家")


async def test_shifts_are_read_in_the_agents_own_time_zone(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    london = {"timezone": "Europe/London", "hours": {"wed": [["09:00", "17:00"]]}}
    await desk.agent("伦敦", shift=london)
    policy = await desk.policy({"strategy": "least_loaded", "final": "unassigned"})

    # 10:00 in Shanghai is 03:00 in London (BST): off shift.
    with clock.at(WEDNESDAY_10):
        early = await desk.route(await desk.ticket(), policy.id)
    # 17:30 in Shanghai is 10:30 in London: on shift.
    with clock.at(WEDNESDAY_10 + timedelta(hours=7, minutes=30)):
        later = await desk.route(await desk.ticket(), policy.id)

    assert early.kind == "unassigned" and early.steps[0]["excluded"] == {"off_shift": 1}
    assert desk.name_of(later.agent_id) == "伦敦"
