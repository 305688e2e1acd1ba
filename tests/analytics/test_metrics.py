"""Metric values on the fixed week of ``helpers.build_week``, computed by hand (durations in business
minutes of the office-hours calendar), and the data scope of team agents."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from huiliu.analytics import metrics, queries
from huiliu.analytics.metrics import MetricFilter
from huiliu.analytics.models import TicketFact
from huiliu.auth.domain import system_actor
from huiliu.core.errors import ValidationFailed
from tests.analytics.helpers import PERIOD_END, PERIOD_START, Week, build_week
from tests.sla.helpers import sh


@pytest.fixture
async def week(runtime: Any) -> Week:
    built = await build_week(runtime)
    await built.refresh()
    return built


async def _series(week: Week, metric: str, actor: Any = None, **filters: Any) -> list[metrics.SeriesPoint]:
    flt = MetricFilter(PERIOD_START, PERIOD_END, **filters)
    async with week.runtime.db.read(week.tenant_id) as session:
        return await metrics.series(session, actor or system_actor(week.tenant_id), metric, flt, "day")


def _total(points: list[metrics.SeriesPoint]) -> int:
    return sum(p.count for p in points)


async def test_facts_hold_business_minutes_and_outcomes(week: Week) -> None:
    async with week.runtime.db.read(week.tenant_id) as session:
        facts = {f.ticket_id: f for f in (await session.execute(select(TicketFact))).scalars()}
    t1, t2, t3, t4, t5 = (facts[week.ids[name]] for name in ("T1", "T2", "T3", "T4", "T5"))
    assert (t1.first_response_minutes, t1.resolution_minutes, t1.csat) == (30, 90, 5)
    assert (t2.first_response_minutes, t2.first_response_met, t2.resolution_minutes) == (75, False, 150)
    assert t2.transfers == 1 and t2.agent_replies == 2 and t2.fcr is False and t2.csat == 2
    assert t3.first_response_minutes is None and t3.resolved_at is None and t3.region == "广东/广州"
    assert t4.reopened and t4.ever_resolved and t4.resolved_at is None and t4.fcr is False
    assert (t5.first_response_minutes, t5.resolution_minutes) == (10, 40)
    assert t5.first_response_business and t5.transfers == 0
    assert t5.accepted_at == sh("2026-03-09 09:05")
    assert t1.hour_of_week == 10 and t2.hour_of_week == 17 and t5.hour_of_week == 5 * 24 + 10


async def test_volume_resolved_and_backlog_by_day(week: Week) -> None:
    volume = await _series(week, "volume")
    assert volume[0].bucket_start == PERIOD_START
    assert [p.value for p in volume] == [2, 2, 0, 0, 0, 1, 0]
    resolved = await _series(week, "resolved")
    assert [p.value for p in resolved] == [1, 1, 0, 0, 0, 0, 0]
    backlog = await _series(week, "backlog")
    assert [p.value for p in backlog] == [1, 2, 2, 2, 2, 3, 3]


async def _summary(week: Week, actor: Any = None, **filters: Any) -> dict[str, Any]:
    flt = MetricFilter(PERIOD_START, PERIOD_END, **filters)
    async with week.runtime.db.read(week.tenant_id) as session:
        return await queries.summary(
            session, actor or system_actor(week.tenant_id), flt, now=sh("2026-03-20 12:00")
        )


async def test_summary_cards_match_hand_computed_values(week: Week) -> None:
    result = await _summary(week)
    cards = {name: card["value"] for name, card in result["cards"].items()}
    assert cards["volume"] == 5
    assert cards["resolved"] == 2  # T1 Mon, T2 Tue (T5 resolved after the period, T4 reopened)
    assert cards["backlog"] == 3  # T3, T4, T5 open at the period end
    # First responses (by creation): 30, 75, 20, 10 -> 10, 20, 30, 75.
    assert cards["first_response_median"] == pytest.approx(25)
    assert cards["first_response_p90"] == pytest.approx(30 + 0.7 * 45)
    # Resolutions in the period: 90 and 150.
    assert cards["resolution_median"] == pytest.approx(120)
    assert cards["resolution_p90"] == pytest.approx(144)
    assert cards["sla_first_response"] == pytest.approx(3 / 4)  # T2 breached
    assert cards["sla_resolution"] == pytest.approx(3 / 3)  # T1, T2, T5
    assert cards["sla_compliance"] == pytest.approx(6 / 7)
    assert cards["csat_avg"] == pytest.approx(3.5)
    assert cards["reopen_rate"] == pytest.approx(1 / 4)  # T4 of T1, T2, T4, T5
    assert cards["fcr_rate"] == pytest.approx(2 / 4)  # T1, T5 (T2 two replies, T4 reopened)
    assert cards["transfers_per_ticket"] == pytest.approx(1 / 5)
    assert result["csat_distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    # Aging at the period end (Monday 00:00): T3, T4 created Tuesday (5 days), T5 Saturday (38 hours).
    assert result["aging"] == {"lt_1d": 0, "d1_3": 1, "d3_7": 2, "gt_7d": 0}
    previous = result["cards"]["volume"]
    assert previous["previous"] == 0 and previous["change"] is None


async def test_the_next_weeks_previous_cards_are_this_weeks_cards(week: Week) -> None:
    """The previous period is computed like the current one: the week after the fixed week compares
    against exactly the week's numbers, the backlog at its end included (T5, resolved after it)."""
    this_week = await _summary(week)
    following = MetricFilter(PERIOD_END, PERIOD_END + (PERIOD_END - PERIOD_START))
    async with week.runtime.db.read(week.tenant_id) as session:
        next_week = await queries.summary(
            session, system_actor(week.tenant_id), following, now=sh("2026-03-20 12:00")
        )
    previous = {name: card["previous"] for name, card in next_week["cards"].items()}
    assert previous == {name: card["value"] for name, card in this_week["cards"].items()}
    assert previous["backlog"] == 3 and previous["volume"] == 5


