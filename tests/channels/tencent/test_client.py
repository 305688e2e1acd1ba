"""The platform client against the local fake API: tokens cached in the database and shared, a
refused token (expired, or replaced by another process) refreshed once and the call retried, other
errors raised, media and user info read, and concurrent refreshes collapsing into one."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from huiliu.channels.tencent.client import Account, ApiError, TencentClient
from huiliu.channels.tencent.tokens import TokenStore
from huiliu.entry_points.models import EntryPoint
from tests.channels.helpers import create_entry_point
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent.fake_api import FakeApi
from tests.factories import Member, make_member, make_tenant


@pytest.fixture
async def admin(runtime: Any) -> Member:
    return await make_member(runtime, await make_tenant(runtime), "admin")


async def _account(client: httpx.AsyncClient, admin: Member, base_url: str, **config: Any) -> Account:
    """The account as the worker sees it: read from the database (the API never shows the secret)."""
    entry = await create_entry_point(
        client,
        admin,
        "wechat_mp",
        app_id=fake.APP_ID,
        app_secret=fake.APP_SECRET,
        api_base_url=base_url,
        **config,
    )
    async with _runtime(client).db.read(admin.user.tenant_id) as session:
        row = await session.get(EntryPoint, uuid.UUID(entry["id"]))
    assert row is not None
    return Account(row.tenant_id, row.id, row.kind, row.config)


def _runtime(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.runtime  # type: ignore[attr-defined]


async def test_token_is_cached_and_an_expired_one_refreshed_once(
    client: httpx.AsyncClient, admin: Member, fake_api: FakeApi, sync_engine: Engine
) -> None:
    account = await _account(client, admin, fake_api.base_url)
    store = TokenStore(sync_engine)
    with httpx.Client(timeout=5) as http:
        api = TencentClient(http, store, account)
        api.send_custom_text("openid-1", "您好")
        # A second client (another worker process) uses the stored token: no new one is asked for.
        TencentClient(http, store, account).send_custom_text("openid-1", "第二条")
        assert fake_api.state.tokens_issued == 1
        fake_api.state.expire_all()
        api.send_custom_text("openid-1", "过期后")
    assert fake_api.state.tokens_issued == 2
    assert fake_api.state.rejected == [("/cgi-bin/message/custom/send", 42001)]
    assert [body["text"]["content"] for _, body in fake_api.state.sent] == ["您好", "第二条", "过期后"]


async def test_a_token_the_platform_does_not_know_is_replaced(
    client: httpx.AsyncClient, admin: Member, fake_api: FakeApi, sync_engine: Engine
) -> None:
    account = await _account(client, admin, fake_api.base_url)
    store = TokenStore(sync_engine)
    with httpx.Client(timeout=5) as http:
        api = TencentClient(http, store, account)
        api.user_info("openid-2")
        fake_api.state.valid_tokens.clear()  # invalidated elsewhere: unknown now (40014)
        info = api.user_info("openid-2")
        content, content_type = api.media("MEDIA_ID")
    assert info["unionid"] == "o6_union"
    assert (content, content_type) == (fake.MEDIA, "image/png")
    assert fake_api.state.rejected == [("/cgi-bin/user/info", 40014)]


async def test_wrong_credentials_and_other_errors_raise(
    client: httpx.AsyncClient, admin: Member, fake_api: FakeApi, sync_engine: Engine
) -> None:
    wrong = await _account(client, admin, fake_api.base_url)
    wrong = Account(wrong.tenant_id, wrong.entry_point_id, wrong.kind, {**wrong.config, "app_secret": "nope"})
    with httpx.Client(timeout=5) as http:
        with pytest.raises(ApiError) as raised:
            TencentClient(http, TokenStore(sync_engine), wrong).send_custom_text("openid", "x")
        assert raised.value.errcode == 40125
        right = await _account(client, admin, fake_api.base_url)
        with pytest.raises(ApiError) as raised:
            TencentClient(http, TokenStore(sync_engine), right).send_custom_text("", "x")
        assert raised.value.errcode == 40003


async def test_concurrent_refreshes_ask_the_platform_once(
    client: httpx.AsyncClient, admin: Member, fake_api: FakeApi, sync_engine: Engine
) -> None:
    account = await _account(client, admin, fake_api.base_url)
    store = TokenStore(sync_engine)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with httpx.Client(timeout=5) as http:
                tokens.append(TencentClient(http, store, account).access_token())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(tokens)) == 1
    assert fake_api.state.tokens_issued == 1


async def test_js_sdk_tickets_are_cached_per_kind(
    client: httpx.AsyncClient, admin: Member, fake_api: FakeApi, sync_engine: Engine
) -> None:
    account = await _account(client, admin, fake_api.base_url)
    store = TokenStore(sync_engine)
    with httpx.Client(timeout=5) as http:
        api = TencentClient(http, store, account)
        first = api.js_ticket()
        assert TencentClient(http, store, account).js_ticket() == first
        with pytest.raises(ValueError):
            api.js_ticket("agent_ticket")  # WeCom only
    assert first == "ticket-jsapi-1"
    assert (fake_api.state.tickets_issued, fake_api.state.tokens_issued) == (1, 1)


async def test_wecom_text_card_to_an_agent(
    client: httpx.AsyncClient, admin: Member, fake_api: FakeApi, sync_engine: Engine
) -> None:
    entry = await create_entry_point(
        client,
        admin,
        "wecom_app",
        corp_id=fake.CORP_ID,
        agent_id="1000002",
        secret="wecom-app-secret-for-tests",
        api_base_url=fake_api.base_url,
    )
    account = Account(
        admin.user.tenant_id,
        uuid.UUID(entry["id"]),
        "wecom_app",
        {**entry["config"], "secret": "wecom-app-secret-for-tests"},
    )
    with httpx.Client(timeout=5) as http:
        TencentClient(http, TokenStore(sync_engine), account).send_app_textcard(
            "zhangsan",
            "工单 #1024 即将超时",
            "客户：李女士 · 剩余 15 分钟",
            "https://huiliu.example.cn/tickets/1",
        )
    path, body = fake_api.state.sent[0]
    assert path == "/cgi-bin/message/send"
    assert body["msgtype"] == "textcard" and body["agentid"] == 1000002 and body["touser"] == "zhangsan"
    assert body["textcard"]["url"] == "https://huiliu.example.cn/tickets/1"
