"""API keys: created once with their secret, limited by their scopes, revoked at once."""

from __future__ import annotations

import uuid

from tests.auth.conftest import bearer, create_key
from tests.factories import make_member


async def test_create_shows_the_secret_once_and_lists_without_it(client, admin):
    created = await client.post(
        "/api/v1/api-keys",
        headers=admin.headers,
        json={"name": "ERP 对接", "scopes": ["tickets:read", "tickets:read"]},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith(f"hl_{body['prefix']}_") and body["scopes"] == ["tickets:read"]
    assert body["created_by_id"] == str(admin.user.id) and body["revoked_at"] is None
    listed = await client.get("/api/v1/api-keys", headers=admin.headers)
    assert listed.status_code == 200
    assert body["key"] not in listed.text and "key_hash" not in listed.text
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    assert (await client.get("/api/v1/tickets", headers=bearer(body["key"]))).status_code == 200


async def test_scopes_limit_what_a_key_can_do(client, admin):
    reader = await create_key(client, admin, "tickets:read")
    writer = await create_key(client, admin, "tickets:write")
    ticket = {"title": "设备报修", "customer": {"phone": "13900001111"}}
    assert (await client.post("/api/v1/tickets", headers=bearer(reader), json=ticket)).status_code == 403
    created = await client.post("/api/v1/tickets", headers=bearer(writer), json=ticket)
    assert created.status_code == 201
    assert (
        await client.get(f"/api/v1/tickets/{created.json()['id']}", headers=bearer(reader))
    ).status_code == 200
    for key in (reader, writer):
        assert (await client.get("/api/v1/api-keys", headers=bearer(key))).status_code == 403
        assert (
            await client.post(
                "/api/v1/api-keys", headers=bearer(key), json={"name": "x", "scopes": ["tickets:read"]}
            )
        ).status_code == 403
        assert (await client.get("/api/v1/roles", headers=bearer(key))).status_code == 403


async def test_a_revoked_key_is_refused_at_once(client, admin):
    created = (
        await client.post(
            "/api/v1/api-keys", headers=admin.headers, json={"name": "旧系统", "scopes": ["tickets:read"]}
        )
    ).json()
    key = created["key"]
    # Use the key first so this process has its actor cached; revocation must still apply at once.
    assert (await client.get("/api/v1/tickets", headers=bearer(key))).status_code == 200
    assert (
        await client.delete(f"/api/v1/api-keys/{created['id']}", headers=admin.headers)
    ).status_code == 204
    refused = await client.get("/api/v1/tickets", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    listed = (await client.get("/api/v1/api-keys", headers=admin.headers)).json()["items"]
    assert listed[0]["revoked_at"] is not None and listed[0]["last_used_at"] is not None
    assert (
        await client.delete(f"/api/v1/api-keys/{created['id']}", headers=admin.headers)
    ).status_code == 204


async def test_create_key_rejects_invalid_input(client, admin):
    for body in (
        {"name": "x", "scopes": ["tickets:delete"]},
        {"name": "x", "scopes": []},
        {"scopes": ["tickets:read"]},
        {"name": "", "scopes": ["tickets:read"]},
        {"name": "x", "scopes": ["tickets:read"], "admin": True},
    ):
        response = await client.post("/api/v1/api-keys", headers=admin.headers, json=body)
        assert response.status_code == 422, (body, response.text)


async def test_unknown_key_is_404(client, admin):
    assert (await client.delete(f"/api/v1/api-keys/{uuid.uuid4()}", headers=admin.headers)).status_code == 404


async def test_a_key_cannot_carry_more_than_its_creator_holds(client, runtime, tenant, admin):
    role = await client.post(
        "/api/v1/roles",
        headers=admin.headers,
        json={"name": "集成管理员", "permissions": ["admin.api_keys", "ticket.read", "customer.read"]},
    )
    integrator = await make_member(runtime, tenant, "agent")
    await client.patch(
        f"/api/v1/users/{integrator.user.id}", headers=admin.headers, json={"role_id": role.json()["id"]}
    )
    write = await client.post(
        "/api/v1/api-keys", headers=integrator.headers, json={"name": "x", "scopes": ["tickets:write"]}
    )
    assert write.status_code == 403
    read = await client.post(
        "/api/v1/api-keys", headers=integrator.headers, json={"name": "x", "scopes": ["tickets:read"]}
    )
    assert read.status_code == 201


async def test_an_agent_cannot_use_the_api_key_routes(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    key_id = (
        await client.post(
            "/api/v1/api-keys", headers=admin.headers, json={"name": "x", "scopes": ["tickets:read"]}
        )
    ).json()["id"]
    for method, url, body in [
        ("GET", "/api/v1/api-keys", None),
        ("POST", "/api/v1/api-keys", {"name": "x", "scopes": ["tickets:read"]}),
        ("DELETE", f"/api/v1/api-keys/{key_id}", None),
    ]:
        response = await client.request(method, url, headers=agent.headers, json=body)
        assert response.status_code == 403, (method, url, response.text)
