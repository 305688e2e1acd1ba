"""The dashboards in a real browser: every chart renders without console errors, a heatmap cell opens
the tickets behind it, an alert's dashboard link opens on its metric, period and filters (and the
filters stay in the URL), and an agent's personal dashboard shows their own numbers."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from huiliu.analytics import rollups
from huiliu.analytics.alerts.service import dashboard_link
from huiliu.analytics.domain import hour_of_week
from huiliu.core.clock import utcnow
from tests.e2e.conftest import PageFactory, Seeder, log_in
from tests.factories import make_member, make_team, make_tenant, make_ticket

pytestmark = pytest.mark.e2e


def test_dashboard_renders_every_chart_and_a_heatmap_cell_drills_down(
    seeder: Seeder, open_page: PageFactory
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    team = seeder.run(make_team(seeder.runtime, tenant, "售后组"))
    agent = seeder.run(make_member(seeder.runtime, tenant, "agent", team, name="客服小李"))
    first = seeder.run(
        make_ticket(
            seeder.runtime,
            admin,
            title="打印机卡纸",
            category="维修",
            channel="wechat_mp",
            team_id=team.id,
            assignee_id=agent.user.id,
            fields={"region": "广东/深圳"},
        )
    )
    seeder.run(make_ticket(seeder.runtime, admin, title="发票开错了", category="发票", channel="web"))
    seeder.run(rollups.refresh(seeder.runtime.db, tenant.id, settle=timedelta(0)))
    slot = hour_of_week(utcnow())
    weekday, hour = divmod(slot, 24)

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_test_id("dashboard-title")).to_have_text("数据看板")
    expect(page.get_by_test_id("card-volume")).to_contain_text("2")
    for section in ("trend", "funnel", "aging", "channels", "entry-points"):
        expect(page.get_by_test_id(section).locator("canvas").first).to_be_visible()
    expect(page.get_by_test_id("leaderboard")).to_contain_text("客服小李")
    expect(page.get_by_test_id("problems")).to_contain_text("维修")
    expect(page.get_by_test_id("regions")).to_contain_text("广东/深圳")

    cell = page.get_by_test_id(f"heat-{weekday}-{hour}")
    expect(cell).to_be_enabled()
    cell.click()
    dialog = page.get_by_test_id("drill-dialog")
    expect(dialog.get_by_test_id("drill-total")).to_contain_text("共 2 张工单")
    dialog.get_by_text("打印机卡纸").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{first['id']}$"))


def test_an_alert_link_opens_the_dashboard_on_its_metric_period_and_filters(
    seeder: Seeder, open_page: PageFactory
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin"))
    for title in ("课程退订", "课程退订 again"):
        seeder.run(make_ticket(seeder.runtime, admin, title=title, category="退订", channel="wechat_mp"))
    seeder.run(make_ticket(seeder.runtime, admin, title="发票开错了", category="发票", channel="web"))
    seeder.run(rollups.refresh(seeder.runtime.db, tenant.id, settle=timedelta(0)))
    bucket = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    # The link the alert notification carries (relative: the e2e server has no public URL).
    link = dashboard_link("", "volume", {"categories": ["退订"]}, bucket)
    start, end = bucket - timedelta(days=7), bucket + timedelta(days=1)

    page = open_page()
    log_in(page, admin)
    page.goto(link)
    focus = page.get_by_test_id("metric-focus")
    expect(focus).to_be_visible()
    expect(focus).to_have_attribute("data-metric", "volume")
    expect(focus.locator("canvas").first).to_be_visible()
    expect(focus).to_be_in_viewport()
    card = page.get_by_test_id("card-volume")
    expect(card).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(card.locator(".value")).to_have_text("2")  # the rule's category only, over the linked period
    # 退订 is not in the taxonomy: the category select still shows it, marked.
    expect(page.get_by_test_id("filter-category")).to_contain_text("退订（不在分类体系中）")
    range_start = page.get_by_test_id("dashboard-filters").locator(".el-range-input").first
    expect(range_start).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["metric"] == ["volume"]
    assert query["categories"] == ["退订"]
    assert query["start"] == [start.isoformat().replace("+00:00", ".000Z")]
    assert query["end"] == [end.isoformat().replace("+00:00", ".000Z")]

    # Changing a filter keeps the view in the URL: a preset period replaces the range.
    page.get_by_test_id("period-presets").get_by_text("近 7 天").click()
    expect(page).to_have_url(re.compile(r"days=7"))
    query = parse_qs(urlsplit(page.url).query)
    assert "start" not in query
    assert query["metric"] == ["volume"] and query["categories"] == ["退订"]
    expect(card.locator(".value")).to_have_text("2")

    # The URL alone reproduces the view (a shared link), and the highlight can be dismissed.
    shared = page.url
    other = open_page()
    log_in(other, admin)
    other.goto(shared)
    expect(other.get_by_test_id("metric-focus")).to_be_visible()
    expect(other.get_by_test_id("card-volume").locator(".value")).to_have_text("2")
    other.get_by_test_id("clear-focus").click()
    expect(other.get_by_test_id("metric-focus")).to_have_count(0)
    expect(other).not_to_have_url(re.compile(r"metric="))
    expect(other).to_have_url(re.compile(r"categories="))


def test_agent_sees_the_personal_dashboard_only(seeder: Seeder, open_page: PageFactory) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin"))
    team = seeder.run(make_team(seeder.runtime, tenant, "售前组"))
    agent = seeder.run(make_member(seeder.runtime, tenant, "agent", team, name="客服小张"))
    seeder.run(make_ticket(seeder.runtime, admin, team_id=team.id, assignee_id=agent.user.id))
    seeder.run(make_ticket(seeder.runtime, admin))
    seeder.run(rollups.refresh(seeder.runtime.db, tenant.id, settle=timedelta(0)))

    page = open_page()
    log_in(page, agent)
    expect(page.get_by_test_id("nav-dashboard")).to_have_count(0)
    page.get_by_test_id("nav-my-dashboard").click()
    expect(page.get_by_test_id("my-dashboard")).to_be_visible()
    expect(page.get_by_test_id("card-volume")).to_contain_text("1")
    expect(page.get_by_test_id("my-dashboard").locator("canvas").first).to_be_visible()
