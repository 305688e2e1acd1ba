"""The SLA configuration and queue API: calendars (CRUD, month view with holidays and make-up days),
policies (CRUD, order, presets), a ticket's SLA state and the breaching-soon queue; 4xx problems on
bad input that change nothing, admin.sla for writes, and tenants never seeing each other's rows."""

from __future__ import annotations

from typing import Any

import httpx

from huiliu.core import clock
from huiliu.tickets import service as tickets
from huiliu.tickets.schemas import TicketCreate
from tests.factories import make_member, make_team, make_tenant
from tests.sla.helpers import OFFICE_HOURS, TARGETS, sh

BASE = "/api/v1/sla"


def calendar_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "上海工作日历",
        "timezone": "Asia/Shanghai",
        "hours": OFFICE_HOURS,
        "holidays": ["2026-12-24"],
        "workdays": ["2026-12-26"],
        "cn_statutory": True,
        "is_default": True,
    }
    body.update(changes)
    return body


def policy_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "标准 SLA",
        "conditions": [{"field": "priority", "op": "in", "value": ["urgent", "high", "normal", "low"]}],
        "targets": TARGETS,
        "tiers": [
            {"percent": 75, "actions": [{"type": "notify", "assignee": True, "channels": ["in_app"]}]},
            {"percent": 100, "actions": [{"type": "add_tag", "tag": "超时"}]},
        ],
    }
    body.update(changes)
    return body


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    return problem