async def test_wall_clock_minutes_without_sla(week: Week) -> None:
    """The same week without business hours would count T5's weekend: 47 h 10 min to first reply."""
    async with week.runtime.db.read(week.tenant_id) as session:
        fact = await session.get(TicketFact, week.ids["T5"])
    assert fact is not None and fact.first_response_business
    from huiliu.analytics.domain import SlaOutcome, TicketRow, build_fact

    row = TicketRow(
        id=fact.ticket_id,
        created_at=sh("2026-03-07 10:00"),
        status="resolved",
        priority="normal",
        category=None,
        scenario=None,
        channel="web",
        entry_point_id=None,
        team_id=None,
        assignee_id=None,
        first_response_at=sh("2026-03-09 09:10"),
        resolved_at=sh("2026-03-09 09:40"),
        reopen_count=0,
        merged_into_id=None,
        region=None,
        customer_level=None,
    )
    wall = build_fact(week.tenant_id, row, None, [], 1)
    assert wall is not None
    assert wall["first_response_minutes"] == 47 * 60 + 10 and not wall["first_response_business"]
    assert wall["resolution_minutes"] == 47 * 60 + 40
    business = build_fact(week.tenant_id, row, SlaOutcome(10, True, 40, True), [], 1)
    assert business is not None and business["first_response_minutes"] == 10


async def test_team_scope_limits_every_view(week: Week) -> None:
    team_b_agent = week.b1.actor
    assert (await _summary(week, team_b_agent))["cards"]["volume"]["value"] == 2
    team_a_agent = week.a1.actor
    assert (await _summary(week, team_a_agent))["cards"]["volume"]["value"] == 3
    flt = MetricFilter(PERIOD_START, PERIOD_END)
    async with week.runtime.db.read(week.tenant_id) as session:
        board = await queries.leaderboard(session, team_b_agent, flt)
        rows, total = await queries.drill(session, team_b_agent, flt)
        grid = await queries.heatmap(session, team_b_agent, flt)
    assert [r["name"] for r in board] == ["b1"]
    assert total == 2 and {r.id for r in rows} == {week.ids["T3"], week.ids["T4"]}
    assert sum(map(sum, grid)) == 2


