"""Ticket use cases: each call's state change, its audit events and its outbox rows — and nothing at
all written when a call fails."""

from __future__ import annotations

import uuid

import pytest

from huiliu.auth.domain import Actor, ActorKind, DataScope
from huiliu.core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from huiliu.tickets import service
from huiliu.tickets.domain import Priority, Status
from huiliu.tickets.schemas import TicketCreate, TicketUpdate
from tests.factories import make_member, make_team, make_tenant, make_ticket
from tests.tickets.conftest import (
    assert_outbox_matches,
    call,
    journal,
    links_of,
    messages_of,
    tags_index,
    ticket_state,
)


def iso(value):
    return value.isoformat().replace("+00:00", "Z")


def customer_actor(tenant_id, customer_id) -> Actor:
    return Actor(
        ActorKind.CUSTOMER, tenant_id, customer_id, "张女士", frozenset({"ticket.reply"}), DataScope.ALL
    )


def reader_actor(admin) -> Actor:
    return Actor(
        ActorKind.API_KEY,
        admin.actor.tenant_id,
        uuid.uuid4(),
        "BI 报表",
        frozenset({"ticket.read"}),
        DataScope.ALL,
    )


async def assert_nothing_written(runtime, log, ticket_id, before):
    written = await log.since()
    assert written.events == [] and written.outbox == []
    if ticket_id is not None:
        assert await ticket_state(runtime, log.tenant_id, ticket_id) == before


# --- create ------------------------------------------------------------------------------------------


async def test_create_records_ticket_created_and_its_outbox_row(runtime, tenant, admin):
    log = await journal(runtime, tenant.id)
    team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team)
    request = TicketCreate(
        title="退款申请",
        description="<p>订单 <b>重复扣款</b></p><script>alert('x')</script>",
        priority=Priority.HIGH,
        customer={"name": "张女士", "phone": "13800138000"},
        category="billing",
        scenario="aftersales",
        channel="wechat_mp",
        team_id=team.id,
        assignee_id=agent.user.id,
        tags=[" 退款 ", "VIP", "退款", ""],
        fields={"order_no": "A123"},
    )
    row = await call(runtime, admin.actor, service.create_ticket, request)
    state = await ticket_state(runtime, tenant.id, row["id"])
    assert state["status"] == "new" and state["priority"] == "high" and state["number"] >= 1
    assert state["description"] == "<p>订单 <b>重复扣款</b></p>"
    assert state["tags"] == ["退款", "VIP"] and await tags_index(runtime, tenant.id, row["id"]) == {
        "退款",
        "VIP",
    }
    assert state["customer_id"] is not None and state["customer_id"] == row["customer_id"]
    assert (state["team_id"], state["assignee_id"]) == (team.id, agent.user.id)
    assert state["fields"] == {"order_no": "A123"} and state["channel"] == "wechat_mp"
    assert state["reopen_count"] == 0 and state["resolved_at"] is None and state["first_response_at"] is None
    written = await log.since()
    assert written.types() == ["ticket.created"]
    [event] = written.events
    assert event.ticket_id == row["id"] and event.reason is None
    assert event.changes == {"status": {"from": None, "to": "new"}}
    assert_outbox_matches(written, admin.actor)
    ticket_data = written.outbox[0].payload["data"]["ticket"]
    assert ticket_data["number"] == state["number"]
    assert ticket_data["customer_id"] == str(state["customer_id"])
    assert ticket_data["team_id"] == str(team.id) and ticket_data["tags"] == ["退款", "VIP"]


