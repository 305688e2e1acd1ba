"""The WeCom chat sidebar's server side against the fake WeCom API: JS-SDK signatures for
``wx.config`` (corp jsapi_ticket) and ``wx.agentConfig`` (agent_config ticket) with both tickets
cached; the customer behind an external contact; a ticket opened from the chat for that contact.
Other tenants and other entry point kinds see nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from huiliu.channels.tencent.crypto import jsapi_signature
from huiliu.tickets.models import Ticket
from tests.channels.helpers import create_entry_point
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent.fake_api import FakeApi
from tests.factories import Member, make_member, make_tenant

PAGE = "https://huiliu.example.cn/wecom-sidebar?entry_point=1#/ignored"
CONTACT = "wmqfasd1e19278asdasdasdasd"


async def _sidebar_app(client: httpx.AsyncClient, admin: Member, fake_api: FakeApi) -> str:
    entry = await create_entry_point(
        client,
        admin,
        "wecom_app",
        name="聊天工具栏",
        corp_id=fake.CORP_ID,
        agent_id="1000002",
        secret="wecom-app-secret-for-tests",
        api_base_url=fake_api.base_url,
    )
    return str(entry["id"])


async def test_js_sdk_signatures_sign_the_page_with_both_tickets(
    runtime: Any, client: httpx.AsyncClient, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    agent = await make_member(runtime, tenant, "agent")
    entry_id = await _sidebar_app(client, admin, fake_api)
    url = f"/api/v1/wecom/{entry_id}/sidebar/js-sdk"
    first = await client.post(url, headers=agent.headers, json={"url": PAGE})
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["corp_id"], body["agent_id"]) == (fake.CORP_ID, "1000002")
    corp, agent_config = body["config"], body["agent_config"]
    # The fake hands out "ticket-corp-1" (get_jsapi_ticket) and "ticket-agent_config-2" (ticket/get).
    assert corp["signature"] == jsapi_signature(
        "ticket-corp-1", corp["nonce_str"], str(corp["timestamp"]), PAGE
    )
    assert agent_config["signature"] == jsapi_signature(
        "ticket-agent_config-2", agent_config["nonce_str"], str(agent_config["timestamp"]), PAGE
    )
    again = await client.post(url, headers=agent.headers, json={"url": PAGE})
    assert again.status_code == 200
    assert (fake_api.state.tickets_issued, fake_api.state.tokens_issued) == (2, 1)  # cached


async def test_a_platform_refusal_is_a_502_and_other_tenants_get_404(
    runtime: Any, client: httpx.AsyncClient, fake_api: FakeApi
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    stranger = await make_member(runtime, await make_tenant(runtime), "admin")
    entry_id = await _sidebar_app(client, admin, fake_api)
    url = f"/api/v1/wecom/{entry_id}/sidebar/js-sdk"
    assert (await client.post(url, headers=stranger.headers, json={"url": PAGE})).status_code == 404
    await client.patch(
        f"/api/v1/entry-points/{entry_id}", headers=admin.headers, json={"config": {"secret": "wrong-secret"}}
    )
    refused = await client.post(url, headers=admin.headers, json={"url": PAGE})
    assert refused.status_code == 502
    assert refused.json()["type"].endswith("platform-unavailable")
    mp = await create_entry_point(
        client,
        admin,
        "wechat_mp",
        app_id=fake.APP_ID,
        app_secret=fake.APP_SECRET,
        api_base_url=fake_api.base_url,
    )
    other_kind = await client.post(
        f"/api/v1/wecom/{mp['id']}/sidebar/js-sdk", headers=admin.headers, json={"url": PAGE}
    )
    assert other_kind.status_code == 404


async def test_a_ticket_from_the_chat_belongs_to_the_contacts_customer(
    runtime: Any, client: httpx.AsyncClient, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    agent = await make_member(runtime, tenant, "agent")
    entry_id = await _sidebar_app(client, admin, fake_api)
    contact_url = f"/api/v1/wecom/{entry_id}/sidebar/contacts/{CONTACT}"
    unknown = await client.get(contact_url, headers=agent.headers)
    assert unknown.status_code == 200
    assert unknown.json()["customer_id"] is None
    created = await client.post(
        f"/api/v1/wecom/{entry_id}/sidebar/tickets",
        headers=agent.headers,
        json={
            "external_userid": CONTACT,
            "title": "退货：收到的杯子有裂纹",
            "description": "客户在企业微信里发了照片",
            "priority": "high",
        },
    )
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["outcome"] == "created"
    known = (await client.get(contact_url, headers=agent.headers)).json()
    assert known["customer_id"] == answer["customer_id"] is not None
    async with runtime.db.read(tenant.id) as session:
        ticket = await session.get(Ticket, uuid.UUID(answer["ticket_id"]))
    assert ticket is not None
    assert (ticket.channel, ticket.title, ticket.priority) == (
        "wecom_sidebar",
        "退货：收到的杯子有裂纹",
        "high",
    )
    assert str(ticket.customer_id) == answer["customer_id"]
    customer = await client.get(f"/api/v1/customers/{answer['customer_id']}/360", headers=agent.headers)
    assert customer.status_code == 200
    assert any(item["value"] == CONTACT for item in customer.json()["customer"]["identities"])


async def test_ticket_requests_are_checked(
    runtime: Any, client: httpx.AsyncClient, fake_api: FakeApi
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    entry_id = await _sidebar_app(client, admin, fake_api)
    url = f"/api/v1/wecom/{entry_id}/sidebar/tickets"
    for body in (
        {"external_userid": "bad id with spaces", "title": "x"},
        {"external_userid": CONTACT, "title": ""},
        {"external_userid": CONTACT, "title": "x", "priority": "panic"},
    ):
        assert (await client.post(url, headers=admin.headers, json=body)).status_code == 422
    stranger = await make_member(runtime, await make_tenant(runtime), "admin")
    assert (
        await client.post(url, headers=stranger.headers, json={"external_userid": CONTACT, "title": "x"})
    ).status_code == 404
