"""A rule's notification on the ``wecom_app`` channel, through the worker: the wecom_app provider
sends a text card to each recipient's bound WeCom UserID via the fake WeCom API; a recipient without
a binding is a dead letter with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from huiliu.notifications import service
from huiliu.notifications.schemas import ChannelCreate
from huiliu.settings import Settings
from huiliu.worker.processor import OutboxProcessor
from tests.channels.helpers import create_entry_point
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent.fake_api import FakeApi
from tests.factories import make_member, make_tenant
from tests.notifications.helpers import deliveries_of, notify
from tests.worker.helpers import drain


@pytest.fixture
def processor(settings: Settings, sync_engine: Engine) -> Iterator[OutboxProcessor]:
    worker_settings = settings.model_copy(
        update={"outbox_max_attempts": 3, "public_base_url": "https://huiliu.example"}
    )
    with httpx.Client(timeout=5) as http:
        processor = OutboxProcessor(worker_settings, sync_engine, http)
        yield processor
        processor.close()


async def test_a_wecom_app_notification_reaches_the_bound_member_as_a_text_card(
    runtime: Any, client: httpx.AsyncClient, fake_api: FakeApi, processor: OutboxProcessor
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
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
    async with runtime.db.uow(tenant.id) as uow:
        await service.create_channel(
            uow,
            admin.actor,
            ChannelCreate(name="企业微信应用消息", kind="wecom_app", config={"entry_point_id": entry["id"]}),
        )
    await notify(runtime, tenant.id, [agent, unbound], channels=["wecom_app"])
    await drain(processor, tenant.id)
    [(path, card)] = fake_api.state.sent
    assert path == "/cgi-bin/message/send"
    assert (card["msgtype"], card["touser"], card["agentid"]) == ("textcard", "zhangsan", 1000002)
    assert card["textcard"]["title"] == "工单 T-1001 打印机卡纸"
    assert card["textcard"]["url"].startswith("https://huiliu.example/tickets/")
    states = {d.recipient_id: (d.state, d.last_error) for d in await deliveries_of(runtime, tenant.id)}
    assert states[agent.user.id] == ("delivered", None)
    assert states[unbound.user.id][0] == "dead"
    assert "no WeCom UserID" in (states[unbound.user.id][1] or "")


async def test_a_wecom_app_channel_needs_an_entry_point_id(runtime: Any, client: httpx.AsyncClient) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    for config in ({}, {"entry_point_id": "not-a-uuid"}):
        response = await client.post(
            "/api/v1/notification-channels",
            headers=admin.headers,
            json={"name": "企业微信应用消息", "kind": "wecom_app", "config": config},
        )
        assert response.status_code == 422, response.text
