"""Roles and the permission catalogue."""

from __future__ import annotations

import uuid

import pytest

from huiliu.auth.domain import PERMISSIONS
from tests.factories import make_member


async def roles_by_name(client, admin) -> dict[str, dict]:
    response = await client.get("/api/v1/roles", headers=admin.headers)
    assert response.status_code == 200
    return {role["name"]: role for role in response.json()["items"]}


async def test_default_roles_are_listed_with_holders(client, runtime, tenant, admin):
    await make_member(runtime, tenant, "agent")
    roles = await roles_by_name(client, admin)
    assert set(roles) == {"admin", "lead", "agent"}
    assert roles["admin"]["builtin"] is True and roles["agent"]["builtin"] is False
    assert set(roles["admin"]["permissions"]) == PERMISSIONS and roles["admin"]["data_scope"] == "all"
    assert (roles["admin"]["user_count"], roles["agent"]["user_count"], roles["lead"]["user_count"]) == (
        1,
        1,
        0,
    )


async def test_create_a_custom_role_and_give_it_to_a_user(client, runtime, tenant, admin):
    body = {
        "name": "质检员",
        "permissions": ["ticket.read", "ticket.note", "ticket.read"],
        "data_scope": "department",
    }
    created = await client.post("/api/v1/roles", headers=admin.headers, json=body)
    assert created.status_code == 201, created.text
    role = created.json()
    assert role["permissions"] == ["ticket.note", "ticket.read"] and role["data_scope"] == "department"
    assert (await client.get(f"/api/v1/roles/{role['id']}", headers=admin.headers)).json() == role
    user = await client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={
            "email": f"qa-{uuid.uuid4().hex[:8]}@example.com",
            "name": "质检",
            "password": "quality-123",
            "role_id": role["id"],
        },
    )
    assert user.status_code == 201 and user.json()["role"] == "质检员"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "permissions": ["ticket.fly"]},
        {"name": "x", "permissions": ["ticket.read"], "data_scope": "galaxy"},
        {"name": "", "permissions": []},
        {"permissions": ["ticket.read"]},
        {"name": "x", "permissions": "ticket.read"},
    ],
)
async def test_create_role_rejects_invalid_input(client, admin, body):
    response = await client.post("/api/v1/roles", headers=admin.headers, json=body)
    assert response.status_code == 422, response.text


async def test_role_names_are_unique(client, admin):
    assert (
        await client.post("/api/v1/roles", headers=admin.headers, json={"name": "agent", "permissions": []})
    ).status_code == 409
    await client.post("/api/v1/roles", headers=admin.headers, json={"name": "审核", "permissions": []})
    roles = await roles_by_name(client, admin)
    renamed = await client.patch(
        f"/api/v1/roles/{roles['审核']['id']}", headers=admin.headers, json={"name": "lead"}
    )
    assert renamed.status_code == 409


