"""Mini-program login against the fake WeChat API: ``jscode2session`` maps the wx.login code to the
customer's openid and unionid, the answer is a signed identity token (never the session_key), and a
second login of the same person finds the same customer. Refused codes, wrong entry points, forged
and expired tokens are refused."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from huiliu.channels.wechat.identity_token import (
    BadIdentityToken,
    issue_identity_token,
    read_identity_token,
)
from huiliu.core.clock import utcnow
from tests.channels.helpers import counts, create_entry_point, public_client
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent.fake_api import FakeApi
from tests.factories import Member, make_member, make_tenant

SECRET = "test-secret-key-for-identity-tokens"


async def _miniprogram(client: httpx.AsyncClient, admin: Member, fake_api: FakeApi, **config: Any) -> str:
    entry = await create_entry_point(
        client,
        admin,
        "wechat_miniprogram",
        name="小程序",
        app_id=fake.MINI_APP_ID,
        app_secret=fake.MINI_APP_SECRET,
        api_base_url=fake_api.base_url,
        **config,
    )
    assert "app_secret" not in entry["config"]
    return str(entry["id"])


async def test_code_becomes_an_identity_token_for_one_customer(
    runtime: Any, client: httpx.AsyncClient, app: Any, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    entry_id = await _miniprogram(client, admin, fake_api)
    fake_api.state.js_codes["JS1"] = {"openid": "oMini-openid-1", "unionid": "oUnion-1"}
    fake_api.state.js_codes["JS2"] = {"openid": "oMini-openid-1", "unionid": "oUnion-1"}
    async with public_client(app) as mini:
        first = await mini.post(f"/api/v1/public/miniprogram/{entry_id}/session", json={"code": "JS1"})
        assert first.status_code == 200, first.text
        body = first.json()
        assert "session_key" not in first.text
        assert body["has_unionid"] is True and body["customer_id"]
        second = await mini.post(f"/api/v1/public/miniprogram/{entry_id}/session", json={"code": "JS2"})
        assert second.json()["customer_id"] == body["customer_id"]
        reused = await mini.post(f"/api/v1/public/miniprogram/{entry_id}/session", json={"code": "JS1"})
        assert reused.status_code == 422
    identity = read_identity_token(runtime.settings.secret_key, body["identity_token"], utcnow())
    assert identity.tenant_id == tenant.id and str(identity.entry_point_id) == entry_id
    assert identity.identities == (
        ("external", f"wxmini:{fake.MINI_APP_ID}:oMini-openid-1"),
        ("wechat_unionid", "oUnion-1"),
    )


async def test_refusals_write_nothing(
    runtime: Any, client: httpx.AsyncClient, app: Any, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    entry_id = await _miniprogram(client, admin, fake_api)
    mp = await create_entry_point(
        client,
        admin,
        "wechat_mp",
        app_id=fake.APP_ID,
        app_secret=fake.APP_SECRET,
        api_base_url=fake_api.base_url,
    )
    before = await counts(runtime, tenant.id)
    async with public_client(app) as mini:
        unknown_code = await mini.post(
            f"/api/v1/public/miniprogram/{entry_id}/session", json={"code": "NOPE"}
        )
        assert unknown_code.status_code == 422
        assert (await mini.post(f"/api/v1/public/miniprogram/{entry_id}/session", json={})).status_code == 422
        wrong_kind = await mini.post(f"/api/v1/public/miniprogram/{mp['id']}/session", json={"code": "X"})
        assert wrong_kind.status_code == 404
        missing = await mini.post(f"/api/v1/public/miniprogram/{uuid.uuid4()}/session", json={"code": "X"})
        assert missing.status_code == 404
    await client.patch(
        f"/api/v1/entry-points/{entry_id}", headers=admin.headers, json={"config": {"app_secret": "wrong"}}
    )
    fake_api.state.js_codes["JS3"] = {"openid": "oMini-openid-3"}
    async with public_client(app) as mini:
        wrong_secret = await mini.post(f"/api/v1/public/miniprogram/{entry_id}/session", json={"code": "JS3"})
        assert wrong_secret.status_code == 502
    assert await counts(runtime, tenant.id) == before


def test_identity_tokens_are_signed_and_expire() -> None:
    now = utcnow()
    tenant, entry = uuid.uuid4(), uuid.uuid4()
    token, expires_at = issue_identity_token(SECRET, tenant, entry, (("wechat_openid", "o1"),), now)
    assert read_identity_token(SECRET, token, now).identities == (("wechat_openid", "o1"),)
    with pytest.raises(BadIdentityToken):
        read_identity_token(SECRET, token, expires_at + timedelta(seconds=1))
    with pytest.raises(BadIdentityToken):
        read_identity_token("another-secret-key", token, now)
    version, payload, tag = token.split(".")
    forged_payload = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    for forged in (
        f"{version}.{forged_payload}.{tag}",
        f"v2.{payload}.{tag}",
        "v1..",
        "garbage",
        token + "x" * 1000,
    ):
        with pytest.raises(BadIdentityToken):
            read_identity_token(SECRET, forged, now)


async def test_notice_settings_are_checked(
    runtime: Any, client: httpx.AsyncClient, fake_api: FakeApi
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    base = {"app_id": fake.MINI_APP_ID, "app_secret": fake.MINI_APP_SECRET}
    for config in (
        {"notice_template_id": "T1"},  # without fields
        {"notice_template_id": "T1", "notice_fields": {"thing1": "{password}"}},
        {"notice_template_id": "T1", "notice_fields": {"1bad": "{ticket_title}"}},
        {"miniprogram_state": "beta"},
    ):
        response = await client.post(
            "/api/v1/entry-points",
            headers=admin.headers,
            json={"kind": "wechat_miniprogram", "name": "小程序", "config": base | config},
        )
        assert response.status_code == 422, config
    await _miniprogram(
        client,
        admin,
        fake_api,
        notice_template_id="T1",
        notice_fields={"thing1": "{ticket_title}", "character_string2": "#{ticket_number}"},
        miniprogram_state="trial",
    )


async def test_the_mini_program_intake_attributes_the_request_by_the_token(
    runtime: Any, client: httpx.AsyncClient, app: Any, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    entry_id = await _miniprogram(client, admin, fake_api)
    other_id = await _miniprogram(client, admin, fake_api)
    fake_api.state.js_codes["JS4"] = {"openid": "oMini-openid-4", "unionid": "oUnion-4"}
    async with public_client(app) as mini:
        session = (
            await mini.post(f"/api/v1/public/miniprogram/{entry_id}/session", json={"code": "JS4"})
        ).json()
        auth = {"Authorization": f"Bearer {session['identity_token']}", "Idempotency-Key": "req-1"}
        body = {"title": "蛋糕延迟", "description": "订单 DD20261130 的蛋糕还没送到"}
        url = f"/api/v1/public/miniprogram/{entry_id}/tickets"
        before = await counts(runtime, tenant.id)
        assert (await mini.post(url, json=body)).status_code == 401
        assert (
            await mini.post(url, json=body, headers={"Authorization": "Bearer v1.x.y"})
        ).status_code == 401
        foreign = await mini.post(f"/api/v1/public/miniprogram/{other_id}/tickets", json=body, headers=auth)
        assert foreign.status_code == 401
        assert await counts(runtime, tenant.id) == before
        created = await mini.post(url, json=body, headers=auth)
        assert created.status_code == 201, created.text
        repeat = await mini.post(url, json=body, headers=auth)
        assert repeat.json()["ticket_number"] == created.json()["ticket_number"]
        assert created.json()["progress_url"].startswith(runtime.settings.public_url.rstrip("/") + "/h5/p/")
    listed = await client.get(f"/api/v1/customers/{session['customer_id']}/360", headers=admin.headers)
    customer = listed.json()
    assert customer["tickets"]["recent"][0]["number"] == created.json()["ticket_number"]
    values = {item["value"] for item in customer["customer"]["identities"]}
    assert values >= {f"wxmini:{fake.MINI_APP_ID}:oMini-openid-4", "oUnion-4"}


async def test_the_h5_form_takes_the_identity_token_of_a_mini_program_login(
    runtime: Any, client: httpx.AsyncClient, app: Any, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    stranger = await make_member(runtime, await make_tenant(runtime), "admin")
    mini_id = await _miniprogram(client, admin, fake_api)
    foreign_mini = await _miniprogram(client, stranger, fake_api)
    form = await create_entry_point(client, admin, "h5_form", name="小程序内的表单")
    fake_api.state.js_codes["JS5"] = {"openid": "oMini-openid-5", "unionid": "oUnion-5"}
    fake_api.state.js_codes["JS6"] = {"openid": "oMini-openid-6"}
    url = f"/api/v1/public/forms/{form['public_key']}/submissions"
    async with public_client(app) as mini:
        token = (
            await mini.post(f"/api/v1/public/miniprogram/{mini_id}/session", json={"code": "JS5"})
        ).json()
        other = (
            await mini.post(f"/api/v1/public/miniprogram/{foreign_mini}/session", json={"code": "JS6"})
        ).json()
        before = await counts(runtime, tenant.id)
        for bad in ("v1.forged.token", other["identity_token"]):
            refused = await mini.post(url, json={"description": "网页里提交", "identity_token": bad})
            assert refused.status_code == 401, refused.text
        assert await counts(runtime, tenant.id) == before
        accepted = await mini.post(
            url, json={"description": "网页里提交", "identity_token": token["identity_token"]}
        )
        assert accepted.status_code == 201, accepted.text
    customer = (
        await client.get(f"/api/v1/customers/{token['customer_id']}/360", headers=admin.headers)
    ).json()
    assert customer["tickets"]["counts"]["total"] == 1
    assert customer["tickets"]["recent"][0]["number"] == accepted.json()["ticket_number"]
