"""The analytics API: permission, data scope, tenant isolation, bad input as problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.analytics.helpers import PERIOD_END, PERIOD_START, Week, build_week
from tests.factories import make_member, make_tenant

PERIOD = {"start": PERIOD_START.isoformat(), "end": PERIOD_END.isoformat()}
VIEWS = ["summary", "series", "heatmap", "regions", "funnel", "leaderboard", "problems", "breakdown", "drill"]


@pytest.fixture
async def week(runtime: Any) -> Week:
    built = await build_week(runtime)
    await built.refresh()
    return built


async def test_every_view_answers_for_an_admin(client: httpx.AsyncClient, week: Week) -> None:
    headers = week.sla.admin.headers
    for view in VIEWS:
        response = await client.get(f"/api/v1/analytics/{view}", params=PERIOD, headers=headers)
        assert response.status_code == 200, (view, response.text)
    summary = (await client.get("/api/v1/analytics/summary", params=PERIOD, headers=headers)).json()
    assert summary["cards"]["volume"]["value"] == 5
    assert summary["period"]["previous_end"].startswith("2026-03-01T16:00")
    heat = (await client.get("/api/v1/analytics/heatmap", params=PERIOD, headers=headers)).json()
    assert heat["cells"][5][10] == 1 and heat["max"] == 1
    series = (
        await client.get(
            "/api/v1/analytics/series",
            params={**PERIOD, "metric": "backlog", "granularity": "day"},
            headers=headers,
        )
    ).json()
    assert [p["value"] for p in series["points"]] == [1, 2, 2, 2, 2, 3, 3]


async def test_heatmap_cell_drills_down_to_its_tickets(client: httpx.AsyncClient, week: Week) -> None:
    response = await client.get(
        "/api/v1/analytics/drill",
        params={**PERIOD, "hour_of_week": 24 + 14, "channel": "wechat"},
        headers=week.sla.admin.headers,
    )
    body = response.json()
    assert body["total"] == 1 and body["items"][0]["id"] == str(week.ids["T3"])


async def test_filters_and_region_drill(client: httpx.AsyncClient, week: Week) -> None:
    headers = week.sla.admin.headers
    params = [
        *PERIOD.items(),
        ("region", "广东"),
        ("team_id", str(week.team_a.id)),
        ("team_id", str(week.team_b.id)),
    ]
    summary = (await client.get("/api/v1/analytics/summary", params=params, headers=headers)).json()
    assert summary["cards"]["volume"]["value"] == 2
    drill = (
        await client.get(
            "/api/v1/analytics/drill", params={**PERIOD, "cell_region": "浙江/杭州"}, headers=headers
        )
    ).json()
    assert drill["total"] == 1 and drill["items"][0]["id"] == str(week.ids["T4"])


async def test_agents_need_analytics_read_but_have_a_personal_dashboard(
    client: httpx.AsyncClient, week: Week
) -> None:
    response = await client.get("/api/v1/analytics/summary", params=PERIOD, headers=week.b1.headers)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    mine = (await client.get("/api/v1/analytics/me", params=PERIOD, headers=week.b1.headers)).json()
    assert mine["summary"]["cards"]["volume"]["value"] == 2
    assert sum(p["count"] for p in mine["volume"]) == 2
    a2 = (await client.get("/api/v1/analytics/me", params=PERIOD, headers=week.a2.headers)).json()
    assert a2["summary"]["cards"]["volume"]["value"] == 1  # T2, transferred to a2


async def test_lead_sees_their_department_only(client: httpx.AsyncClient, week: Week) -> None:
    summary = (await client.get("/api/v1/analytics/summary", params=PERIOD, headers=week.lead.headers)).json()
    assert summary["cards"]["volume"]["value"] == 3  # team A's tickets


async def test_other_tenants_see_nothing(client: httpx.AsyncClient, runtime: Any, week: Week) -> None:
    other = await make_member(runtime, await make_tenant(runtime))
    summary = (await client.get("/api/v1/analytics/summary", params=PERIOD, headers=other.headers)).json()
    assert summary["cards"]["volume"]["value"] == 0
    drill = (await client.get("/api/v1/analytics/drill", params=PERIOD, headers=other.headers)).json()
    assert drill == {"total": 0, "items": []}
    # A filter naming the first tenant's team still finds nothing.
    params = {**PERIOD, "team_id": str(week.team_a.id)}
    board = (await client.get("/api/v1/analytics/leaderboard", params=params, headers=other.headers)).json()
    assert board["items"] == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("summary", {"start": "2026-03-09T00:00:00Z", "end": "2026-03-02T00:00:00Z"}),
        ("summary", {"start": "2024-01-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}),
        ("summary", {"start": "not-a-date"}),
        ("series", {**PERIOD, "metric": "nonsense"}),
        ("series", {**PERIOD, "granularity": "minute"}),
        ("series", {"start": "2026-01-01T00:00:00Z", "end": "2026-03-02T00:00:00Z", "granularity": "hour"}),
        ("breakdown", {**PERIOD, "by": "password"}),
        ("drill", {**PERIOD, "hour_of_week": "168"}),
        ("drill", {**PERIOD, "limit": "0"}),
        ("summary", {**PERIOD, "team_id": "not-a-uuid"}),
        ("summary", {**PERIOD, "region": "x" * 201}),
    ],
)
async def test_bad_input_is_a_problem(
    client: httpx.AsyncClient, runtime: Any, path: str, params: dict[str, str]
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime))
    response = await client.get(f"/api/v1/analytics/{path}", params=params, headers=admin.headers)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_needs_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/analytics/summary")
    assert response.status_code == 401