async def test_changing_a_role_applies_to_its_users_at_once(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    ticket = {"title": "发票重开"}
    assert (await client.post("/api/v1/tickets", headers=agent.headers, json=ticket)).status_code == 201
    roles = await roles_by_name(client, admin)
    permissions = [p for p in roles["agent"]["permissions"] if p != "ticket.create"]
    patched = await client.patch(
        f"/api/v1/roles/{roles['agent']['id']}",
        headers=admin.headers,
        json={"permissions": permissions, "data_scope": "own", "name": "一线客服"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "一线客服" and "ticket.create" not in patched.json()["permissions"]
    assert (await client.post("/api/v1/tickets", headers=agent.headers, json=ticket)).status_code == 403
    me = (await client.get("/api/v1/auth/me", headers=agent.headers)).json()
    assert me["data_scope"] == "own"


async def test_the_builtin_admin_role_is_fixed(client, admin):
    roles = await roles_by_name(client, admin)
    url = f"/api/v1/roles/{roles['admin']['id']}"
    assert (
        await client.patch(url, headers=admin.headers, json={"permissions": ["ticket.read"]})
    ).status_code == 409
    assert (await client.patch(url, headers=admin.headers, json={"name": "boss"})).status_code == 409
    assert (await client.delete(url, headers=admin.headers)).status_code == 409


async def test_a_role_in_use_cannot_be_deleted(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    roles = await roles_by_name(client, admin)
    assert (
        await client.delete(f"/api/v1/roles/{roles['agent']['id']}", headers=admin.headers)
    ).status_code == 409
    await client.patch(
        f"/api/v1/users/{agent.user.id}", headers=admin.headers, json={"role_id": roles["lead"]["id"]}
    )
    assert (
        await client.delete(f"/api/v1/roles/{roles['agent']['id']}", headers=admin.headers)
    ).status_code == 204
    assert "agent" not in await roles_by_name(client, admin)


async def test_patch_role_rejects_invalid_input(client, admin):
    roles = await roles_by_name(client, admin)
    url = f"/api/v1/roles/{roles['agent']['id']}"
    for body in (
        {"permissions": ["nope"]},
        {"data_scope": "region"},
        {"name": None},
        {"permissions": None},
        {"colour": "red"},
    ):
        assert (await client.patch(url, headers=admin.headers, json=body)).status_code == 422, body


async def test_unknown_role_is_404(client, admin):
    missing = uuid.uuid4()
    assert (await client.get(f"/api/v1/roles/{missing}", headers=admin.headers)).status_code == 404
    assert (
        await client.patch(f"/api/v1/roles/{missing}", headers=admin.headers, json={"name": "x"})
    ).status_code == 404
    assert (await client.delete(f"/api/v1/roles/{missing}", headers=admin.headers)).status_code == 404


async def test_nobody_grants_a_permission_they_lack(client, runtime, tenant, admin):
    created = await client.post(
        "/api/v1/roles",
        headers=admin.headers,
        json={"name": "角色管理员", "permissions": ["admin.roles"], "data_scope": "all"},
    )
    role_admin = await make_member(runtime, tenant, "agent")
    await client.patch(
        f"/api/v1/users/{role_admin.user.id}", headers=admin.headers, json={"role_id": created.json()["id"]}
    )
    escalate = await client.post(
        "/api/v1/roles",
        headers=role_admin.headers,
        json={"name": "全能", "permissions": ["admin.roles", "admin.users"]},
    )
    assert escalate.status_code == 403
    modest = await client.post(
        "/api/v1/roles", headers=role_admin.headers, json={"name": "只管角色", "permissions": ["admin.roles"]}
    )
    assert modest.status_code == 201
    roles = await roles_by_name(client, admin)
    assert (
        await client.patch(
            f"/api/v1/roles/{roles['agent']['id']}", headers=role_admin.headers, json={"permissions": []}
        )
    ).status_code == 403


async def test_permission_catalogue_has_both_languages(client, runtime, tenant):
    agent = await make_member(runtime, tenant, "agent")
    response = await client.get("/api/v1/permissions", headers=agent.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert {item["name"] for item in items} == PERMISSIONS
    assert all(item["labels"]["zh-CN"] and item["labels"]["en"] for item in items)
    assert "ticket.create" not in response.json()["api_key_scopes"]["tickets:read"]
    assert (await client.get("/api/v1/permissions")).status_code == 401


async def test_an_agent_cannot_use_the_role_routes(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    roles = await roles_by_name(client, admin)
    target = roles["lead"]["id"]
    for method, url, body in [
        ("GET", "/api/v1/roles", None),
        ("POST", "/api/v1/roles", {"name": "x", "permissions": []}),
        ("GET", f"/api/v1/roles/{target}", None),
        ("PATCH", f"/api/v1/roles/{target}", {"name": "y"}),
        ("DELETE", f"/api/v1/roles/{target}", None),
    ]:
        response = await client.request(method, url, headers=agent.headers, json=body)
        assert response.status_code == 403, (method, url, response.text)
