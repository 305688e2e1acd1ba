"""Users: create, list, read, change, password reset; permissions and the last-admin rule."""

from __future__ import annotations

import uuid

import pytest

from tests.auth.conftest import bearer, create_key
from tests.factories import PASSWORD, make_member, make_team, unique


def new_user(role: str = "agent", **extra: object) -> dict[str, object]:
    return {
        "email": f"{unique('n')}@example.com",
        "name": "新同事",
        "password": "s3cret-pass",
        "role": role,
        **extra,
    }


async def login(client, email: str, password: str):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_admin_creates_a_user_who_can_then_log_in(client, runtime, tenant, admin):
    team = await make_team(runtime, tenant, "售后一组")
    body = new_user(team_id=str(team.id), locale="en")
    created = await client.post("/api/v1/users", headers=admin.headers, json=body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["role"] == "agent" and user["team_id"] == str(team.id) and user["locale"] == "en"
    assert user["email"] == body["email"] and user["is_active"] is True
    assert "password" not in created.text and "password_hash" not in created.text
    assert (await login(client, str(body["email"]), "s3cret-pass")).status_code == 200
    fetched = await client.get(f"/api/v1/users/{user['id']}", headers=admin.headers)
    assert fetched.json() == {**user, "last_login_at": fetched.json()["last_login_at"]}
    assert fetched.json()["last_login_at"] is not None


async def test_create_user_by_role_id(client, admin):
    roles = (await client.get("/api/v1/roles", headers=admin.headers)).json()["items"]
    lead = next(r for r in roles if r["name"] == "lead")
    body = new_user()
    del body["role"]
    created = await client.post("/api/v1/users", headers=admin.headers, json={**body, "role_id": lead["id"]})
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "lead"


@pytest.mark.parametrize(
    "change",
    [
        {"email": "not-an-email"},
        {"password": "short"},
        {"role": None},
        {"role_id": "00000000-0000-0000-0000-000000000001"},  # both role and role_id
        {"role": "no-such-role"},
        {"team_id": str(uuid.uuid4())},
        {"locale": "fr"},
        {"name": ""},
        {"is_superuser": True},
    ],
)
async def test_create_user_rejects_invalid_input(client, admin, change):
    body = {k: v for k, v in {**new_user(), **change}.items() if v is not None}
    response = await client.post("/api/v1/users", headers=admin.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_create_user_with_a_taken_email_is_a_conflict(client, admin):
    body = new_user()
    assert (await client.post("/api/v1/users", headers=admin.headers, json=body)).status_code == 201
    again = await client.post(
        "/api/v1/users", headers=admin.headers, json={**body, "email": body["email"].upper()}
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("/conflict")


async def test_create_user_honours_idempotency_key(client, admin):
    body = new_user()
    headers = {**admin.headers, "Idempotency-Key": unique("k")}
    first = await client.post("/api/v1/users", headers=headers, json=body)
    second = await client.post("/api/v1/users", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    other = await client.post("/api/v1/users", headers=headers, json=new_user())
    assert other.status_code == 422


async def test_list_users_filters_and_pages(client, runtime, tenant, admin):
    team = await make_team(runtime, tenant)
    a = await make_member(runtime, tenant, "agent", team, name="张伟")
    b = await make_member(runtime, tenant, "agent", name="李娜")
    c = await make_member(runtime, tenant, "lead", team, name="王芳")
    await client.patch(f"/api/v1/users/{b.user.id}", headers=admin.headers, json={"is_active": False})

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/api/v1/users?{query}", headers=admin.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(f"team_id={team.id}") == [str(a.user.id), str(c.user.id)]
    assert await ids("role=agent") == [str(a.user.id), str(b.user.id)]
    assert await ids(f"role={c.user.role_id}") == [str(c.user.id)]
    assert await ids("active=false") == [str(b.user.id)]
    assert await ids("q=王") == [str(c.user.id)]
    assert await ids(f"q={a.user.email[:8].upper()}") == [str(a.user.id)]
    page = (await client.get("/api/v1/users?limit=2&offset=1", headers=admin.headers)).json()
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 1
    assert [item["id"] for item in page["items"]] == [str(a.user.id), str(b.user.id)]
    assert (await client.get("/api/v1/users?limit=201", headers=admin.headers)).status_code == 422
    assert (await client.get("/api/v1/users?team_id=nope", headers=admin.headers)).status_code == 422


async def test_unknown_user_is_404(client, admin):
    missing = uuid.uuid4()
    assert (await client.get(f"/api/v1/users/{missing}", headers=admin.headers)).status_code == 404
    patched = await client.patch(f"/api/v1/users/{missing}", headers=admin.headers, json={"name": "x"})
    assert patched.status_code == 404
    reset = await client.post(
        f"/api/v1/users/{missing}/password", headers=admin.headers, json={"password": "another-pass"}
    )
    assert reset.status_code == 404


async def test_patch_user_changes_fields_and_role_applies_at_once(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    team = await make_team(runtime, tenant)
    # The agent's actor is now cached; the role change must not wait for the cache to expire.
    assert (await client.get("/api/v1/roles", headers=agent.headers)).status_code == 403
    roles = {
        r["name"]: r["id"] for r in (await client.get("/api/v1/roles", headers=admin.headers)).json()["items"]
    }
    patched = await client.patch(
        f"/api/v1/users/{agent.user.id}",
        headers=admin.headers,
        json={"name": "陈静", "role_id": roles["admin"], "team_id": str(team.id), "locale": "en"},
    )
    assert patched.status_code == 200, patched.text
    assert {k: patched.json()[k] for k in ("name", "role", "team_id", "locale")} == {
        "name": "陈静",
        "role": "admin",
        "team_id": str(team.id),
        "locale": "en",
    }
    assert (await client.get("/api/v1/roles", headers=agent.headers)).status_code == 200
    cleared = await client.patch(
        f"/api/v1/users/{agent.user.id}", headers=admin.headers, json={"team_id": None}
    )
    assert cleared.json()["team_id"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"role_id": None},
        {"is_active": None},
        {"locale": "de"},
        {"role_id": str(uuid.uuid4())},
        {"team_id": str(uuid.uuid4())},
        {"email": "x@example.com"},
    ],
)
async def test_patch_user_rejects_invalid_input(client, runtime, tenant, admin, body):
    agent = await make_member(runtime, tenant, "agent")
    response = await client.patch(f"/api/v1/users/{agent.user.id}", headers=admin.headers, json=body)
    assert response.status_code == 422, response.text


async def test_deactivated_user_is_refused_at_once(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    assert (await client.get("/api/v1/auth/me", headers=agent.headers)).status_code == 200
    response = await client.patch(
        f"/api/v1/users/{agent.user.id}", headers=admin.headers, json={"is_active": False}
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert (await client.get("/api/v1/auth/me", headers=agent.headers)).status_code == 401
    assert (await login(client, agent.user.email, PASSWORD)).status_code == 401


async def test_user_cannot_deactivate_themself(client, runtime, tenant, admin):
    await make_member(runtime, tenant, "admin")
    response = await client.patch(
        f"/api/v1/users/{admin.user.id}", headers=admin.headers, json={"is_active": False}
    )
    assert response.status_code == 409
    assert (await client.get("/api/v1/auth/me", headers=admin.headers)).status_code == 200


async def test_the_last_admin_stays_an_active_admin(client, runtime, tenant, admin):
    roles = {
        r["name"]: r["id"] for r in (await client.get("/api/v1/roles", headers=admin.headers)).json()["items"]
    }
    demote = await client.patch(
        f"/api/v1/users/{admin.user.id}", headers=admin.headers, json={"role_id": roles["agent"]}
    )
    assert demote.status_code == 409
    other = await make_member(runtime, tenant, "admin")
    deactivate = await client.patch(
        f"/api/v1/users/{other.user.id}", headers=admin.headers, json={"is_active": False}
    )
    assert deactivate.status_code == 200
    # ``other`` is inactive now, so ``admin`` is again the last active admin.
    again = await client.patch(
        f"/api/v1/users/{admin.user.id}", headers=admin.headers, json={"role_id": roles["lead"]}
    )
    assert again.status_code == 409
    await client.patch(f"/api/v1/users/{other.user.id}", headers=admin.headers, json={"is_active": True})
    demoted = await client.patch(
        f"/api/v1/users/{admin.user.id}", headers=admin.headers, json={"role_id": roles["lead"]}
    )
    assert demoted.status_code == 200 and demoted.json()["role"] == "lead"


async def test_admin_resets_a_password(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    url = f"/api/v1/users/{agent.user.id}/password"
    assert (await client.post(url, headers=admin.headers, json={"password": "short"})).status_code == 422
    assert (
        await client.post(url, headers=admin.headers, json={"password": "brand-new-pass"})
    ).status_code == 204
    assert (await login(client, agent.user.email, PASSWORD)).status_code == 401
    assert (await login(client, agent.user.email, "brand-new-pass")).status_code == 200


async def test_a_lead_manages_agents_but_cannot_grant_or_touch_more_than_they_hold(
    client, runtime, tenant, admin
):
    lead = await make_member(runtime, tenant, "lead")
    agent = await make_member(runtime, tenant, "agent")
    assert (
        await client.post("/api/v1/users", headers=lead.headers, json=new_user("agent"))
    ).status_code == 201
    assert (
        await client.post("/api/v1/users", headers=lead.headers, json=new_user("admin"))
    ).status_code == 403
    assert (
        await client.patch(f"/api/v1/users/{agent.user.id}", headers=lead.headers, json={"name": "改名"})
    ).status_code == 200
    assert (
        await client.patch(f"/api/v1/users/{admin.user.id}", headers=lead.headers, json={"name": "改名"})
    ).status_code == 403
    reset = await client.post(
        f"/api/v1/users/{admin.user.id}/password", headers=lead.headers, json={"password": "taken-over-1"}
    )
    assert reset.status_code == 403
    assert (await login(client, admin.user.email, PASSWORD)).status_code == 200


async def test_an_agent_cannot_use_the_user_routes(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    target = admin.user.id
    listed = await client.get("/api/v1/users", headers=agent.headers)
    assert listed.status_code == 200  # agents read teammates for the assignee picker and @mentions
    for method, url, body in [
        ("POST", "/api/v1/users", new_user()),
        ("GET", f"/api/v1/users/{target}", None),
        ("PATCH", f"/api/v1/users/{target}", {"name": "x"}),
        ("POST", f"/api/v1/users/{target}/password", {"password": "whatever-123"}),
    ]:
        response = await client.request(method, url, headers=agent.headers, json=body)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["type"].endswith("/permission-denied")


async def test_an_api_key_with_ticket_scopes_cannot_manage_users(client, admin):
    key = await create_key(client, admin, "tickets:read")
    assert (await client.get("/api/v1/users", headers=bearer(key))).status_code == 403
    key = await create_key(client, admin, "tickets:write")
    assert (await client.post("/api/v1/users", headers=bearer(key), json=new_user())).status_code == 403
