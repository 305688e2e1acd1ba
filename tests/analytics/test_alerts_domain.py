"""Alert conditions on plain series: a 3-day drop and a Sunday-evening spike each fire once, normal
weekly seasonality never fires, thresholds, parsing and the zh-CN wording."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from huiliu.analytics.alerts.domain import (
    AlertRuleError,
    ConsecutiveDays,
    Point,
    RuleState,
    Spike,
    Threshold,
    condition_spec,
    decide,
    describe,
    evaluate,
    evaluation_bucket,
    extra_agents,
    parse_condition,
    robust_z,
    series_range,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Monday 2026-10-26 00:00 Asia/Shanghai
WEEK0 = datetime(2026, 10, 25, 16, 0, tzinfo=UTC)


def pattern(hour_of_week: int) -> float:
    """A normal week: quiet nights, busy days, and a Sunday-evening peak that comes every week."""
    day, hour = divmod(hour_of_week, 24)
    value = 3.0 if hour < 8 else 20.0
    if day == 6 and 19 <= hour <= 21:
        value = 45.0
    return value


def hourly(weeks: int, seed: int = 7) -> dict[datetime, Point]:
    rng = random.Random(seed)
    points = {}
    for i in range(weeks * 168):
        moment = WEEK0 + i * HOUR
        points[moment] = Point(moment, max(0.0, pattern(i % 168) + rng.randint(-2, 2)), 0)
    return points


def run_hourly(
    metric: str, condition: Spike | Threshold, points: dict[datetime, Point], hours: list[datetime]
):
    """Evaluate every hour in ``hours`` as the worker would, with incident state carried along; returns
    the buckets that were told."""
    state = RuleState(incident_open=False, last_fired_at=None)
    told = []
    for hour in hours:
        now = hour + HOUR + timedelta(minutes=5)
        bucket = evaluation_bucket(condition, now)
        assert bucket == hour
        start, end = series_range(condition, bucket)
        window = [p for t, p in points.items() if start <= t < end]
        breach = evaluate(metric, condition, bucket, window)
        decision = decide(state, breach, now, cooldown_hours=6)
        if decision.fire:
            told.append(bucket)
            state = RuleState(True, now)
        else:
            state = RuleState(decision.incident_open, state.last_fired_at)
    return told


def test_normal_weekly_seasonality_does_not_fire() -> None:
    points = hourly(6)
    last_week = [WEEK0 + (5 * 168 + i) * HOUR for i in range(168)]
    assert run_hourly("volume", Spike(), points, last_week) == []


def test_a_sunday_evening_spike_fires_once() -> None:
    points = hourly(6)
    sunday = WEEK0 + (5 * 168 + 6 * 24) * HOUR  # last week's Sunday 00:00 local
    for hour in (19, 20, 21, 22):
        moment = sunday + hour * HOUR
        points[moment] = Point(moment, points[moment].value + 60, 0)  # 课程退订 surge
    last_week = [WEEK0 + (5 * 168 + i) * HOUR for i in range(168)]
    told = run_hourly("volume", Spike(), points, last_week)
    assert told == [sunday + 19 * HOUR]


def test_a_falling_spike_only_fires_when_asked_for() -> None:
    points = hourly(6)
    moment = WEEK0 + (5 * 168 + 2 * 24 + 14) * HOUR  # Wednesday 14:00
    points[moment] = Point(moment, 0.0, 0)
    hours = [moment - HOUR, moment, moment + HOUR]
    assert run_hourly("volume", Spike(), points, hours) == []
    assert run_hourly("volume", Spike(direction="down"), points, hours) == [moment]


def daily_points(values: list[float | None], first_day: datetime) -> list[Point]:
    """Hourly sla_compliance points whose daily aggregate is ``values`` (10 tickets an hour)."""
    points = []
    for day, value in enumerate(values):
        for hour in range(24):
            moment = first_day + day * DAY + hour * HOUR
            points.append(Point(moment, value, 10 if value is not None else 0))
    return points


def test_a_three_day_drop_fires_once() -> None:
    condition = ConsecutiveDays(standard=0.9, days=3)
    daily = [0.95, 0.96, 0.85, 0.82, 0.8, 0.84, 0.93, 0.95]
    points = daily_points(daily, WEEK0)
    state = RuleState(False, None)
    told = []
    for day in range(len(daily)):
        now = WEEK0 + (day + 1) * DAY + timedelta(minutes=10)  # 00:10 local the next day
        bucket = evaluation_bucket(condition, now)
        assert bucket == WEEK0 + day * DAY
        start, end = series_range(condition, bucket)
        breach = evaluate(
            "sla_compliance", condition, bucket, [p for p in points if start <= p.bucket_start < end]
        )
        decision = decide(state, breach, now, cooldown_hours=24)
        if decision.fire:
            told.append(day)
            state = RuleState(True, now)
            message, _ = describe("sla_compliance", condition, breach, "售后组")  # type: ignore[arg-type]
            assert message == "【售后组】SLA 达标率已连续 3 天低于标准值 90.0%（逐日：85.0%、82.0%、80.0%）"
        else:
            state = RuleState(decision.incident_open, state.last_fired_at)
    assert told == [4]  # the third day below the standard; days 5 and 6 continue the incident


def test_a_day_without_data_breaks_the_run() -> None:
    condition = ConsecutiveDays(standard=4.5, days=3)
    points = daily_points([4.0, None, 4.1], WEEK0)
    assert evaluate("csat_avg", condition, WEEK0 + 2 * DAY, points) is None


def test_threshold_over_a_window_sums_counts_and_weighs_rates() -> None:
    bucket = WEEK0 + 10 * HOUR
    counts = [Point(bucket - i * HOUR, 30.0, 30) for i in range(3)]
    assert evaluate("volume", Threshold("gt", 80, 3), bucket, counts) is not None
    assert evaluate("volume", Threshold("gt", 80, 2), bucket, counts) is None
    rates = [Point(bucket, 0.5, 10), Point(bucket - HOUR, 1.0, 90)]
    breach = evaluate("sla_compliance", Threshold("lt", 0.99, 2), bucket, rates)
    assert breach is not None and breach.value == pytest.approx(0.95)


def test_cooldown_holds_back_a_new_incident_soon_after_the_last() -> None:
    now = WEEK0
    fired_at = now - 2 * HOUR
    breach = evaluate("volume", Threshold("gt", 1, 1), now - HOUR, [Point(now - HOUR, 5.0, 5)])
    assert decide(RuleState(False, fired_at), breach, now, 6).fire is False
    assert decide(RuleState(False, fired_at), breach, now, 1).fire is True
    assert decide(RuleState(True, None), None, now, 6).incident_open is False


def test_robust_z_floors_a_flat_baseline() -> None:
    z, median, mad = robust_z(12, [10, 10, 10, 10])
    assert (median, mad) == (10, 0)
    assert z == pytest.approx(0.6745 * 2 / 1.0)


def test_spike_suggests_extra_agents_from_erlang_c() -> None:
    # 60 → 150 tickets an hour at 10 minutes each, 80 % within 2 minutes.
    assert extra_agents(150, 60, 600) > 10
    assert extra_agents(10, 12, 600) == 0
    condition = Spike()
    sunday_7pm = WEEK0 + (6 * 24 + 19) * HOUR
    breach = evaluate(
        "volume",
        condition,
        sunday_7pm,
        [Point(sunday_7pm, 48.0, 48)] + [Point(sunday_7pm - k * 7 * DAY, 12.0, 12) for k in (1, 2, 3, 4)],
    )
    assert breach is not None
    message, suggestion = describe("volume", condition, breach, "课程退订", extra=3)
    assert message == "【课程退订】工单量在周日 11-01 19:00–20:00激增：48（往常同时段约 12）"
    assert suggestion.startswith("建议增派 3 名客服")


@pytest.mark.parametrize(
    "spec",
    [
        None,
        {},
        {"kind": "magic"},
        {"kind": "threshold", "op": "eq", "value": 1},
        {"kind": "threshold", "op": "gt"},
        {"kind": "threshold", "op": "gt", "value": "ten"},
        {"kind": "threshold", "op": "gt", "value": 1, "window_hours": 0},
        {"kind": "threshold", "op": "gt", "value": True},
        {"kind": "consecutive_days_below", "standard": 0.9, "days": 0},
        {"kind": "consecutive_days_below", "standard": 0.9, "direction": "sideways"},
        {"kind": "spike", "z": 0.5},
        {"kind": "spike", "weeks": 1},
        {"kind": "spike", "colour": "red"},
    ],
)
def test_bad_conditions_are_refused(spec: object) -> None:
    with pytest.raises(AlertRuleError):
        parse_condition(spec)


def test_conditions_round_trip_with_defaults_written_out() -> None:
    spec = condition_spec(parse_condition({"kind": "spike"}))
    assert spec == {"kind": "spike", "z": 3.5, "weeks": 4, "min_value": 5.0, "direction": "up",
                    "handle_seconds": 600.0}  # fmt: skip
    assert parse_condition(spec) == Spike()
    days = parse_condition({"kind": "consecutive_days_below", "standard": 4.5})
    assert days == ConsecutiveDays(4.5, 3, "below")
