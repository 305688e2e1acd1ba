"""Time-based rules: the ``rules`` timer is set to the instant a time condition turns true, the sweep's
handler fires the automation once per ticket and anchor, and the 24 h preset escalates and texts the
team lead (time travel with time-machine)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from huiliu.automation import service as rules
from huiliu.automation.apply import KIND_NOTIFICATION
from huiliu.automation.domain import TicketFacts, compile_rules
from huiliu.automation.domain.schedule import anchor_key, next_instant, time_thresholds
from huiliu.automation.models import Rule, RuleRun
from huiliu.automation.reactor import TIMER_KIND
from huiliu.core import clock
from huiliu.core.outbox import OutboxRow
from huiliu.tickets import service as tickets
from huiliu.tickets.models import Ticket, TicketEvent
from huiliu.tickets.schemas import TicketCreate
from huiliu.timers.service import Claim, get_timer, handle_claim
from tests.factories import Member, make_member, make_team, make_tenant

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


async def add_rule(runtime: Any, admin: Member, definition: dict[str, Any]) -> uuid.UUID:
    rule_id = uuid.uuid4()
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        await rules.create_rule(uow, admin.actor, {"kind": "automation", **definition}, rule_id=rule_id)
    return rule_id


async def create_ticket(runtime: Any, admin: Member, at: datetime, **fields: Any) -> uuid.UUID:
    with clock.at(at):
        async with runtime.db.uow(admin.actor.tenant_id) as uow:
            row = await tickets.create_ticket(uow, admin.actor, TicketCreate(title="打印机卡纸", **fields))
    ticket_id: uuid.UUID = row["id"]
    return ticket_id


async def timer(runtime: Any, tenant: Any, ticket_id: uuid.UUID) -> datetime | None:
    async with runtime.db.uow(tenant.id) as uow:
        value = await get_timer(uow, ticket_id, TIMER_KIND)
    return None if value is None else clock.ensure_utc(value)


async def sweep_ticket(runtime: Any, tenant: Any, ticket_id: uuid.UUID, now: datetime) -> None:
    """What the sweep does with this ticket's due timer (the whole-database sweep would also claim
    other tests' timers)."""
    assert await handle_claim(runtime.db, Claim(tenant.id, ticket_id, TIMER_KIND), now) is True


async def ticket_row(runtime: Any, tenant: Any, ticket_id: uuid.UUID) -> Ticket:
    async with runtime.db.read(tenant.id) as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


async def count(runtime: Any, tenant: Any, model: Any, *where: Any) -> int:
    async with runtime.db.read(tenant.id) as session:
        query = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(query)).scalar_one())


async def test_the_24h_preset_escalates_and_texts_the_lead_once(
    client: Any, runtime: Any, tenant: Any, admin: Member
) -> None:
    team = await make_team(runtime, tenant, "一线")
    lead = await make_member(runtime, tenant, "lead", team=team, name="王组长")
    agent = await make_member(runtime, tenant, "agent", team=team)
    installed = await client.post("/api/v1/rules/presets", headers=admin.headers)
    assert installed.status_code in (200, 201), installed.text
    ticket_id = await create_ticket(runtime, admin, T0, team_id=team.id, assignee_id=agent.user.id)
    assert await timer(runtime, tenant, ticket_id) == T0 + timedelta(hours=24)

    with time_machine.travel(T0 + timedelta(hours=23), tick=False):
        await sweep_ticket(runtime, tenant, ticket_id, clock.utcnow())  # early: nothing fires
    assert (await ticket_row(runtime, tenant, ticket_id)).priority == "normal"
    assert await timer(runtime, tenant, ticket_id) == T0 + timedelta(hours=24)

    with time_machine.travel(T0 + timedelta(hours=24, seconds=5), tick=False):
        await sweep_ticket(runtime, tenant, ticket_id, clock.utcnow())
    row = await ticket_row(runtime, tenant, ticket_id)
    assert (row.priority, row.assignee_id, row.team_id) == ("high", lead.user.id, team.id)
    assert "超24小时升级" in row.tags
    async with runtime.db.read(tenant.id) as session:
        [notification] = (
            (await session.execute(select(OutboxRow).where(OutboxRow.kind == KIND_NOTIFICATION)))
            .scalars()
            .all()
        )
        [rule] = (
            await session.execute(select(Rule).where(Rule.preset_key == "preset-unhandled-24h"))
        ).scalars()
    assert notification.payload["recipients"] == [str(lead.user.id)]
    assert notification.payload["channels"] == ["sms"] and notification.payload["severity"] == "critical"
    assert f"#{row.number}" in notification.payload["message"]
    assert rule.fired_count == 1
    assert await count(runtime, tenant, RuleRun, RuleRun.ticket_id == ticket_id) == 1
    assert (
        await count(
            runtime,
            tenant,
            TicketEvent,
            TicketEvent.ticket_id == ticket_id,
            TicketEvent.type == "ticket.notified",
        )
        == 1
    )
    # Fired for this anchor: no timer left, and a later sweep changes nothing.
    assert await timer(runtime, tenant, ticket_id) is None
    with time_machine.travel(T0 + timedelta(hours=30), tick=False):
        await sweep_ticket(runtime, tenant, ticket_id, clock.utcnow())
    assert (await ticket_row(runtime, tenant, ticket_id)).priority == "high"
    assert await count(runtime, tenant, RuleRun, RuleRun.ticket_id == ticket_id) == 1
    # The dry run sees the record as the sweep does.
    dry = await client.post(
        "/api/v1/rules/dry-run", json={"ticket_id": str(ticket_id), "event": "timer"}, headers=admin.headers
    )
    assert dry.status_code == 200, dry.text
    [outcome] = [item for item in dry.json()["outcomes"] if item["rule_id"] == str(rule.id)]
    assert outcome["outcome"] == "already_fired"


