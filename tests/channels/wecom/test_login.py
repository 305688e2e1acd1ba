"""WeCom login for the console against the fake WeCom API: the login page lists the wecom_app entry
points that offer it; ``start`` sends the browser to WeCom's QR login page (or OAuth inside the WeCom
client) with a state bound to this browser; the callback turns the code into the UserID
(``auth/getuserinfo``) and the UserID into the bound user's console session. A foreign state, a
refused or unknown code, a non-member and an unbound member end without a session; admins bind
UserIDs, one user per UserID."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from huiliu.channels.wecom.login import safe_next
from tests.channels.helpers import create_entry_point, public_client
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent.fake_api import FakeApi
from tests.factories import Member, make_member, make_tenant

LOGIN_BASE = "https://login.work.example"
OAUTH_BASE = "https://open.weixin.example"


async def _wecom_login(client: httpx.AsyncClient, admin: Member, fake_api: FakeApi, **config: Any) -> str:
    entry = await create_entry_point(
        client,
        admin,
        "wecom_app",
        name="企业微信登录",
        corp_id=fake.CORP_ID,
        agent_id="1000002",
        secret="wecom-app-secret-for-tests",
        api_base_url=fake_api.base_url,
        login_base_url=LOGIN_BASE,
        oauth_base_url=OAUTH_BASE,
        **config,
    )
    return str(entry["id"])


async def _bind(
    client: httpx.AsyncClient, admin: Member, member: Member, userid: str | None
) -> httpx.Response:
    return await client.put(
        f"/api/v1/auth/wecom/bindings/{member.user.id}", headers=admin.headers, json={"wecom_userid": userid}
    )


async def _start(browser: httpx.AsyncClient, entry_id: str, **headers: str) -> tuple[str, dict[str, str]]:
    response = await browser.get(
        f"/api/v1/auth/wecom/{entry_id}/start", params={"next": "/tickets/abc?tab=log"}, headers=headers
    )
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    return location, query


async def test_qr_login_ends_in_the_bound_users_console_session(
    runtime: Any, client: httpx.AsyncClient, app: Any, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    agent = await make_member(runtime, tenant, "agent", name="张三")
    entry_id = await _wecom_login(client, admin, fake_api, console_login=True)
    bound = await _bind(client, admin, agent, "zhangsan")
    assert bound.status_code == 200, bound.text
    assert bound.json()["wecom_userid"] == "zhangsan"

    async with public_client(app) as browser:
        logins = (await browser.get("/api/v1/auth/wecom/logins", params={"tenant": tenant.slug})).json()
        assert [item["entry_point_id"] for item in logins] == [entry_id]
        # Public, so it names nothing unless asked for one tenant by its slug.
        assert (await browser.get("/api/v1/auth/wecom/logins")).json() == []
        other = await make_tenant(runtime)
        assert (await browser.get("/api/v1/auth/wecom/logins", params={"tenant": other.slug})).json() == []
        assert (
            await browser.get("/api/v1/auth/wecom/logins", params={"tenant": "no-such-tenant"})
        ).json() == []
        location, query = await _start(browser, entry_id)
        assert location.startswith(f"{LOGIN_BASE}/wwlogin/sso/login?")
        assert query["login_type"] == "CorpApp"
        assert (query["appid"], query["agentid"]) == (fake.CORP_ID, "1000002")
        assert query["redirect_uri"] == (
            f"{runtime.settings.public_url.rstrip('/')}/api/v1/auth/wecom/{entry_id}/callback"
        )
        fake_api.state.login_codes["CODE-OK"] = {"userid": "zhangsan", "user_ticket": "USER_TICKET"}
        done = await browser.get(
            f"/api/v1/auth/wecom/{entry_id}/callback", params={"code": "CODE-OK", "state": query["state"]}
        )
        assert done.status_code == 302, done.text
        assert done.headers["location"] == "/tickets/abc?tab=log"
        me = await browser.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["id"] == str(agent.user.id)
        # The state is spent: the same callback again is refused.
        again = await browser.get(
            f"/api/v1/auth/wecom/{entry_id}/callback", params={"code": "CODE-OK", "state": query["state"]}
        )
        assert again.status_code == 400
    assert fake_api.state.tokens_issued == 1


async def test_inside_wecom_the_login_is_oauth_without_a_qr_code(
    runtime: Any, client: httpx.AsyncClient, app: Any, fake_api: FakeApi
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    entry_id = await _wecom_login(client, admin, fake_api, console_login=True)
    async with public_client(app) as browser:
        user_agent = "Mozilla/5.0 (Windows NT 10.0) wxwork/4.1.22 MicroMessenger/7.0.1"
        location, query = await _start(browser, entry_id, **{"User-Agent": user_agent})
    assert location.startswith(f"{OAUTH_BASE}/connect/oauth2/authorize?")
    assert location.endswith("#wechat_redirect")
    assert (query["appid"], query["agentid"], query["scope"], query["response_type"]) == (
        fake.CORP_ID,
        "1000002",
        "snsapi_base",
        "code",
    )


async def test_a_state_from_another_browser_is_refused(
    runtime: Any, client: httpx.AsyncClient, app: Any, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    assert (await _bind(client, admin, admin, "lisi")).status_code == 200
    entry_id = await _wecom_login(client, admin, fake_api, console_login=True)
    async with public_client(app) as victim:
        _, query = await _start(victim, entry_id)
    fake_api.state.login_codes["CODE-X"] = {"userid": "lisi"}
    async with public_client(app) as attacker:
        forged = await attacker.get(
            f"/api/v1/auth/wecom/{entry_id}/callback", params={"code": "CODE-X", "state": query["state"]}
        )
        assert forged.status_code == 400
        assert forged.headers["content-type"].startswith("application/problem+json")
        assert forged.json()["type"].endswith("wecom-login-state")
        assert "huiliu_session" not in forged.cookies
        _, own = await _start(attacker, entry_id)
        wrong = await attacker.get(
            f"/api/v1/auth/wecom/{entry_id}/callback", params={"code": "CODE-X", "state": own["state"] + "x"}
        )
        assert wrong.status_code == 400
    assert "CODE-X" in fake_api.state.login_codes  # the platform was never asked


@pytest.mark.parametrize(
    ("answer", "code", "error"),
    [
        ({"openid": "ohJ4b0nonmember"}, "CODE-NM", "not-member"),
        ({"userid": "wangwu"}, "CODE-NB", "not-bound"),
        (None, "CODE-UNKNOWN", "platform"),
        (None, None, "denied"),
    ],
)
async def test_logins_that_end_without_a_session_go_back_to_the_login_page(
    runtime: Any,
    client: httpx.AsyncClient,
    app: Any,
    fake_api: FakeApi,
    answer: dict[str, str] | None,
    code: str | None,
    error: str,
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    entry_id = await _wecom_login(client, admin, fake_api, console_login=True)
    if answer is not None and code is not None:
        fake_api.state.login_codes[code] = answer
    async with public_client(app) as browser:
        _, query = await _start(browser, entry_id)
        params = {"state": query["state"]} | ({"code": code} if code else {})
        done = await browser.get(f"/api/v1/auth/wecom/{entry_id}/callback", params=params)
        assert done.status_code == 302
        assert done.headers["location"] == f"/login?wecom_error={error}"
        assert (await browser.get("/api/v1/auth/me")).status_code == 401


async def test_only_entry_points_with_console_login_offer_it(
    runtime: Any, client: httpx.AsyncClient, app: Any, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    entry_id = await _wecom_login(client, admin, fake_api)
    async with public_client(app) as browser:
        assert (await browser.get(f"/api/v1/auth/wecom/{entry_id}/start")).status_code == 404
        logins = await browser.get("/api/v1/auth/wecom/logins", params={"tenant": tenant.slug})
        listed = [item["entry_point_id"] for item in logins.json()]
        assert entry_id not in listed
    bad = await client.patch(
        f"/api/v1/entry-points/{entry_id}", headers=admin.headers, json={"config": {"console_login": "yes"}}
    )
    assert bad.status_code == 422


async def test_binding_is_for_admins_and_one_user_per_userid(runtime: Any, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    agent = await make_member(runtime, tenant, "agent")
    other_tenant_admin = await make_member(runtime, await make_tenant(runtime), "admin")
    assert (await _bind(client, admin, agent, "zhaoliu")).status_code == 200
    assert (await _bind(client, admin, admin, "zhaoliu")).status_code == 409
    # Another tenant may use the same UserID (it is another corp's member).
    assert (await _bind(client, other_tenant_admin, other_tenant_admin, "zhaoliu")).status_code == 200
    assert (await _bind(client, admin, admin, "bad id!")).status_code == 422
    assert (await _bind(client, agent, agent, "self")).status_code == 403
    assert (await _bind(client, other_tenant_admin, agent, "x")).status_code == 404
    listed = (await client.get("/api/v1/auth/wecom/bindings", headers=admin.headers)).json()
    assert {item["id"]: item["wecom_userid"] for item in listed}[str(agent.user.id)] == "zhaoliu"
    assert (await _bind(client, admin, agent, None)).json()["wecom_userid"] is None


def test_next_stays_on_this_site() -> None:
    assert safe_next("/tickets/1") == "/tickets/1"
    assert safe_next("//evil.example/x") == "/"
    assert safe_next("https://evil.example") == "/"
    assert safe_next("/\\evil.example") == "/"
    assert safe_next(None) == "/"
