"""A second tenant's admin sees and changes nothing of the first tenant, by every administration route."""

from __future__ import annotations

import pytest

from tests.factories import make_member, make_team, make_tenant


@pytest.fixture
async def first(client, runtime):
    tenant = await make_tenant(runtime, "甲公司")
    admin = await make_member(runtime, tenant, "admin")
    team = await make_team(runtime, tenant, "甲-售后")
    agent = await make_member(runtime, tenant, "agent", team)
    role = (
        await client.post(
            "/api/v1/roles", headers=admin.headers, json={"name": "甲-质检", "permissions": ["ticket.read"]}
        )
    ).json()
    key = (
        await client.post(
            "/api/v1/api-keys", headers=admin.headers, json={"name": "甲-ERP", "scopes": ["tickets:read"]}
        )
    ).json()
    return {"admin": admin, "team": team, "agent": agent, "role": role, "key": key}


async def test_lists_show_nothing_of_another_tenant(client, runtime, first):
    other = await make_member(runtime, await make_tenant(runtime, "乙公司"), "admin")
    users = (await client.get("/api/v1/users?limit=200", headers=other.headers)).json()
    assert [u["id"] for u in users["items"]] == [str(other.user.id)] and users["total"] == 1
    assert (await client.get(f"/api/v1/users?team_id={first['team'].id}", headers=other.headers)).json()[
        "total"
    ] == 0
    assert (await client.get(f"/api/v1/users?role={first['role']['id']}", headers=other.headers)).json()[
        "total"
    ] == 0
    assert (await client.get("/api/v1/teams", headers=other.headers)).json()["items"] == []
    roles = (await client.get("/api/v1/roles", headers=other.headers)).json()["items"]
    assert {r["name"] for r in roles} == {"admin", "lead", "agent"}
    assert all(r["user_count"] == (1 if r["name"] == "admin" else 0) for r in roles)
    assert (await client.get("/api/v1/api-keys", headers=other.headers)).json()["items"] == []


async def test_another_tenants_ids_are_unknown_on_every_route(client, runtime, first):
    other = await make_member(runtime, await make_tenant(runtime, "乙公司"), "admin")
    user, team, role, key = first["agent"].user.id, first["team"].id, first["role"]["id"], first["key"]["id"]
    for method, url, body in [
        ("GET", f"/api/v1/users/{user}", None),
        ("PATCH", f"/api/v1/users/{user}", {"name": "被改了", "is_active": False}),
        ("POST", f"/api/v1/users/{user}/password", {"password": "hijacked-123"}),
        ("GET", f"/api/v1/teams/{team}", None),
        ("PATCH", f"/api/v1/teams/{team}", {"name": "被改了"}),
        ("DELETE", f"/api/v1/teams/{team}", None),
        ("GET", f"/api/v1/roles/{role}", None),
        ("PATCH", f"/api/v1/roles/{role}", {"permissions": []}),
        ("DELETE", f"/api/v1/roles/{role}", None),
        ("DELETE", f"/api/v1/api-keys/{key}", None),
    ]:
        response = await client.request(method, url, headers=other.headers, json=body)
        assert response.status_code == 404, (method, url, response.text)


async def test_another_tenants_teams_and_roles_cannot_be_referenced(client, runtime, first):
    second = await make_tenant(runtime, "乙公司")
    other = await make_member(runtime, second, "admin")
    own_team = await make_team(runtime, second)
    base = {"email": "x-iso@example.com", "name": "x", "password": "password-123"}
    foreign_role = await client.post(
        "/api/v1/users", headers=other.headers, json={**base, "role_id": first["role"]["id"]}
    )
    assert foreign_role.status_code == 422
    foreign_team = await client.post(
        "/api/v1/users",
        headers=other.headers,
        json={**base, "role": "agent", "team_id": str(first["team"].id)},
    )
    assert foreign_team.status_code == 422
    move = await client.patch(
        f"/api/v1/teams/{own_team.id}", headers=other.headers, json={"parent_id": str(first["team"].id)}
    )
    assert move.status_code == 422
    child = await client.post(
        "/api/v1/teams", headers=other.headers, json={"name": "子", "parent_id": str(first["team"].id)}
    )
    assert child.status_code == 422
    regrade = await client.patch(
        f"/api/v1/users/{other.user.id}", headers=other.headers, json={"role_id": first["role"]["id"]}
    )
    assert regrade.status_code == 422


async def test_nothing_of_the_first_tenant_changed(client, runtime, first):
    other = await make_member(runtime, await make_tenant(runtime, "乙公司"), "admin")
    await client.patch(
        f"/api/v1/users/{first['agent'].user.id}", headers=other.headers, json={"is_active": False}
    )
    await client.delete(f"/api/v1/api-keys/{first['key']['id']}", headers=other.headers)
    await client.delete(f"/api/v1/roles/{first['role']['id']}", headers=other.headers)
    admin = first["admin"]
    agent = (await client.get(f"/api/v1/users/{first['agent'].user.id}", headers=admin.headers)).json()
    assert agent["is_active"] is True
    assert (
        await client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {first['key']['key']}"})
    ).status_code == 200
    assert (
        await client.get(f"/api/v1/roles/{first['role']['id']}", headers=admin.headers)
    ).status_code == 200
