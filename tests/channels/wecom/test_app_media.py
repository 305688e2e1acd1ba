"""Media between a WeCom app and its members. An agent's reply with files to a member who wrote to
the app: the text, then each file uploaded with ``media/upload`` (multipart ``media``) and sent as an
``image`` (PNG) or ``file`` (PDF) app message with the returned media_id — against the fake WeCom API,
which checks the token, the upload's form and that the media_id was uploaded. A member's image is
fetched (``media/get``) into an attachment of their message, once however often WeCom retries."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
from sqlalchemy import select

from huiliu.attachments.models import Attachment
from huiliu.tickets.models import Message, Ticket
from huiliu.worker.processor import OutboxProcessor
from tests.channels.helpers import public_client
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent import vectors as v
from tests.channels.tencent.fake_api import FakeApi
from tests.channels.wecom.test_callback import OFFICIAL_QUERY, admin, encrypted, processor, tenant, wecom_app
from tests.factories import Member
from tests.worker.helpers import drain

__all__ = ["admin", "processor", "tenant"]  # fixtures
# A 1×1 PNG and a minimal PDF, as an agent would attach them.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


async def _upload(client: httpx.AsyncClient, admin: Member, name: str, data: bytes, kind: str) -> str:
    response = await client.post(
        "/api/v1/attachments", headers=admin.headers, files={"file": (name, data, kind)}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_reply_files_go_out_as_uploaded_media(
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
        response = await http.post(
            f"/callbacks/wecom/{entry['id']}", params=OFFICIAL_QUERY, content=v.WECOM_MSG_BODY.encode()
        )
        assert response.text == "success"
    async with runtime.db.read(tenant.id) as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    photo = await _upload(client, admin, "现场照片.png", PNG, "image/png")
    invoice = await _upload(client, admin, "发票.pdf", PDF, "application/pdf")
    reply = await client.post(
        f"/api/v1/tickets/{ticket.id}/messages",
        headers=admin.headers,
        json={"body": "照片和发票请查收", "public": True, "attachment_ids": [photo, invoice]},
    )
    assert reply.status_code == 201, reply.text
    fake_api.state.expire_all()  # the upload refreshes the token like any call
    await drain(processor, tenant.id)
    sent = [(path, body["msgtype"], body.get("touser")) for path, body in fake_api.state.sent]
    assert sent == [
        ("/cgi-bin/message/send", "text", "mycreate"),
        ("/cgi-bin/message/send", "image", "mycreate"),
        ("/cgi-bin/message/send", "file", "mycreate"),
    ]
    image_id = fake_api.state.sent[1][1]["image"]["media_id"]
    file_id = fake_api.state.sent[2][1]["file"]["media_id"]
    assert fake_api.state.uploads[image_id] == ("现场照片.png", PNG)
    assert fake_api.state.uploads[file_id] == ("发票.pdf", PDF)


async def test_a_members_image_is_fetched_into_an_attachment_once(
    app: Any,
    runtime: Any,
    client: httpx.AsyncClient,
    admin: Member,
    tenant: Any,
    fake_api: FakeApi,
    processor: OutboxProcessor,
) -> None:
    entry = await wecom_app(client, admin, fake_api.base_url)
    # 接收消息 · 图片消息 of the WeCom docs (developer.work.weixin.qq.com/document/path/90239).
    image = (
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        "<PicUrl><![CDATA[this is a url]]></PicUrl><MediaId><![CDATA[media_id]]></MediaId>"
        "<MsgId>1234567890123456</MsgId><AgentID>1</AgentID></xml>"
    )
    async with public_client(app) as http:
        for _ in range(2):  # a retry owes the media once
            query, body = encrypted(image)
            response = await http.post(f"/callbacks/wecom/{entry['id']}", params=query, content=body)
            assert response.text == "success"
    await drain(processor, tenant.id)
    async with runtime.db.read(tenant.id) as session:
        message = (await session.execute(select(Message))).scalar_one()
        attachments = (await session.execute(select(Attachment))).scalars().all()
    assert [(a.message_id, a.content_type, a.size) for a in attachments] == [
        (message.id, "image/png", len(fake.MEDIA))
    ]
