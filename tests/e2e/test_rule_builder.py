"""The form-based rule builder in a real browser: build "title contains 退款 → add tag 售后" from the
catalog's selects, see a server problem next to the control it names, switch to JSON and back, save,
and dry-run the rule on a refund ticket."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e


def choose(page: Page, select: Locator, option: str) -> None:
    """Open an Element Plus select and click the visible option with exactly this text."""
    select.click()
    page.locator(".el-select-dropdown__item:visible").filter(
        has_text=re.compile(f"^{re.escape(option)}$")
    ).click()


def test_rule_builder_builds_saves_and_dry_runs_a_rule(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    with api_client(e2e_server, admin) as api:
        created = api.post("/api/v1/tickets", json={"title": "我要退款", "description": "耳机左边没有声音"})
        assert created.status_code == 201, created.text
        ticket = created.json()

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-rules").click()
    expect(page.get_by_test_id("rules-title")).to_have_text("自动化规则")
    page.get_by_test_id("rule-create").click()
    dialog = page.get_by_test_id("rule-editor")
    builder = dialog.get_by_test_id("rule-builder")
    expect(builder).to_be_visible()
    page.get_by_test_id("rule-name").fill("退款 → 售后标签")

    # The condition: field 标题 (text group), operator 包含任一关键词, keyword 退款.
    condition = builder.get_by_test_id("rule-condition")
    expect(condition).to_have_count(1)
    choose(page, condition.get_by_test_id("condition-field"), "描述")
    choose(page, condition.get_by_test_id("condition-field"), "标题")
    choose(page, condition.get_by_test_id("condition-op"), "包含任一关键词")
    condition.get_by_test_id("condition-value").click()
    page.keyboard.type("退款")
    page.keyboard.press("Enter")
    expect(condition.get_by_test_id("condition-value").locator(".el-tag")).to_have_text("退款")
    dialog.locator(".el-dialog__title").click()

    # A priority condition offers the priorities as choices and no text operators.
    builder.get_by_test_id("group-add-condition").click()
    second = builder.get_by_test_id("rule-condition").nth(1)
    choose(page, second.get_by_test_id("condition-field"), "优先级")
    second.get_by_test_id("condition-op").click()
    expect(page.locator(".el-select-dropdown__item:visible", has_text="匹配正则")).to_have_count(0)
    page.locator(".el-select-dropdown__item:visible").filter(has_text=re.compile("^大于等于$")).click()
    choose(page, second.get_by_test_id("condition-value"), "普通")
    # …and is removed again.
    second.get_by_test_id("condition-remove").click()
    expect(builder.get_by_test_id("rule-condition")).to_have_count(1)

    # Actions: add tag 售后, and a webhook whose URL the server refuses.
    choose(page, builder.get_by_test_id("action-add"), "添加标签")
    actions = builder.get_by_test_id("rule-action")
    actions.nth(0).get_by_test_id("action-param-tag").locator("input").fill("售后")
    choose(page, builder.get_by_test_id("action-add"), "调用 Webhook")
    actions.nth(1).get_by_test_id("action-param-url").locator("input").fill("ftp://hooks.example.com/rules")

    # The 422 names actions.1.url: the message appears under the URL field of the second action.
    open_page.expect_failed_load("/api/v1/rules")
    page.get_by_test_id("rule-save").click()
    url_problem = builder.locator('[data-testid="builder-problem"][data-path="actions.1.url"]')
    expect(url_problem).to_contain_text("http")
    expect(actions.nth(1).get_by_test_id("action-param-url")).to_contain_text("http")
    expect(page.get_by_test_id("rule-problems")).to_contain_text("actions.1.url")
    actions.nth(1).get_by_test_id("action-remove").click()
    expect(actions).to_have_count(1)

    # JSON and back keeps the definition.
    page.get_by_test_id("rule-editor-mode").get_by_text("JSON").click()
    definition = page.get_by_test_id("rule-definition")
    expect(definition).to_have_value(re.compile(r'"field": "title"'))
    expect(definition).to_have_value(re.compile(r'"tag": "售后"'))
    page.get_by_test_id("rule-editor-mode").get_by_text("表单").click()
    expect(builder.get_by_test_id("rule-condition").get_by_test_id("condition-value")).to_contain_text("退款")

    page.get_by_test_id("rule-save").click()
    names = page.get_by_test_id("rule-row-name")
    expect(names).to_have_count(1)
    expect(names.first).to_have_text("退款 → 售后标签")
    with api_client(e2e_server, admin) as api:
        (stored,) = api.get("/api/v1/rules").json()["items"]
    assert stored["kind"] == "trigger"
    assert stored["on"] == ["ticket.created"]
    assert stored["conditions"] == {"all": [{"field": "title", "op": "contains", "value": ["退款"]}]}
    assert stored["actions"] == [{"type": "add_tag", "tag": "售后"}]

    # Editing opens the stored rule in the form.
    page.get_by_test_id("rules-table").locator("tr", has_text="退款 → 售后标签").get_by_role(
        "button", name="编辑"
    ).click()
    expect(builder.get_by_test_id("rule-condition").get_by_test_id("condition-value")).to_contain_text("退款")
    expect(
        builder.get_by_test_id("rule-action").get_by_test_id("action-param-tag").locator("input")
    ).to_have_value("售后")
    dialog.get_by_role("button", name="取消").click()

    # The dry run on the refund ticket: the rule would fire and plan the tag.
    page.get_by_test_id("dry-run-ticket").fill(str(ticket["number"]))
    page.get_by_test_id("dry-run-submit").click()
    result = page.get_by_test_id("dry-run-result")
    expect(result).to_contain_text(f"工单 #{ticket['number']} · 1 条规则命中")
    fired = page.get_by_test_id("dry-run-outcome-fired")
    expect(fired).to_have_count(1)
    expect(fired).to_contain_text("退款 → 售后标签")
    expect(result).to_contain_text('"tag":"售后"')


def test_rule_builder_makes_an_automation_with_a_time_condition_a_nested_group_and_a_notification(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-rules").click()
    page.get_by_test_id("rule-create").click()
    builder = page.get_by_test_id("rule-builder")
    page.get_by_test_id("rule-name").fill("高优先级 8 小时未处理 → 短信通知组长")
    page.get_by_test_id("rule-kind").get_by_text("定时自动化").click()

    # The time condition shortcut puts "hours since created ≥ 24" first; make it 8 hours and drop
    # the starting title condition.
    builder.get_by_test_id("add-time-condition").click()
    expect(builder.get_by_test_id("add-time-condition")).to_have_count(0)
    conditions = builder.get_by_test_id("rule-condition")
    expect(conditions).to_have_count(2)
    expect(conditions.first.get_by_test_id("condition-field")).to_contain_text("创建后经过的小时数")
    expect(conditions.first).to_contain_text("小时")
    hours = conditions.first.get_by_test_id("condition-value").locator("input")
    hours.fill("8")
    hours.press("Tab")
    conditions.nth(1).get_by_test_id("condition-remove").click()
    expect(conditions).to_have_count(1)

    # A nested "any" group: priority is one of 高, 紧急 (the priorities are the only choices).
    builder.get_by_test_id("group-add-group").click()
    group = builder.get_by_test_id("condition-group").nth(1)
    expect(group.get_by_test_id("group-mode")).to_contain_text("满足以下任一条件")
    inner = group.get_by_test_id("rule-condition")
    choose(page, inner.get_by_test_id("condition-field"), "优先级")
    # Automations run on the clock: no "changed" operators are offered.
    inner.get_by_test_id("condition-op").click()
    expect(page.locator(".el-select-dropdown__item:visible", has_text="发生变化")).to_have_count(0)
    page.locator(".el-select-dropdown__item:visible").filter(has_text=re.compile("^属于$")).click()
    inner.get_by_test_id("condition-value").click()
    page.locator(".el-select-dropdown__item:visible").filter(has_text=re.compile("^高$")).click()
    page.locator(".el-select-dropdown__item:visible").filter(has_text=re.compile("^紧急$")).click()
    page.get_by_test_id("rule-editor").locator(".el-dialog__title").click()

    # Notify the team lead by SMS, as a warning.
    choose(page, builder.get_by_test_id("action-add"), "发送通知")
    action = builder.get_by_test_id("rule-action")
    action.get_by_test_id("action-param-team_lead").get_by_text("是").click()
    action.get_by_test_id("action-param-channels").get_by_text("短信").click()
    choose(page, action.get_by_test_id("action-param-severity").locator(".el-select"), "警告")

    page.get_by_test_id("rule-save").click()
    expect(page.get_by_test_id("rule-row-name")).to_have_text(["高优先级 8 小时未处理 → 短信通知组长"])
    with api_client(e2e_server, admin) as api:
        (stored,) = api.get("/api/v1/rules").json()["items"]
    assert stored["kind"] == "automation"
    assert stored["on"] is None
    assert stored["conditions"] == {
        "all": [
            {"field": "hours_since_created", "op": "gte", "value": 8},
            {"any": [{"field": "priority", "op": "in", "value": ["high", "urgent"]}]},
        ]
    }
    (notify,) = stored["actions"]
    assert notify["type"] == "notify"
    assert notify["team_lead"] is True
    assert notify["assignee"] is False
    assert notify["channels"] == ["sms"]
    assert notify["severity"] == "warning"
