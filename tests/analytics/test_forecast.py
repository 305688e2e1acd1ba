"""The hourly forecast on synthetic series: weekly seasonality, level shifts, missing history."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from huiliu.analytics.forecast import ForecastError, hourly_forecast

# Monday 2026-11-02 00:00 Asia/Shanghai
START = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def weekly_pattern(hour_of_week: int) -> float:
    """Quiet nights, busy days, a Sunday-evening peak (hour of week counted from Monday 00:00 local)."""
    day, hour = divmod(hour_of_week, 24)
    base = 2.0 if hour < 8 else 12.0 + 6 * math.sin(math.pi * (hour - 8) / 14)
    if day == 6 and 19 <= hour <= 22:
        base += 30
    return base


def series(weeks: int, scale: float = 1.0) -> dict[datetime, float]:
    return {START + i * HOUR: weekly_pattern(i % 168) * scale for i in range(weeks * 168)}


def test_repeating_weeks_forecast_the_same_week_again() -> None:
    history = series(4)
    forecast = hourly_forecast(history, history_start=START, start=START + 4 * 168 * HOUR, hours=168)
    assert len(forecast) == 168
    for i, point in enumerate(forecast):
        assert point.value == pytest.approx(weekly_pattern(i))
        assert point.samples == 4
    sunday_evening = forecast[6 * 24 + 20]
    assert sunday_evening.value > 3 * forecast[2 * 24 + 3].value


def test_a_recent_level_shift_moves_the_forecast_towards_it() -> None:
    history = series(3)
    recent = {START + (3 * 168 + i) * HOUR: weekly_pattern(i) * 2 for i in range(168)}
    forecast = hourly_forecast(
        history | recent, history_start=START, start=START + 4 * 168 * HOUR, hours=168, alpha=0.5
    )
    monday_noon = forecast[12]
    old, new = weekly_pattern(12), 2 * weekly_pattern(12)
    # Most recent week weighs most: above the plain mean of the four weeks, below the new level.
    assert (3 * old + new) / 4 < monday_noon.value < new


def test_hours_missing_from_the_counts_are_zero_and_unknown_history_has_no_samples() -> None:
    start = START + 168 * HOUR
    forecast = hourly_forecast({}, history_start=START, start=start, hours=3)
    assert [(p.value, p.samples) for p in forecast] == [(0.0, 1)] * 3
    nothing = hourly_forecast({}, history_start=start, start=start, hours=2)
    assert [(p.value, p.samples) for p in nothing] == [(0.0, 0)] * 2


def test_only_the_last_weeks_count() -> None:
    history = series(6)
    # Weeks 1-2 doubled: with weeks=4 they are outside the window.
    history.update({START + i * HOUR: weekly_pattern(i % 168) * 10 for i in range(2 * 168)})
    forecast = hourly_forecast(history, history_start=START, start=START + 6 * 168 * HOUR, hours=24, weeks=4)
    assert forecast[12].value == pytest.approx(weekly_pattern(12))


@pytest.mark.parametrize("kwargs", [{"hours": -1}, {"weeks": 0}, {"weeks": 99}, {"alpha": 1.0}])
def test_bad_parameters_are_refused(kwargs: dict[str, float]) -> None:
    params = {"history_start": START, "start": START + 168 * HOUR, "hours": 1} | kwargs
    with pytest.raises(ForecastError):
        hourly_forecast({}, **params)  # type: ignore[arg-type]
