"""Login answers, bearer tokens and the console's cookie session with its CSRF check."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, make_member, unique


async def test_wrong_password_and_unknown_email_get_the_same_answer(client, runtime, tenant, admin):
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": admin.user.email, "password": "guess-guess"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": f"{unique('nobody')}@example.com", "password": "guess-guess"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["content-type"] == unknown.headers["content-type"] == "application/problem+json"
    assert "set-cookie" not in wrong.headers


async def test_an_inactive_user_gets_the_same_answer_as_a_wrong_password(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    await client.patch(f"/api/v1/users/{agent.user.id}", headers=admin.headers, json={"is_active": False})
    inactive = await client.post("/api/v1/auth/login", json={"email": agent.user.email, "password": PASSWORD})
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": admin.user.email, "password": "guess-guess"}
    )
    assert inactive.status_code == 401 and inactive.json() == wrong.json()


async def test_missing_or_bad_credentials_are_401(client):
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer hl_deadbeef_unknown"},
    ):
        response = await client.get("/api/v1/users", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["type"].endswith("/not-authenticated")


async def test_cookie_session_needs_the_csrf_header_on_writes(app, runtime, tenant, admin):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        logged_in = await browser.post(
            "/api/v1/auth/login", json={"email": admin.user.email, "password": PASSWORD}
        )
        assert logged_in.status_code == 200
        csrf = browser.cookies["huiliu_csrf"]
        assert (await browser.get("/api/v1/teams")).status_code == 200
        without = await browser.post("/api/v1/teams", json={"name": "无令牌"})
        assert without.status_code == 403
        wrong = await browser.post(
            "/api/v1/teams", json={"name": "错令牌"}, headers={"X-CSRF-Token": csrf + "x"}
        )
        assert wrong.status_code == 403
        with_header = await browser.post(
            "/api/v1/teams", json={"name": "有令牌"}, headers={"X-CSRF-Token": csrf}
        )
        assert with_header.status_code == 201, with_header.text
        patched = await browser.patch(
            "/api/v1/auth/me", json={"locale": "en"}, headers={"X-CSRF-Token": csrf}
        )
        assert patched.status_code == 200
        names = [t["name"] for t in (await browser.get("/api/v1/teams")).json()["items"]]
        assert names == ["有令牌"]
