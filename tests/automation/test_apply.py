"""Applying planned actions through the ticket service: every action is an audit event naming its
origin, notifications and webhook calls are outbox rows, and one failing action applies nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from huiliu.automation.apply import (
    KIND_NOTIFICATION,
    KIND_RULE_WEBHOOK,
    Origin,
    apply_actions,
    compile_actions,
    plan_actions,
)
from huiliu.automation.domain import (
    AddInternalNote,
    AddTag,
    Assign,
    CallWebhook,
    CreateSubtask,
    Escalate,
    Notify,
    RemoveTag,
    RuleDefinitionError,
    SendReplyTemplate,
    SetField,
    TicketFacts,
)
from huiliu.core.errors import ValidationFailed
from huiliu.core.outbox import OutboxRow
from huiliu.tickets.models import Message, Ticket, TicketEvent
from tests.factories import Member, make_member, make_team, make_tenant, make_ticket

ORIGIN = Origin("rule", "r-refund", "退款转售后")
REASON = "why"


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


async def apply(runtime: Any, tenant: Any, ticket_id: uuid.UUID, actions: list[Any]) -> list[Any]:
    async with runtime.db.uow(tenant.id) as uow:
        applied = await apply_actions(uow, ticket_id, actions, origin=ORIGIN)
        await uow.commit()
    return applied


async def ticket_row(runtime: Any, tenant: Any, ticket_id: uuid.UUID) -> Ticket:
    async with runtime.db.read(tenant.id) as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


async def events(runtime: Any, tenant: Any, ticket_id: uuid.UUID) -> list[TicketEvent]:
    async with runtime.db.read(tenant.id) as session:
        rows = await session.execute(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.created_at, TicketEvent.id)
        )
        return list(rows.scalars().all())


async def outbox(runtime: Any, tenant: Any, kind: str) -> list[OutboxRow]:
    async with runtime.db.read(tenant.id) as session:
        rows = await session.execute(select(OutboxRow).where(OutboxRow.kind == kind))
        return list(rows.scalars().all())


def by_rule(rows: list[TicketEvent]) -> list[TicketEvent]:
    return [row for row in rows if row.actor_name == "rule:退款转售后"]


async def test_field_tag_note_and_reply_actions_are_events_naming_the_rule(
    runtime: Any, tenant: Any, admin: Member
) -> None:
    ticket = await make_ticket(runtime, admin, title="我要退款", tags=["old"])
    applied = await apply(
        runtime,
        tenant,
        ticket["id"],
        [
            SetField("priority", "high", "normal", REASON),
            SetField("category", "退款", None, REASON),
            SetField("fields.order_no", "A-1", None, REASON),
            AddTag("退款", REASON),
            RemoveTag("old", REASON),
            AddInternalNote("自动分流", REASON),
            SendReplyTemplate("您好 #{{ticket.number}} {{ticket.title}}", REASON),
        ],
    )
    assert [item.outcome for item in applied] == ["applied"] * 7
    row = await ticket_row(runtime, tenant, ticket["id"])
    assert (row.priority, row.category, row.fields) == ("high", "退款", {"order_no": "A-1"})
    assert row.tags == ["退款"]
    rows = by_rule(await events(runtime, tenant, ticket["id"]))
    types = [row.type for row in rows]
    assert types.count("ticket.updated") == 3
    assert "ticket.tags_changed" in types and "ticket.note_added" in types
    assert "ticket.message_added" in types
    fired = [row for row in rows if row.type == "ticket.rule_fired"]
    assert len(fired) == 1 and "r-refund" in (fired[0].reason or "")
    assert all(row.actor_kind == "system" for row in rows)
    async with runtime.db.read(tenant.id) as session:
        messages = (
            (await session.execute(select(Message).where(Message.ticket_id == ticket["id"]))).scalars().all()
        )
    reply = [m for m in messages if m.public]
    note = [m for m in messages if not m.public]
    assert reply[0].body == f"您好 #{ticket['number']} 我要退款"
    assert note[0].body == "自动分流"


async def test_assign_resolves_team_names_and_preset_keys(runtime: Any, tenant: Any, admin: Member) -> None:
    team = await make_team(runtime, tenant, "售后")
    agent = await make_member(runtime, tenant, "agent", team=team, name="小李")
    ticket = await make_ticket(runtime, admin)
    applied = await apply(runtime, tenant, ticket["id"], [Assign(None, "after_sales", None, REASON)])
    assert applied[0].outcome == "applied"
    assert (await ticket_row(runtime, tenant, ticket["id"])).team_id == team.id
    await apply(runtime, tenant, ticket["id"], [Assign("小李", None, None, REASON)])
    row = await ticket_row(runtime, tenant, ticket["id"])
    assert (row.team_id, row.assignee_id) == (team.id, agent.user.id)
    assigned = [row for row in await events(runtime, tenant, ticket["id"]) if row.type == "ticket.assigned"]
    assert len(assigned) == 2 and all("r-refund" in (row.reason or "") for row in assigned)


async def test_an_unknown_reference_skips_that_action_only(runtime: Any, tenant: Any, admin: Member) -> None:
    ticket = await make_ticket(runtime, admin)
    applied = await apply(
        runtime, tenant, ticket["id"], [Assign(None, "no-such-team", None, REASON), AddTag("x", REASON)]
    )
    assert [item.outcome for item in applied] == ["skipped", "applied"]
    assert "no-such-team" in applied[0].detail
    assert (await ticket_row(runtime, tenant, ticket["id"])).tags == ["x"]


async def test_notify_writes_a_notification_row_with_resolved_recipients(
    runtime: Any, tenant: Any, admin: Member
) -> None:
    team = await make_team(runtime, tenant)
    lead = await make_member(runtime, tenant, "lead", team=team, name="组长")
    agent = await make_member(runtime, tenant, "agent", team=team)
    ticket = await make_ticket(runtime, admin, team_id=str(team.id), assignee_id=str(agent.user.id))
    action = Notify((), ("admin",), True, True, None, ("sms",), "critical", "请处理", REASON)
    applied = await apply(runtime, tenant, ticket["id"], [action])
    assert applied[0].outcome == "applied"
    [row] = await outbox(runtime, tenant, KIND_NOTIFICATION)
    assert set(row.payload["recipients"]) == {str(admin.user.id), str(lead.user.id), str(agent.user.id)}
    assert row.payload["channels"] == ["sms"] and row.payload["severity"] == "critical"
    assert row.payload["message"] == "请处理" and row.payload["origin"]["id"] == "r-refund"
    notified = [row for row in await events(runtime, tenant, ticket["id"]) if row.type == "ticket.notified"]
    assert len(notified) == 1 and notified[0].actor_name == "rule:退款转售后"


async def test_notify_without_anyone_to_tell_is_skipped(runtime: Any, tenant: Any, admin: Member) -> None:
    ticket = await make_ticket(runtime, admin)
    action = Notify((), ("qa",), False, True, None, (), "info", "m", REASON)
    applied = await apply(runtime, tenant, ticket["id"], [action])
    assert applied[0].outcome == "skipped"
    assert await outbox(runtime, tenant, KIND_NOTIFICATION) == []


async def test_subtask_escalate_and_webhook(runtime: Any, tenant: Any, admin: Member) -> None:
    team = await make_team(runtime, tenant)
    qa = await make_team(runtime, tenant, "质检")
    lead = await make_member(runtime, tenant, "lead", team=team)
    ticket = await make_ticket(runtime, admin, team_id=str(team.id))
    applied = await apply(
        runtime,
        tenant,
        ticket["id"],
        [
            CreateSubtask("复盘 #1", "客户不满意", "qa", REASON),
            Escalate("normal", "high", True, None, REASON),
            CallWebhook("https://example.com/hook", {"n": "1"}, REASON),
            CallWebhook("https://example.com/plain", None, REASON),
        ],
    )
    assert [item.outcome for item in applied] == ["applied"] * 4
    row = await ticket_row(runtime, tenant, ticket["id"])
    assert (row.priority, row.assignee_id) == ("high", lead.user.id)
    async with runtime.db.read(tenant.id) as session:
        [child] = (await session.execute(select(Ticket).where(Ticket.parent_id == row.id))).scalars().all()
    assert (child.title, child.team_id, child.channel) == ("复盘 #1", qa.id, "internal")
    hooks = sorted(await outbox(runtime, tenant, KIND_RULE_WEBHOOK), key=lambda r: r.payload["url"])
    assert hooks[0].payload["url"] == "https://example.com/hook" and hooks[0].payload["body"] == {"n": "1"}
    assert hooks[1].payload["body"]["data"]["ticket"]["id"] == str(ticket["id"])
    assert hooks[1].payload["body"]["data"]["origin"]["name"] == "退款转售后"


async def test_a_failing_action_applies_nothing(runtime: Any, tenant: Any, admin: Member) -> None:
    ticket = await make_ticket(runtime, admin)
    before = await events(runtime, tenant, ticket["id"])
    with pytest.raises(ValidationFailed, match="r-refund"):
        await apply(
            runtime,
            tenant,
            ticket["id"],
            [
                AddTag("first", REASON),
                SetField("category", "x", None, REASON),
                SetField("priority", "bogus", "normal", REASON),  # the write path refuses it
            ],
        )
    row = await ticket_row(runtime, tenant, ticket["id"])
    assert row.tags == [] and row.category is None
    assert len(await events(runtime, tenant, ticket["id"])) == len(before)


def test_stored_action_lists_compile_and_plan_for_a_ticket() -> None:
    facts = TicketFacts(id="t1", number=7, title="卡纸", priority="normal", tags=("a",))
    planned = plan_actions(
        [
            {"type": "add_tag", "tag": "a"},  # already there: left out
            {"type": "escalate", "raise_priority": True, "to_team_lead": False},
            {"type": "escalate", "raise_priority": True, "to_team_lead": False},
            {"type": "notify", "assignee": True, "message": "#{{ticket.number}} {{rule.name}}"},
        ],
        facts,
        origin=Origin("sla_tier", "tier-75", "75 %"),
    )
    assert [action.type for action in planned] == ["escalate", "escalate", "notify"]
    assert [action.priority_to for action in planned[:2]] == ["high", "urgent"]  # type: ignore[union-attr]
    assert planned[2].message == "#7 75 %"  # type: ignore[union-attr]
    with pytest.raises(RuleDefinitionError) as caught:
        compile_actions([{"type": "add_tag"}, {"type": "nope"}])
    assert [error["loc"][0] for error in caught.value.errors] == [0, 1]


def test_an_origin_is_a_rule_or_an_sla_tier() -> None:
    with pytest.raises(ValueError):
        Origin("robot", "x", "y")
    assert Origin("sla_tier", "t", "100 %").actor_name == "sla_tier:100 %"


async def test_assign_through_a_routing_policy_and_a_missing_policy_skips(
    runtime: Any, tenant: Any, admin: Member
) -> None:
    from huiliu.routing import service as routing

    team = await make_team(runtime, tenant, "售后")
    agent = await make_member(runtime, tenant, "agent", team=team, name="小周")
    async with runtime.db.uow(tenant.id) as uow:
        await routing.put_profile(uow, admin.actor, agent.user.id, {"presence": "online"})
    async with runtime.db.uow(tenant.id) as uow:
        await routing.create_policy(
            uow, admin.actor, {"name": "售后轮询", "definition": {"strategy": "least_loaded"}}
        )
    ticket = await make_ticket(runtime, admin)
    applied = await apply(runtime, tenant, ticket["id"], [Assign(None, "售后", "售后轮询", REASON)])
    assert applied[0].outcome == "applied" and "售后轮询" in applied[0].detail
    row = await ticket_row(runtime, tenant, ticket["id"])
    assert (row.team_id, row.assignee_id) == (team.id, agent.user.id)
    assigned = [r for r in await events(runtime, tenant, ticket["id"]) if r.type == "ticket.assigned"]
    assert assigned[-1].actor_name == "rule:退款转售后"
    missing = await apply(runtime, tenant, ticket["id"], [Assign(None, None, "没有这个策略", REASON)])
    assert missing[0].outcome == "skipped" and "没有这个策略" in missing[0].detail
