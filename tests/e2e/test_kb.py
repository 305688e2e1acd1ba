"""The knowledge base in a real browser: an admin writes and publishes an article in the console, finds
it among a ticket's suggestions, inserts it into the reply with one click and turns the sent reply
into a draft article; a customer finds the article in the H5 help centre and says it helped — all
without console errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageFactory, Seeder, log_in
from tests.factories import make_member, make_tenant, make_ticket

pytestmark = pytest.mark.e2e

TITLE = "洗衣机漏水怎么处理"
BODY = "<p>先关闭进水阀，检查排水管是否松动；仍然漏水请预约售后上门检修。</p>"


def test_an_article_is_written_suggested_inserted_and_found_in_the_help_centre(
    seeder: Seeder, open_page: PageFactory
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="知识管理员"))
    ticket = seeder.run(
        make_ticket(seeder.runtime, admin, title="洗衣机漏水", description="家里洗衣机一直漏水")
    )
    seeder.run(make_ticket(seeder.runtime, admin, title="洗衣机底部漏水", description="洗衣机漏水很严重"))

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-kb").click()
    page.get_by_test_id("nav-kb-articles").click()
    expect(page).to_have_url(re.compile(r"/kb$"))
    page.get_by_test_id("kb-new-article").click()
    page.get_by_test_id("kb-title").fill(TITLE)
    page.get_by_test_id("kb-body").fill(BODY)
    expect(page.frame_locator("[data-testid=kb-preview]").locator("p")).to_contain_text("关闭进水阀")
    page.get_by_test_id("kb-visibility-public").click()
    page.get_by_test_id("kb-status-published").click()
    page.get_by_test_id("kb-save").click()
    expect(page).to_have_url(re.compile(r"/kb/articles/[0-9a-f-]+$"))

    page.get_by_test_id("nav-kb-articles").click()
    page.get_by_test_id("kb-search").fill("洗衣机 漏水")
    page.get_by_test_id("kb-search-button").click()
    expect(page.get_by_test_id("kb-articles")).to_contain_text(TITLE)

    page.goto(f"/tickets/{ticket['id']}")
    suggestion = page.get_by_test_id("kb-suggestion").first
    expect(suggestion).to_contain_text(TITLE)
    suggestion.get_by_test_id("kb-insert").click()
    expect(page.get_by_test_id("reply-input")).to_have_value(re.compile("关闭进水阀"))
    expect(page.get_by_test_id("similar-tickets")).to_contain_text("洗衣机底部漏水")

    # The reply, once sent, becomes a draft article in one click.
    page.get_by_test_id("reply-send").click()
    sent = page.get_by_test_id("timeline-message").filter(has_text="关闭进水阀")
    sent.get_by_test_id("to-article").click()
    expect(page).to_have_url(re.compile(r"/kb/articles/[0-9a-f-]+$"))
    expect(page.get_by_test_id("kb-title")).to_have_value("洗衣机漏水")

    customer = open_page()
    customer.goto(f"/h5/help/{tenant.slug}")
    search = customer.get_by_role("searchbox")
    search.fill("洗衣机漏水了")
    search.press("Enter")
    result = customer.get_by_test_id("help-result").first
    expect(result).to_contain_text(TITLE)
    result.click()
    expect(customer.get_by_test_id("help-article")).to_contain_text("关闭进水阀")
    customer.get_by_test_id("help-helpful").click()
    expect(customer.get_by_test_id("help-feedback")).to_contain_text("感谢您的反馈")
    expect(customer.get_by_test_id("help-helpful")).to_contain_text("1")
