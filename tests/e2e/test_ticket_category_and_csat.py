"""Issue 9 on the ticket page and the customer's progress page, in a real browser:

- a ticket that came in with a category outside the taxonomy (an import's word) shows it marked; the
  agent picks a taxonomy category by its name, a scenario and a priority, and the page, the timeline
  and the API agree (decision 0054);
- the customer rates a resolved ticket (CSAT) on the H5 progress page with stars and a comment; the
  agent sees the rating in the ticket's timeline — all without console errors."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from huiliu.channels.webform.domain import progress_token
from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e


def test_an_agent_moves_an_imported_category_into_the_taxonomy(
    seeder: Seeder, open_page: PageFactory, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="分类客服"))
    with api_client(e2e_server, admin) as client:
        created = client.post(
            "/api/v1/tickets", json={"title": "发票抬头开错了", "category": "旧系统-发票问题"}
        )
        assert created.status_code == 201, created.text
        ticket = created.json()

    page = open_page()
    log_in(page, admin)
    page.goto(f"/tickets/{ticket['id']}")
    label = page.get_by_test_id("ticket-category-label")
    expect(label).to_contain_text("旧系统-发票问题")
    expect(page.get_by_test_id("ticket-category-outside")).to_be_visible()

    page.get_by_test_id("ticket-category").click()
    page.get_by_role("option", name="账单费用").click()
    expect(label).to_contain_text("账单费用")
    expect(page.get_by_test_id("ticket-category-outside")).to_have_count(0)
    expect(
        page.get_by_test_id("timeline-event").filter(has_text="旧系统-发票问题 → 账单费用")
    ).to_be_visible()

    page.get_by_test_id("ticket-scenario").click()
    page.get_by_role("option", name="售后").click()
    expect(page.get_by_test_id("timeline-event").filter(has_text="场景：空 → 售后")).to_be_visible()
    page.get_by_test_id("ticket-priority").click()
    page.get_by_role("option", name="高", exact=True).click()
    expect(page.get_by_test_id("timeline-event").filter(has_text="普通 → 高")).to_be_visible()

    with api_client(e2e_server, admin) as client:
        detail = client.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert (detail["category"], detail["scenario"], detail["priority"]) == ("billing", "aftersales", "high")


def test_the_customer_rates_a_resolved_ticket_and_the_agent_sees_it(
    seeder: Seeder, open_page: PageFactory, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    agent = seeder.run(make_member(seeder.runtime, tenant, "admin", name="评价客服"))
    with api_client(e2e_server, agent) as client:
        created = client.post(
            "/api/v1/tickets",
            json={"title": "热水器不出热水", "customer": {"name": "周先生", "phone": "13900139000"}},
        )
        assert created.status_code == 201, created.text
        ticket = created.json()
    token = progress_token(seeder.runtime.settings.secret_key, tenant.id, uuid.UUID(ticket["id"]))

    customer = open_page()
    customer.goto(f"/h5/p/{token}")
    expect(customer.get_by_test_id("progress-title")).to_have_text("热水器不出热水")
    expect(customer.get_by_test_id("progress-rating")).to_have_count(0)

    page = open_page()
    log_in(page, agent)
    page.goto(f"/tickets/{ticket['id']}")
    page.get_by_test_id("resolve").click()
    page.locator(".el-message-box .el-button--primary").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("已解决")

    customer.reload()
    rating = customer.get_by_test_id("progress-rating")
    expect(rating).to_be_visible()
    rating.get_by_role("radio").nth(3).click()
    customer.get_by_test_id("progress-rate-comment").locator("textarea").fill("师傅很专业，上门很快")
    customer.get_by_test_id("progress-rate-send").click()
    expect(customer.get_by_test_id("progress-rated")).to_contain_text("4 星")
    customer.reload()
    expect(customer.get_by_test_id("progress-rated")).to_contain_text("师傅很专业")

    page.reload()
    event = page.get_by_test_id("timeline-event").filter(has_text="评价了服务")
    expect(event).to_contain_text("★★★★☆")
    expect(event).to_contain_text("师傅很专业，上门很快")
