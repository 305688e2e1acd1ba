"""Staffing advice: how many agents each hour of the next days needs, beside how many are rostered.

The forecast is the hour-of-week forecast of ticket volume (``analytics.forecast``) from the last
weeks of the caller's visible tickets; each hour's forecast arrivals go through Erlang C
(``analytics.erlang``) for the target service level (by default 80 % of tickets picked up within
120 s) at the average handle time, then up for shrinkage (breaks, meetings, absence). The roster
counts active agents with a routing profile whose weekly shift covers the hour (a profile without a
shift counts as always on: an agent who takes tickets whenever they are online). ``gap`` is rostered
minus scheduled: negative hours are understaffed."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.analytics import exports, metrics
from huiliu.analytics.erlang import ErlangError, agents_needed, service_level, traffic_erlangs
from huiliu.analytics.forecast import ForecastPoint, floor_hour, hourly_forecast
from huiliu.auth.domain import Actor
from huiliu.auth.models import User
from huiliu.core.errors import ValidationFailed
from huiliu.routing.domain import RoutingError, Shift

# The roster reads routing's profiles and auth's users directly: two columns, no open-ticket counts.
from huiliu.routing.models import AgentProfile

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
MAX_DAYS = 14
MAX_WEEKS = 8


@dataclass(frozen=True, slots=True)
class StaffingParams:
    days: int = 7
    weeks: int = 4
    handle_seconds: float = 600.0
    service_level: float = 0.8
    target_seconds: float = 120.0
    shrinkage: float = 0.3
    max_occupancy: float = 0.85

    def check(self) -> None:
        if not 1 <= self.days <= MAX_DAYS:
            raise ValidationFailed(f"days must be from 1 to {MAX_DAYS}")
        if not 1 <= self.weeks <= MAX_WEEKS:
            raise ValidationFailed(f"weeks must be from 1 to {MAX_WEEKS}")
        if not 1 <= self.handle_seconds <= 86_400:
            raise ValidationFailed("handle_seconds must be from 1 to 86400")
        if not 0 < self.service_level < 1:
            raise ValidationFailed("service_level is a share between 0 and 1 (exclusive)")
        if not 0 <= self.target_seconds <= 86_400:
            raise ValidationFailed("target_seconds must be from 0 to 86400")
        if not 0 <= self.shrinkage < 1:
            raise ValidationFailed("shrinkage is a share in [0, 1)")
        if not 0 < self.max_occupancy <= 1:
            raise ValidationFailed("max_occupancy is a share in (0, 1]")


@dataclass(frozen=True, slots=True)
class HourPlan:
    hour_start: datetime
    forecast: float
    samples: int
    recommended: int  # agents on the queue for the target (Erlang C)
    scheduled: int  # with shrinkage
    rostered: int
    gap: int  # rostered - scheduled
    rostered_service_level: float | None  # what the roster achieves after shrinkage


def rostered_per_hour(shifts: Sequence[Shift], hours: Sequence[datetime]) -> list[int]:
    """How many of ``shifts`` cover the start of each hour (each in its own time zone)."""
    counts = []
    for hour in hours:
        on = 0
        for shift in shifts:
            local = hour.astimezone(shift.tz)
            on += shift.covers(local.weekday(), local.hour * 60 + local.minute)
        counts.append(on)
    return counts


def plan_hours(
    forecast: Sequence[ForecastPoint], rostered: Sequence[int], params: StaffingParams
) -> list[HourPlan]:
    """Erlang C per hour on the forecast, beside the roster. Pure."""
    plans = []
    for point, on_shift in zip(forecast, rostered, strict=True):
        try:
            need = agents_needed(
                point.value,
                params.handle_seconds,
                target_service_level=params.service_level,
                target_seconds=params.target_seconds,
                max_occupancy=params.max_occupancy,
                shrinkage=params.shrinkage,
            )
        except ErlangError as exc:
            raise ValidationFailed(str(exc)) from exc
        traffic = traffic_erlangs(point.value, params.handle_seconds)
        working = math.floor(on_shift * (1 - params.shrinkage) + 1e-9)
        achieved = (
            service_level(working, traffic, params.handle_seconds, params.target_seconds)
            if on_shift
            else None
        )
        plans.append(
            HourPlan(
                hour_start=point.hour_start,
                forecast=round(point.value, 3),
                samples=point.samples,
                recommended=need.agents,
                scheduled=need.scheduled,
                rostered=on_shift,
                gap=on_shift - need.scheduled,
                rostered_service_level=round(achieved, 4) if achieved is not None else None,
            )
        )
    return plans


async def _history(
    session: AsyncSession, actor: Actor, dims: dict[str, list[str]], start: datetime, weeks: int
) -> dict[datetime, float]:
    """Hourly volume of the ``weeks`` weeks before ``start``, a week per query (hourly series are
    capped at 31 days)."""
    counts: dict[datetime, float] = {}
    for age in range(weeks, 0, -1):
        week_start = start - age * WEEK
        flt = exports.metric_filter(week_start, week_start + WEEK, dims)
        for point in await metrics.series(session, actor, "volume", flt, "hour"):
            counts[point.bucket_start] = point.value or 0.0
    return counts


async def _shifts(session: AsyncSession, team_ids: Sequence[str]) -> list[Shift]:
    """The weekly shifts of active users with a routing profile (of ``team_ids`` when given). Reads
    the two columns it needs: ``routing.queries.agent_rows`` also counts every agent's open tickets,
    which costs most of a second at a million tickets and is not needed for a roster."""
    query = (
        select(AgentProfile.shift).join(User, User.id == AgentProfile.user_id).where(User.is_active.is_(True))
    )
    if team_ids:
        query = query.where(User.team_id.in_([uuid.UUID(team_id) for team_id in team_ids]))
    shifts = []
    for (spec,) in (await session.execute(query)).all():
        try:
            shifts.append(Shift.from_spec(spec) if spec is not None else Shift())
        except RoutingError:
            continue  # a stored shift that no longer parses (a removed time zone) is off
    return shifts


async def staffing_plan(
    session: AsyncSession, actor: Actor, params: StaffingParams, dims: dict[str, list[str]], now: datetime
) -> dict[str, Any]:
    """The next ``params.days`` days hour by hour from the current hour: forecast, Erlang C
    recommendation, roster and gap; with a summary."""
    params.check()
    start = floor_hour(now)
    history = await _history(session, actor, dims, start, params.weeks)
    # Weeks before the first ticket are unknown, not quiet: a tenant two weeks old forecasts from two.
    busy = [hour for hour, value in history.items() if value > 0]
    history_start = max(start - params.weeks * WEEK, min(busy)) if busy else start - params.weeks * WEEK
    forecast = hourly_forecast(
        history,
        history_start=history_start,
        start=start,
        hours=params.days * 24,
        weeks=params.weeks,
    )
    hours = [point.hour_start for point in forecast]
    rostered = rostered_per_hour(await _shifts(session, dims.get("team_ids", [])), hours)
    plans = plan_hours(forecast, rostered, params)
    short = [plan for plan in plans if plan.gap < 0]
    peak = max(plans, key=lambda plan: plan.forecast, default=None)
    return {
        "start": start,
        "params": params,
        "hours": plans,
        "summary": {
            "forecast_total": round(sum(plan.forecast for plan in plans), 1),
            "history_total": round(sum(history.values()), 1),
            "peak_hour": peak.hour_start if peak and peak.forecast > 0 else None,
            "peak_forecast": peak.forecast if peak else 0.0,
            "peak_scheduled": max((plan.scheduled for plan in plans), default=0),
            "understaffed_hours": len(short),
            "largest_gap": min((plan.gap for plan in plans), default=0),
        },
    }
