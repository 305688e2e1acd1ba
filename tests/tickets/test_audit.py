"""Audit completeness: replaying a ticket's events over its state at creation gives its final row,
and every audit event has exactly one outbox event row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from huiliu.auth.domain import Actor, ActorKind, DataScope
from huiliu.core import clock
from huiliu.core.outbox import KIND_EVENT, OutboxRow
from huiliu.tickets import service
from huiliu.tickets.domain import Priority, Status
from huiliu.tickets.models import Message, TicketEvent
from huiliu.tickets.schemas import TicketUpdate
from tests.factories import make_member, make_team, make_ticket
from tests.tickets.conftest import call, ticket_state

START = datetime(2025, 11, 11, 0, 0, tzinfo=UTC)


def parse(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return value


async def history(runtime, tenant_id, ticket_id):
    async with runtime.db.read(tenant_id) as session:
        events = (
            (
                await session.execute(
                    select(TicketEvent)
                    .where(TicketEvent.ticket_id == ticket_id)
                    .order_by(TicketEvent.created_at, TicketEvent.id)
                )
            )
            .scalars()
            .all()
        )
        outbox = (
            (await session.execute(select(OutboxRow).where(OutboxRow.kind == KIND_EVENT))).scalars().all()
        )
        messages = {
            m.id: m
            for m in (await session.execute(select(Message).where(Message.ticket_id == ticket_id))).scalars()
        }
    rows = [row for row in outbox if row.payload["data"]["ticket"]["id"] == str(ticket_id)]
    return list(events), rows, messages


def replay(
    initial: dict[str, Any], events: list[TicketEvent], payloads: dict[uuid.UUID, Any], messages: dict
) -> dict[str, Any]:
    """The row the events say the ticket should have: field changes, plus the columns a message or a
    parent link sets by definition."""
    state = dict(initial)
    for event in events:
        for name, change in event.changes.items():
            assert name in state, f"{event.type} changes unknown column {name}"
            assert parse(change["from"]) == state[name], (event.type, name)
            state[name] = parse(change["to"])
        data = payloads[event.id]
        if event.type in {"ticket.message_added", "ticket.note_added"}:
            message = messages[uuid.UUID(data["message"]["id"])]
            state["last_message_at"] = message.created_at
            if message.public and message.author_kind == "agent" and state["first_response_at"] is None:
                state["first_response_at"] = message.created_at
        if event.type == "ticket.linked" and data["link"]["kind"] == "parent":
            state["parent_id"] = uuid.UUID(data["link"]["other_id"])
    return state


async def test_every_change_of_a_ticket_is_explained_by_its_events(runtime, client, tenant, admin):
    team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team)
    moments = iter(START + timedelta(minutes=n) for n in range(100))

    async def step(actor, function, *args, **kwargs):
        with clock.at(next(moments)):
            return await call(runtime, actor, function, *args, **kwargs)

    with clock.at(next(moments)):
        ticket = await make_ticket(runtime, admin, customer={"phone": "13500000000"}, tags=["初始"])
        related = await make_ticket(runtime, admin, title="同类问题")
        parent = await make_ticket(runtime, admin, title="批量故障")
        duplicate = await make_ticket(runtime, admin, title="重复提交")
    tid = ticket["id"]
    initial = await ticket_state(runtime, tenant.id, tid)
    customer = Actor(
        ActorKind.CUSTOMER,
        tenant.id,
        ticket["customer_id"],
        "客户",
        frozenset({"ticket.reply"}),
        DataScope.ALL,
    )
    await step(
        admin.actor, service.update_ticket, tid, TicketUpdate(title="打印机彻底坏了", priority=Priority.HIGH)
    )
    await step(
        admin.actor, service.assign, tid, team_id=team.id, assignee_id=agent.user.id, reason="技能匹配"
    )
    await step(agent.actor, service.change_tags, tid, add=["硬件"], remove=["初始"])
    await step(agent.actor, service.add_message, tid, "内部：联系厂商", public=False)
    await step(agent.actor, service.add_message, tid, "您好，我们来处理", public=True)
    await step(agent.actor, service.change_status, tid, Status.PENDING, "等客户拍照")
    await step(customer, service.add_message, tid, "照片已发", public=True)
    await step(agent.actor, service.change_status, tid, Status.ON_HOLD)
    await step(agent.actor, service.change_status, tid, Status.RESOLVED)
    await step(customer, service.add_message, tid, "又坏了", public=True)
    await step(agent.actor, service.change_status, tid, Status.CLOSED)
    await step(admin.actor, service.reopen, tid, "回访发现未解决")
    await step(admin.actor, service.link, tid, related["id"], "related")
    await step(admin.actor, service.link, tid, parent["id"], "parent")
    await step(admin.actor, service.merge, duplicate["id"], tid)
    await step(
        admin.actor, service.update_ticket, tid, TicketUpdate(fields={"sn": "PRN-001"}, category="hardware")
    )
    await step(agent.actor, service.change_status, tid, Status.RESOLVED, "换新机")
    final = await ticket_state(runtime, tenant.id, tid)

    for ticket_id, start in ((tid, initial), (duplicate["id"], None)):
        events, outbox, messages = await history(runtime, tenant.id, ticket_id)
        assert len(events) == len(outbox) and {e.id for e in events} == {row.event_id for row in outbox}
        assert events[0].type == "ticket.created"
        if start is None:
            continue
        payloads = {row.event_id: row.payload["data"] for row in outbox}
        expected = replay(start, events[1:], payloads, messages)
        explained_times = {e.created_at for e in events}
        assert final["updated_at"] in explained_times
        assert {k: v for k, v in final.items() if k != "updated_at"} == {
            k: v for k, v in expected.items() if k != "updated_at"
        }
        assert final["status"] == "resolved" and final["reopen_count"] == 2
        assert final["parent_id"] == parent["id"] and final["tags"] == ["硬件"]
        types = [e.type for e in events]
        assert set(types) == {
            "ticket.created",
            "ticket.updated",
            "ticket.assigned",
            "ticket.tags_changed",
            "ticket.note_added",
            "ticket.message_added",
            "ticket.status_changed",
            "ticket.reopened",
            "ticket.linked",
            "ticket.merged",
        }
    merged = await ticket_state(runtime, tenant.id, duplicate["id"])
    assert merged["merged_into_id"] == tid and merged["status"] == "closed"
