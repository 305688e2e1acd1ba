"""Login answers, bearer tokens and the console's cookie session with its CSRF check."""

from __future__ import annotations

import time

import httpx
import jwt

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


async def test_a_password_reset_ends_the_users_sessions_and_tokens(client, runtime, tenant, admin):
    agent = await make_member(runtime, tenant, "agent")
    assert (await client.get("/api/v1/auth/me", headers=agent.headers)).status_code == 200
    reset = await client.post(
        f"/api/v1/users/{agent.user.id}/password", headers=admin.headers, json={"password": "reset-pass-77"}
    )
    assert reset.status_code == 204
    ended = await client.get("/api/v1/auth/me", headers=agent.headers)
    assert ended.status_code == 401
    assert ended.json()["type"].endswith("/not-authenticated")
    fresh = await client.post(
        "/api/v1/auth/login", json={"email": agent.user.email, "password": "reset-pass-77"}
    )
    token = fresh.json()["access_token"]
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200
    # The administrator's own session is untouched.
    assert (await client.get("/api/v1/auth/me", headers=admin.headers)).status_code == 200


async def test_changing_ones_password_ends_other_sessions_and_renews_the_console_cookie(
    app, client, runtime, tenant
):
    agent = await make_member(runtime, tenant, "agent")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        assert (
            await browser.post("/api/v1/auth/login", json={"email": agent.user.email, "password": PASSWORD})
        ).status_code == 200
        old_cookie = browser.cookies["huiliu_session"]
        changed = await browser.post(
            "/api/v1/auth/me/password",
            json={"current_password": PASSWORD, "new_password": "fresh-pass-9"},
            headers={"X-CSRF-Token": browser.cookies["huiliu_csrf"]},
        )
        assert changed.status_code == 204
        assert browser.cookies["huiliu_session"] != old_cookie
        # The console carries on with the renewed cookie ...
        assert (await browser.get("/api/v1/auth/me")).status_code == 200
    # ... while the bearer token issued before (another device) has ended.
    assert (await client.get("/api/v1/auth/me", headers=agent.headers)).status_code == 401
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as stale:
        stale.cookies.set("huiliu_session", old_cookie)
        assert (await stale.get("/api/v1/auth/me")).status_code == 401


async def test_a_token_with_a_malformed_version_claim_is_refused(client, runtime, tenant, admin, settings):
    claims = {"sub": str(admin.user.id), "tid": str(tenant.id), "exp": int(time.time()) + 60, "typ": "access"}
    forged = jwt.encode({**claims, "ver": "0"}, settings.secret_key, algorithm="HS256")
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    legacy = jwt.encode(claims, settings.secret_key, algorithm="HS256")  # issued before ``ver`` existed
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {legacy}"})
    ).status_code == 200
