"""Tenants never see each other; roles never see past their data scope."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from huiliu.auth import service as auth
from huiliu.auth.domain import AGENT_PERMISSIONS
from huiliu.auth.schemas import RoleCreate
from huiliu.core.ids import new_id
from huiliu.core.outbox import OutboxRow
from huiliu.tickets.models import Message, TicketEvent, TicketLink
from tests.factories import make_member, make_team, make_tenant, make_ticket
from tests.tickets.conftest import ticket_state

BASE = "/api/v1/tickets"


async def tenant_counts(runtime, tenant_id):
    async with runtime.db.read(tenant_id) as session:
        counts = {}
        for model in (TicketEvent, OutboxRow, Message, TicketLink):
            counts[model.__tablename__] = (await session.execute(select(func.count(model.id)))).scalar_one()
        return counts


def listed(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_another_tenant_cannot_touch_a_tenants_tickets(runtime, client):
    home = await make_tenant(runtime)
    home_admin = await make_member(runtime, home)
    home_team = await make_team(runtime, home)
    target = await make_ticket(runtime, home_admin, team_id=home_team.id, tags=["本租户"])
    other_home = await make_ticket(runtime, home_admin)
    closed = await make_ticket(runtime, home_admin)
    await client.post(f"{BASE}/{closed['id']}/status", headers=home_admin.headers, json={"status": "closed"})
    away = await make_tenant(runtime)
    intruder = await make_member(runtime, away)
    own = await make_ticket(runtime, intruder)
    mine = [target, other_home, closed]
    before = {t["id"]: await ticket_state(runtime, home.id, t["id"]) for t in mine}
    counts = await tenant_counts(runtime, home.id)

    h = intruder.headers
    assert listed(await client.get(BASE, headers=h)) == {str(own["id"])}
    assert listed(await client.get(BASE, headers=h, params={"q": str(target["number"])})) <= {str(own["id"])}
    assert listed(await client.get(BASE, headers=h, params={"tag": "本租户"})) == set()
    assert listed(await client.get(BASE, headers=h, params={"team_id": str(home_team.id)})) == set()
    t = target["id"]
    attempts = [
        client.get(f"{BASE}/{t}", headers=h),
        client.patch(f"{BASE}/{t}", headers=h, json={"title": "改"}),
        client.post(f"{BASE}/{t}/status", headers=h, json={"status": "closed"}),
        client.post(f"{BASE}/{closed['id']}/reopen", headers=h),
        client.post(f"{BASE}/{t}/assign", headers=h, json={"assignee_id": str(intruder.user.id)}),
        client.post(f"{BASE}/{t}/tags", headers=h, json={"add": ["x"]}),
        client.post(f"{BASE}/{t}/messages", headers=h, json={"body": "hi"}),
        client.post(f"{BASE}/{t}/messages", headers=h, json={"body": "hi", "public": False}),
        client.post(f"{BASE}/{t}/merge", headers=h, json={"target_id": str(own["id"])}),
        client.post(f"{BASE}/{own['id']}/merge", headers=h, json={"target_id": str(t)}),
        client.post(f"{BASE}/{t}/links", headers=h, json={"target_id": str(own["id"]), "kind": "related"}),
        client.post(f"{BASE}/{own['id']}/links", headers=h, json={"target_id": str(t), "kind": "child"}),
        client.post(f"{BASE}/{own['id']}/links", headers=h, json={"target_id": str(t), "kind": "parent"}),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    bulk = await client.post(
        f"{BASE}/bulk",
        headers=h,
        json={"ticket_ids": [str(x["id"]) for x in mine], "status": "closed", "add_tags": ["x"]},
    )
    assert bulk.status_code == 200
    assert bulk.json()["updated"] == [] and len(bulk.json()["failed"]) == 3
    bulk_assign = await client.post(
        f"{BASE}/bulk", headers=h, json={"ticket_ids": [str(t)], "assignee_id": str(intruder.user.id)}
    )
    assert bulk_assign.json()["updated"] == []

    for ticket_id, state in before.items():
        assert await ticket_state(runtime, home.id, ticket_id) == state
    assert await tenant_counts(runtime, home.id) == counts
    # The intruder's own ticket was not merged, linked or closed either.
    assert (await client.get(f"{BASE}/{own['id']}", headers=h)).json()["links"] == []
    assert (await client.get(f"{BASE}/{own['id']}", headers=h)).json()["status"] == "new"


async def test_assigning_to_another_tenants_user_or_team_is_refused(runtime, client):
    home = await make_tenant(runtime)
    admin = await make_member(runtime, home)
    ticket = await make_ticket(runtime, admin)
    away = await make_tenant(runtime)
    away_team = await make_team(runtime, away)
    away_agent = await make_member(runtime, away, "agent", team=away_team)
    url = f"{BASE}/{ticket['id']}/assign"
    for body in ({"assignee_id": str(away_agent.user.id)}, {"team_id": str(away_team.id)}):
        response = await client.post(url, headers=admin.headers, json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        create = await client.post(BASE, headers=admin.headers, json={"title": "x", **body})
        assert create.status_code == 422
        bulk = await client.post(
            f"{BASE}/bulk", headers=admin.headers, json={"ticket_ids": [str(ticket["id"])], **body}
        )
        assert bulk.json()["updated"] == []
    state = await ticket_state(runtime, home.id, ticket["id"])
    assert state["team_id"] is None and state["assignee_id"] is None


@pytest.fixture
async def org(runtime):
    """A tenant with a department (support) over two teams (north, south), a sibling team (sales), and
    one ticket per team plus unowned ones."""
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    support = await make_team(runtime, tenant, "客服部")
    north = await make_team(runtime, tenant, "北区", parent_id=support.id)
    south = await make_team(runtime, tenant, "南区", parent_id=support.id)
    sales = await make_team(runtime, tenant, "销售部")
    agent = await make_member(runtime, tenant, "agent", team=north, name="北区坐席")
    lead = await make_member(runtime, tenant, "lead", team=support, name="客服主管")
    tickets = {
        "support": await make_ticket(runtime, admin, team_id=support.id),
        "north": await make_ticket(runtime, admin, team_id=north.id),
        "south": await make_ticket(runtime, admin, team_id=south.id),
        "sales": await make_ticket(runtime, admin, team_id=sales.id),
        "unowned": await make_ticket(runtime, admin),
        "sales_for_agent": await make_ticket(runtime, admin, team_id=sales.id, assignee_id=agent.user.id),
        "unowned_for_lead": await make_ticket(runtime, admin, assignee_id=lead.user.id),
    }
    return {
        "tenant": tenant,
        "admin": admin,
        "agent": agent,
        "lead": lead,
        "tickets": tickets,
        "north": north,
    }


async def assert_sees_exactly(client, member, tickets, visible):
    expected = {str(tickets[name]["id"]) for name in visible}
    assert listed(await client.get(BASE, headers=member.headers, params={"limit": 200})) == expected
    for name, row in tickets.items():
        response = await client.get(f"{BASE}/{row['id']}", headers=member.headers)
        assert response.status_code == (200 if name in visible else 404), (name, response.text)


async def test_an_agent_sees_own_team_and_own_assignments(client, org):
    tickets, agent = org["tickets"], org["agent"]
    await assert_sees_exactly(client, agent, tickets, {"north", "sales_for_agent"})
    outside = tickets["south"]["id"]
    for response in (
        await client.patch(f"{BASE}/{outside}", headers=agent.headers, json={"title": "x"}),
        await client.post(f"{BASE}/{outside}/messages", headers=agent.headers, json={"body": "x"}),
        await client.post(f"{BASE}/{outside}/status", headers=agent.headers, json={"status": "open"}),
        await client.post(
            f"{BASE}/{tickets['north']['id']}/merge", headers=agent.headers, json={"target_id": str(outside)}
        ),
    ):
        assert response.status_code == 404
    assert listed(await client.get(BASE, headers=agent.headers, params={"assignee_id": "me"})) == {
        str(tickets["sales_for_agent"]["id"])
    }


async def test_a_lead_sees_the_subtree_of_their_department(client, org):
    await assert_sees_exactly(
        client, org["lead"], org["tickets"], {"support", "north", "south", "unowned_for_lead"}
    )


async def test_an_own_scope_role_sees_only_assigned_tickets(runtime, client, org):
    tenant, admin, tickets = org["tenant"], org["admin"], org["tickets"]
    async with runtime.db.uow(tenant.id) as uow:
        await auth.add_role(
            uow,
            admin.actor,
            RoleCreate(name="外包坐席", permissions=sorted(AGENT_PERMISSIONS), data_scope="own"),
            role_id=new_id(),
        )
    contractor = await make_member(runtime, tenant, "外包坐席", team=org["north"], name="外包")
    await assert_sees_exactly(client, contractor, tickets, set())
    assigned = await client.post(
        f"{BASE}/{tickets['south']['id']}/assign",
        headers=admin.headers,
        json={"team_id": str(org["north"].id), "assignee_id": str(contractor.user.id)},
    )
    assert assigned.status_code == 200
    await assert_sees_exactly(client, contractor, tickets, {"south"})
    unknown = await client.get(f"{BASE}/{uuid.uuid4()}", headers=contractor.headers)
    assert unknown.status_code == 404