async def test_numbers_are_per_tenant_and_increase(runtime, tenant, admin):
    other_tenant = await make_tenant(runtime)
    other_admin = await make_member(runtime, other_tenant)
    numbers = [(await make_ticket(runtime, admin))["number"] for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert (await make_ticket(runtime, other_admin))["number"] == 1


async def test_a_known_phone_reuses_the_customer(runtime, tenant, admin):
    first = await make_ticket(runtime, admin, customer={"phone": "13900000001"})
    second = await make_ticket(runtime, admin, customer={"phone": "13900000001", "name": "李先生"})
    third = await make_ticket(runtime, admin, customer={"phone": "13900000001", "email": "li@example.com"})
    assert first["customer_id"] == second["customer_id"] == third["customer_id"] is not None


async def test_create_without_permission_or_with_unknown_assignee_writes_nothing(runtime, tenant, admin):
    log = await journal(runtime, tenant.id)
    with pytest.raises(PermissionDenied):
        await call(runtime, reader_actor(admin), service.create_ticket, TicketCreate(title="x"))
    with pytest.raises(ValidationFailed):
        await call(
            runtime, admin.actor, service.create_ticket, TicketCreate(title="x", assignee_id=uuid.uuid4())
        )
    with pytest.raises(ValidationFailed):
        await call(runtime, admin.actor, service.create_ticket, TicketCreate(title="x", team_id=uuid.uuid4()))
    await assert_nothing_written(runtime, log, None, None)
    # The failed attempts used no ticket number.
    assert (await make_ticket(runtime, admin))["number"] == 1


# --- update ------------------------------------------------------------------------------------------


async def test_update_records_exactly_the_changed_fields(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin, category="billing")
    log = await journal(runtime, tenant.id)
    request = TicketUpdate(
        title="退款申请（加急）",
        priority=Priority.URGENT,
        category="billing",
        description="<img src=x onerror=alert(1)>说明",
        fields={"order_no": "B9"},
    )
    updated = await call(runtime, admin.actor, service.update_ticket, ticket["id"], request)
    state = await ticket_state(runtime, tenant.id, ticket["id"])
    assert state["title"] == "退款申请（加急）" and state["priority"] == "urgent"
    assert "onerror" not in state["description"] and state["description"].endswith("说明")
    assert state["updated_at"] > ticket["updated_at"] and updated.title == state["title"]
    written = await log.since()
    assert written.types() == ["ticket.updated"]
    changes = written.events[0].changes
    assert set(changes) == {"title", "priority", "description", "fields"}
    assert changes["priority"] == {"from": "normal", "to": "urgent"}
    assert changes["title"] == {"from": "打印机卡纸", "to": "退款申请（加急）"}
    assert changes["fields"] == {"from": {}, "to": {"order_no": "B9"}}
    assert_outbox_matches(written, admin.actor)


async def test_an_update_that_changes_nothing_records_nothing(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin)
    before = await ticket_state(runtime, tenant.id, ticket["id"])
    log = await journal(runtime, tenant.id)
    await call(runtime, admin.actor, service.update_ticket, ticket["id"], TicketUpdate(title=ticket["title"]))
    await assert_nothing_written(runtime, log, ticket["id"], before)


async def test_update_refuses_clearing_required_fields_and_unknown_tickets(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin)
    before = await ticket_state(runtime, tenant.id, ticket["id"])
    log = await journal(runtime, tenant.id)
    for request in (TicketUpdate(title=None, category="x"), TicketUpdate(priority=None)):
        with pytest.raises(ValidationFailed):
            await call(runtime, admin.actor, service.update_ticket, ticket["id"], request)
    with pytest.raises(NotFound):
        await call(runtime, admin.actor, service.update_ticket, uuid.uuid4(), TicketUpdate(title="x"))
    with pytest.raises(PermissionDenied):
        await call(runtime, reader_actor(admin), service.update_ticket, ticket["id"], TicketUpdate(title="x"))
    await assert_nothing_written(runtime, log, ticket["id"], before)


# --- status ------------------------------------------------------------------------------------------


async def test_status_changes_record_milestones_and_reason(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin)
    log = await journal(runtime, tenant.id)
    await call(runtime, admin.actor, service.change_status, ticket["id"], Status.OPEN)
    resolved = await call(
        runtime, admin.actor, service.change_status, ticket["id"], Status.RESOLVED, "已退款"
    )
    closed = await call(runtime, admin.actor, service.change_status, ticket["id"], Status.CLOSED)
    state = await ticket_state(runtime, tenant.id, ticket["id"])
    assert state["status"] == "closed" and state["closed_at"] is not None
    assert state["resolved_at"] == resolved.resolved_at and closed.closed_at == state["closed_at"]
    written = await log.since()
    assert written.types() == ["ticket.status_changed"] * 3
    opened, resolving, closing = written.events
    assert opened.changes == {"status": {"from": "new", "to": "open"}} and opened.reason is None
    assert resolving.changes == {
        "status": {"from": "open", "to": "resolved"},
        "resolved_at": {"from": None, "to": iso(state["resolved_at"])},
    }
    assert resolving.reason == "已退款"
    assert closing.changes == {
        "status": {"from": "resolved", "to": "closed"},
        "closed_at": {"from": None, "to": iso(state["closed_at"])},
    }
    assert_outbox_matches(written, admin.actor)
    assert written.outbox[1].payload["data"]["reason"] == "已退款"
    assert written.outbox[2].payload["data"]["ticket"]["status"] == "closed"


async def test_an_invalid_transition_writes_nothing(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin)
    await call(runtime, admin.actor, service.change_status, ticket["id"], Status.CLOSED)
    before = await ticket_state(runtime, tenant.id, ticket["id"])
    log = await journal(runtime, tenant.id)
    for target in (Status.PENDING, Status.RESOLVED, Status.ON_HOLD, Status.NEW, Status.CLOSED):
        with pytest.raises(InvalidTransition):
            await call(runtime, admin.actor, service.change_status, ticket["id"], target)
    await assert_nothing_written(runtime, log, ticket["id"], before)


async def test_reopen_counts_and_clears_milestones(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin)
    await call(runtime, admin.actor, service.change_status, ticket["id"], Status.RESOLVED)
    resolved = await ticket_state(runtime, tenant.id, ticket["id"])
    log = await journal(runtime, tenant.id)
    await call(runtime, admin.actor, service.reopen, ticket["id"], "客户仍无法打印")
    state = await ticket_state(runtime, tenant.id, ticket["id"])
    assert state["status"] == "open" and state["reopen_count"] == 1 and state["reopened_at"] is not None
    assert state["resolved_at"] is None and state["closed_at"] is None
    written = await log.since()
    assert written.types() == ["ticket.reopened"]
    assert written.events[0].reason == "客户仍无法打印"
    assert written.events[0].changes == {
        "status": {"from": "resolved", "to": "open"},
        "reopened_at": {"from": None, "to": iso(state["reopened_at"])},
        "reopen_count": {"from": 0, "to": 1},
        "resolved_at": {"from": iso(resolved["resolved_at"]), "to": None},
    }
    assert_outbox_matches(written, admin.actor)
    # Moving a closed ticket back to open through change_status is a reopening too.
    await call(runtime, admin.actor, service.change_status, ticket["id"], Status.CLOSED)
    await log.since()
    await call(runtime, admin.actor, service.change_status, ticket["id"], Status.OPEN)
    written = await log.since()
    assert written.types() == ["ticket.reopened"]
    assert (await ticket_state(runtime, tenant.id, ticket["id"]))["reopen_count"] == 2


async def test_reopen_refuses_working_and_merged_tickets(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin)
    target = await make_ticket(runtime, admin)
    before = await ticket_state(runtime, tenant.id, ticket["id"])
    log = await journal(runtime, tenant.id)
    with pytest.raises(Conflict):
        await call(runtime, admin.actor, service.reopen, ticket["id"])
    await assert_nothing_written(runtime, log, ticket["id"], before)
    await call(runtime, admin.actor, service.merge, ticket["id"], target["id"])
    merged = await ticket_state(runtime, tenant.id, ticket["id"])
    await log.since()
    with pytest.raises(Conflict):
        await call(runtime, admin.actor, service.reopen, ticket["id"])
    await assert_nothing_written(runtime, log, ticket["id"], merged)


# --- assignment and tags -----------------------------------------------------------------------------


async def test_assign_records_team_and_agent_changes(runtime, tenant, admin):
    team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team)
    ticket = await make_ticket(runtime, admin)
    log = await journal(runtime, tenant.id)
    await call(
        runtime,
        admin.actor,
        service.assign,
        ticket["id"],
        team_id=team.id,
        assignee_id=agent.user.id,
        reason="routed by skills: 粤语",
    )
    state = await ticket_state(runtime, tenant.id, ticket["id"])
    assert (state["team_id"], state["assignee_id"]) == (team.id, agent.user.id)
    assert state["status"] == "new"
    written = await log.since()
    assert written.types() == ["ticket.assigned"]
    assert written.events[0].changes == {
        "team_id": {"from": None, "to": str(team.id)},
        "assignee_id": {"from": None, "to": str(agent.user.id)},
    }
    assert written.events[0].reason == "routed by skills: 粤语"
    assert_outbox_matches(written, admin.actor)
    assert written.outbox[0].payload["data"]["ticket"]["assignee_id"] == str(agent.user.id)
    # Unassigning the agent keeps the team; assigning the same again records nothing.
    await call(runtime, admin.actor, service.assign, ticket["id"], team_id=team.id, assignee_id=None)
    written = await log.since()
    assert [e.changes for e in written.events] == [{"assignee_id": {"from": str(agent.user.id), "to": None}}]
    before = await ticket_state(runtime, tenant.id, ticket["id"])
    await call(runtime, admin.actor, service.assign, ticket["id"], team_id=team.id, assignee_id=None)
    await assert_nothing_written(runtime, log, ticket["id"], before)