async def test_dimension_filters(week: Week) -> None:
    assert (await _summary(week, regions=("广东",)))["cards"]["volume"]["value"] == 2
    assert (await _summary(week, regions=("广东/深圳",)))["cards"]["volume"]["value"] == 1
    assert (await _summary(week, channels=("web",)))["cards"]["volume"]["value"] == 2
    assert (await _summary(week, team_ids=(week.team_b.id,)))["cards"]["volume"]["value"] == 2
    assert (await _summary(week, agent_ids=(week.a2.user.id,)))["cards"]["volume"]["value"] == 1
    assert (await _summary(week, categories=("发票",)))["cards"]["volume"]["value"] == 2
    assert (await _summary(week, priorities=("urgent",)))["cards"]["volume"]["value"] == 0


async def test_views(week: Week) -> None:
    flt = MetricFilter(PERIOD_START, PERIOD_END)
    actor = system_actor(week.tenant_id)
    async with week.runtime.db.read(week.tenant_id) as session:
        grid = await queries.heatmap(session, actor, flt)
        funnel = {s["stage"]: s for s in await queries.funnel(session, actor, flt)}
        board = {r["name"]: r for r in await queries.leaderboard(session, actor, flt, now=PERIOD_END)}
        regions = {r["region"]: r for r in await queries.regions(session, actor, flt)}
        channels = {r["key"]: r for r in await queries.breakdown(session, actor, flt, "channel")}
        teams = {r["label"]: r for r in await queries.breakdown(session, actor, flt, "team")}
        problems = await queries.problems(session, actor, flt)
        rows, total = await queries.drill(session, actor, flt, hour_of_week=5 * 24 + 10)
    assert (
        grid[0][10] == 1 and grid[0][17] == 1 and grid[1][14] == 1 and grid[1][15] == 1 and grid[5][10] == 1
    )
    assert [funnel[s]["count"] for s in ("created", "accepted", "first_response", "resolved", "rated")] == [
        5,
        5,
        4,
        4,
        2,
    ]
    # Accepted: T1-T4 at creation (0), T5 assigned Monday 09:05 (47 h 05 min): median 0.
    assert funnel["accepted"]["median_minutes"] == pytest.approx(0)
    assert funnel["first_response"]["drop_off"] == pytest.approx(1 / 5)
    # Rated: T1 30 min after resolving, T2 10 min -> 20.
    assert funnel["rated"]["median_minutes"] == pytest.approx(20)
    assert board["b1"]["handled"] == 2 and board["b1"]["open_now"] == 2
    assert board["a2"]["resolved"] == 1 and board["a2"]["handle_minutes_median"] == pytest.approx(150)
    assert board["a1"]["csat_avg"] == pytest.approx(5)
    assert set(regions) == {"广东/深圳", "广东/广州", "浙江/杭州"}
    assert regions["广东/深圳"]["province"] == "广东" and regions["广东/深圳"]["first_response_median"] == 30
    assert channels["wechat"]["volume"] == 3 and channels["web"]["volume"] == 2
    assert teams["A组"]["volume"] == 3 and teams["B组"]["volume"] == 2
    assert [p["category"] for p in problems] == ["退款", "发票"]
    assert problems[0]["count"] == 3 and problems[0]["reopen_rate"] == pytest.approx(1 / 2)
    assert {k["term"] for k in problems[0]["keywords"]} >= {"卡纸"}
    assert total == 1 and rows[0].id == week.ids["T5"]


async def test_series_validation(week: Week) -> None:
    async with week.runtime.db.read(week.tenant_id) as session:
        actor = system_actor(week.tenant_id)
        with pytest.raises(ValidationFailed):
            await metrics.series(session, actor, "nope", MetricFilter(PERIOD_START, PERIOD_END), "day")
        with pytest.raises(ValidationFailed):
            await metrics.series(session, actor, "volume", MetricFilter(PERIOD_END, PERIOD_START), "day")
        with pytest.raises(ValidationFailed):
            await metrics.series(
                session, actor, "volume", MetricFilter(PERIOD_START, sh("2026-05-01 00:00")), "hour"
            )
        hourly = await metrics.series(
            session, actor, "volume", MetricFilter(PERIOD_START, PERIOD_END), "hour"
        )
    assert len(hourly) == 7 * 24 and sum(p.count for p in hourly) == 5
