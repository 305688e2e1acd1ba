"""The dashboards in a real browser: every chart renders without console errors, a heatmap cell opens
the tickets behind it, and an agent's personal dashboard shows their own numbers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from huiliu.analytics import rollups
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
