"""The console's setup routes: the exact callback URL, Token and EncodingAESKey of a WeChat / WeCom
entry point (generated when the admin gave none), and "test connection" asking the fake platform for
a token — ok with the right secret, the platform's errcode with a wrong one. Agents without
``admin.entry_points`` and other tenants get nothing."""

from __future__ import annotations

from typing import Any

import httpx

from huiliu.channels.tencent.crypto import aes_key
from tests.channels.helpers import create_entry_point
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent.fake_api import FakeApi
from tests.factories import make_member, make_tenant


async def test_setup_shows_what_to_paste_and_test_connection_asks_the_platform(
    runtime: Any, client: httpx.AsyncClient, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    entry = await create_entry_point(
        client,
        admin,
        "wechat_mp",
        app_id=fake.APP_ID,
        app_secret=fake.APP_SECRET,
        api_base_url=fake_api.base_url,
    )
    setup = await client.get(f"/api/v1/entry-points/{entry['id']}/tencent-setup", headers=admin.headers)
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert body["callback_url"].endswith(f"/callbacks/wechat/{entry['id']}")
    assert body["callback_url"].startswith(runtime.settings.public_url.rstrip("/"))
    assert len(body["token"]) == 32 and body["token"].isalnum()
    assert len(aes_key(body["encoding_aes_key"])) == 32  # generated, and a usable key
    assert (body["encryption_mode"], body["receive_id"], body["token_expires_at"]) == (
        "safe",
        fake.APP_ID,
        None,
    )
    assert "app_secret" not in entry["config"]

    tested = await client.post(f"/api/v1/entry-points/{entry['id']}/tencent-test", headers=admin.headers)
    assert tested.status_code == 200
    assert tested.json()["ok"] is True
    assert fake_api.state.tokens_issued == 1
    again = await client.get(f"/api/v1/entry-points/{entry['id']}/tencent-setup", headers=admin.headers)
    assert again.json()["token_expires_at"] is not None

    wrong = await client.patch(
        f"/api/v1/entry-points/{entry['id']}",
        headers=admin.headers,
        json={"config": {"app_secret": "wrong-secret"}},
    )
    assert wrong.status_code == 200
    failed = await client.post(f"/api/v1/entry-points/{entry['id']}/tencent-test", headers=admin.headers)
    assert failed.json() == {
        "ok": False,
        "errcode": 40125,
        "errmsg": "invalid appsecret",
        "token_expires_at": None,
    }

    agent = await make_member(runtime, tenant, "agent")
    refused = await client.get(f"/api/v1/entry-points/{entry['id']}/tencent-setup", headers=agent.headers)
    assert refused.status_code == 403
    stranger = await make_member(runtime, await make_tenant(runtime), "admin")
    hidden = await client.post(f"/api/v1/entry-points/{entry['id']}/tencent-test", headers=stranger.headers)
    assert hidden.status_code == 404


async def test_settings_that_cannot_work_are_refused(runtime: Any, client: httpx.AsyncClient) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    cases = [
        ("wechat_mp", {"app_id": fake.APP_ID}),  # no secret
        ("wechat_mp", {"app_id": fake.APP_ID, "app_secret": "s", "encoding_aes_key": "short"}),
        ("wechat_mp", {"app_id": fake.APP_ID, "app_secret": "s", "encryption_mode": "loud"}),
        ("wecom_app", {"corp_id": fake.CORP_ID, "secret": "s"}),  # no agent_id
        ("wecom_kf", {"corp_id": fake.CORP_ID, "secret": "s", "token": "no spaces allowed"}),
        ("wecom_kf", {"corp_id": fake.CORP_ID, "secret": "s", "api_base_url": "ftp://example.com"}),
    ]
    for kind, config in cases:
        response = await client.post(
            "/api/v1/entry-points", headers=admin.headers, json={"kind": kind, "name": "x", "config": config}
        )
        assert response.status_code == 422, (kind, config, response.text)


async def test_test_connection_follows_the_outbound_policy(
    runtime: Any, client: httpx.AsyncClient, fake_api: FakeApi, monkeypatch: Any
) -> None:
    """The API process calls a tenant-configured base URL only where the worker could: an entry point
    pointed at a private address (here the fake platform on 127.0.0.1) is refused when the
    installation does not allow private networks, and nothing reaches the platform."""
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    entry = await create_entry_point(
        client,
        admin,
        "wechat_mp",
        app_id=fake.APP_ID,
        app_secret=fake.APP_SECRET,
        api_base_url=fake_api.base_url,
    )
    monkeypatch.setattr(runtime.settings, "outbound_allow_private_networks", False)
    refused = await client.post(f"/api/v1/entry-points/{entry['id']}/tencent-test", headers=admin.headers)
    assert refused.status_code == 200
    body = refused.json()
    assert body["ok"] is False
    assert "BlockedDestination" in body["errmsg"] and "127.0.0.1" in body["errmsg"]
    assert fake_api.state.tokens_issued == 0

    monkeypatch.setattr(runtime.settings, "outbound_allowed_hosts", "127.0.0.1")
    allowed = await client.post(f"/api/v1/entry-points/{entry['id']}/tencent-test", headers=admin.headers)
    assert allowed.json()["ok"] is True
    assert fake_api.state.tokens_issued == 1
