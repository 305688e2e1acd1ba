"""The alert rules page and the staffing page in a real browser: a rule is previewed on current data
and saved, a weekly report is created, and the staffing chart renders with the forecast from last
week — all without console errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from huiliu.analytics import rollups
from huiliu.analytics.forecast import floor_hour
from huiliu.core import clock
from huiliu.core.clock import utcnow
from huiliu.routing import service as routing
from tests.e2e.conftest import PageFactory, Seeder, log_in
from tests.factories import make_member, make_team, make_tenant, make_ticket

pytestmark = pytest.mark.e2e


def test_an_alert_rule_is_previewed_and_saved_and_a_weekly_report_created(
    seeder: Seeder, open_page: PageFactory
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-analytics-alerts").click()
    expect(page).to_have_url(re.compile(r"/settings/analytics-alerts$"))

    page.get_by_test_id("new-alert-rule").click()
    dialog = page.get_by_test_id("alert-rule-dialog")
    dialog.get_by_test_id("alert-rule-name").fill("周日晚间来单激增")
    dialog.get_by_test_id("alert-rule-preview-run").click()
    expect(dialog.get_by_test_id("alert-rule-preview")).to_contain_text("当前数据未触发此规则")
    dialog.get_by_test_id("alert-rule-save").click()
    table = page.get_by_test_id("alert-rule-table")
    expect(table).to_contain_text("周日晚间来单激增")
    expect(table).to_contain_text("与近 4 周同时段相比激增")

    page.get_by_role("tab", name="定时周报").click()
    page.get_by_test_id("new-report").click()
    report = page.get_by_test_id("report-dialog")
    report.get_by_test_id("report-name").fill("客服中心周报")
    report.get_by_test_id("report-recipients").click()
    recipients = report.get_by_test_id("report-recipients").locator("input")
    recipients.press_sequentially("boss@example.com")
    page.get_by_role("option", name="boss@example.com").click()
    report.get_by_test_id("report-save").click()
    expect(page.get_by_test_id("report-table")).to_contain_text("boss@example.com")
    expect(page.get_by_test_id("report-table")).to_contain_text("尚未发送")


def test_the_staffing_page_charts_the_forecast_beside_the_roster(
    seeder: Seeder, open_page: PageFactory
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    team = seeder.run(make_team(seeder.runtime, tenant, "售后组"))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    agent = seeder.run(make_member(seeder.runtime, tenant, "agent", team, name="客服小李"))

    async def roster() -> None:
        async with seeder.runtime.db.uow(tenant.id) as uow:
            await routing.put_profile(uow, admin.actor, agent.user.id, {"shift": "always"})

    seeder.run(roster())
    busy = floor_hour(utcnow()) + timedelta(hours=3) - timedelta(days=7)
    for minute in range(0, 40, 2):
        with clock.at(busy + timedelta(minutes=minute)):
            seeder.run(make_ticket(seeder.runtime, admin, title="退款进度", team_id=team.id))
    seeder.run(rollups.refresh(seeder.runtime.db, tenant.id, settle=timedelta(0)))

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-staffing").click()
    expect(page).to_have_url(re.compile(r"/staffing$"))
    expect(page.get_by_test_id("staffing-chart").locator("canvas").first).to_be_visible()
    summary = page.get_by_test_id("staffing-summary")
    expect(summary).to_contain_text("20")  # the forecast total: last week's 20 tickets
    expect(page.get_by_test_id("staffing-short")).to_contain_text("20")