async def test_assign_refuses_unknown_inactive_and_foreign_assignees(runtime, tenant, admin):
    other_tenant = await make_tenant(runtime)
    foreign_team = await make_team(runtime, other_tenant)
    foreign_agent = await make_member(runtime, other_tenant, "agent", team=foreign_team)
    ticket = await make_ticket(runtime, admin)
    before = await ticket_state(runtime, tenant.id, ticket["id"])
    log = await journal(runtime, tenant.id)
    for team_id, assignee_id in (
        (None, uuid.uuid4()),
        (uuid.uuid4(), None),
        (None, foreign_agent.user.id),
        (foreign_team.id, None),
    ):
        with pytest.raises(ValidationFailed):
            await call(
                runtime, admin.actor, service.assign, ticket["id"], team_id=team_id, assignee_id=assignee_id
            )
    await assert_nothing_written(runtime, log, ticket["id"], before)


async def test_change_tags_keeps_the_index_in_step(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin, tags=["退款", "VIP"])
    log = await journal(runtime, tenant.id)
    await call(
        runtime, admin.actor, service.change_tags, ticket["id"], add=[" 加急 ", "VIP"], remove=["退款"]
    )
    state = await ticket_state(runtime, tenant.id, ticket["id"])
    assert state["tags"] == ["VIP", "加急"]
    assert await tags_index(runtime, tenant.id, ticket["id"]) == {"VIP", "加急"}
    written = await log.since()
    assert written.types() == ["ticket.tags_changed"]
    assert written.events[0].changes == {"tags": {"from": ["退款", "VIP"], "to": ["VIP", "加急"]}}
    assert_outbox_matches(written, admin.actor)
    data = written.outbox[0].payload["data"]
    assert data["added"] == ["加急"] and data["removed"] == ["退款"]
    before = await ticket_state(runtime, tenant.id, ticket["id"])
    await call(runtime, admin.actor, service.change_tags, ticket["id"], add=["VIP"], remove=["不存在"])
    await assert_nothing_written(runtime, log, ticket["id"], before)
    with pytest.raises(ValidationFailed):
        await call(runtime, admin.actor, service.change_tags, ticket["id"], add=["x" * 65], remove=[])
    await assert_nothing_written(runtime, log, ticket["id"], before)


