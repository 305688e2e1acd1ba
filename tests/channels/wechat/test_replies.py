"""End to end: Tencent's safe-mode sample posted to the callback becomes a ticket; an agent's public
reply writes a ``channel_message`` outbox row in the same transaction, and the worker delivers it to
the fake WeChat API's customer-service endpoint for the sender's openid (refreshing an expired token
on the way). Internal notes owe nothing; a closed 48-hour window settles the row dead at once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from huiliu.attachments.models import Attachment
from huiliu.channels.tencent.replies import KIND_CHANNEL_MESSAGE
from huiliu.core.outbox import OutboxRow
from huiliu.customers.models import CustomerIdentity
from huiliu.settings import Settings
from huiliu.tickets.models import Message, Ticket
from huiliu.worker.processor import OutboxProcessor, Outcome
from tests.channels.helpers import create_entry_point, customer_notices_off, public_client
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent import vectors as v
from tests.channels.tencent.fake_api import FakeApi
from tests.channels.wechat.test_callback import official_safe_query, plain_query
from tests.factories import Member, make_member, make_tenant
from tests.worker.helpers import drain

OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"  # the sender in Tencent's sample


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


@pytest.fixture
def processor(settings: Settings, sync_engine: Engine) -> Iterator[OutboxProcessor]:
    worker_settings = settings.model_copy(update={"outbox_max_attempts": 3, "outbox_lease_seconds": 30.0})
    with httpx.Client(timeout=5) as http:
        yield OutboxProcessor(worker_settings, sync_engine, http)


async def ticket_from_sample(
    app: Any, runtime: Any, client: httpx.AsyncClient, admin: Member, base_url: str
) -> Ticket:
    await customer_notices_off(client, admin)
    entry = await create_entry_point(
        client,
        admin,
        "wechat_mp",
        name="服务号",
        app_id=v.MP_APP_ID,
        app_secret=fake.APP_SECRET,
        token=v.MP_TOKEN,
        encoding_aes_key=v.MP_AES_KEY,
        api_base_url=base_url,
    )
    async with public_client(app) as http:
        response = await http.post(
            f"/callbacks/wechat/{entry['id']}", params=official_safe_query(), content=v.MP_MSG_BODY.encode()
        )
        assert response.text == "success"
    async with runtime.db.read(admin.user.tenant_id) as session:
        return (await session.execute(select(Ticket))).scalar_one()


async def reply(
    client: httpx.AsyncClient, admin: Member, ticket_id: uuid.UUID, body: str, public: bool = True
) -> str:
    response = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages", headers=admin.headers, json={"body": body, "public": public}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def channel_rows(runtime: Any, tenant_id: uuid.UUID) -> list[OutboxRow]:
    async with runtime.db.read(tenant_id) as session:
        query = select(OutboxRow).where(OutboxRow.kind == KIND_CHANNEL_MESSAGE)
        return list((await session.execute(query)).scalars())


async def test_agent_reply_reaches_the_customer_service_api(
    app: Any,
    runtime: Any,
    client: httpx.AsyncClient,
    admin: Member,
    tenant: Any,
    fake_api: FakeApi,
    processor: OutboxProcessor,
) -> None:
    ticket = await ticket_from_sample(app, runtime, client, admin, fake_api.base_url)
    await reply(client, admin, ticket.id, "内部备注：先查物流", public=False)
    message_id = await reply(client, admin, ticket.id, "您好，已为您查询，明天送达。")
    rows = await channel_rows(runtime, tenant.id)
    assert [row.payload["message_id"] for row in rows] == [message_id]

    outcomes = await drain(processor, tenant.id)
    assert Outcome.DELIVERED in [o.outcome for o in outcomes]
    assert fake_api.state.sent == [
        (
            "/cgi-bin/message/custom/send",
            {"touser": OPENID, "msgtype": "text", "text": {"content": "您好，已为您查询，明天送达。"}},
        )
    ]
    # The next reply after the token expired: refreshed once, retried, delivered.
    fake_api.state.expire_all()
    second = await reply(client, admin, ticket.id, "还有其他问题吗？")
    await drain(processor, tenant.id)
    assert [body["text"]["content"] for _, body in fake_api.state.sent][-1] == "还有其他问题吗？"
    assert fake_api.state.rejected == [("/cgi-bin/message/custom/send", 42001)]
    assert fake_api.state.tokens_issued == 2
    async with runtime.db.read(tenant.id) as session:
        states = dict(
            (
                await session.execute(
                    select(Message.id, Message.delivery_state).where(Message.ticket_id == ticket.id)
                )
            ).all()
        )
    assert states[uuid.UUID(message_id)] == "delivered"
    assert states[uuid.UUID(second)] == "delivered"


async def test_a_refusal_no_retry_can_change_settles_dead_and_marks_the_reply_failed(
    app: Any,
    runtime: Any,
    client: httpx.AsyncClient,
    admin: Member,
    tenant: Any,
    fake_api: FakeApi,
    processor: OutboxProcessor,
) -> None:
    ticket = await ticket_from_sample(app, runtime, client, admin, fake_api.base_url)
    # The customer's identity is gone (say, erased on request): nobody to send to.
    async with runtime.db.uow(tenant.id) as uow:
        found = (await uow.session.execute(select(CustomerIdentity))).scalars().all()
        for identity in found:
            await uow.session.delete(identity)
        await uow.commit()
    message_id = await reply(client, admin, ticket.id, "您好")
    outcomes = await drain(processor, tenant.id)
    assert [o.outcome for o in outcomes if o.outcome is Outcome.DEAD] == [Outcome.DEAD]
    assert fake_api.state.sent == []
    async with runtime.db.read(tenant.id) as session:
        state = (
            await session.execute(select(Message.delivery_state).where(Message.id == uuid.UUID(message_id)))
        ).scalar_one()
    assert state == "failed"


async def test_a_customers_image_is_fetched_into_an_attachment_once(
    app: Any,
    runtime: Any,
    client: httpx.AsyncClient,
    admin: Member,
    tenant: Any,
    fake_api: FakeApi,
    processor: OutboxProcessor,
) -> None:
    entry = await create_entry_point(
        client,
        admin,
        "wechat_mp",
        app_id=v.MP_APP_ID,
        app_secret=fake.APP_SECRET,
        token=v.MP_TOKEN,
        encryption_mode="plaintext",
        api_base_url=fake_api.base_url,
    )
    # The image message of the Official Account docs (接收普通消息: 图片消息).
    now = int(time.time())
    image = (
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        "<PicUrl><![CDATA[this is a url]]></PicUrl>"
        "<MediaId><![CDATA[media_id]]></MediaId><MsgId>1234567890123456</MsgId></xml>"
    )
    async with public_client(app) as http:
        for _ in range(2):  # a retry owes the media once
            response = await http.post(
                f"/callbacks/wechat/{entry['id']}", params=plain_query(), content=image.encode()
            )
            assert response.text == "success"
    await drain(processor, tenant.id)
    async with runtime.db.read(tenant.id) as session:
        message = (await session.execute(select(Message))).scalar_one()
        attachments = (await session.execute(select(Attachment))).scalars().all()
    assert message.body == "[图片]"
    assert [(a.message_id, a.content_type, a.size) for a in attachments] == [
        (message.id, "image/png", len(fake.MEDIA))
    ]
    stored = runtime.settings.files_dir / attachments[0].storage_path
    assert stored.read_bytes() == fake.MEDIA
