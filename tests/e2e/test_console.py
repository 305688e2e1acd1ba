"""The agent console in a real browser against a real server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_team, make_tenant, unique

pytestmark = pytest.mark.e2e
LIVE_BOUND_MS = 2_000


def open_view(page: Page, key: str) -> None:
    page.locator(f'li[data-view="{key}"]').click()
    expect(page).to_have_url(re.compile(rf"/queues/{key}$"))


def wait_live(page: Page) -> None:
    expect(page.locator('[data-testid="live-indicator"].on')).to_be_visible()


def test_agent_logs_in_opens_a_ticket_replies_and_resolves(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    team = seeder.run(make_team(seeder.runtime, tenant, "售后一组"))
    agent = seeder.run(make_member(seeder.runtime, tenant, "agent", team, name="客服小李"))
    title = unique("空调不制冷")
    with api_client(e2e_server, agent) as api:
        payload = {
            "title": title,
            "description": "客户说空调开了两小时还是不制冷",
            "assignee_id": str(agent.user.id),
            "team_id": str(team.id),
            "priority": "high",
        }
        created = api.post("/api/v1/tickets", json=payload)
        assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]

    page = open_page()
    log_in(page, agent)
    expect(page.get_by_test_id("queue-title")).to_have_text("我的待办")
    page.get_by_role("link", name=title).click()

    expect(page).to_have_url(re.compile(rf"/tickets/{ticket_id}$"))
    expect(page.get_by_test_id("ticket-title")).to_have_text(title)
    reply = "您好，师傅今天下午三点上门检查"
    page.get_by_test_id("reply-input").fill(reply)
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_test_id("timeline-message").filter(has_text=reply)).to_be_visible()

    page.get_by_test_id("resolve").click()
    page.locator(".el-message-box input").fill("已上门修好")
    page.locator(".el-message-box .el-button--primary").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("已解决")
    expect(page.get_by_test_id("timeline-event").filter(has_text="已上门修好")).to_be_visible()

    with api_client(e2e_server, agent) as api:
        detail = api.get(f"/api/v1/tickets/{ticket_id}").json()
    assert detail["status"] == "resolved"
    assert [m["body"] for m in detail["messages"] if m["author_kind"] == "agent"] == [reply]


def test_ticket_created_through_the_api_appears_in_another_browsers_queue_without_reload(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    colleague = seeder.run(make_member(seeder.runtime, tenant, "admin", name="客服小张"))
    first, second = open_page(), open_page()
    log_in(first, admin)
    log_in(second, colleague)
    open_view(second, "open")
    wait_live(second)
    second.evaluate("window.__sameDocument = true")

    title = unique("扫码报修：冰箱不制冷")
    with api_client(e2e_server, admin) as api:
        assert api.post("/api/v1/tickets", json={"title": title}).status_code == 201

    expect(second.get_by_role("link", name=title)).to_be_visible(timeout=LIVE_BOUND_MS)
    assert second.evaluate("window.__sameDocument") is True
    # The first browser's queue counts follow too.
    open_view(first, "unassigned")
    expect(first.get_by_role("link", name=title)).to_be_visible()


def test_switching_to_english_changes_the_ui_and_the_profile(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    agent = seeder.run(make_member(seeder.runtime, tenant, "admin"))
    page = open_page()
    log_in(page, agent)
    expect(page.get_by_test_id("queue-title")).to_have_text("我的待办")

    page.get_by_test_id("language-switch").click()
    page.locator(".el-select-dropdown__item", has_text="English").click()

    expect(page.get_by_test_id("queue-title")).to_have_text("My open tickets")
    expect(page.locator('li[data-view="unassigned"]')).to_contain_text("Unassigned")
    assert page.evaluate("localStorage.getItem('huiliu.locale')") == "en"
    assert page.evaluate("document.documentElement.lang") == "en"
    with api_client(e2e_server, agent) as api:
        assert api.get("/api/v1/auth/me").json()["locale"] == "en"

    # The choice survives a reload and reaches pages rendered later.
    page.reload()
    page.locator('li[data-view="breaching"]').click()
    expect(page.get_by_test_id("queue-unavailable")).to_contain_text("SLA")
    expect(page.get_by_test_id("queue-title")).to_have_text("About to breach")


def test_team_scoped_agent_does_not_see_another_teams_tickets(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    team_a = seeder.run(make_team(seeder.runtime, tenant, "A 组"))
    team_b = seeder.run(make_team(seeder.runtime, tenant, "B 组"))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="管理员"))
    agent_a = seeder.run(make_member(seeder.runtime, tenant, "agent", team_a, name="A 组客服"))
    title_a, title_b = unique("A 组的工单"), unique("B 组的工单")
    with api_client(e2e_server, admin) as api:
        created_a = api.post("/api/v1/tickets", json={"title": title_a, "team_id": str(team_a.id)})
        created_b = api.post("/api/v1/tickets", json={"title": title_b, "team_id": str(team_b.id)})
    assert created_a.status_code == created_b.status_code == 201

    page = open_page()
    log_in(page, agent_a)
    open_view(page, "open")
    expect(page.get_by_role("link", name=title_a)).to_be_visible()
    expect(page.get_by_role("link", name=title_b)).to_have_count(0)
    open_view(page, "team")
    expect(page.get_by_role("link", name=title_a)).to_be_visible()

    # Even by address, team B's ticket reads as missing.
    open_page.expect_failed_load(f"/api/v1/tickets/{created_b.json()['id']}")
    page.goto(f"/tickets/{created_b.json()['id']}")
    expect(page.get_by_text("工单不存在，或不在你的可见范围内")).to_be_visible()