# --- messages ----------------------------------------------------------------------------------------


async def test_first_public_agent_reply_sets_first_response_and_accepts(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin, channel="wechat_mp")
    log = await journal(runtime, tenant.id)
    message = await call(
        runtime,
        admin.actor,
        service.add_message,
        ticket["id"],
        "<b>您好</b><script>steal()</script>",
        public=True,
    )
    assert message.body == "<b>您好</b>" and message.channel == "wechat_mp"
    assert message.author_kind == "agent" and message.author_user_id == admin.user.id
    assert message.delivery_state == "pending" and message.public
    state = await ticket_state(runtime, tenant.id, ticket["id"])
    assert state["first_response_at"] == message.created_at == state["last_message_at"]
    assert state["status"] == "open"
    written = await log.since()
    assert written.types() == ["ticket.message_added", "ticket.status_changed"]
    added, opened = written.events
    assert added.changes == {}
    assert (
        opened.changes == {"status": {"from": "new", "to": "open"}} and opened.reason == "first agent reply"
    )
    assert_outbox_matches(written, admin.actor)
    data = next(o for o in written.outbox if o.id == added.id).payload["data"]
    assert data["message"]["body"] == "<b>您好</b>" and data["message"]["public"] is True
    assert data["message"]["id"] == str(message.id) and data["message"]["author_kind"] == "agent"
    # A second reply keeps the first response time and does not change status again.
    second = await call(
        runtime, admin.actor, service.add_message, ticket["id"], "还需要什么信息？", public=True
    )
    state = await ticket_state(runtime, tenant.id, ticket["id"])
    assert state["first_response_at"] == message.created_at and state["last_message_at"] == second.created_at
    assert (await log.since()).types() == ["ticket.message_added"]


async def test_internal_notes_neither_respond_nor_accept(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin)
    log = await journal(runtime, tenant.id)
    note = await call(
        runtime, admin.actor, service.add_message, ticket["id"], "内部：找仓库核实", public=False
    )
    assert note.channel == "internal" and note.public is False and note.delivery_state is None
    state = await ticket_state(runtime, tenant.id, ticket["id"])
    assert state["status"] == "new" and state["first_response_at"] is None
    assert state["last_message_at"] == note.created_at
    written = await log.since()
    assert written.types() == ["ticket.note_added"]
    assert_outbox_matches(written, admin.actor)
    assert written.outbox[0].payload["data"]["message"]["public"] is False


