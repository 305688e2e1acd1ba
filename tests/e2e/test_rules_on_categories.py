"""Rules branch on a ticket's category by the taxonomy's names, in a real browser: the builder offers
the tenant's categories (账单费用, not the key billing) as condition values; the saved rule stores the
key and fires on a ticket of that category only — without console errors (decisions 0045, 0054)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e


def choose(page: Page, select: Locator, option: str) -> None:
    select.click()
    page.locator(".el-select-dropdown__item:visible").filter(
        has_text=re.compile(f"^{re.escape(option)}$")
    ).click()


def test_a_rule_on_a_category_is_built_from_the_taxonomy_and_fires(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="规则管理员"))
    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-rules").click()
    page.get_by_test_id("rule-create").click()
    builder = page.get_by_test_id("rule-builder")
    expect(builder).to_be_visible()
    page.get_by_test_id("rule-name").fill("账单 → 财务标签")

    condition = builder.get_by_test_id("rule-condition")
    choose(page, condition.get_by_test_id("condition-field"), "分类")
    choose(page, condition.get_by_test_id("condition-op"), "等于")
    choose(page, condition.get_by_test_id("condition-value"), "账单费用")

    choose(page, builder.get_by_test_id("action-add"), "添加标签")
    actions = builder.get_by_test_id("rule-action")
    actions.nth(0).get_by_test_id("action-param-tag").locator("input").fill("财务")
    choose(page, builder.get_by_test_id("action-add"), "设置字段")
    choose(page, actions.nth(1).get_by_test_id("action-param-field").locator(".el-select"), "场景")
    choose(page, actions.nth(1).get_by_test_id("action-param-value").locator(".el-select"), "售后")
    page.get_by_test_id("rule-save").click()
    expect(page.get_by_test_id("rule-row-name")).to_have_text(["账单 → 财务标签"])

    with api_client(e2e_server, admin) as client:
        (stored,) = client.get("/api/v1/rules").json()["items"]
        assert stored["conditions"] == {"all": [{"field": "category", "op": "eq", "value": "billing"}]}
        created = client.post("/api/v1/tickets", json={"title": "话费多扣了", "category": "billing"})
        assert created.status_code == 201, created.text
        other = client.post("/api/v1/tickets", json={"title": "快递没到", "category": "logistics"})
        detail = client.get(f"/api/v1/tickets/{created.json()['id']}").json()
        untouched = client.get(f"/api/v1/tickets/{other.json()['id']}").json()
    assert "财务" in detail["tags"] and detail["scenario"] == "aftersales"
    assert "财务" not in untouched["tags"] and untouched["scenario"] is None
