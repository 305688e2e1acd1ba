"""Workflows through the API: definitions, publishing, runs on tickets, approvals with their
authorization, sub-tasks and joins, tenant isolation. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from huiliu.core.outbox import OutboxRow
from huiliu.tickets.models import TicketEvent
from tests.factories import make_member, make_team, make_tenant, make_ticket
from tests.workflows.graphs import approve_graph, edge, full_graph, node


async def _publish(client: Any, admin: Any, graph: dict[str, Any], name: str = "审批流程") -> dict[str, Any]:
    created = await client.post(
        "/api/v1/workflows", json={"name": name, "graph": graph}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    published = await client.post(f"/api/v1/workflows/{created.json()['id']}:publish", headers=admin.headers)
    assert published.status_code == 201, published.text
    return created.json()


async def _start(client: Any, member: Any, ticket_id: Any, workflow_id: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/tickets/{ticket_id}/workflow", json={"workflow_id": workflow_id}, headers=member.headers
    )
    assert response.status_code == 201, response.text
    return response.json()["current"]


async def _events(runtime: Any, tenant_id: Any, ticket_id: Any) -> list[str]:
    async with runtime.db.read(tenant_id) as session:
        rows = await session.execute(
            select(TicketEvent.type)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.created_at)
        )
        return list(rows.scalars().all())


async def test_publish_rejects_an_invalid_draft_with_per_node_errors(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    graph = {
        "nodes": [node("start", "start"), node("c", "condition"), node("lost", "handle"), node("end", "end")],
        "edges": [edge("start", "c"), edge("c", "end", {"field": "priority", "op": "eq", "value": "high"})],
    }
    created = await client.post(
        "/api/v1/workflows", json={"name": "坏流程", "graph": graph}, headers=admin.headers
    )
    assert created.status_code == 201
    response = await client.post(f"/api/v1/workflows/{created.json()['id']}:publish", headers=admin.headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body["node_ids"]) == {"c", "lost"}
    assert {error["code"] for error in body["errors"]} >= {"no_default_branch", "unreachable", "dead_end"}
    versions = await client.get(f"/api/v1/workflows/{created.json()['id']}/versions", headers=admin.headers)
    assert versions.json()["items"] == []
    check = await client.post("/api/v1/workflows/validate", json={"graph": graph}, headers=admin.headers)
    assert check.status_code == 200 and check.json()["valid"] is False


async def test_agents_cannot_change_workflows(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    agent = await make_member(runtime, tenant, "agent")
    response = await client.post("/api/v1/workflows", json={"name": "x"}, headers=agent.headers)
    assert response.status_code == 403
    assert (await client.get("/api/v1/workflows", headers=agent.headers)).status_code == 200


async def test_approve_path_runs_to_the_end_and_resolves_the_ticket(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    approver = await make_member(runtime, tenant, "agent", name="审批人")
    workflow = await _publish(
        client, admin, approve_graph({"kind": "users", "users": [str(approver.user.id)]})
    )
    ticket = await make_ticket(runtime, admin)
    run = await _start(client, admin, ticket["id"], workflow["id"])
    assert run["status"] == "waiting" and run["current_node"] == "approve"
    inbox = (await client.get("/api/v1/approvals?state=pending", headers=approver.headers)).json()["items"]
    assert len(inbox) == 1 and inbox[0]["ticket_number"] == ticket["number"] and inbox[0]["can_decide"]
    # Someone else, even an admin, may not decide a request addressed to the approver.
    denied = await client.post(f"/api/v1/approvals/{inbox[0]['id']}:approve", json={}, headers=admin.headers)
    assert denied.status_code == 403
    decided = await client.post(
        f"/api/v1/approvals/{inbox[0]['id']}:approve", json={"comment": "同意"}, headers=approver.headers
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "approved" and decided.json()["comment"] == "同意"
    progress = (await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=admin.headers)).json()
    assert progress["current"]["status"] == "completed"
    assert [step["node_id"] for step in progress["current"]["steps"]] == ["start", "approve", "end"]
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert detail["status"] == "resolved"
    events = await _events(runtime, tenant.id, ticket["id"])
    for expected in (
        "workflow.started",
        "workflow.step_entered",
        "workflow.approval_requested",
        "workflow.approved",
        "workflow.step_completed",
        "workflow.completed",
    ):
        assert expected in events
    async with runtime.db.read(tenant.id) as session:
        outbox = (
            await session.execute(select(OutboxRow.event_type).where(OutboxRow.tenant_id == tenant.id))
        ).scalars()
        assert "workflow.completed" in set(outbox)
    again = await client.post(
        f"/api/v1/approvals/{inbox[0]['id']}:approve", json={}, headers=approver.headers
    )
    assert again.status_code == 409


async def test_reject_returns_to_the_chosen_node_and_the_agent_sends_it_back(
    client: Any, runtime: Any
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    approver = await make_member(runtime, tenant, "agent", name="审批人")
    workflow = await _publish(
        client, admin, approve_graph({"kind": "users", "users": [str(approver.user.id)]})
    )
    ticket = await make_ticket(runtime, admin)
    await _start(client, admin, ticket["id"], workflow["id"])
    [request] = (await client.get("/api/v1/approvals", headers=approver.headers)).json()["items"]
    rejected = await client.post(
        f"/api/v1/approvals/{request['id']}:reject", json={"comment": "缺少发票"}, headers=approver.headers
    )
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    progress = (await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=admin.headers)).json()[
        "current"
    ]
    assert progress["status"] == "waiting" and progress["current_node"] == "fix"
    assert "缺少发票" in progress["steps"][-1]["entered_reason"]
    wrong = await client.post(
        f"/api/v1/tickets/{ticket['id']}/workflow/steps/approve:done", json={}, headers=admin.headers
    )
    assert wrong.status_code == 409
    done = await client.post(
        f"/api/v1/tickets/{ticket['id']}/workflow/steps/fix:done",
        json={"comment": "已补"},
        headers=admin.headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["current"]["current_node"] == "approve"
    pending = (await client.get("/api/v1/approvals", headers=approver.headers)).json()["items"]
    assert len(pending) == 1 and pending[0]["id"] != request["id"]
    assert "workflow.rejected" in await _events(runtime, tenant.id, ticket["id"])


async def test_manager_of_approval_goes_to_the_team_lead_and_parallel_sub_tasks_join(
    client: Any, runtime: Any
) -> None:
    tenant = await make_tenant(runtime)
    team = await make_team(runtime, tenant, "信用卡组")
    admin = await make_member(runtime, tenant, "admin")
    lead = await make_member(runtime, tenant, "lead", team=team, name="组长")
    workflow = await _publish(client, admin, full_graph({"kind": "manager_of"}))
    ticket = await make_ticket(runtime, admin, team_id=str(team.id), priority="urgent")
    run = await _start(client, admin, ticket["id"], workflow["id"])
    assert run["approvals"][0]["approver_id"] == str(lead.user.id)
    [request] = (await client.get("/api/v1/approvals", headers=lead.headers)).json()["items"]
    assert (
        await client.post(f"/api/v1/approvals/{request['id']}:approve", json={}, headers=lead.headers)
    ).status_code == 200
    progress = (await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=admin.headers)).json()[
        "current"
    ]
    assert progress["current_node"] == "join" and progress["status"] == "waiting"
    subtasks = progress["subtasks"]
    assert [sub["title"] for sub in subtasks] == ["核实资料", "制卡"]
    for sub in subtasks:
        child = (await client.get(f"/api/v1/tickets/{sub['child_ticket_id']}", headers=admin.headers)).json()
        assert child["parent_id"] == str(ticket["id"])
    first = await client.post(
        f"/api/v1/tickets/{subtasks[0]['child_ticket_id']}/status",
        json={"status": "resolved"},
        headers=admin.headers,
    )
    assert first.status_code == 200, first.text
    progress = (await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=admin.headers)).json()[
        "current"
    ]
    assert progress["current_node"] == "join"
    await client.post(
        f"/api/v1/tickets/{subtasks[1]['child_ticket_id']}/status",
        json={"status": "resolved"},
        headers=admin.headers,
    )
    progress = (await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=admin.headers)).json()[
        "current"
    ]
    assert progress["status"] == "completed"
    assert {sub["status"] for sub in progress["subtasks"]} == {"done"}


async def test_a_merged_sub_task_hands_its_place_in_the_join_to_the_ticket_it_went_into(
    client: Any, runtime: Any
) -> None:
    tenant = await make_tenant(runtime)
    team = await make_team(runtime, tenant, "信用卡组")
    admin = await make_member(runtime, tenant, "admin")
    lead = await make_member(runtime, tenant, "lead", team=team, name="组长")
    workflow = await _publish(client, admin, full_graph({"kind": "manager_of"}))
    ticket = await make_ticket(runtime, admin, team_id=str(team.id), priority="urgent")
    await _start(client, admin, ticket["id"], workflow["id"])
    [request] = (await client.get("/api/v1/approvals", headers=lead.headers)).json()["items"]
    await client.post(f"/api/v1/approvals/{request['id']}:approve", json={}, headers=lead.headers)
    url = f"/api/v1/tickets/{ticket['id']}/workflow"
    first, second = [
        sub["child_ticket_id"]
        for sub in (await client.get(url, headers=admin.headers)).json()["current"]["subtasks"]
    ]
    # The first sub-task is merged into an unrelated open ticket: the join now waits for that one.
    elsewhere = await make_ticket(runtime, admin)
    merged = await client.post(
        f"/api/v1/tickets/{first}/merge", json={"target_id": str(elsewhere["id"])}, headers=admin.headers
    )
    assert merged.status_code == 200, merged.text
    progress = (await client.get(url, headers=admin.headers)).json()["current"]
    assert progress["current_node"] == "join" and progress["status"] == "waiting"
    assert [sub["child_ticket_id"] for sub in progress["subtasks"]] == [str(elsewhere["id"]), second]
    # The second is merged into the workflow's own ticket: it cannot wait for itself, so it is done.
    merged = await client.post(
        f"/api/v1/tickets/{second}/merge", json={"target_id": str(ticket["id"])}, headers=admin.headers
    )
    assert merged.status_code == 200, merged.text
    progress = (await client.get(url, headers=admin.headers)).json()["current"]
    assert [sub["status"] for sub in progress["subtasks"]] == ["open", "done"]
    assert progress["status"] == "waiting"
    resolved = await client.post(
        f"/api/v1/tickets/{elsewhere['id']}/status", json={"status": "resolved"}, headers=admin.headers
    )
    assert resolved.status_code == 200, resolved.text
    progress = (await client.get(url, headers=admin.headers)).json()["current"]
    assert progress["status"] == "completed"
    assert {sub["status"] for sub in progress["subtasks"]} == {"done"}


async def test_a_running_ticket_keeps_its_version_when_the_workflow_is_edited(
    client: Any, runtime: Any
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    approver = await make_member(runtime, tenant, "agent")
    workflow = await _publish(
        client, admin, approve_graph({"kind": "users", "users": [str(approver.user.id)]})
    )
    ticket = await make_ticket(runtime, admin)
    await _start(client, admin, ticket["id"], workflow["id"])
    # Version 2 drops the approval entirely.
    simpler = {"nodes": [node("start", "start"), node("end", "end")], "edges": [edge("start", "end")]}
    patched = await client.patch(
        f"/api/v1/workflows/{workflow['id']}", json={"graph": simpler}, headers=admin.headers
    )
    assert patched.json()["draft_changed"] is True
    await client.post(f"/api/v1/workflows/{workflow['id']}:publish", headers=admin.headers)
    versions = (
        await client.get(f"/api/v1/workflows/{workflow['id']}/versions", headers=admin.headers)
    ).json()
    assert [item["version"] for item in versions["items"]] == [2, 1]
    [request] = (await client.get("/api/v1/approvals", headers=approver.headers)).json()["items"]
    await client.post(f"/api/v1/approvals/{request['id']}:approve", json={}, headers=approver.headers)
    progress = (await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=admin.headers)).json()[
        "current"
    ]
    assert progress["version"] == 1 and progress["status"] == "completed"
    other = await make_ticket(runtime, admin)
    run = await _start(client, admin, other["id"], workflow["id"])
    assert run["version"] == 2 and run["status"] == "completed"
    delete = await client.delete(f"/api/v1/workflows/{workflow['id']}", headers=admin.headers)
    assert delete.status_code == 409


async def test_tenants_do_not_see_each_others_workflows_or_approvals(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    approver = await make_member(runtime, tenant, "agent")
    workflow = await _publish(
        client, admin, approve_graph({"kind": "users", "users": [str(approver.user.id)]})
    )
    ticket = await make_ticket(runtime, admin)
    await _start(client, admin, ticket["id"], workflow["id"])
    [request] = (await client.get("/api/v1/approvals", headers=approver.headers)).json()["items"]

    other = await make_tenant(runtime)
    stranger = await make_member(runtime, other, "admin")
    assert (
        await client.get(f"/api/v1/workflows/{workflow['id']}", headers=stranger.headers)
    ).status_code == 404
    assert (await client.get("/api/v1/workflows", headers=stranger.headers)).json()["items"] == []
    assert (await client.get("/api/v1/approvals", headers=stranger.headers)).json()["items"] == []
    decided = await client.post(
        f"/api/v1/approvals/{request['id']}:approve", json={}, headers=stranger.headers
    )
    assert decided.status_code == 404
    own = await make_ticket(runtime, stranger)
    started = await client.post(
        f"/api/v1/tickets/{own['id']}/workflow",
        json={"workflow_id": workflow["id"]},
        headers=stranger.headers,
    )
    assert started.status_code == 422
    peek = await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=stranger.headers)
    assert peek.status_code == 404


async def test_an_agent_outside_the_tickets_scope_cannot_start_or_read_its_workflow(
    client: Any, runtime: Any
) -> None:
    tenant = await make_tenant(runtime)
    team = await make_team(runtime, tenant)
    admin = await make_member(runtime, tenant, "admin")
    outsider = await make_member(runtime, tenant, "agent")
    workflow = await _publish(client, admin, approve_graph({"kind": "role", "role": "admin"}))
    ticket = await make_ticket(runtime, admin, team_id=str(team.id))
    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/workflow",
        json={"workflow_id": workflow["id"]},
        headers=outsider.headers,
    )
    assert response.status_code == 404
    assert (
        await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=outsider.headers)
    ).status_code == 404


async def test_a_second_run_on_the_same_ticket_is_refused(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    workflow = await _publish(client, admin, approve_graph({"kind": "role", "role": "admin"}))
    ticket = await make_ticket(runtime, admin)
    await _start(client, admin, ticket["id"], workflow["id"])
    again = await client.post(
        f"/api/v1/tickets/{ticket['id']}/workflow",
        json={"workflow_id": workflow["id"]},
        headers=admin.headers,
    )
    assert again.status_code == 409
    cancelled = await client.post(
        f"/api/v1/tickets/{ticket['id']}/workflow:cancel", json={}, headers=admin.headers
    )
    assert cancelled.json()["current"]["status"] == "cancelled"
    assert all(row["state"] == "closed" for row in cancelled.json()["current"]["approvals"])


@pytest.mark.parametrize("mode", ["all", "sequence"])
async def test_all_and_sequence_approvals_need_every_approver(client: Any, runtime: Any, mode: str) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    first = await make_member(runtime, tenant, "agent", name="一审")
    second = await make_member(runtime, tenant, "agent", name="二审")
    users = [str(first.user.id), str(second.user.id)]
    workflow = await _publish(client, admin, approve_graph({"kind": "users", "users": users}, mode=mode))
    ticket = await make_ticket(runtime, admin)
    await _start(client, admin, ticket["id"], workflow["id"])
    second_inbox = (await client.get("/api/v1/approvals", headers=second.headers)).json()["items"]
    assert len(second_inbox) == (1 if mode == "all" else 0)
    [request] = (await client.get("/api/v1/approvals", headers=first.headers)).json()["items"]
    await client.post(f"/api/v1/approvals/{request['id']}:approve", json={}, headers=first.headers)
    progress = (await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=admin.headers)).json()[
        "current"
    ]
    assert progress["current_node"] == "approve"
    [request] = (await client.get("/api/v1/approvals", headers=second.headers)).json()["items"]
    await client.post(f"/api/v1/approvals/{request['id']}:approve", json={}, headers=second.headers)
    progress = (await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=admin.headers)).json()[
        "current"
    ]
    assert progress["status"] == "completed"


async def test_approval_without_any_approver_is_decided_by_a_workflow_admin(
    client: Any, runtime: Any
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    agent = await make_member(runtime, tenant, "agent")
    workflow = await _publish(client, admin, approve_graph({"kind": "role", "role": "没有这个角色"}))
    ticket = await make_ticket(runtime, admin)
    await _start(client, admin, ticket["id"], workflow["id"])
    assert (await client.get("/api/v1/approvals", headers=agent.headers)).json()["items"] == []
    [request] = (await client.get("/api/v1/approvals", headers=admin.headers)).json()["items"]
    assert request["approver_id"] is None
    denied = await client.post(f"/api/v1/approvals/{request['id']}:approve", json={}, headers=agent.headers)
    assert denied.status_code == 403
    ok = await client.post(f"/api/v1/approvals/{request['id']}:approve", json={}, headers=admin.headers)
    assert ok.status_code == 200


async def test_bad_input_is_refused_and_changes_nothing(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    created = await client.post("/api/v1/workflows", json={"name": "草稿"}, headers=admin.headers)
    workflow_id = created.json()["id"]
    for graph in (
        {"nodes": "x", "edges": []},
        {"nodes": [1], "edges": []},
        {"nodes": [], "edges": [], "extra": 1},
    ):
        response = await client.patch(
            f"/api/v1/workflows/{workflow_id}", json={"graph": graph}, headers=admin.headers
        )
        assert response.status_code == 422, graph
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/api/v1/workflows/{workflow_id}", headers=admin.headers)).json()["graph"] == {
        "nodes": [],
        "edges": [],
    }
    duplicate = await client.post("/api/v1/workflows", json={"name": "草稿"}, headers=admin.headers)
    assert duplicate.status_code == 409
    assert (await client.get("/api/v1/approvals?state=bogus", headers=admin.headers)).status_code == 422
    unpublished = await client.post(
        f"/api/v1/tickets/{(await make_ticket(runtime, admin))['id']}/workflow",
        json={"workflow_id": workflow_id},
        headers=admin.headers,
    )
    assert unpublished.status_code == 409