async def test_customer_reply_reopens_a_resolved_ticket_and_resumes_a_pending_one(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin, customer={"phone": "13700000000"})
    customer = customer_actor(tenant.id, ticket["customer_id"])
    await call(runtime, admin.actor, service.change_status, ticket["id"], Status.RESOLVED)
    log = await journal(runtime, tenant.id)
    message = await call(runtime, customer, service.add_message, ticket["id"], "还是不行", public=True)
    assert message.author_kind == "customer" and message.author_customer_id == ticket["customer_id"]
    assert message.author_user_id is None and message.delivery_state is None
    state = await ticket_state(runtime, tenant.id, ticket["id"])
    assert state["status"] == "open" and state["reopen_count"] == 1
    assert state["first_response_at"] is None  # a customer's message is not a response
    written = await log.since()
    assert written.types() == ["ticket.message_added", "ticket.reopened"]
    assert written.events[1].reason == "customer replied"
    assert_outbox_matches(written, customer)
    await call(runtime, admin.actor, service.change_status, ticket["id"], Status.PENDING)
    await log.since()
    await call(runtime, customer, service.add_message, ticket["id"], "补充了照片", public=True)
    written = await log.since()
    assert written.types() == ["ticket.message_added", "ticket.status_changed"]
    assert written.events[1].changes == {"status": {"from": "pending", "to": "open"}}
    # A customer message on a new ticket leaves it new.
    fresh = await make_ticket(runtime, admin, customer={"phone": "13700000000"})
    await call(runtime, customer, service.add_message, fresh["id"], "在吗", public=True)
    assert (await ticket_state(runtime, tenant.id, fresh["id"]))["status"] == "new"


async def test_a_message_that_is_only_unsafe_markup_writes_nothing(runtime, tenant, admin):
    ticket = await make_ticket(runtime, admin)
    before = await ticket_state(runtime, tenant.id, ticket["id"])
    log = await journal(runtime, tenant.id)
    with pytest.raises(ValidationFailed):
        await call(
            runtime, admin.actor, service.add_message, ticket["id"], "<script>alert(1)</script>", public=True
        )
    with pytest.raises(PermissionDenied):
        await call(runtime, reader_actor(admin), service.add_message, ticket["id"], "hi", public=False)
    await assert_nothing_written(runtime, log, ticket["id"], before)
    assert await messages_of(runtime, tenant.id, ticket["id"]) == []


# --- merge and links ---------------------------------------------------------------------------------


async def test_merge_closes_the_source_and_records_on_both(runtime, tenant, admin):
    source = await make_ticket(runtime, admin, title="重复：打印机")
    target = await make_ticket(runtime, admin)
    log = await journal(runtime, tenant.id)
    await call(runtime, admin.actor, service.merge, source["id"], target["id"])
    merged = await ticket_state(runtime, tenant.id, source["id"])
    assert merged["status"] == "closed" and merged["merged_into_id"] == target["id"]
    assert merged["closed_at"] is not None and merged["resolved_at"] == merged["closed_at"]
    assert (await ticket_state(runtime, tenant.id, target["id"]))["status"] == "new"
    [merge_link] = await links_of(runtime, tenant.id)
    assert (merge_link.source_id, merge_link.target_id, merge_link.kind) == (
        source["id"],
        target["id"],
        "merged",
    )
    written = await log.since()
    assert written.types() == ["ticket.merged", "ticket.merged"]
    [on_source] = written.of(source["id"])
    [on_target] = written.of(target["id"])
    assert on_source.changes == {
        "merged_into_id": {"from": None, "to": str(target["id"])},
        "status": {"from": "new", "to": "closed"},
        "closed_at": {"from": None, "to": iso(merged["closed_at"])},
        "resolved_at": {"from": None, "to": iso(merged["resolved_at"])},
    }
    assert on_target.changes == {}
    assert_outbox_matches(written, admin.actor)
    payload = next(o for o in written.outbox if o.id == on_target.id).payload["data"]
    assert payload["source_id"] == str(source["id"]) and payload["source_number"] == source["number"]


