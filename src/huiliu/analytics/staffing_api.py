"""``GET /api/v1/analytics/staffing``: recommended agents per hour for the next days (forecast +
Erlang C) beside the roster. ``analytics.read``; the forecast counts the caller's visible tickets."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from huiliu.analytics import exports, staffing
from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.core.clock import utcnow

router = APIRouter(prefix="/api/v1/analytics/staffing", tags=["analytics"])


class HourOut(BaseModel):
    hour_start: datetime
    forecast: float
    samples: int
    recommended: int
    scheduled: int
    rostered: int
    gap: int
    rostered_service_level: float | None


class ParamsOut(BaseModel):
    days: int
    weeks: int
    handle_seconds: float
    service_level: float
    target_seconds: float
    shrinkage: float
    max_occupancy: float


class StaffingSummaryOut(BaseModel):
    forecast_total: float
    history_total: float
    peak_hour: datetime | None
    peak_forecast: float
    peak_scheduled: int
    understaffed_hours: int
    largest_gap: int


class StaffingOut(BaseModel):
    start: datetime
    params: ParamsOut
    filters: dict[str, list[str]]
    hours: list[HourOut]
    summary: StaffingSummaryOut


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


@router.get("", response_model=StaffingOut, summary="Recommended agents per hour beside the roster")
async def staffing_plan(
    actor: ActorDep,
    runtime: RuntimeDep,
    days: Annotated[int, Query(ge=1, le=staffing.MAX_DAYS)] = 7,
    weeks: Annotated[int, Query(ge=1, le=staffing.MAX_WEEKS, description="weeks of history")] = 4,
    handle_seconds: Annotated[float, Query(ge=1, le=86_400, description="average handle time")] = 600,
    service_level: Annotated[float, Query(gt=0, lt=1, description="e.g. 0.8 = 80 %")] = 0.8,
    target_seconds: Annotated[float, Query(ge=0, le=86_400, description="answered within")] = 120,
    shrinkage: Annotated[float, Query(ge=0, lt=1)] = 0.3,
    max_occupancy: Annotated[float, Query(gt=0, le=1)] = 0.85,
    team_ids: Annotated[str | None, Query(description="comma-separated team ids")] = None,
    channels: str | None = None,
    scenarios: str | None = None,
    categories: str | None = None,
) -> dict[str, Any]:
    """Hour by hour from the current hour: forecast tickets, agents recommended on the queue (Erlang C
    for ``service_level`` within ``target_seconds``), scheduled (with ``shrinkage``), rostered (agents
    whose routing shift covers the hour; filtered by team when ``team_ids`` is given), the gap, and
    the service level the roster reaches."""
    actor.require("analytics.read")
    dims = exports.check_dimensions(
        {
            key: _csv(value)
            for key, value in {
                "team_ids": team_ids,
                "channels": channels,
                "scenarios": scenarios,
                "categories": categories,
            }.items()
            if value
        }
    )
    params = staffing.StaffingParams(
        days=days,
        weeks=weeks,
        handle_seconds=handle_seconds,
        service_level=service_level,
        target_seconds=target_seconds,
        shrinkage=shrinkage,
        max_occupancy=max_occupancy,
    )
    async with runtime.db.read(actor.tenant_id) as session:
        plan = await staffing.staffing_plan(session, actor, params, dims, utcnow())
    return {
        "start": plan["start"],
        "params": asdict(params),
        "filters": dims,
        "hours": [asdict(hour) for hour in plan["hours"]],
        "summary": plan["summary"],
    }
