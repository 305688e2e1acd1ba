"""``GET|POST /callbacks/wechat/{id}`` through the ASGI app: URL verification, Tencent's published
safe-mode sample becoming a ticket for the sender's openid (three deliveries, one ticket), plaintext
messages and events, and every refusal (bad signature, tampered ciphertext, XXE, oversized body,
plaintext to a safe-mode account, unknown entry point) answering 4xx and writing nothing."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from huiliu.channels.tencent import crypto
from huiliu.customers.models import CustomerIdentity
from huiliu.tickets.models import Message, Ticket
from tests.channels.helpers import counts, create_entry_point, public_client
from tests.channels.tencent import vectors as v
from tests.factories import Member, make_member, make_tenant


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


async def official_account(client: httpx.AsyncClient, admin: Member, mode: str = "safe") -> dict[str, Any]:
    return await create_entry_point(
        client,
        admin,
        "wechat_mp",
        name="服务号",
        app_id=v.MP_APP_ID,
        app_secret="mp-app-secret-for-tests",
        token=v.MP_TOKEN,
        encoding_aes_key=v.MP_AES_KEY,
        encryption_mode=mode,
    )


def plain_query(token: str = v.MP_TOKEN, timestamp: str | None = None, nonce: str = "42") -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    return {"signature": crypto.signature(token, stamp, nonce), "timestamp": stamp, "nonce": nonce}


def official_safe_query() -> dict[str, str]:
    # The sample carries msg_signature only; WeChat adds the plain signature over the same parts.
    return {
        **plain_query(timestamp=v.MP_MSG_TIMESTAMP, nonce=v.MP_MSG_NONCE),
        "encrypt_type": "aes",
        "msg_signature": v.MP_MSG_SIGNATURE,
    }


async def tickets_of(runtime: Any, tenant_id: uuid.UUID) -> list[tuple[Ticket, list[str]]]:
    async with runtime.db.read(tenant_id) as session:
        tickets = (await session.execute(select(Ticket))).scalars().all()
        found = []
        for ticket in tickets:
            identities = (
                await session.execute(
                    select(CustomerIdentity.kind, CustomerIdentity.value).where(
                        CustomerIdentity.customer_id == ticket.customer_id
                    )
                )
            ).all()
            found.append((ticket, [f"{kind}:{value}" for kind, value in identities]))
        return found


async def test_url_verification_echoes_echostr(app: Any, client: httpx.AsyncClient, admin: Member) -> None:
    entry = await official_account(client, admin)
    async with public_client(app) as http:
        response = await http.get(
            f"/callbacks/wechat/{entry['id']}", params={**plain_query(), "echostr": "5837397"}
        )
        assert response.status_code == 200
        assert response.text == "5837397"
        wrong = await http.get(
            f"/callbacks/wechat/{entry['id']}", params={**plain_query(token="other"), "echostr": "5837397"}
        )
        assert wrong.status_code == 401
        assert wrong.headers["content-type"].startswith("application/problem+json")


async def test_official_safe_mode_sample_becomes_one_ticket_for_the_openid(
    app: Any, runtime: Any, client: httpx.AsyncClient, admin: Member, tenant: Any
) -> None:
    entry = await official_account(client, admin)
    async with public_client(app) as http:
        for _ in range(3):  # WeChat retries a callback three times
            response = await http.post(
                f"/callbacks/wechat/{entry['id']}",
                params=official_safe_query(),
                content=v.MP_MSG_BODY.encode(),
            )
            assert response.status_code == 200, response.text
            assert response.text == "success"
    found = await tickets_of(runtime, tenant.id)
    assert len(found) == 1
    ticket, identities = found[0]
    assert ticket.channel == "wechat_mp"
    assert str(ticket.entry_point_id) == entry["id"]
    assert identities == ["wechat_openid:oyORnuP8q7ou2gfYjqLzSIWZf0rs"]
    async with runtime.db.read(tenant.id) as session:
        messages = (
            (await session.execute(select(Message).where(Message.ticket_id == ticket.id))).scalars().all()
        )
    assert [(m.body, m.external_id) for m in messages] == [("abcdteT", "6054768590064713728")]


async def test_plaintext_messages_and_events_go_to_intake(
    app: Any, runtime: Any, client: httpx.AsyncClient, admin: Member, tenant: Any
) -> None:
    entry = await official_account(client, admin, mode="plaintext")
    now = int(time.time())
    bodies = [
        # The subscribe event with a QR scene, as in the Official Account docs (扫描带参数二维码事件).
        f"<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[FromUser]]></FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"
        f"<EventKey><![CDATA[qrscene_store12]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>",
        f"<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[FromUser]]></FromUserName>"
        f"<CreateTime>{now + 1}</CreateTime><MsgType><![CDATA[location]]></MsgType>"
        f"<Location_X>23.134521</Location_X>"
        f"<Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[位置信息]]></Label>"
        f"<MsgId>1234567890123456</MsgId></xml>",
    ]
    async with public_client(app) as http:
        for body in bodies:
            response = await http.post(
                f"/callbacks/wechat/{entry['id']}", params=plain_query(), content=body.encode()
            )
            assert response.status_code == 200, response.text
    found = await tickets_of(runtime, tenant.id)
    assert len(found) == 1  # the location threads onto the ticket the subscribe opened
    ticket, identities = found[0]
    assert identities == ["wechat_openid:FromUser"]
    assert ticket.fields.get("source") == "store12"
    async with runtime.db.read(tenant.id) as session:
        bodies_stored = (
            (
                await session.execute(
                    select(Message.body).where(Message.ticket_id == ticket.id).order_by(Message.created_at)
                )
            )
            .scalars()
            .all()
        )
    assert bodies_stored[0].startswith("关注了公众号")
    assert "位置信息" in bodies_stored[1]


def _tampered(encrypted: str) -> str:
    data = bytearray(base64.b64decode(encrypted))
    data[-20] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>"
    b"<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)


async def test_refused_callbacks_write_nothing(
    app: Any, runtime: Any, client: httpx.AsyncClient, admin: Member, tenant: Any
) -> None:
    safe = await official_account(client, admin)
    plain = await official_account(client, admin, mode="plaintext")
    tampered = _tampered(v.MP_MSG_ENCRYPT)
    tampered_query = {
        **plain_query(timestamp=v.MP_MSG_TIMESTAMP, nonce=v.MP_MSG_NONCE),
        "encrypt_type": "aes",
        # Signed correctly over the tampered ciphertext: only decryption can notice.
        "msg_signature": crypto.signature(v.MP_TOKEN, v.MP_MSG_TIMESTAMP, v.MP_MSG_NONCE, tampered),
    }
    before = await counts(runtime, tenant.id)
    cases: list[tuple[str, dict[str, str], bytes, int]] = [
        (safe["id"], {**official_safe_query(), "msg_signature": "0" * 40}, v.MP_MSG_BODY.encode(), 401),
        (safe["id"], tampered_query, v.MP_MSG_BODY.replace(v.MP_MSG_ENCRYPT, tampered).encode(), 400),
        (safe["id"], plain_query(), b"<xml><MsgType>text</MsgType></xml>", 401),  # plaintext to safe mode
        (plain["id"], plain_query(), XXE, 400),
        (plain["id"], plain_query(), b"<xml>" + b"<a>x</a>" * 20_000 + b"</xml>", 413),
        (plain["id"], {**plain_query(), "signature": "f" * 40}, b"<xml/>", 401),
        (str(uuid.uuid4()), official_safe_query(), v.MP_MSG_BODY.encode(), 404),
    ]
    async with public_client(app) as http:
        for entry_id, query, body, status in cases:
            response = await http.post(f"/callbacks/wechat/{entry_id}", params=query, content=body)
            assert response.status_code == status, (status, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    assert await counts(runtime, tenant.id) == before
