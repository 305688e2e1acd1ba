"""GET /api/v1/tickets/count: the queue badges — same filters and scope as the list, capped."""

from __future__ import annotations

from tests.factories import make_member, make_team, make_tenant, make_ticket

BASE = "/api/v1/tickets"


async def test_count_matches_the_list_filters(runtime, client):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    team = await make_team(runtime, tenant)
    for i in range(3):
        await make_ticket(runtime, admin, title=f"卡纸{i}", priority="high")
    await make_ticket(runtime, admin, title="断网", team_id=team.id)
    h = admin.headers
    assert (await client.get(f"{BASE}/count", headers=h)).json() == {"count": 4, "exact": True}
    assert (await client.get(f"{BASE}/count?priority=high", headers=h)).json()["count"] == 3
    assert (await client.get(f"{BASE}/count?team_id={team.id}", headers=h)).json()["count"] == 1
    assert (await client.get(f"{BASE}/count?status=open,pending", headers=h)).json()["count"] == 0
    assert (await client.get(f"{BASE}/count?q=断网", headers=h)).json()["count"] == 1


async def test_count_stops_at_the_cap(runtime, client):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    for i in range(4):
        await make_ticket(runtime, admin, title=f"t{i}")
    reply = await client.get(f"{BASE}/count?cap=3", headers=admin.headers)
    assert reply.json() == {"count": 3, "exact": False}
    reply = await client.get(f"{BASE}/count?cap=4", headers=admin.headers)
    assert reply.json() == {"count": 4, "exact": True}


async def test_count_respects_scope_and_tenant(runtime, client):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    team_a = await make_team(runtime, tenant, "A组")
    team_b = await make_team(runtime, tenant, "B组")
    agent = await make_member(runtime, tenant, "agent", team=team_a)
    await make_ticket(runtime, admin, title="a", team_id=team_a.id)
    await make_ticket(runtime, admin, title="b", team_id=team_b.id)
    assert (await client.get(f"{BASE}/count", headers=agent.headers)).json()["count"] == 1
    stranger = await make_member(runtime, await make_tenant(runtime), "admin")
    assert (await client.get(f"{BASE}/count", headers=stranger.headers)).json()["count"] == 0


async def test_count_rejects_bad_filters(runtime, client):
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    for query in ("status=bogus", "priority=x", "cap=0", "cap=10001", "assignee_id=not-a-uuid"):
        reply = await client.get(f"{BASE}/count?{query}", headers=admin.headers)
        assert reply.status_code == 422, query
        assert reply.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"{BASE}/count")).status_code == 401
