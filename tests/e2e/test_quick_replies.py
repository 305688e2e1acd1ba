"""Quick replies with variables in a real browser: an admin writes one on 知识库 → 快捷回复, inserting
variables by clicking them; on a ticket page the agent picks it beside the reply box and the reply
holds the ticket's own values (customer name, ticket number), ready to send — without console errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e


def test_a_quick_reply_is_written_and_filled_in_for_the_ticket(
    seeder: Seeder, open_page: PageFactory, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="快捷回复管理员"))
    with api_client(e2e_server, admin) as client:
        created = client.post(
            "/api/v1/tickets",
            json={"title": "退款进度", "customer": {"name": "林女士", "phone": "13700137000"}},
        )
        assert created.status_code == 201, created.text
        ticket = created.json()

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-kb").click()
    page.get_by_test_id("nav-kb-quick-replies").click()
    expect(page).to_have_url(re.compile(r"/kb/quick-replies$"))
    page.get_by_test_id("quick-reply-new").click()
    page.get_by_test_id("quick-reply-title").fill("退款已受理")
    body = page.get_by_test_id("quick-reply-body")
    body.fill("您好，")
    page.locator(".el-dialog .variable", has_text="customer.name").click()
    body.press("End")
    body.press_sequentially("，您的工单 #")
    page.locator(".el-dialog .variable", has_text="ticket.number").click()
    expect(body).to_have_value("您好，{{ customer.name }}，您的工单 #{{ ticket.number }}")
    page.get_by_test_id("quick-reply-save").click()
    expect(page.get_by_test_id("quick-replies")).to_contain_text("退款已受理")

    page.goto(f"/tickets/{ticket['id']}")
    page.get_by_test_id("quick-reply-picker").click()
    page.get_by_role("option", name="退款已受理").click()
    expected = f"您好，林女士，您的工单 #{ticket['number']}"
    expect(page.get_by_test_id("reply-input")).to_have_value(re.compile(re.escape(expected)))
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_test_id("timeline-message").filter(has_text=expected)).to_be_visible()
