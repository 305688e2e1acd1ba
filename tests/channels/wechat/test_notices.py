"""Progress notices to WeChat customers against the fake API: outside the 48-hour window (45015) an
agent's reply goes out as the Official Account's template message when one is configured (else the
row is dead and the reply failed); a mini-program customer gets a subscribe message; the platforms'
refusals are classified (43101 / 43004 permanent, 45009 retried). Agents get WeCom app text cards
through the wecom_app provider, addressed by their bound UserID."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from huiliu.channels.tencent.client import Account, ApiError, TencentClient
from huiliu.channels.tencent.tokens import TokenStore
from huiliu.entry_points.models import EntryPoint
from huiliu.notifications.providers.base import DeliveryFailed, OutgoingMessage
from huiliu.notifications.providers.wechat_customer import classify, send_customer_notice
from huiliu.notifications.providers.wecom_app import WeComAppMessage
from huiliu.settings import Settings
from huiliu.tickets.models import Message, Ticket
from huiliu.worker.processor import OutboxProcessor, Outcome
from tests.channels.helpers import create_entry_point, public_client
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent import vectors as v
from tests.channels.tencent.fake_api import FakeApi
from tests.channels.wechat.test_callback import official_safe_query
from tests.channels.wechat.test_replies import OPENID, reply, ticket_from_sample
from tests.factories import Member, make_member, make_tenant
from tests.worker.helpers import drain

CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
SUBSCRIBE = "/cgi-bin/message/subscribe/send"
NOTICE_FIELDS = {"character_string1": "{ticket_number}", "thing2": "{message}", "phrase3": "{status}"}


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


async def _delivery_state(runtime: Any, tenant_id: uuid.UUID, message_id: str) -> str | None:
    async with runtime.db.read(tenant_id) as session:
        return await session.scalar(select(Message.delivery_state).where(Message.id == uuid.UUID(message_id)))


async def test_outside_the_window_the_reply_goes_out_as_a_template_message(
    app: Any,
    runtime: Any,
    client: httpx.AsyncClient,
    admin: Member,
    tenant: Any,
    fake_api: FakeApi,
    processor: OutboxProcessor,
) -> None:
    ticket = await ticket_from_sample(app, runtime, client, admin, fake_api.base_url)
    await client.patch(
        f"/api/v1/entry-points/{ticket.entry_point_id}",
        headers=admin.headers,
        json={"config": {"notice_template_id": "TPL-PROGRESS", "notice_fields": NOTICE_FIELDS}},
    )
    fake_api.state.refusing[(CUSTOM, OPENID)] = 45015
    message_id = await reply(client, admin, ticket.id, "您好，师傅明天上午上门更换配件，请保持电话畅通。")
    outcomes = await drain(processor, tenant.id)
    assert Outcome.DELIVERED in [o.outcome for o in outcomes]
    [(path, body)] = fake_api.state.sent
    assert path == TEMPLATE
    assert (body["touser"], body["template_id"]) == (OPENID, "TPL-PROGRESS")
    assert body["data"]["character_string1"] == {"value": str(ticket.number)}
    assert (
        body["data"]["thing2"]["value"].startswith("您好，师傅明天上午")
        and len(body["data"]["thing2"]["value"]) <= 20
    )
    assert body["data"]["phrase3"]["value"] in {"待受理", "处理中"}
    assert fake_api.state.rejected == [(CUSTOM, 45015)]
    assert await _delivery_state(runtime, tenant.id, message_id) == "delivered"


@pytest.mark.parametrize("notice_refusal", [None, 43004])
async def test_without_a_way_to_reach_the_customer_the_reply_fails_at_once(
    app: Any,
    runtime: Any,
    client: httpx.AsyncClient,
    admin: Member,
    tenant: Any,
    fake_api: FakeApi,
    processor: OutboxProcessor,
    notice_refusal: int | None,
) -> None:
    ticket = await ticket_from_sample(app, runtime, client, admin, fake_api.base_url)
    if notice_refusal is not None:  # a template is configured, but the customer unfollowed
        await client.patch(
            f"/api/v1/entry-points/{ticket.entry_point_id}",
            headers=admin.headers,
            json={"config": {"notice_template_id": "TPL-PROGRESS", "notice_fields": NOTICE_FIELDS}},
        )
        fake_api.state.refusing[(TEMPLATE, OPENID)] = notice_refusal
    fake_api.state.refusing[(CUSTOM, OPENID)] = 45015
    message_id = await reply(client, admin, ticket.id, "您好")
    outcomes = await drain(processor, tenant.id)
    assert [o.outcome for o in outcomes if o.outcome is Outcome.DEAD] == [Outcome.DEAD]
    assert fake_api.state.sent == []
    assert await _delivery_state(runtime, tenant.id, message_id) == "failed"


async def test_a_mini_program_customer_gets_a_subscribe_message(
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
        "wechat_miniprogram",
        name="小程序",
        app_id=fake.MINI_APP_ID,
        app_secret=fake.MINI_APP_SECRET,
        api_base_url=fake_api.base_url,
        notice_template_id="TPL-MINI",
        notice_fields={"thing1": "{ticket_title}", "thing2": "{message}", "time3": "{time}"},
        notice_page="pages/ticket/index?from=notice",
        miniprogram_state="trial",
    )
    fake_api.state.js_codes["JS-N"] = {"openid": "oMini-notice"}
    async with public_client(app) as mini:
        session = (
            await mini.post(f"/api/v1/public/miniprogram/{entry['id']}/session", json={"code": "JS-N"})
        ).json()
        created = await mini.post(
            f"/api/v1/public/miniprogram/{entry['id']}/tickets",
            json={"title": "发票", "description": "请开具发票"},
            headers={"Authorization": f"Bearer {session['identity_token']}"},
        )
        assert created.status_code == 201, created.text
    async with runtime.db.read(tenant.id) as db_session:
        ticket = (await db_session.execute(select(Ticket))).scalar_one()
    message_id = await reply(client, admin, ticket.id, "发票已开具")
    await drain(processor, tenant.id)
    [(path, body)] = fake_api.state.sent
    assert path == SUBSCRIBE
    assert (body["touser"], body["template_id"], body["page"], body["miniprogram_state"]) == (
        "oMini-notice",
        "TPL-MINI",
        "pages/ticket/index?from=notice",
        "trial",
    )
    assert (body["data"]["thing1"], body["data"]["thing2"]) == ({"value": "发票"}, {"value": "发票已开具"})
    assert await _delivery_state(runtime, tenant.id, message_id) == "delivered"


def test_refusals_are_classified() -> None:
    assert classify(ApiError(43101, "user refuse to accept the msg")).retryable is False
    assert "refused" in classify(ApiError(43101, "user refuse")).reason
    assert classify(ApiError(43004, "require subscribe")).retryable is False
    assert classify(ApiError(45009, "reach max api daily quota limit")).retryable is True
    assert classify(ApiError(-1, "system error")).retryable is True


async def _account(runtime: Any, entry_id: str) -> Account:
    async with runtime.db.read(None, system=True) as session:
        row = await session.get(EntryPoint, uuid.UUID(entry_id))
    assert row is not None
    return Account(row.tenant_id, row.id, row.kind, dict(row.config))


async def test_a_notice_without_a_template_is_refused_permanently(
    runtime: Any, client: httpx.AsyncClient, admin: Member, fake_api: FakeApi, sync_engine: Engine
) -> None:
    entry = await create_entry_point(
        client,
        admin,
        "wechat_mp",
        app_id=fake.APP_ID,
        app_secret=fake.APP_SECRET,
        api_base_url=fake_api.base_url,
    )
    account = await _account(runtime, entry["id"])
    with httpx.Client(timeout=5) as http, pytest.raises(DeliveryFailed) as raised:
        send_customer_notice(TencentClient(http, TokenStore(sync_engine), account), OPENID, {})
    assert raised.value.retryable is False


async def test_agents_get_a_wecom_text_card_at_their_bound_userid(
    runtime: Any,
    client: httpx.AsyncClient,
    admin: Member,
    tenant: Any,
    fake_api: FakeApi,
    sync_engine: Engine,
) -> None:
    agent = await make_member(runtime, tenant, "agent", name="张三")
    unbound = await make_member(runtime, tenant, "agent", name="李四")
    entry = await create_entry_point(
        client,
        admin,
        "wecom_app",
        corp_id=fake.CORP_ID,
        agent_id="1000002",
        secret="wecom-app-secret-for-tests",
        api_base_url=fake_api.base_url,
    )
    bound = await client.put(
        f"/api/v1/auth/wecom/bindings/{agent.user.id}",
        headers=admin.headers,
        json={"wecom_userid": "zhangsan"},
    )
    assert bound.status_code == 200

    def message(
        user_id: uuid.UUID, link: str | None = "https://huiliu.example.cn/tickets/1"
    ) -> OutgoingMessage:
        return OutgoingMessage(
            delivery_id=uuid.uuid4(),
            title="工单 1024 即将超时",
            text="客户：李女士 · 剩余 15 分钟",
            link=link,
            user_id=user_id,
        )

    with httpx.Client(timeout=5) as http:
        notifier = WeComAppMessage(http, {"entry_point_id": entry["id"]}, engine=sync_engine)
        notifier.send(message(agent.user.id))
        notifier.send(message(agent.user.id, link=None))
        with pytest.raises(DeliveryFailed) as raised:
            notifier.send(message(unbound.user.id))
        assert raised.value.retryable is False
        fake_api.state.refusing[("/cgi-bin/message/send", "zhangsan")] = 45009
        with pytest.raises(DeliveryFailed) as raised:
            notifier.send(message(agent.user.id))
        assert raised.value.retryable is True
        with pytest.raises(DeliveryFailed) as raised:
            WeComAppMessage(http, {"entry_point_id": entry["id"]}).send(message(agent.user.id))
        assert raised.value.retryable is False
    (card_path, card), (text_path, text) = fake_api.state.sent
    assert card_path == text_path == "/cgi-bin/message/send"
    assert (card["msgtype"], card["touser"], card["agentid"]) == ("textcard", "zhangsan", 1000002)
    assert card["textcard"]["url"] == "https://huiliu.example.cn/tickets/1"
    assert text["msgtype"] == "text" and text["text"]["content"].startswith("工单 1024 即将超时")
    assert fake_api.state.tokens_issued == 1


async def test_the_automatic_accepted_notice_outside_the_window_is_a_template_message(
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
        name="服务号",
        app_id=v.MP_APP_ID,
        app_secret=fake.APP_SECRET,
        token=v.MP_TOKEN,
        encoding_aes_key=v.MP_AES_KEY,
        api_base_url=fake_api.base_url,
        notice_template_id="TPL-PROGRESS",
        notice_fields=NOTICE_FIELDS,
    )
    fake_api.state.refusing[(CUSTOM, OPENID)] = 45015
    async with public_client(app) as http:
        response = await http.post(
            f"/callbacks/wechat/{entry['id']}", params=official_safe_query(), content=v.MP_MSG_BODY.encode()
        )
        assert response.text == "success"
    await drain(processor, tenant.id)
    templates = [body for path, body in fake_api.state.sent if path == TEMPLATE]
    assert len(templates) == 1
    assert templates[0]["touser"] == OPENID
    assert templates[0]["data"]["phrase3"]["value"] == "待受理"
    assert fake_api.state.rejected == [(CUSTOM, 45015)]