async def test_an_agent_reply_before_the_deadline_keeps_the_rule_quiet(
    runtime: Any, tenant: Any, admin: Member
) -> None:
    await add_rule(
        runtime,
        admin,
        {
            "name": "unanswered 4h",
            "conditions": {
                "all": [
                    {"field": "hours_since_created", "op": "gte", "value": 4},
                    {"field": "agent_replied", "op": "eq", "value": False},
                ]
            },
            "actions": [{"type": "add_tag", "tag": "late"}],
        },
    )
    ticket_id = await create_ticket(runtime, admin, T0)
    with clock.at(T0 + timedelta(hours=1)):
        async with runtime.db.uow(tenant.id) as uow:
            await tickets.add_message(uow, admin.actor, ticket_id, "您好，正在处理", public=True)
    await sweep_ticket(runtime, tenant, ticket_id, T0 + timedelta(hours=4))
    assert (await ticket_row(runtime, tenant, ticket_id)).tags == []
    assert await count(runtime, tenant, RuleRun, RuleRun.ticket_id == ticket_id) == 0


async def test_a_rule_on_the_last_customer_message_fires_once_per_message(
    runtime: Any, tenant: Any, admin: Member
) -> None:
    rule_id = await add_rule(
        runtime,
        admin,
        {
            "name": "customer waiting 2h",
            "conditions": {"all": [{"field": "hours_since_last_customer_message", "op": "gt", "value": 2}]},
            "actions": [{"type": "add_internal_note", "body": "客户已等待超过 2 小时"}],
        },
    )
    ticket_id = await create_ticket(runtime, admin, T0, customer={"name": "李先生", "phone": "13900000002"})
    assert await timer(runtime, tenant, ticket_id) is None  # no customer message yet: nothing to wait for
    customer_id = (await ticket_row(runtime, tenant, ticket_id)).customer_id
    from huiliu.auth.domain import Actor, ActorKind, DataScope

    customer = Actor(
        ActorKind.CUSTOMER, tenant.id, customer_id, "李先生", frozenset({"ticket.reply"}), DataScope.ALL
    )
    for hour in (1, 10):
        sent = T0 + timedelta(hours=hour)
        with clock.at(sent):
            async with runtime.db.uow(tenant.id) as uow:
                await tickets.add_message(uow, customer, ticket_id, "还没好吗", public=True)
        due = await timer(runtime, tenant, ticket_id)
        assert due == sent + timedelta(hours=2, seconds=1)
        await sweep_ticket(runtime, tenant, ticket_id, due)
        await sweep_ticket(runtime, tenant, ticket_id, due + timedelta(hours=1))
    assert await count(runtime, tenant, RuleRun, RuleRun.rule_id == rule_id) == 2
    notes = await count(
        runtime,
        tenant,
        TicketEvent,
        TicketEvent.ticket_id == ticket_id,
        TicketEvent.type == "ticket.note_added",
    )
    assert notes == 2


