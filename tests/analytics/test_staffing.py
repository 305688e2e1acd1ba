"""Staffing advice: the roster per hour from routing shifts, Erlang C per forecast hour, and the API
(forecast from the caller's visible history, 4xx, permission, tenants apart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from huiliu.analytics import rollups
from huiliu.analytics.forecast import ForecastPoint, floor_hour
from huiliu.analytics.staffing import StaffingParams, plan_hours, rostered_per_hour
from huiliu.core import clock
from huiliu.core.clock import utcnow
from huiliu.routing import service as routing
from huiliu.routing.domain import Shift
from huiliu.runtime import Runtime
from tests.factories import Member, make_member, make_team, make_tenant, make_ticket

STAFFING = "/api/v1/analytics/staffing"
OFFICE = {
    "timezone": "Asia/Shanghai",
    "hours": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
}
# Monday 2026-11-23 00:00 Asia/Shanghai
MONDAY = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def test_the_roster_counts_shifts_covering_each_hour_in_their_time_zone() -> None:
    office = Shift.from_spec(OFFICE)
    hours = [MONDAY + timedelta(hours=h) for h in (8, 9, 17, 18)] + [MONDAY + timedelta(days=5, hours=10)]
    assert rostered_per_hour([office, office, Shift()], hours) == [1, 3, 3, 1, 1]


def test_each_hour_gets_erlang_c_agents_with_shrinkage() -> None:
    # Call Centre Helper's example: 200 an hour, 180 s, 80 % in 20 s, 85 % occupancy, 30 % shrinkage.
    params = StaffingParams(handle_seconds=180, target_seconds=20, max_occupancy=0.85, shrinkage=0.3)
    forecast = [ForecastPoint(MONDAY, 200.0, 4), ForecastPoint(MONDAY + timedelta(hours=1), 0.0, 4)]
    busy, quiet = plan_hours(forecast, [16, 2], params)
    assert (busy.recommended, busy.scheduled, busy.rostered, busy.gap) == (14, 20, 16, -4)
    # 16 rostered, 11 after shrinkage: the service level they reach is 39 % (the worked example's 11 agents).
    assert busy.rostered_service_level == pytest.approx(0.3896, abs=1e-4)
    assert (quiet.recommended, quiet.scheduled, quiet.gap, quiet.rostered_service_level) == (0, 0, 2, 1.0)


async def put_shift(runtime: Runtime, admin: Member, member: Member, shift: object) -> None:
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        await routing.put_profile(uow, admin.actor, member.user.id, {"shift": shift})


async def test_the_plan_forecasts_from_history_beside_the_roster(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(runtime)
    team = await make_team(runtime, tenant, "售后组")
    other_team = await make_team(runtime, tenant, "售前组")
    admin = await make_member(runtime, tenant, "admin")
    agents = [await make_member(runtime, tenant, "agent", team=team) for _ in range(2)]
    outsider = await make_member(runtime, tenant, "agent", team=other_team)
    for agent in agents:
        await put_shift(runtime, admin, agent, "always")
    await put_shift(runtime, admin, outsider, "always")
    # Tomorrow at this hour was busy one and two weeks ago: 30 tickets each time.
    target = floor_hour(utcnow()) + timedelta(days=1)
    for weeks_ago in (1, 2):
        for i in range(30):
            with clock.at(target - weeks_ago * timedelta(days=7) + timedelta(minutes=i)):
                await make_ticket(runtime, admin, title="售后咨询", team_id=team.id)
    await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))

    response = await client.get(
        STAFFING, params={"weeks": 2, "days": 2, "team_ids": str(team.id)}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    plan = response.json()
    assert len(plan["hours"]) == 48
    busy = plan["hours"][24]
    assert busy["hour_start"].startswith(target.strftime("%Y-%m-%dT%H"))
    assert busy["forecast"] == pytest.approx(30.0)
    assert busy["samples"] == 2
    assert busy["recommended"] >= 5  # 30 an hour at 10 minutes each is 5 Erlangs
    assert busy["rostered"] == 2  # the team's two agents, not the other team's
    assert busy["gap"] == 2 - busy["scheduled"] < 0
    assert plan["hours"][0]["forecast"] == 0 and plan["hours"][0]["recommended"] == 0
    assert plan["summary"]["understaffed_hours"] >= 1
    assert plan["summary"]["history_total"] == 60

    # Asking for four weeks of history does not dilute the forecast with the weeks before the first ticket.
    longer = await client.get(
        STAFFING, params={"weeks": 4, "days": 2, "team_ids": str(team.id)}, headers=admin.headers
    )
    assert longer.json()["hours"][24]["forecast"] == pytest.approx(30.0)

    # Another tenant sees none of it.
    stranger = await make_member(runtime, await make_tenant(runtime), "admin")
    other = (await client.get(STAFFING, params={"weeks": 2, "days": 2}, headers=stranger.headers)).json()
    assert other["summary"]["history_total"] == 0
    assert all(hour["rostered"] == 0 for hour in other["hours"])
    # Agents have no analytics.read.
    assert (await client.get(STAFFING, headers=agents[0].headers)).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"days": 0},
        {"days": 30},
        {"weeks": 0},
        {"service_level": 1},
        {"service_level": 0},
        {"shrinkage": 1},
        {"max_occupancy": 0},
        {"handle_seconds": 0},
        {"team_ids": "not-a-uuid"},
    ],
)
async def test_bad_parameters_are_refused(
    runtime: Runtime, client: httpx.AsyncClient, params: dict[str, object]
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    response = await client.get(STAFFING, params=params, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_staffing_needs_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    assert (await client.get(STAFFING)).status_code == 401
