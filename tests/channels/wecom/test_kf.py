"""微信客服 (wecom_kf): the documented ``kf_msg_or_event`` notice, encrypted and posted to the callback,
makes Huiliu pull the customer's messages with ``sync_msg`` from the stored cursor into a ticket for
the customer's external_userid (a second notice pulls nothing twice); an agent's reply goes out
through ``kf/send_msg`` on the same 客服 account."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from huiliu.attachments.models import Attachment
from huiliu.channels.tencent import crypto
from huiliu.channels.tencent.models import KfCursor
from huiliu.customers.models import CustomerIdentity
from huiliu.settings import Settings
from huiliu.tickets.models import Message, Ticket
from huiliu.worker.processor import OutboxProcessor
from tests.channels.helpers import create_entry_point, customer_notices_off, public_client
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent import vectors as v
from tests.channels.tencent.fake_api import FakeApi
from tests.factories import Member, make_member, make_tenant
from tests.worker.helpers import drain

EXTERNAL_USERID = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
OPEN_KFID = "wkxxxxxxx"  # the account the documented notice names


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


def kf_item(msgid: str, origin: int, content: str, send_time: int) -> dict[str, Any]:
    """One ``sync_msg`` item in the documented shape."""
    return {
        "msgid": msgid,
        "open_kfid": OPEN_KFID,
        "external_userid": EXTERNAL_USERID,
        "send_time": send_time,
        "origin": origin,
        "servicer_userid": "zhangsan" if origin == 5 else "",
        "msgtype": "text",
        "text": {"content": content},
    }


def notice() -> tuple[dict[str, str], bytes]:
    secret = crypto.encrypt(crypto.aes_key(v.WECOM_AES_KEY), v.WECOM_KF_EVENT.encode(), v.WECOM_CORP_ID)
    stamp, nonce = str(int(time.time())), "263014780"
    query = {
        "msg_signature": crypto.signature(v.WECOM_TOKEN, stamp, nonce, secret),
        "timestamp": stamp,
        "nonce": nonce,
    }
    return (
        query,
        f"<xml><ToUserName><![CDATA[{v.WECOM_CORP_ID}]]></ToUserName><Encrypt><![CDATA[{secret}]]></Encrypt></xml>".encode(),
    )


async def test_notice_pulls_messages_into_one_ticket_and_the_reply_goes_out_by_send_msg(
    app: Any,
    runtime: Any,
    client: httpx.AsyncClient,
    admin: Member,
    tenant: Any,
    fake_api: FakeApi,
    processor: OutboxProcessor,
) -> None:
    await customer_notices_off(client, admin)
    entry = await create_entry_point(
        client,
        admin,
        "wecom_kf",
        name="微信客服",
        corp_id=v.WECOM_CORP_ID,
        secret="wecom-kf-secret-for-tests",
        token=v.WECOM_TOKEN,
        encoding_aes_key=v.WECOM_AES_KEY,
        api_base_url=fake_api.base_url,
    )
    now = int(time.time())
    fake_api.state.kf_messages.extend(
        [
            kf_item("from_msgid_1", 3, "你好，我的订单还没发货", now - 60),
            kf_item("from_msgid_2", 5, "您好，这里是客服", now - 50),
            kf_item("from_msgid_3", 3, "订单号 2026113012345", now - 40),
            {
                **kf_item("from_msgid_4", 3, "", now - 30),
                "msgtype": "image",
                "text": None,
                "image": {"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"},
            },
        ]
    )
    async with public_client(app) as http:
        for _ in range(2):
            query, body = notice()
            response = await http.post(f"/callbacks/wecom/{entry['id']}", params=query, content=body)
            assert (response.status_code, response.text) == (200, "success")
    async with runtime.db.read(tenant.id) as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        bodies = (
            (
                await session.execute(
                    select(Message.body).where(Message.ticket_id == ticket.id).order_by(Message.created_at)
                )
            )
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
        cursor = (await session.execute(select(KfCursor.open_kfid, KfCursor.cursor))).one()
    assert ticket.channel == "wecom_kf"
    assert list(bodies) == ["你好，我的订单还没发货", "订单号 2026113012345", "[图片]"]
    assert [tuple(row) for row in identities] == [("wecom_external_userid", EXTERNAL_USERID)]
    assert tuple(cursor) == (OPEN_KFID, "4")

    response = await client.post(
        f"/api/v1/tickets/{ticket.id}/messages",
        headers=admin.headers,
        json={"body": "已为您加急", "public": True},
    )
    assert response.status_code == 201
    await drain(processor, tenant.id)
    assert fake_api.state.sent == [
        (
            "/cgi-bin/kf/send_msg",
            {
                "touser": EXTERNAL_USERID,
                "open_kfid": OPEN_KFID,
                "msgtype": "text",
                "text": {"content": "已为您加急"},
            },
        )
    ]
    assert fake_api.state.tokens_issued == 1  # the API process and the worker share the token
    async with runtime.db.read(tenant.id) as session:
        attachments = (await session.execute(select(Attachment.content_type, Attachment.size))).all()
    assert [tuple(row) for row in attachments] == [("image/png", len(fake.MEDIA))]
