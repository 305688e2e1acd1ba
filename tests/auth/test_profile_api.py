"""The caller's own profile: name, UI language and password."""

from __future__ import annotations

from tests.auth.conftest import bearer, create_key
from tests.factories import PASSWORD, make_member


async def test_change_own_name_and_locale(client, runtime, tenant):
    agent = await make_member(runtime, tenant, "agent")
    assert (await client.get("/api/v1/auth/me", headers=agent.headers)).json()["locale"] == "zh-CN"
    response = await client.patch(
        "/api/v1/auth/me", headers=agent.headers, json={"name": "小李", "locale": "en"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["locale"]) == ("小李", "en")
    me = (await client.get("/api/v1/auth/me", headers=agent.headers)).json()
    assert (me["name"], me["locale"]) == ("小李", "en")
    only_locale = await client.patch("/api/v1/auth/me", headers=agent.headers, json={"locale": "zh-CN"})
    assert (only_locale.json()["name"], only_locale.json()["locale"]) == ("小李", "zh-CN")


async def test_profile_rejects_invalid_input(client, runtime, tenant):
    agent = await make_member(runtime, tenant, "agent")
    for body in ({"locale": "ja"}, {"name": ""}, {"name": None}, {"email": "x@example.com"}):
        assert (await client.patch("/api/v1/auth/me", headers=agent.headers, json=body)).status_code == 422, (
            body
        )
    assert (await client.patch("/api/v1/auth/me", json={"name": "x"})).status_code == 401


async def test_an_api_key_has_no_profile(client, admin):
    key = await create_key(client, admin, "tickets:write")
    assert (await client.patch("/api/v1/auth/me", headers=bearer(key), json={"name": "x"})).status_code == 403
    response = await client.post(
        "/api/v1/auth/me/password",
        headers=bearer(key),
        json={"current_password": "whatever", "new_password": "whatever-123"},
    )
    assert response.status_code == 403


async def test_change_own_password(client, runtime, tenant):
    agent = await make_member(runtime, tenant, "agent")
    url = "/api/v1/auth/me/password"
    wrong = await client.post(
        url,
        headers=agent.headers,
        json={"current_password": "not-my-password", "new_password": "fresh-pass-9"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["loc"] == ["body", "current_password"]
    short = await client.post(
        url, headers=agent.headers, json={"current_password": PASSWORD, "new_password": "short"}
    )
    assert short.status_code == 422
    assert (
        await client.post(url, json={"current_password": PASSWORD, "new_password": "fresh-pass-9"})
    ).status_code == 401
    ok = await client.post(
        url, headers=agent.headers, json={"current_password": PASSWORD, "new_password": "fresh-pass-9"}
    )
    assert ok.status_code == 204
    old = await client.post("/api/v1/auth/login", json={"email": agent.user.email, "password": PASSWORD})
    new = await client.post(
        "/api/v1/auth/login", json={"email": agent.user.email, "password": "fresh-pass-9"}
    )
    assert (old.status_code, new.status_code) == (401, 200)
