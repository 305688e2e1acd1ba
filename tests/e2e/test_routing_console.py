"""The routing console in a real browser: a policy that queues teamless tickets on a team, notes its
failures and follows a business calendar, and an agent's shift that follows the calendar."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_team, make_tenant

pytestmark = pytest.mark.e2e


def test_policy_and_agent_shift_follow_a_business_calendar(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    team = seeder.run(make_team(seeder.runtime, tenant, "售后组"))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王", team=team))
    with api_client(e2e_server, admin) as api:
        calendar = api.post(
            "/api/v1/sla/calendars",
            json={"name": "中国法定工作日", "timezone": "Asia/Shanghai", "cn_statutory": True},
        )
        assert calendar.status_code == 201, calendar.text
        calendar_id = calendar.json()["id"]
        profile = api.put(f"/api/v1/routing/agents/{admin.user.id}", json={"presence": "online"})
        assert profile.status_code == 200, profile.text

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-routing").click()
    expect(page).to_have_url(re.compile(r"/settings/routing$"))
    page.get_by_test_id("new-policy").click()
    dialog = page.get_by_test_id("routing-policy-dialog")
    page.get_by_test_id("policy-name").fill("节假日派单")
    page.get_by_test_id("policy-final-team").click()
    page.get_by_role("option", name="售后组").click()
    page.get_by_test_id("policy-note-on-failure").click()
    page.get_by_test_id("policy-calendar").click()
    page.get_by_role("option", name="中国法定工作日").click()
    dialog.get_by_test_id("policy-save").click()
    expect(page.get_by_test_id("policy-table")).to_contain_text("节假日派单")
    with api_client(e2e_server, admin) as api:
        [policy] = [
            p for p in api.get("/api/v1/routing/policies").json()["items"] if p["name"] == "节假日派单"
        ]
    definition = policy["definition"]
    assert definition["final_team"] == str(team.id)
    assert definition["note_on_failure"] is True
    assert definition["calendar"] == calendar_id

    page.get_by_test_id("nav-agents").click()
    expect(page).to_have_url(re.compile(r"/settings/agents$"))
    page.get_by_test_id(f"edit-agent-{admin.user.id}").click()
    page.get_by_test_id("agent-calendar").click()
    page.get_by_role("option", name="中国法定工作日").click()
    page.get_by_test_id("agent-save").click()
    expect(page.get_by_test_id("agents-table")).to_contain_text("按工作日历")
    with api_client(e2e_server, admin) as api:
        shift = api.get(f"/api/v1/routing/agents/{admin.user.id}").json()["shift"]
    assert shift == {"timezone": "Asia/Shanghai", "calendar": calendar_id}