async def test_calendar_crud_and_month_view(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    created = await client.post(f"{BASE}/calendars", json=calendar_body(), headers=admin.headers)
    assert created.status_code == 201, created.text
    calendar = created.json()
    assert calendar["is_default"] and calendar["holidays"] == ["2026-12-24"]
    listed = (await client.get(f"{BASE}/calendars", headers=admin.headers)).json()["items"]
    assert [item["id"] for item in listed] == [calendar["id"]]

    october = await client.get(
        f"{BASE}/calendars/{calendar['id']}/month?month=2026-10", headers=admin.headers
    )
    assert october.status_code == 200, october.text
    days = {day["date"]: day for day in october.json()["days"]}
    assert len(days) == 31
    assert days["2026-10-01"]["kind"] == "holiday" and days["2026-10-01"]["name"] == "National Day"
    assert days["2026-10-01"]["periods"] == []
    assert days["2026-10-10"]["kind"] == "makeup_workday"
    assert days["2026-10-10"]["source"] == "adjusted_workday"
    assert days["2026-10-10"]["periods"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert days["2026-10-11"]["kind"] == "weekend"
    assert days["2026-10-12"]["kind"] == "workday"
    september = await client.get(
        f"{BASE}/calendars/{calendar['id']}/month?month=2026-09", headers=admin.headers
    )
    assert {d["date"]: d["kind"] for d in september.json()["days"]}["2026-09-20"] == "makeup_workday"
    december = await client.get(
        f"{BASE}/calendars/{calendar['id']}/month?month=2026-12", headers=admin.headers
    )
    kinds = {d["date"]: (d["kind"], d["source"]) for d in december.json()["days"]}
    assert kinds["2026-12-24"] == ("holiday", "holiday")
    assert kinds["2026-12-26"] == ("makeup_workday", "extra_workday")

    replaced = await client.put(
        f"{BASE}/calendars/{calendar['id']}", json=calendar_body(holidays=[]), headers=admin.headers
    )
    assert replaced.status_code == 200 and replaced.json()["holidays"] == []


async def test_calendar_bad_input_is_a_422_and_changes_nothing(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    for bad in (
        calendar_body(timezone="Mars/Base"),
        calendar_body(hours={"mon": [["09:00", "08:00"]]}),
        calendar_body(hours={"monday": [["09:00", "12:00"]]}),
        calendar_body(holidays=["2026-12-26"]),  # also a workday
        calendar_body(name=""),
        calendar_body(surprise=True),
    ):
        assert_problem(await client.post(f"{BASE}/calendars", json=bad, headers=admin.headers), 422)
    assert (await client.get(f"{BASE}/calendars", headers=admin.headers)).json()["items"] == []
    created = (await client.post(f"{BASE}/calendars", json=calendar_body(), headers=admin.headers)).json()
    for month in ("2026-13", "26-10", "2026-1", "abc"):
        url = f"{BASE}/calendars/{created['id']}/month?month={month}"
        assert_problem(await client.get(url, headers=admin.headers), 422)
    duplicate = await client.post(f"{BASE}/calendars", json=calendar_body(), headers=admin.headers)
    assert_problem(duplicate, 409)


async def test_policy_crud_order_and_validation(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    calendar = (await client.post(f"{BASE}/calendars", json=calendar_body(), headers=admin.headers)).json()
    first = await client.post(
        f"{BASE}/policies", json=policy_body(calendar_id=calendar["id"]), headers=admin.headers
    )
    assert first.status_code == 201, first.text
    second = await client.post(f"{BASE}/policies", json=policy_body(name="VIP"), headers=admin.headers)
    first_id, second_id = first.json()["id"], second.json()["id"]
    assert second.json()["position"] > first.json()["position"]
    reordered = await client.post(
        f"{BASE}/policies:reorder", json={"ids": [second_id, first_id]}, headers=admin.headers
    )
    assert [item["id"] for item in reordered.json()["items"]] == [second_id, first_id]

    bad = await client.post(
        f"{BASE}/policies",
        json=policy_body(
            targets={"urgent": {"first_response": -5}},
            tiers=[{"percent": 75, "actions": [{"type": "launch_rocket"}]}],
            conditions=[{"field": "weather", "op": "is", "value": "rain"}],
        ),
        headers=admin.headers,
    )
    problem = assert_problem(bad, 422)
    locs = [error["loc"] for error in problem["errors"]]
    assert ["body", "targets", "urgent", "first_response"] in locs
    assert ["body", "tiers", 0, "actions", 0, "type"] in locs
    assert ["body", "conditions", 0, "field"] in locs
    unknown_calendar = await client.post(
        f"{BASE}/policies",
        json=policy_body(calendar_id="01234567-89ab-7def-8123-456789abcdef"),
        headers=admin.headers,
    )
    assert_problem(unknown_calendar, 422)
    assert len((await client.get(f"{BASE}/policies", headers=admin.headers)).json()["items"]) == 2

    in_use = await client.delete(f"{BASE}/calendars/{calendar['id']}", headers=admin.headers)
    assert_problem(in_use, 409)
    assert (await client.delete(f"{BASE}/policies/{first_id}", headers=admin.headers)).status_code == 204
    assert_problem(await client.get(f"{BASE}/policies/{first_id}", headers=admin.headers), 404)


async def test_presets_install_once(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    first = await client.post(f"{BASE}/presets", headers=admin.headers)
    assert first.status_code == 200, first.text
    assert first.json()["installed"] == ["cn_standard", "standard"]
    again = await client.post(f"{BASE}/presets", headers=admin.headers)
    assert again.json()["installed"] == []
    assert again.json()["policy_id"] == first.json()["policy_id"]
    policies = (await client.get(f"{BASE}/policies", headers=admin.headers)).json()["items"]
    assert [p["preset_key"] for p in policies] == ["standard"]
    assert [t["percent"] for t in policies[0]["tiers"]] == [75, 100, 150]


async def test_writes_need_admin_sla_and_reads_any_agent(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent")
    assert_problem(await client.post(f"{BASE}/calendars", json=calendar_body(), headers=agent.headers), 403)
    assert_problem(await client.post(f"{BASE}/policies", json=policy_body(), headers=agent.headers), 403)
    assert_problem(await client.post(f"{BASE}/presets", headers=agent.headers), 403)
    await client.post(f"{BASE}/presets", headers=admin.headers)
    assert len((await client.get(f"{BASE}/policies", headers=agent.headers)).json()["items"]) == 1
    assert len((await client.get(f"{BASE}/calendars", headers=agent.headers)).json()["items"]) == 1
    assert (await client.get(f"{BASE}/policies")).status_code == 401


async def test_tenants_do_not_see_each_others_configuration(client, runtime):
    mine, theirs = await make_tenant(runtime), await make_tenant(runtime)
    admin, other = await make_member(runtime, mine), await make_member(runtime, theirs)
    installed = (await client.post(f"{BASE}/presets", headers=admin.headers)).json()
    for url in (
        f"{BASE}/calendars/{installed['calendar_id']}",
        f"{BASE}/calendars/{installed['calendar_id']}/month?month=2026-10",
        f"{BASE}/policies/{installed['policy_id']}",
    ):
        assert_problem(await client.get(url, headers=other.headers), 404)
    assert_problem(
        await client.put(
            f"{BASE}/policies/{installed['policy_id']}", json=policy_body(), headers=other.headers
        ),
        404,
    )
    assert_problem(
        await client.delete(f"{BASE}/calendars/{installed['calendar_id']}", headers=other.headers), 404
    )
    assert (await client.get(f"{BASE}/policies", headers=other.headers)).json()["items"] == []


async def test_ticket_sla_state_and_breaching_soon_queue(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    team_a, team_b = await make_team(runtime, tenant), await make_team(runtime, tenant)
    agent_a = await make_member(runtime, tenant, "agent", team=team_a)
    await client.post(f"{BASE}/presets", headers=admin.headers)
    now = clock.utcnow()
    created = []
    for team in (team_a, team_b):
        with clock.at(now):
            async with runtime.db.uow(tenant.id) as uow:
                row = await tickets.create_ticket(
                    uow, admin.actor, TicketCreate(title="退款", priority="urgent", team_id=team.id)
                )
        created.append(str(row["id"]))
    state = await client.get(f"{BASE}/tickets/{created[0]}", headers=admin.headers)
    assert state.status_code == 200, state.text
    body = state.json()
    assert body["policy_name"] == "标准 SLA" and body["priority"] == "urgent"
    metrics = {m["metric"]: m for m in body["metrics"]}
    assert metrics["first_response"]["target_minutes"] == 30
    assert 0 <= metrics["first_response"]["percent_used"] <= 100
    assert set(metrics) == {"first_response", "resolution"}

    # Far enough ahead to cover the next working hours whatever the day and time the test runs.
    queue = await client.get(f"{BASE}/breaching-soon?within_minutes=10080", headers=admin.headers)
    assert queue.status_code == 200, queue.text
    ids = [item["ticket_id"] for item in queue.json()["items"]]
    assert set(created) <= set(ids)
    # The team-scoped agent sees only their team's ticket, in the queue and in the SLA view.
    scoped = await client.get(f"{BASE}/breaching-soon?within_minutes=10080", headers=agent_a.headers)
    assert [item["ticket_id"] for item in scoped.json()["items"]] == [created[0]]
    assert_problem(await client.get(f"{BASE}/tickets/{created[1]}", headers=agent_a.headers), 404)
    for bad in ("within_minutes=0", "within_minutes=abc", "limit=1000"):
        assert_problem(await client.get(f"{BASE}/breaching-soon?{bad}", headers=admin.headers), 422)

    other = await make_member(runtime, await make_tenant(runtime))
    assert_problem(await client.get(f"{BASE}/tickets/{created[0]}", headers=other.headers), 404)
    assert (await client.get(f"{BASE}/breaching-soon", headers=other.headers)).json()["items"] == []


async def test_ticket_sla_is_204_without_a_policy(client, runtime):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    with clock.at(sh("2026-11-23 10:00")):
        async with runtime.db.uow(tenant.id) as uow:
            row = await tickets.create_ticket(uow, admin.actor, TicketCreate(title="咨询"))
    response = await client.get(f"{BASE}/tickets/{row['id']}", headers=admin.headers)
    assert response.status_code == 204 and response.content == b""
