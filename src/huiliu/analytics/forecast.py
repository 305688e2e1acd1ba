"""Hourly volume forecast with hour-of-week seasonality. Pure, no I/O.

A service desk's week repeats: Monday mornings are busy, nights are quiet, a course platform's
refund requests climb on Sunday evenings. The forecast for an hour is the same hour of the week in
the last ``weeks`` weeks, averaged with exponentially decaying weights (the most recent week counts
most, weight ``(1 - alpha) ** age``), so a level that moved recently moves the forecast with it
without letting one odd week dominate. Weeks are 168 hours apart in UTC, which is the same local
hour of the week in Asia/Shanghai (no daylight saving time)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
DEFAULT_WEEKS = 4
DEFAULT_ALPHA = 0.3
MAX_WEEKS = 26


class ForecastError(ValueError):
    """Inputs a forecast cannot be made from."""


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    hour_start: datetime  # UTC
    value: float  # expected arrivals in the hour
    samples: int  # past weeks behind the value (0: no history for this hour of the week)


def floor_hour(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def same_hour_in_past_weeks(
    hour: datetime, *, history_start: datetime, history_end: datetime, weeks: int
) -> list[datetime]:
    """The same hour of the week in up to ``weeks`` past weeks inside [history_start, history_end),
    most recent first."""
    found: list[datetime] = []
    moment = hour - WEEK
    while moment >= history_start and len(found) < weeks:
        if moment < history_end:
            found.append(moment)
        moment -= WEEK
    return found


def weighted_level(values: list[float], alpha: float) -> float:
    """Exponentially weighted mean of ``values`` ordered most recent first."""
    weights = [(1.0 - alpha) ** age for age in range(len(values))]
    return sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)


def hourly_forecast(
    counts: Mapping[datetime, float],
    *,
    history_start: datetime,
    start: datetime,
    hours: int,
    weeks: int = DEFAULT_WEEKS,
    alpha: float = DEFAULT_ALPHA,
) -> list[ForecastPoint]:
    """Forecast ``hours`` hourly values from ``start``. ``counts`` holds observed values by UTC hour
    start for hours in [history_start, start); an hour in that range missing from ``counts`` had
    none (0). An hour of the week with no history at all forecasts 0 with ``samples`` 0."""
    if hours < 0:
        raise ForecastError("hours must be ≥ 0")
    if not 1 <= weeks <= MAX_WEEKS:
        raise ForecastError(f"weeks must be from 1 to {MAX_WEEKS}")
    if not 0 <= alpha < 1:
        raise ForecastError("alpha must be in [0, 1)")
    begin, history_start = floor_hour(start), floor_hour(history_start)
    observed = {floor_hour(moment): float(value) for moment, value in counts.items()}
    points: list[ForecastPoint] = []
    for offset in range(hours):
        hour = begin + offset * HOUR
        past = same_hour_in_past_weeks(hour, history_start=history_start, history_end=begin, weeks=weeks)
        if not past:
            points.append(ForecastPoint(hour, 0.0, 0))
            continue
        values = [observed.get(moment, 0.0) for moment in past]
        points.append(ForecastPoint(hour, weighted_level(values, alpha), len(values)))
    return points
