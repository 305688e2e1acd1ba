"""The dashboard's top problems are grouped by a ticket's category key and show the taxonomy's name in
the UI's language (decision 0054); a key the taxonomy lacks is shown as it is. The category filter is a
select of the taxonomy: it shows names and filters (and puts into the URL) by key."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from huiliu.analytics import rollups
from tests.e2e.conftest import PageFactory, Seeder, log_in
from tests.factories import make_member, make_tenant, make_ticket

pytestmark = pytest.mark.e2e


def test_top_problems_show_category_names_not_keys(seeder: Seeder, open_page: PageFactory) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="看板主管"))
    for title in ("退货申请", "换货申请"):
        seeder.run(make_ticket(seeder.runtime, admin, title=title, category="refund_return"))
    seeder.run(make_ticket(seeder.runtime, admin, title="快递没到", category="logistics"))
    seeder.run(make_ticket(seeder.runtime, admin, title="旧系统导入", category="旧分类"))
    seeder.run(rollups.refresh(seeder.runtime.db, tenant.id, settle=timedelta(0)))

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    rows = page.get_by_test_id("problems").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("退换货")
    expect(page.get_by_test_id("problems")).to_contain_text("物流")
    expect(page.get_by_test_id("problems")).to_contain_text("旧分类")
    expect(page.get_by_test_id("problems")).not_to_contain_text("refund_return")
    expect(page.get_by_test_id("problems")).not_to_contain_text("logistics")


def test_the_category_filter_offers_taxonomy_names_and_filters_by_key(
    seeder: Seeder, open_page: PageFactory
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="看板主管"))
    for title in ("退货申请", "换货申请"):
        seeder.run(make_ticket(seeder.runtime, admin, title=title, category="refund_return"))
    seeder.run(make_ticket(seeder.runtime, admin, title="快递没到", category="logistics"))
    seeder.run(rollups.refresh(seeder.runtime.db, tenant.id, settle=timedelta(0)))

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-dashboard").click()
    volume = page.get_by_test_id("card-volume").locator(".value")
    expect(volume).to_have_text("3")
    category = page.get_by_test_id("filter-category")
    expect(category).to_contain_text("全部分类")  # nothing chosen: every category
    category.click()
    expect(page.get_by_role("option", name="物流")).to_be_visible()
    expect(page.get_by_role("option", name="logistics")).to_have_count(0)
    page.get_by_role("option", name="退换货").click()
    expect(volume).to_have_text("2")
    expect(page).to_have_url(re.compile(r"categories=refund_return"))
    assert parse_qs(urlsplit(page.url).query)["categories"] == ["refund_return"]
    expect(category).to_contain_text("退换货")
