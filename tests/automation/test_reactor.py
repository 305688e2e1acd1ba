"""Trigger rules run by the reactor inside the unit of work that changed the ticket: through the API,
in order, with stop processing, the loop guard, counters, and all or nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from huiliu.auth.domain import Actor, ActorKind, DataScope
from huiliu.automation.domain import EventType
from huiliu.automation.models import Rule
from huiliu.automation.reactor import TriggerReactor, previous_values, trigger_reactor, triggering_event
from huiliu.core.events import DomainEvent
from huiliu.tickets import service as tickets
from huiliu.tickets.models import Ticket, TicketEvent
from tests.factories import Member, make_member, make_team, make_tenant, make_ticket

RULES = "/api/v1/rules"


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


async def add_rule(client: httpx.AsyncClient, admin: Member, **definition: Any) -> dict[str, Any]:
    body = {"kind": "trigger", "on": ["ticket.created"], **definition}
    response = await client.post(RULES, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def post_ticket(client: httpx.AsyncClient, admin: Member, **fields: Any) -> httpx.Response:
    return await client.post("/api/v1/tickets", json={"title": "打印机卡纸", **fields}, headers=admin.headers)


async def ticket_row(runtime: Any, tenant: Any, ticket_id: Any) -> Ticket:
    async with runtime.db.read(tenant.id) as session:
        ticket = await session.get(Ticket, uuid.UUID(str(ticket_id)))
        assert ticket is not None
        return ticket


async def rule_row(runtime: Any, tenant: Any, rule_id: str) -> Rule:
    async with runtime.db.read(tenant.id) as session:
        rule = await session.get(Rule, uuid.UUID(rule_id))
        assert rule is not None
        return rule


async def events(runtime: Any, tenant: Any, ticket_id: Any) -> list[TicketEvent]:
    async with runtime.db.read(tenant.id) as session:
        rows = await session.execute(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == uuid.UUID(str(ticket_id)))
            .order_by(TicketEvent.created_at, TicketEvent.id)
        )
        return list(rows.scalars().all())


def fired(rows: list[TicketEvent]) -> list[str]:
    return [row.actor_name.removeprefix("rule:") for row in rows if row.type == "ticket.rule_fired"]


async def test_refund_preset_assigns_the_after_sales_team_on_create(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member
) -> None:
    team = await make_team(runtime, tenant, "售后组")
    installed = await client.post(f"{RULES}/presets", headers=admin.headers)
    assert installed.status_code in (200, 201), installed.text
    response = await post_ticket(client, admin, title="订单A123 我要退款")
    assert response.status_code == 201, response.text
    created = response.json()
    row = await ticket_row(runtime, tenant, created["id"])
    assert row.team_id == team.id
    rows = await events(runtime, tenant, created["id"])
    assigned = [row for row in rows if row.type == "ticket.assigned"]
    assert len(assigned) == 1 and assigned[0].actor_name.startswith("rule:")
    assert "退款" in (assigned[0].reason or "")
    [rule] = [
        r
        for r in (await client.get(RULES, headers=admin.headers)).json()["items"]
        if r["kind"] == "trigger" and r["on"] == ["ticket.created"]
    ]
    assert rule["fired_count"] == 1 and rule["last_fired_at"] is not None
    # A ticket without the keyword is left alone.
    other = (await post_ticket(client, admin, title="打印机卡纸")).json()
    assert (await ticket_row(runtime, tenant, other["id"])).team_id is None
    assert (await rule_row(runtime, tenant, rule["id"])).fired_count == 1


async def test_rules_run_in_order_and_stop_processing_ends_the_run(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member
) -> None:
    first = await add_rule(
        client, admin, name="first", position=10, actions=[{"type": "add_tag", "tag": "a"}]
    )
    second = await add_rule(
        client,
        admin,
        name="second",
        position=20,
        stop_processing=True,
        conditions={"all": [{"field": "tags", "op": "contains", "value": "a"}]},
        actions=[{"type": "add_tag", "tag": "b"}],
    )
    third = await add_rule(
        client, admin, name="third", position=30, actions=[{"type": "add_tag", "tag": "c"}]
    )
    created = (await post_ticket(client, admin)).json()
    row = await ticket_row(runtime, tenant, created["id"])
    assert row.tags == ["a", "b"]
    assert fired(await events(runtime, tenant, created["id"])) == ["first", "second"]
    counts = [(await rule_row(runtime, tenant, r["id"])).fired_count for r in (first, second, third)]
    assert counts == [1, 1, 0]


async def test_a_rule_never_fires_again_on_the_consequences_of_its_own_actions(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member
) -> None:
    raiser = await add_rule(
        client,
        admin,
        name="raise on any update",
        on=["ticket.updated"],
        actions=[{"type": "escalate", "raise_priority": True, "to_team_lead": False}],
    )
    follower = await add_rule(
        client,
        admin,
        name="tag priority changes",
        on=["ticket.updated"],
        conditions={"all": [{"field": "priority", "op": "changed"}]},
        actions=[{"type": "add_tag", "tag": "priority-changed"}],
    )
    created = (await post_ticket(client, admin, priority="low")).json()
    response = await client.patch(
        f"/api/v1/tickets/{created['id']}", json={"title": "打印机卡纸（复现）"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    row = await ticket_row(runtime, tenant, created["id"])
    # Without the guard the raise would chain low → normal → high → urgent.
    assert row.priority == "normal"
    assert row.tags == ["priority-changed"]
    assert (await rule_row(runtime, tenant, raiser["id"])).fired_count == 1
    assert (await rule_row(runtime, tenant, follower["id"])).fired_count >= 1
    assert fired(await events(runtime, tenant, created["id"]))[0] == "raise on any update"


async def test_changed_operators_see_the_previous_values(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member
) -> None:
    await add_rule(
        client,
        admin,
        name="urgent now",
        on=["ticket.updated"],
        conditions={"all": [{"field": "priority", "op": "changed_to", "value": "urgent"}]},
        actions=[{"type": "add_internal_note", "body": "变为紧急：{{ticket.title}}"}],
    )
    created = (await post_ticket(client, admin)).json()
    other = await client.patch(
        f"/api/v1/tickets/{created['id']}", json={"category": "billing"}, headers=admin.headers
    )
    assert other.status_code == 200, other.text
    assert fired(await events(runtime, tenant, created["id"])) == []
    await client.patch(f"/api/v1/tickets/{created['id']}", json={"priority": "urgent"}, headers=admin.headers)
    assert fired(await events(runtime, tenant, created["id"])) == ["urgent now"]


async def test_customer_messages_run_message_received_rules(runtime: Any, tenant: Any, admin: Member) -> None:
    async with runtime.db.uow(tenant.id) as uow:
        from huiliu.automation.service import create_rule

        await create_rule(
            uow,
            admin.actor,
            {
                "name": "customer wrote",
                "kind": "trigger",
                "on": ["message.received"],
                "conditions": {"all": [{"field": "last_message", "op": "contains", "value": ["投诉"]}]},
                "actions": [{"type": "set_field", "field": "priority", "value": "high"}],
            },
            rule_id=uuid.uuid4(),
        )
    ticket = await make_ticket(runtime, admin, customer={"name": "张女士", "phone": "13800000001"})
    customer = Actor(
        ActorKind.CUSTOMER,
        tenant.id,
        ticket["customer_id"],
        "张女士",
        frozenset({"ticket.reply"}),
        DataScope.ALL,
    )
    async with runtime.db.uow(tenant.id) as uow:
        await tickets.add_message(uow, admin.actor, ticket["id"], "我们在处理", public=True)
    assert (await ticket_row(runtime, tenant, ticket["id"])).priority == "normal"
    async with runtime.db.uow(tenant.id) as uow:
        await tickets.add_message(uow, customer, ticket["id"], "我要投诉", public=True)
    assert (await ticket_row(runtime, tenant, ticket["id"])).priority == "high"


async def test_a_failing_rule_rolls_back_the_change_that_triggered_it(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member
) -> None:
    await add_rule(client, admin, name="tag", position=1, actions=[{"type": "add_tag", "tag": "t"}])
    # A scenario the rule definition allows but the ticket refuses.
    await add_rule(
        client,
        admin,
        name="bad",
        position=2,
        actions=[{"type": "set_field", "field": "scenario", "value": "vip"}],
    )
    response = await post_ticket(client, admin, title="独一无二的标题-rollback")
    assert response.status_code == 422, response.text
    assert "bad" in response.json()["detail"]
    async with runtime.db.read(tenant.id) as session:
        rows = (await session.execute(select(Ticket).where(Ticket.title == "独一无二的标题-rollback"))).all()
    assert rows == []


async def test_rule_writes_reach_the_reactor_at_once(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member
) -> None:
    reactor = trigger_reactor(runtime.db)
    # Event triggers run right after classification (decision 0042), before workflows, routing and SLA.
    assert isinstance(reactor, TriggerReactor) and runtime.db.reactors[1] is reactor
    assert runtime.db.reactors[0].name == "classification"
    assert not await reactor.applies(runtime.db, tenant.id)
    rule = await add_rule(client, admin, name="t", actions=[{"type": "add_tag", "tag": "x"}])
    assert await reactor.applies(runtime.db, tenant.id)
    await client.patch(f"{RULES}/{rule['id']}", json={"active": False}, headers=admin.headers)
    assert not await reactor.applies(runtime.db, tenant.id)
    created = (await post_ticket(client, admin)).json()
    assert (await ticket_row(runtime, tenant, created["id"])).tags == []


def _event(type_: str, **data: Any) -> DomainEvent:
    return DomainEvent(type=type_, tenant_id=uuid.uuid4(), data={"ticket": {"id": str(uuid.uuid4())}, **data})


def test_domain_events_map_to_triggering_events() -> None:
    assert triggering_event(_event("ticket.created")).type is EventType.TICKET_CREATED  # type: ignore[union-attr]
    updated = triggering_event(
        _event(
            "ticket.assigned",
            changes={"team_id": {"from": None, "to": "t"}, "assignee_id": {"from": "a", "to": None}},
        )
    )
    assert updated is not None and updated.type is EventType.TICKET_UPDATED
    assert updated.previous == {"team": None, "assignee": "a"}
    customer = _event("ticket.message_added", message={"author_kind": "customer"})
    agent = _event("ticket.message_added", message={"author_kind": "agent"})
    assert triggering_event(customer).type is EventType.MESSAGE_RECEIVED  # type: ignore[union-attr]
    assert triggering_event(agent) is None
    assert triggering_event(_event("ticket.rated")).type is EventType.RATING_GIVEN  # type: ignore[union-attr]
    assert triggering_event(_event("ticket.note_added")) is None
    assert previous_values(
        {
            "fields": {"from": {"a": 1, "b": 2}, "to": {"a": 1, "b": 3}},
            "tags": {"from": ["x"], "to": []},
            "updated_at": {"from": "x", "to": "y"},
        }
    ) == {"fields.b": 2, "tags": ["x"]}


async def test_a_refund_message_through_intake_reaches_after_sales(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, admin: Member
) -> None:
    from tests.auth.conftest import bearer, create_key
    from tests.intake.test_pipeline import make_entry_point

    team = await make_team(runtime, tenant, "售后")
    assert (await client.post(f"{RULES}/presets", headers=admin.headers)).status_code in (200, 201)
    key = bearer(await create_key(client, admin, "tickets:write"))
    entry_point = await make_entry_point(runtime, tenant.id, channel="douyin")
    batch = {
        "messages": [
            {
                "entry_point_id": str(entry_point.id),
                "external_id": f"dy-{uuid.uuid4().hex[:10]}",
                "sender": {"name": "李先生", "identities": [{"kind": "phone", "value": phone}]},
                "text": text,
            }
            for phone, text in (("13912340001", "蛋糕压坏了，我要退款"), ("13912340002", "什么时候发货"))
        ]
    }
    response = await client.post("/api/v1/intake/messages:batch", json=batch, headers=key)
    assert response.status_code in (200, 207), response.text
    refund, question = (uuid.UUID(item["ticket_id"]) for item in response.json()["results"])
    assert (await ticket_row(runtime, tenant, refund)).team_id == team.id
    assert (await ticket_row(runtime, tenant, question)).team_id is None
