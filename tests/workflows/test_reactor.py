"""The workflow reactor: a new ticket whose ``ticket.created`` names a workflow starts it in the same
unit of work; a resolved ticket moves its handling step on; a template's workflow starts by itself."""

from __future__ import annotations

from typing import Any

from huiliu.core import events as ev
from huiliu.workflows import queries
from huiliu.workflows.reactor import WorkflowReactor
from tests.factories import make_member, make_tenant, make_ticket
from tests.workflows.graphs import edge, node
from tests.workflows.test_api import _publish


def _handle_then_notify(team_name: str | None = None) -> dict[str, Any]:
    assignee = {"kind": "team", "ref": team_name} if team_name else {"kind": "none"}
    return {
        "nodes": [
            node("start", "start"),
            node("work", "handle", "处理", assignee=assignee),
            node("tell", "notify", "通知", message="已处理", recipients={"assignee": True, "users": []}),
            node("end", "end"),
        ],
        "edges": [edge("start", "work"), edge("work", "tell"), edge("tell", "end")],
    }


def test_the_reactor_runs_after_automation_and_before_routing(runtime: Any) -> None:
    names = [getattr(reactor, "name", type(reactor).__name__) for reactor in runtime.db.reactors]
    assert names.index("workflows") == names.index("automation") + 1
    assert names.index("workflows") < names.index("routing")


async def test_a_template_with_a_workflow_starts_it_on_new_tickets(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    workflow = await _publish(client, admin, _handle_then_notify())
    template = await client.post(
        "/api/v1/templates",
        json={"key": "repair", "name": "设备报修", "workflow_id": workflow["id"]},
        headers=admin.headers,
    )
    assert template.status_code == 201, template.text
    published = await client.post(f"/api/v1/templates/{template.json()['id']}:publish", headers=admin.headers)
    assert published.status_code == 201, published.text
    created = await client.post(
        "/api/v1/tickets",
        json={"title": "奶茶机不出水", "template_id": template.json()["id"]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    progress = (await client.get(f"/api/v1/tickets/{ticket_id}/workflow", headers=admin.headers)).json()
    assert progress["current"]["current_node"] == "work"
    # Resolving the ticket finishes the handling step; the notify node runs and the run ends.
    resolved = await client.post(
        f"/api/v1/tickets/{ticket_id}/status", json={"status": "resolved"}, headers=admin.headers
    )
    assert resolved.status_code == 200, resolved.text
    progress = (await client.get(f"/api/v1/tickets/{ticket_id}/workflow", headers=admin.headers)).json()
    assert progress["current"]["status"] == "completed"
    assert [step["outcome"] for step in progress["current"]["steps"]] == [
        "started",
        "done",
        "notified",
        "ended",
    ]


async def test_a_workflow_that_cannot_start_leaves_a_note_instead_of_failing_the_ticket(runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    ticket = await make_ticket(runtime, admin)
    reactor = WorkflowReactor()
    async with runtime.db.uow(tenant.id) as uow:
        from huiliu.core.events import DomainEvent

        event = DomainEvent(
            type=ev.TICKET_CREATED,
            tenant_id=tenant.id,
            data={"ticket": {"id": str(ticket["id"])}, "workflow_id": "01a22bf2-971a-72a1-9250-1e61594e8f7c"},
        )
        # The tenant has no published workflow: the reactor does nothing at all.
        await reactor.react(uow, [event])
        assert uow._emitted == []
        from huiliu.workflows import service

        service.published_flags.put(tenant.id, True)
        await reactor.react(uow, [event])
        assert [e.type for e in uow._emitted] == [ev.TICKET_NOTE_ADDED]
        assert "Workflow not started" in uow._emitted[0].data["message"]["body"]
        assert await queries.live_instance(uow.session, ticket["id"]) is None


async def test_template_fields_drive_branches_and_one_sub_task_per_list_item(
    client: Any, runtime: Any
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    graph = {
        "nodes": [
            node("start", "start"),
            node("big", "condition", "大额?"),
            node(
                "approve", "approve", "风控审批", approvers={"kind": "role", "role": "admin"}, reject_to="end"
            ),
            node("split", "parallel", "按卡种拆分", items_field="fields.cards", title="办理 {item}"),
            node("join", "join", mode="all"),
            node("end", "end"),
        ],
        "edges": [
            edge("start", "big"),
            edge("big", "approve", {"field": "fields.amount", "op": "gte", "value": 50000}, "大额"),
            edge("big", "split"),
            edge("approve", "split"),
            edge("split", "join"),
            edge("join", "end"),
        ],
    }
    workflow = await _publish(client, admin, graph, name="办卡")
    fields = [
        {
            "key": "cards",
            "type": "multi_select",
            "label": {"zh-CN": "卡种"},
            "options": [{"value": v, "label": {"zh-CN": v}} for v in ("借记卡", "信用卡", "联名卡")],
        },
        {"key": "amount", "type": "number", "label": {"zh-CN": "额度"}},
    ]
    template = await client.post(
        "/api/v1/templates",
        json={"key": "bank_card", "name": "银行卡申请", "fields": fields, "workflow_id": workflow["id"]},
        headers=admin.headers,
    )
    assert template.status_code == 201, template.text
    await client.post(f"/api/v1/templates/{template.json()['id']}:publish", headers=admin.headers)

    async def create(amount: int) -> dict[str, Any]:
        created = await client.post(
            "/api/v1/tickets",
            json={
                "title": "办卡",
                "template_id": template.json()["id"],
                "fields": {"cards": ["借记卡", "信用卡"], "amount": amount},
            },
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        progress = await client.get(f"/api/v1/tickets/{created.json()['id']}/workflow", headers=admin.headers)
        return dict(progress.json()["current"])

    small = await create(1000)
    assert small["current_node"] == "join"
    assert [sub["title"] for sub in small["subtasks"]] == ["办理 借记卡", "办理 信用卡"]
    large = await create(80000)
    assert large["current_node"] == "approve" and large["subtasks"] == []
    assert "大额: fields.amount gte 50000" in large["steps"][-1]["entered_reason"]
