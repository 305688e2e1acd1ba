"""The automation console in a real browser: install the preset rules, reorder and edit them (the
server's 422 problems shown with their paths), dry-run them on a refund ticket, and preview a deadline
on a business calendar with China's statutory holidays."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e


def test_rules_page_presets_editor_and_dry_run(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    with api_client(e2e_server, admin) as api:
        created = api.post(
            "/api/v1/tickets", json={"title": "申请退款：商品有破损", "description": "收到时外壳裂了"}
        )
        assert created.status_code == 201, created.text
        ticket = created.json()

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-rules").click()
    expect(page).to_have_url(re.compile(r"/settings/rules$"))
    expect(page.get_by_test_id("rules-title")).to_have_text("自动化规则")

    # Install the presets: three rules, in order.
    page.get_by_test_id("rules-install-presets").click()
    names = page.get_by_test_id("rule-row-name")
    expect(names).to_have_count(3)
    expect(names.first).to_have_text("含“退款”关键词 → 分配售后")

    # Move the first rule down: the server stores the new order.
    page.get_by_role("button", name="下移 含“退款”关键词 → 分配售后").click()
    expect(names.nth(1)).to_have_text("含“退款”关键词 → 分配售后")
    with api_client(e2e_server, admin) as api:
        order = [rule["name"] for rule in api.get("/api/v1/rules").json()["items"]]
    assert order[1] == "含“退款”关键词 → 分配售后"

    # A bad definition: the server's problems appear next to the editor with their paths (the 422 is
    # expected, so the browser's "failed to load" console line for it is too).
    open_page.expect_failed_load("/api/v1/rules")
    page.get_by_test_id("rule-create").click()
    page.get_by_test_id("rule-name").fill("VIP 优先")
    # The editor opens on the form-based builder; this part edits the definition as JSON.
    page.get_by_test_id("rule-editor-mode").get_by_text("JSON").click()
    page.get_by_test_id("rule-definition").fill(
        '{"conditions": {"all": [{"field": "customer.level", "op": "nope", "value": "vip"}]}, '
        '"actions": [{"type": "set_field", "field": "priority", "value": "high"}]}'
    )
    page.get_by_test_id("rule-save").click()
    problems = page.get_by_test_id("rule-problems")
    expect(problems).to_contain_text("conditions.all.0.op")
    # Fixed, it saves and shows up as the fourth rule.
    page.get_by_test_id("rule-definition").fill(
        '{"conditions": {"all": [{"field": "customer.level", "op": "eq", "value": "vip"}]}, '
        '"actions": [{"type": "set_field", "field": "priority", "value": "high"}]}'
    )
    page.get_by_test_id("rule-save").click()
    expect(names).to_have_count(4)
    expect(names.nth(3)).to_have_text("VIP 优先")

    # Its change history.
    page.get_by_test_id("rules-table").locator("tr", has_text="VIP 优先").get_by_role(
        "button", name="变更记录"
    ).click()
    expect(page.get_by_test_id("rule-history")).to_contain_text("创建")
    page.keyboard.press("Escape")

    # Dry run on the refund ticket, found by its number: the refund rule fires, the others say why not.
    page.get_by_test_id("dry-run-ticket").fill(str(ticket["number"]))
    page.get_by_test_id("dry-run-submit").click()
    result = page.get_by_test_id("dry-run-result")
    expect(result).to_contain_text(f"工单 #{ticket['number']} · 1 条规则命中")
    fired = page.get_by_test_id("dry-run-outcome-fired")
    expect(fired).to_have_count(1)
    expect(fired).to_contain_text("命中")
    expect(fired).to_contain_text("含“退款”关键词 → 分配售后")
    fired.click()
    expect(result.locator(".el-tree").first).to_contain_text("退款")
    expect(result).to_contain_text('"team":"after_sales"')
    expect(page.get_by_test_id("dry-run-outcome-other_event")).to_have_count(2)

    # Delete the VIP rule (with a confirmation).
    page.get_by_test_id("rules-table").locator("tr", has_text="VIP 优先").get_by_role(
        "button", name="删除"
    ).click()
    page.locator(".el-message-box .el-button--primary").click()
    expect(names).to_have_count(3)


def test_sla_preview_computes_a_deadline_over_national_day(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-sla-preview").click()
    expect(page.get_by_test_id("sla-title")).to_have_text("工作日历预览")

    # Wed 2026-09-30 17:00 + 240 business minutes with statutory holidays → Thu Oct 8 12:00 (Shanghai).
    start_input = page.locator('input[aria-label="开始时间"]')
    start_input.fill("2026-09-30 17:00")
    start_input.press("Enter")
    page.get_by_test_id("sla-title").click()
    page.get_by_test_id("sla-compute").click()
    expect(page.get_by_test_id("sla-due-local")).to_have_text("2026-10-08T12:00:00+08:00")
    expect(page.get_by_test_id("sla-due")).to_contain_text("Asia/Shanghai")
    expect(page.get_by_test_id("sla-coverage")).to_have_text("已包含法定节假日")

    # A holiday entered by hand (Thu Oct 8, picked in the calendar popup a month back from the
    # deadline's month) moves the deadline a day and is marked on the month view.
    expect(page.get_by_test_id("sla-calendar")).to_contain_text("2026")
    page.locator('input[aria-label="节假日（休息）"]').click()
    panel = page.locator(".el-picker-panel:visible")
    for _ in range(24):
        header = panel.locator(".el-date-picker__header").inner_text()
        if "2026" in header and re.search(r"(?<!\d)10(?!\d)", header):
            break
        panel.locator(".arrow-left").click()
    panel.locator("td.available", has_text=re.compile(r"^8$")).first.click()
    page.get_by_test_id("sla-title").click()
    page.get_by_test_id("sla-compute").click()
    expect(page.get_by_test_id("sla-due-local")).to_have_text("2026-10-09T12:00:00+08:00")
    expect(page.get_by_test_id("calendar-holiday")).to_have_count(1)
    # Clicking that day in the month view makes it a make-up working day instead.
    page.locator('[data-day="2026-10-08"]').click()
    expect(page.get_by_test_id("calendar-holiday")).to_have_count(0)
    expect(page.get_by_test_id("calendar-workday")).to_have_count(1)
    page.get_by_test_id("sla-compute").click()
    expect(page.get_by_test_id("sla-due-local")).to_have_text("2026-10-08T12:00:00+08:00")