def test_thresholds_anchors_and_the_next_instant() -> None:
    rule_set = compile_rules(
        [
            {
                "id": "a",
                "name": "a",
                "kind": "automation",
                "conditions": {
                    "any": [
                        {"field": "hours_since_created", "op": "gte", "value": 24},
                        {"not": {"field": "hours_since_status_entered", "op": "lt", "value": 1}},
                        {"field": "hours_since_last_agent_reply", "op": "in", "value": [3, 5]},
                    ]
                },
                "actions": [{"type": "add_tag", "tag": "x"}],
            },
            {
                "id": "b",
                "name": "b",
                "kind": "automation",
                "conditions": {"field": "hours_since_created", "op": "gt", "value": 2},
                "actions": [{"type": "add_tag", "tag": "y"}],
            },
        ]
    )
    a, b = rule_set.rules
    assert {(t.field, t.hours, t.strict) for t in time_thresholds(a)} == {
        ("hours_since_created", 24.0, False),
        ("hours_since_last_agent_reply", 3.0, False),
        ("hours_since_last_agent_reply", 5.0, False),
    }
    facts = TicketFacts(now=T0 + timedelta(hours=1), created_at=T0, status_entered_at=T0)
    assert next_instant(rule_set.rules, facts) == T0 + timedelta(hours=2, seconds=1)
    fired_b = TicketFacts(now=T0 + timedelta(hours=3), created_at=T0, automations_fired=frozenset({"b"}))
    assert next_instant(rule_set.rules, fired_b) == T0 + timedelta(hours=24)
    assert next_instant(rule_set.rules, TicketFacts(now=T0 + timedelta(days=2), created_at=T0)) is None
    assert anchor_key(b, facts) == f"created_at={T0.isoformat()}"
    assert anchor_key(a, facts).count("=") == 3


async def test_a_rule_on_the_sla_percentage_fires_when_half_the_target_is_used(
    client: Any, runtime: Any, tenant: Any, admin: Member
) -> None:
    office = {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = await client.post(
        "/api/v1/sla/calendars",
        json={"name": "上海", "timezone": "Asia/Shanghai", "hours": office, "is_default": True},
        headers=admin.headers,
    )
    assert calendar.status_code == 201, calendar.text
    policy = await client.post(
        "/api/v1/sla/policies",
        json={
            "name": "标准",
            "conditions": [],
            "targets": {"normal": {"first_response": 60, "resolution": 480}},
            "tiers": [],
        },
        headers=admin.headers,
    )
    assert policy.status_code == 201, policy.text
    await add_rule(
        runtime,
        admin,
        {
            "name": "half of the first response",
            "conditions": {"all": [{"field": "sla.first_response_percent", "op": "gte", "value": 50}]},
            "actions": [{"type": "add_tag", "tag": "sla-half"}],
        },
    )
    opened = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Shanghai
    ticket_id = await create_ticket(runtime, admin, opened)
    # The SLA clocks start after the rules looked: the sweep works the instant out.
    assert await timer(runtime, tenant, ticket_id) == opened
    await sweep_ticket(runtime, tenant, ticket_id, opened)
    half = opened + timedelta(minutes=30)
    assert await timer(runtime, tenant, ticket_id) == half
    await sweep_ticket(runtime, tenant, ticket_id, half - timedelta(minutes=1))
    assert (await ticket_row(runtime, tenant, ticket_id)).tags == []
    await sweep_ticket(runtime, tenant, ticket_id, half)
    assert (await ticket_row(runtime, tenant, ticket_id)).tags == ["sla-half"]


async def test_business_hours_rules_wait_for_the_next_opening(
    runtime: Any, tenant: Any, admin: Member
) -> None:
    await add_rule(
        runtime,
        admin,
        {
            "name": "an hour old, in office hours",
            "conditions": {
                "all": [
                    {"field": "hours_since_created", "op": "gte", "value": 1},
                    {"field": "within_business_hours", "op": "eq", "value": True},
                ]
            },
            "actions": [{"type": "add_tag", "tag": "office"}],
        },
    )
    async with runtime.db.uow(tenant.id) as uow:
        await rules.create_rule(
            uow,
            admin.actor,
            {
                "name": "after hours reply",
                "kind": "trigger",
                "on": ["ticket.created"],
                "conditions": {"all": [{"field": "within_business_hours", "op": "eq", "value": False}]},
                "actions": [{"type": "add_tag", "tag": "after-hours"}],
            },
            rule_id=uuid.uuid4(),
        )
    saturday_night = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    monday_opening = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    ticket_id = await create_ticket(runtime, admin, saturday_night)
    assert (await ticket_row(runtime, tenant, ticket_id)).tags == ["after-hours"]
    assert await timer(runtime, tenant, ticket_id) == saturday_night + timedelta(hours=1)
    await sweep_ticket(runtime, tenant, ticket_id, saturday_night + timedelta(hours=1))
    assert await timer(runtime, tenant, ticket_id) == monday_opening
    await sweep_ticket(runtime, tenant, ticket_id, monday_opening)
    assert (await ticket_row(runtime, tenant, ticket_id)).tags == ["after-hours", "office"]
    tuesday_morning = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
    in_hours = await create_ticket(runtime, admin, tuesday_morning)
    assert (await ticket_row(runtime, tenant, in_hours)).tags == []
