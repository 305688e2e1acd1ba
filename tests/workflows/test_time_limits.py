"""A step's time limit: recorded on the step, kept as the ticket's ``workflow`` timer, and when it
passes the sweep marks the step overdue, notes it on the ticket and notifies the people concerned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from huiliu.core.clock import utcnow
from huiliu.core.outbox import OutboxRow
from huiliu.timers import service as timers
from huiliu.workflows import service
from tests.factories import make_member, make_team, make_tenant, make_ticket
from tests.workflows.graphs import edge, node
from tests.workflows.test_api import _publish, _start


def _limited() -> dict[str, Any]:
    return {
        "nodes": [
            node("start", "start"),
            node(
                "approve",
                "approve",
                "经理审批",
                approvers={"kind": "manager_of"},
                mode="any",
                reject_to="approve",
                time_limit_minutes=60,
            ),
            node("end", "end"),
        ],
        "edges": [edge("start", "approve"), edge("approve", "end")],
    }


async def test_a_step_past_its_time_limit_is_marked_overdue_and_escalated(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    team = await make_team(runtime, tenant)
    admin = await make_member(runtime, tenant, "admin")
    lead = await make_member(runtime, tenant, "lead", team=team, name="经理")
    workflow = await _publish(client, admin, _limited())
    ticket = await make_ticket(runtime, admin, team_id=str(team.id))
    run = await _start(client, admin, ticket["id"], workflow["id"])
    step = run["steps"][-1]
    assert step["node_id"] == "approve" and step["due_at"] is not None
    async with runtime.db.uow(tenant.id) as uow:
        due = await timers.get_timer(uow, ticket["id"], service.TIMER_KIND)
    assert due is not None and abs((due - utcnow()) - timedelta(minutes=60)) < timedelta(minutes=1)

    result = await timers.sweep(runtime.db, utcnow() + timedelta(minutes=61))
    assert result.handled >= 1
    progress = (await client.get(f"/api/v1/tickets/{ticket['id']}/workflow", headers=admin.headers)).json()
    assert progress["current"]["steps"][-1]["overdue_at"] is not None
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    notes = [entry["message"]["body"] for entry in detail["timeline"] if entry.get("message")]
    assert any("已超时" in body for body in notes)
    async with runtime.db.read(tenant.id) as session:
        rows = (
            await session.execute(
                select(OutboxRow.payload).where(
                    OutboxRow.tenant_id == tenant.id, OutboxRow.kind == "notification"
                )
            )
        ).scalars()
        overdue = [payload for payload in rows if "超时" in payload["message"]]
    assert overdue and str(lead.user.id) in overdue[0]["recipients"]
    async with runtime.db.uow(tenant.id) as uow:
        assert await timers.get_timer(uow, ticket["id"], service.TIMER_KIND) is None


async def test_leaving_a_limited_step_clears_the_timer(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    team = await make_team(runtime, tenant)
    admin = await make_member(runtime, tenant, "admin")
    lead = await make_member(runtime, tenant, "lead", team=team)
    workflow = await _publish(client, admin, _limited())
    ticket = await make_ticket(runtime, admin, team_id=str(team.id))
    await _start(client, admin, ticket["id"], workflow["id"])
    [request] = (await client.get("/api/v1/approvals", headers=lead.headers)).json()["items"]
    await client.post(f"/api/v1/approvals/{request['id']}:approve", json={}, headers=lead.headers)
    async with runtime.db.uow(tenant.id) as uow:
        assert await timers.get_timer(uow, ticket["id"], service.TIMER_KIND) is None
