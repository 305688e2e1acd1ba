"""Quick replies by shortcut in a real browser: in the reply box, `/` and the start of a shortcut offer
the matching quick replies (as Zendesk macros and Chatwoot canned responses do); ↑/↓ move through
them, Enter puts the chosen one, filled in for the ticket, where `/shortcut` was typed, Esc closes the
list and keeps the text. A slash inside a word (1/2, a URL) offers nothing. The quick-reply editor
describes its template variables in the UI's language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e

REPLIES = (
    ("退款已受理", "refund", "您好，{{ customer.name }}，工单 #{{ ticket.number }} 的退款已受理。"),
    ("退款到账时间", "refund-time", "原路退款一般 1–3 个工作日到账。"),
    ("感谢反馈", "thanks", "感谢您的反馈！"),
)


def test_slash_and_a_shortcut_offer_quick_replies_and_insert_the_chosen_one(
    seeder: Seeder, open_page: PageFactory, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    agent = seeder.run(make_member(seeder.runtime, tenant, "admin", name="斜杠快捷回复"))
    with api_client(e2e_server, agent) as client:
        for position, (title, shortcut, body) in enumerate(REPLIES):
            made = client.post(
                "/api/v1/kb/quick-replies",
                json={"title": title, "shortcut": shortcut, "body": body, "position": position},
            )
            assert made.status_code == 201, made.text
        created = client.post(
            "/api/v1/tickets",
            json={"title": "退款进度", "customer": {"name": "林女士", "phone": "13700137001"}},
        )
        assert created.status_code == 201, created.text
        ticket = created.json()

    page = open_page()
    log_in(page, agent)
    page.goto(f"/tickets/{ticket['id']}")
    box = page.get_by_test_id("reply-input")
    offered = page.locator(".el-mention-dropdown__item")

    # A slash inside a word is text: no list.
    box.press_sequentially("第 1/2 步 ")
    expect(offered.filter(visible=True)).to_have_count(0)

    # "/ref" offers the two refund replies; ↓ and ↑ move the choice, Enter inserts it filled in.
    box.press_sequentially("/ref")
    expect(offered.filter(visible=True)).to_have_count(2)
    expect(offered.filter(has_text="/refund 退款已受理")).to_be_visible()
    expect(offered.filter(has_text="/refund-time 退款到账时间")).to_be_visible()
    hovered = page.locator(".el-mention-dropdown__item.is-hovering")
    expect(hovered).to_have_text(re.compile("退款已受理"))
    box.press("ArrowDown")
    expect(hovered).to_have_text(re.compile("退款到账时间"))
    box.press("ArrowUp")
    expect(hovered).to_have_text(re.compile("退款已受理"))
    box.press("Enter")
    filled = f"第 1/2 步 您好，林女士，工单 #{ticket['number']} 的退款已受理。"
    expect(box).to_have_value(filled)
    expect(offered.filter(visible=True)).to_have_count(0)

    # Esc closes the list and leaves what was typed.
    box.press("End")
    box.press_sequentially(" /than")
    expect(offered.filter(has_text="/thanks 感谢反馈")).to_be_visible()
    # The list takes keys once an item is marked (as after "/ref" above); Esc before that is lost.
    expect(hovered).to_have_text(re.compile("感谢反馈"))
    box.press("Escape")
    expect(offered.filter(visible=True)).to_have_count(0)
    expect(box).to_have_value(filled + " /than")

    # A shortcut at the start of a line, chosen with Enter straight away (the first match).
    box.press("End")
    box.press("Shift+Enter")
    box.press_sequentially("/thanks")
    expect(offered.filter(has_text="/thanks 感谢反馈")).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value(filled + " /than\n感谢您的反馈！")
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_test_id("timeline-message").filter(has_text="感谢您的反馈！")).to_be_visible()

    # The editor says what each variable holds in Chinese (the server's descriptions are English).
    page.goto("/kb/quick-replies")
    page.get_by_test_id("quick-reply-new").click()
    variable = page.locator(".el-dialog .variable")
    expect(variable.filter(has_text="customer.name")).to_have_attribute("title", "客户姓名")
    expect(variable.filter(has_text="ticket.status")).to_have_attribute("title", re.compile("^工单状态"))
