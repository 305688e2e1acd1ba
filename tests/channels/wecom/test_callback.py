"""``GET|POST /callbacks/wecom/{id}`` through the ASGI app with Tencent's published WeCom samples: URL
verification decrypts the sample echostr; the sample encrypted message (three deliveries) becomes one
ticket; an external-contact add / edit becomes one customer known by external_userid; an agent reply
reaches the fake API; every refusal answers 4xx and writes nothing."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from huiliu.channels.tencent import crypto
from huiliu.customers.models import Customer, CustomerIdentity
from huiliu.settings import Settings
from huiliu.tickets.models import Message, Ticket
from huiliu.worker.processor import OutboxProcessor
from tests.channels.helpers import counts, create_entry_point, customer_notices_off, public_client
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent import vectors as v
from tests.channels.tencent.fake_api import FakeApi
from tests.factories import Member, make_member, make_tenant
from tests.worker.helpers import drain


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


@pytest.fixture
def processor(settings: Settings, sync_engine: Engine) -> Iterator[OutboxProcessor]:
    with httpx.Client(timeout=5) as http:
        yield OutboxProcessor(settings, sync_engine, http)


async def wecom_app(
    client: httpx.AsyncClient, admin: Member, base_url: str = "http://127.0.0.1:9"
) -> dict[str, Any]:
    await customer_notices_off(client, admin)
    return await create_entry_point(
        client,
        admin,
        "wecom_app",
        name="企业微信服务台",
        corp_id=v.WECOM_CORP_ID,
        agent_id="218",
        secret="wecom-app-secret-for-tests",
        token=v.WECOM_TOKEN,
        encoding_aes_key=v.WECOM_AES_KEY,
        api_base_url=base_url,
    )


def encrypted(
    plain: str, *, token: str = v.WECOM_TOKEN, receive_id: str = v.WECOM_CORP_ID
) -> tuple[dict[str, str], bytes]:
    """A callback as WeCom sends it: the plaintext encrypted for the corp and signed."""
    secret = crypto.encrypt(crypto.aes_key(v.WECOM_AES_KEY), plain.encode(), receive_id)
    stamp, nonce = str(int(time.time())), "1372623149"
    query = {
        "msg_signature": crypto.signature(token, stamp, nonce, secret),
        "timestamp": stamp,
        "nonce": nonce,
    }
    body = (
        f"<xml><ToUserName><![CDATA[{v.WECOM_CORP_ID}]]></ToUserName><Encrypt><![CDATA[{secret}]]></Encrypt>"
    )
    return query, (body + "</xml>").encode()


OFFICIAL_QUERY = {
    "msg_signature": v.WECOM_MSG_SIGNATURE,
    "timestamp": v.WECOM_MSG_TIMESTAMP,
    "nonce": v.WECOM_MSG_NONCE,
}


async def test_url_verification_decrypts_the_sample_echostr(
    app: Any, client: httpx.AsyncClient, admin: Member
) -> None:
    entry = await wecom_app(client, admin)
    params = {
        "msg_signature": v.WECOM_VERIFY_SIGNATURE,
        "timestamp": v.WECOM_VERIFY_TIMESTAMP,
        "nonce": v.WECOM_VERIFY_NONCE,
        "echostr": v.WECOM_VERIFY_ECHOSTR,
    }
    async with public_client(app) as http:
        response = await http.get(f"/callbacks/wecom/{entry['id']}", params=params)
        assert response.status_code == 200
        assert response.text == v.WECOM_VERIFY_PLAIN
        wrong = await http.get(f"/callbacks/wecom/{entry['id']}", params={**params, "nonce": "1"})
        assert wrong.status_code == 401


async def test_sample_encrypted_message_becomes_one_ticket_and_the_reply_goes_out(
    app: Any,
    runtime: Any,
    client: httpx.AsyncClient,
    admin: Member,
    tenant: Any,
    fake_api: FakeApi,
    processor: OutboxProcessor,
) -> None:
    entry = await wecom_app(client, admin, fake_api.base_url)
    async with public_client(app) as http:
        for _ in range(3):
            response = await http.post(
                f"/callbacks/wecom/{entry['id']}", params=OFFICIAL_QUERY, content=v.WECOM_MSG_BODY.encode()
            )
            assert (response.status_code, response.text) == (200, "success")
    async with runtime.db.read(tenant.id) as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        bodies = (
            (await session.execute(select(Message.body).where(Message.ticket_id == ticket.id)))
            .scalars()
            .all()
        )
        identities = (
            await session.execute(
                select(CustomerIdentity.kind, CustomerIdentity.value).where(
                    CustomerIdentity.customer_id == ticket.customer_id
                )
            )
        ).all()
    assert ticket.channel == "wecom_app"
    assert bodies == ["hello"]
    assert [tuple(row) for row in identities] == [("external", f"wecom_user:{v.WECOM_CORP_ID}:mycreate")]

    response = await client.post(
        f"/api/v1/tickets/{ticket.id}/messages",
        headers=admin.headers,
        json={"body": "收到，马上处理", "public": True},
    )
    assert response.status_code == 201
    await drain(processor, tenant.id)
    assert fake_api.state.sent == [
        (
            "/cgi-bin/message/send",
            {"touser": "mycreate", "msgtype": "text", "agentid": 218, "text": {"content": "收到，马上处理"}},
        )
    ]


async def test_external_contact_add_and_edit_make_one_customer_with_the_unionid(
    app: Any, runtime: Any, client: httpx.AsyncClient, admin: Member, tenant: Any, fake_api: FakeApi
) -> None:
    entry = await wecom_app(client, admin, fake_api.base_url)
    fake_api.state.external_contacts["woAJ2GCAAAXtWyujaWJHDDGi0mAAAA"] = {
        "external_userid": "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA",
        "name": "李四",
        "type": 1,
        "unionid": "ozynqsulJFCZ2z1aYeS8h-nuasdAAA",
    }
    edit = v.WECOM_ADD_EXTERNAL_CONTACT.replace("add_external_contact", "edit_external_contact")
    async with public_client(app) as http:
        for plain in (v.WECOM_ADD_EXTERNAL_CONTACT, v.WECOM_ADD_EXTERNAL_CONTACT, edit):
            query, body = encrypted(plain)
            response = await http.post(f"/callbacks/wecom/{entry['id']}", params=query, content=body)
            assert (response.status_code, response.text) == (200, "success")
    async with runtime.db.read(tenant.id) as session:
        identities = (await session.execute(select(CustomerIdentity.kind, CustomerIdentity.value))).all()
        customers = (await session.execute(select(func.count()).select_from(Customer))).scalar_one()
        tickets = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
        name = (await session.execute(select(Customer.name))).scalar_one()
    assert sorted(tuple(row) for row in identities) == [
        ("wechat_unionid", "ozynqsulJFCZ2z1aYeS8h-nuasdAAA"),
        ("wecom_external_userid", "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA"),
    ]
    assert (customers, tickets, name) == (1, 0, "李四")


XXE_PLAIN = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><FromUserName>mycreate</FromUserName><CreateTime>1409659813</CreateTime><MsgType>text</MsgType>"
    "<Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)


async def test_refused_callbacks_write_nothing(
    app: Any, runtime: Any, client: httpx.AsyncClient, admin: Member, tenant: Any
) -> None:
    entry = await wecom_app(client, admin)
    url = f"/callbacks/wecom/{entry['id']}"
    data = bytearray(base64.b64decode(v.WECOM_MSG_ENCRYPT))
    data[40] ^= 0x01  # flips bits of the plaintext's second block: the XML inside no longer parses
    tampered = base64.b64encode(bytes(data)).decode()
    tampered_query = {
        **OFFICIAL_QUERY,
        "msg_signature": crypto.signature(v.WECOM_TOKEN, v.WECOM_MSG_TIMESTAMP, v.WECOM_MSG_NONCE, tampered),
    }
    other_corp_query, other_corp_body = encrypted(v.WECOM_MSG_PLAIN, receive_id="ww_other_corp")
    xxe_query, xxe_body = encrypted(XXE_PLAIN)
    before = await counts(runtime, tenant.id)
    cases: list[tuple[str, dict[str, str], bytes, int]] = [
        (url, {**OFFICIAL_QUERY, "msg_signature": "1" * 40}, v.WECOM_MSG_BODY.encode(), 401),
        (url, {"timestamp": v.WECOM_MSG_TIMESTAMP}, v.WECOM_MSG_BODY.encode(), 401),
        (url, tampered_query, v.WECOM_MSG_BODY.replace(v.WECOM_MSG_ENCRYPT, tampered).encode(), 400),
        (url, other_corp_query, other_corp_body, 400),
        (url, xxe_query, xxe_body, 400),
        (url, OFFICIAL_QUERY, b"<xml><Encrypt>" + b"A" * 70_000 + b"</Encrypt></xml>", 413),
        (f"/callbacks/wecom/{uuid.uuid4()}", OFFICIAL_QUERY, v.WECOM_MSG_BODY.encode(), 404),
    ]
    async with public_client(app) as http:
        for target, query, body, status in cases:
            response = await http.post(target, params=query, content=body)
            assert response.status_code == status, (status, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    assert await counts(runtime, tenant.id) == before


async def test_the_fake_refuses_an_unknown_corp_secret(fake_api: FakeApi) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{fake_api.base_url}/cgi-bin/gettoken", params={"corpid": fake.CORP_ID, "corpsecret": "x"}
        )
    assert answer.json()["errcode"] == 40001
