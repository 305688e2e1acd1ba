"""The WeChat / WeCom console in a real browser against the local fake WeChat API: connect an Official
Account, see the exact callback URL, Token and EncodingAESKey to paste, and "test connection" (a token
from the fake, then the platform's errcode after the secret is changed). Then the WeCom side: the login
page offers WeCom login once an admin switches it on, and the chat sidebar (opened for a contact)
shows the customer and opens a ticket in two taps."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from huiliu.channels.tencent import crypto
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent.fake_api import FakeApi, fake_api
from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import Member, make_member, make_tenant

pytestmark = pytest.mark.e2e
__all__ = ["fake_api"]  # the fixture


def test_connect_an_official_account_and_test_the_connection(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server, fake_api: FakeApi
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="运营小李"))
    page = open_page()
    log_in(page, admin)
    page.goto("/intake/wechat")
    expect(page.get_by_role("heading", name="微信 / 企业微信接入")).to_be_visible()

    page.get_by_test_id("tencent-create").click()
    page.locator('[data-kind="wechat_mp"]').click()
    page.get_by_test_id("tencent-name").fill("品牌服务号")
    page.get_by_test_id("tencent-field-app_id").fill(fake.APP_ID)
    page.get_by_test_id("tencent-field-app_secret").fill(fake.APP_SECRET)
    page.get_by_test_id("tencent-field-api_base_url").fill(fake_api.base_url)
    page.get_by_test_id("tencent-save").click()

    setup = page.get_by_test_id("tencent-setup")
    callback = setup.get_by_test_id("tencent-callback_url")
    expect(callback).to_have_text(re.compile(r"/callbacks/wechat/[0-9a-f-]{36}$"))
    entry_id = callback.inner_text().rsplit("/", 1)[1]
    expect(page).to_have_url(re.compile(f"id={entry_id}"))
    expect(setup.get_by_test_id("tencent-token")).to_have_text(re.compile(r"^[A-Za-z0-9]{32}$"))
    expect(setup.get_by_test_id("tencent-encoding_aes_key")).to_have_text(re.compile(r"^[A-Za-z0-9]{43}$"))
    expect(setup.get_by_test_id("tencent-receive_id")).to_have_text(fake.APP_ID)
    expect(page.get_by_test_id("tencent-notice-panel")).to_be_visible()

    setup.get_by_test_id("tencent-test").click()
    expect(setup.get_by_test_id("tencent-test-result")).to_have_text("连接成功：已取得 access_token")
    assert fake_api.state.tokens_issued == 1

    # A wrong secret: the platform's own errcode is shown.
    with api_client(e2e_server, admin) as api:
        changed = api.patch(f"/api/v1/entry-points/{entry_id}", json={"config": {"app_secret": "wrong"}})
        assert changed.status_code == 200, changed.text
    setup.get_by_test_id("tencent-test").click()
    expect(setup.get_by_test_id("tencent-test-result")).to_contain_text("errcode 40125")


def _sidebar_entry(e2e_server: Server, fake_api: FakeApi, admin: Member) -> str:
    with api_client(e2e_server, admin) as api:
        created = api.post(
            "/api/v1/entry-points",
            json={
                "kind": "wecom_app",
                "name": "售后服务台",
                "config": {
                    "corp_id": fake.CORP_ID,
                    "agent_id": "1000002",
                    "secret": "wecom-app-secret-for-tests",
                    "api_base_url": fake_api.base_url,
                    "login_base_url": "https://login.work.example",
                },
            },
        )
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


def test_wecom_login_switch_and_the_chat_sidebar(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server, fake_api: FakeApi
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="管理员老周"))
    entry_id = _sidebar_entry(e2e_server, fake_api, admin)
    page: Page = open_page()
    log_in(page, admin)
    page.goto(f"/intake/wechat?id={entry_id}")
    panel = page.get_by_test_id("tencent-wecom-panel")
    expect(panel.get_by_test_id("tencent-sidebar-url")).to_have_text(
        re.compile(f"/api/v1/auth/wecom/{entry_id}/start\\?next=%2Fwecom-sidebar%2F{entry_id}$")
    )
    panel.get_by_test_id("tencent-console-login").click()
    expect(page.get_by_text("已保存")).to_be_visible()

    # The login page (another browser, not logged in) offers WeCom login for this app.
    visitor = open_page()
    visitor.goto(f"/login?tenant={tenant.slug}&next=/customers")
    button = visitor.get_by_test_id(f"wecom-login-{entry_id}")
    expect(button).to_have_text("企业微信登录 · 售后服务台")
    href = button.get_attribute("href") or ""
    assert parse_qs(urlsplit(href).query)["next"] == ["/customers"]
    visitor.goto("/login?wecom_error=not-bound")
    expect(visitor.get_by_role("alert")).to_contain_text("还没有绑定汇流用户")

    # The sidebar for a contact (outside WeCom the page takes ?external_userid=): new customer, two taps.
    page.goto(f"/wecom-sidebar/{entry_id}?external_userid=wmContact0001")
    sidebar = page.get_by_test_id("wecom-sidebar")
    expect(sidebar.get_by_test_id("wecom-sidebar-customer")).to_contain_text("新客户")
    sidebar.get_by_test_id("wecom-sidebar-new").click()
    expect(sidebar.get_by_test_id("wecom-sidebar-title")).to_have_value("企业微信咨询")
    sidebar.get_by_test_id("wecom-sidebar-submit").click()
    expect(sidebar.get_by_test_id("wecom-sidebar-created")).to_contain_text(re.compile(r"已创建工单 #\d+"))
    expect(sidebar.get_by_test_id("wecom-sidebar-customer")).to_contain_text("共 1 张工单")


def test_an_official_account_ticket_shows_the_customer_service_window(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server, fake_api: FakeApi
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="客服小陈"))
    with api_client(e2e_server, admin) as api:
        entry = api.post(
            "/api/v1/entry-points",
            json={
                "kind": "wechat_mp",
                "name": "服务号",
                "config": {
                    "app_id": fake.APP_ID,
                    "app_secret": fake.APP_SECRET,
                    "token": "e2etoken",
                    "encryption_mode": "plaintext",
                    "api_base_url": fake_api.base_url,
                },
            },
        ).json()
        stamp, nonce = str(int(time.time())), "20261130"
        # 接收普通消息 · 文本消息 of the Official Account docs, sent now.
        xml = (
            "<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName><FromUserName><![CDATA[oE2eCustomer]]></FromUserName>"
            f"<CreateTime>{stamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            "<Content><![CDATA[快递还没到]]></Content><MsgId>9876543210123456</MsgId></xml>"
        )
        query = {"signature": crypto.signature("e2etoken", stamp, nonce), "timestamp": stamp, "nonce": nonce}
        answer = httpx.post(
            f"{e2e_server.url}/callbacks/wechat/{entry['id']}", params=query, content=xml.encode()
        )
        assert answer.text == "success"
        tickets = api.get("/api/v1/tickets", params={"q": "快递还没到"}).json()
    ticket_id = next(item["id"] for item in tickets["items"] if item["channel"] == "wechat_mp")
    page = open_page()
    log_in(page, admin)
    page.goto(f"/tickets/{ticket_id}")
    expect(page.get_by_test_id("tencent-reply-window")).to_contain_text(re.compile(r"还剩 4[67] 小时"))