async def test_merge_refuses_self_repeats_and_merged_targets(runtime, tenant, admin):
    first = await make_ticket(runtime, admin)
    second = await make_ticket(runtime, admin)
    third = await make_ticket(runtime, admin)
    await call(runtime, admin.actor, service.merge, first["id"], second["id"])
    states = {t["id"]: await ticket_state(runtime, tenant.id, t["id"]) for t in (first, second, third)}
    log = await journal(runtime, tenant.id)
    with pytest.raises(ValidationFailed):
        await call(runtime, admin.actor, service.merge, third["id"], third["id"])
    with pytest.raises(Conflict):
        await call(runtime, admin.actor, service.merge, first["id"], third["id"])
    with pytest.raises(Conflict):
        await call(runtime, admin.actor, service.merge, third["id"], first["id"])
    with pytest.raises(NotFound):
        await call(runtime, admin.actor, service.merge, third["id"], uuid.uuid4())
    for ticket_id, before in states.items():
        await assert_nothing_written(runtime, log, ticket_id, before)
    assert len(await links_of(runtime, tenant.id)) == 1


async def test_related_links_are_recorded_once(runtime, tenant, admin):
    first = await make_ticket(runtime, admin)
    second = await make_ticket(runtime, admin)
    log = await journal(runtime, tenant.id)
    link = await call(runtime, admin.actor, service.link, first["id"], second["id"], "related")
    assert (link.source_id, link.target_id, link.kind) == (first["id"], second["id"], "related")
    written = await log.since()
    assert written.types() == ["ticket.linked"]
    assert written.events[0].ticket_id == first["id"] and written.events[0].changes == {}
    assert_outbox_matches(written, admin.actor)
    assert written.outbox[0].payload["data"]["link"] == {
        "kind": "related",
        "other_id": str(second["id"]),
        "other_number": second["number"],
    }
    before = await ticket_state(runtime, tenant.id, first["id"])
    for a, b in ((first, second), (second, first)):
        with pytest.raises(Conflict):
            await call(runtime, admin.actor, service.link, a["id"], b["id"], "related")
    with pytest.raises(ValidationFailed):
        await call(runtime, admin.actor, service.link, first["id"], first["id"], "related")
    await assert_nothing_written(runtime, log, first["id"], before)


async def test_parent_and_child_links_set_parent_id(runtime, tenant, admin):
    parent = await make_ticket(runtime, admin, title="上门维修")
    child = await make_ticket(runtime, admin, title="备件申请")
    grandchild = await make_ticket(runtime, admin, title="备件发货")
    log = await journal(runtime, tenant.id)
    await call(runtime, admin.actor, service.link, child["id"], parent["id"], "parent")
    await call(runtime, admin.actor, service.link, child["id"], grandchild["id"], "child")
    assert (await ticket_state(runtime, tenant.id, child["id"]))["parent_id"] == parent["id"]
    assert (await ticket_state(runtime, tenant.id, grandchild["id"]))["parent_id"] == child["id"]
    links = {(link.source_id, link.target_id, link.kind) for link in await links_of(runtime, tenant.id)}
    assert links == {(parent["id"], child["id"], "parent"), (child["id"], grandchild["id"], "parent")}
    written = await log.since()
    assert set(written.types()) == {"ticket.linked"} and len(written.of(child["id"])) == 2
    assert_outbox_matches(written, admin.actor)
    # Cycles are refused, whichever side starts the link, and change nothing.
    states = {t["id"]: await ticket_state(runtime, tenant.id, t["id"]) for t in (parent, child, grandchild)}
    for ticket_id, other_id, kind in (
        (parent["id"], grandchild["id"], "parent"),
        (grandchild["id"], parent["id"], "child"),
        (parent["id"], child["id"], "parent"),
    ):
        with pytest.raises(ValidationFailed):
            await call(runtime, admin.actor, service.link, ticket_id, other_id, kind)
    with pytest.raises(Conflict):
        await call(runtime, admin.actor, service.link, child["id"], parent["id"], "parent")
    for ticket_id, before in states.items():
        await assert_nothing_written(runtime, log, ticket_id, before)


async def test_linking_a_child_records_the_parent_change_on_the_child(runtime, tenant, admin):
    parent = await make_ticket(runtime, admin)
    child = await make_ticket(runtime, admin)
    log = await journal(runtime, tenant.id)
    await call(runtime, admin.actor, service.link, parent["id"], child["id"], "child")
    written = await log.since()
    assert [e.changes for e in written.of(child["id"])] == [
        {"parent_id": {"from": None, "to": str(parent["id"])}}
    ]
    assert_outbox_matches(written, admin.actor)
