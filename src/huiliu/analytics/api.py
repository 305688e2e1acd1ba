"""Analytics routes under ``/api/v1/analytics``. Every view takes the same filters (period and
dimensions, see ``Filters``) and needs ``analytics.read``; numbers are limited to the caller's data
scope. ``GET /me`` is every agent's personal dashboard (``ticket.read``, own tickets only)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from huiliu.analytics import metrics, queries
from huiliu.analytics.metrics import MetricFilter
from huiliu.analytics.schemas import (
    BreakdownOut,
    DrillOut,
    FunnelOut,
    HeatmapOut,
    LeaderboardOut,
    PersonalOut,
    ProblemsOut,
    RegionsOut,
    SeriesOut,
    SummaryOut,
)
from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor, DataScope
from huiliu.core.clock import ensure_utc, utcnow
from huiliu.core.errors import ValidationFailed

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

PERMISSION = "analytics.read"
DEFAULT_DAYS = 30
MAX_VALUES = 50
MAX_TEXT = 200


def _texts(values: list[str], name: str) -> tuple[str, ...]:
    if len(values) > MAX_VALUES:
        raise ValidationFailed(f"{name}: at most {MAX_VALUES} values")
    cleaned = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    if any(len(v) > MAX_TEXT for v in cleaned):
        raise ValidationFailed(f"{name}: a value is at most {MAX_TEXT} characters")
    return cleaned


def filters(
    start: Annotated[
        datetime | None, Query(description="UTC (or with offset), inclusive; default 30 days ago")
    ] = None,
    end: Annotated[datetime | None, Query(description="exclusive; default now")] = None,
    team_id: Annotated[list[uuid.UUID], Query()] = [],  # noqa: B006  (FastAPI copies defaults)
    agent_id: Annotated[list[uuid.UUID], Query()] = [],  # noqa: B006
    channel: Annotated[list[str], Query()] = [],  # noqa: B006
    entry_point_id: Annotated[list[uuid.UUID], Query()] = [],  # noqa: B006
    scenario: Annotated[list[str], Query()] = [],  # noqa: B006
    category: Annotated[list[str], Query()] = [],  # noqa: B006
    priority: Annotated[list[str], Query()] = [],  # noqa: B006
    customer_level: Annotated[list[str], Query()] = [],  # noqa: B006
    region: Annotated[list[str], Query(description="province or province/city")] = [],  # noqa: B006
) -> MetricFilter:
    """The period and dimension filters every view shares (repeat a parameter for several values)."""
    end_at = ensure_utc(end) if end is not None else utcnow()
    start_at = ensure_utc(start) if start is not None else end_at - timedelta(days=DEFAULT_DAYS)
    for name, ids in (("team_id", team_id), ("agent_id", agent_id), ("entry_point_id", entry_point_id)):
        if len(ids) > MAX_VALUES:
            raise ValidationFailed(f"{name}: at most {MAX_VALUES} values")
    flt = MetricFilter(
        start=start_at,
        end=end_at,
        team_ids=tuple(dict.fromkeys(team_id)),
        agent_ids=tuple(dict.fromkeys(agent_id)),
        channels=_texts(channel, "channel"),
        entry_point_ids=tuple(dict.fromkeys(entry_point_id)),
        scenarios=_texts(scenario, "scenario"),
        categories=_texts(category, "category"),
        priorities=_texts(priority, "priority"),
        customer_levels=_texts(customer_level, "customer_level"),
        regions=_texts(region, "region"),
    )
    metrics.check_range(flt)
    return flt


FilterDep = Annotated[MetricFilter, Depends(filters)]


def _period(flt: MetricFilter) -> dict[str, datetime]:
    previous = flt.previous()
    return {
        "start": flt.start,
        "end": flt.end,
        "previous_start": previous.start,
        "previous_end": previous.end,
    }


def _reader(actor: Actor) -> Actor:
    actor.require(PERMISSION)
    return actor


@router.get("/summary", response_model=SummaryOut, summary="Headline cards with period-over-period change")
async def summary(actor: ActorDep, runtime: RuntimeDep, flt: FilterDep) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        result = await queries.summary(session, actor, flt)
    return {"period": _period(flt), **result}


@router.get("/series", response_model=SeriesOut, summary="One metric over time")
async def series(
    actor: ActorDep,
    runtime: RuntimeDep,
    flt: FilterDep,
    metric: Annotated[str, Query(description=", ".join(metrics.METRICS))] = "volume",
    granularity: Literal["hour", "day"] = "day",
) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        points = await metrics.series(session, actor, metric, flt, granularity)
    return {"metric": metric, "granularity": granularity, "points": points}


@router.get("/heatmap", response_model=HeatmapOut, summary="Tickets by weekday and hour (Asia/Shanghai)")
async def heatmap(actor: ActorDep, runtime: RuntimeDep, flt: FilterDep) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        cells = await queries.heatmap(session, actor, flt)
    return {"cells": cells, "max": max(max(row) for row in cells)}


@router.get("/regions", response_model=RegionsOut, summary="Volume and speed by region")
async def regions(actor: ActorDep, runtime: RuntimeDep, flt: FilterDep) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"items": await queries.regions(session, actor, flt)}


@router.get(
    "/funnel", response_model=FunnelOut, summary="Created → accepted → first response → resolved → rated"
)
async def funnel(actor: ActorDep, runtime: RuntimeDep, flt: FilterDep) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"stages": await queries.funnel(session, actor, flt)}


@router.get("/leaderboard", response_model=LeaderboardOut, summary="Agents: count, handle time, SLA, CSAT")
async def leaderboard(actor: ActorDep, runtime: RuntimeDep, flt: FilterDep) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"items": await queries.leaderboard(session, actor, flt)}


@router.get("/problems", response_model=ProblemsOut, summary="Top recurring problems with trend and keywords")
async def problems(
    actor: ActorDep, runtime: RuntimeDep, flt: FilterDep, limit: Annotated[int, Query(ge=1, le=20)] = 10
) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"items": await queries.problems(session, actor, flt, limit)}


@router.get("/breakdown", response_model=BreakdownOut, summary="Numbers per channel, entry point, team …")
async def breakdown(
    actor: ActorDep,
    runtime: RuntimeDep,
    flt: FilterDep,
    by: Annotated[str, Query(description=", ".join(queries.BREAKDOWNS))] = "channel",
) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"by": by, "items": await queries.breakdown(session, actor, flt, by)}


@router.get("/drill", response_model=DrillOut, summary="The tickets behind a chart cell")
async def drill(
    actor: ActorDep,
    runtime: RuntimeDep,
    flt: FilterDep,
    hour_of_week: Annotated[
        int | None, Query(ge=0, le=167, description="0 = Monday 00:00 Asia/Shanghai")
    ] = None,
    cell_region: Annotated[str | None, Query(max_length=MAX_TEXT, description="exact region path")] = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=queries.DRILL_LIMIT)] = 50,
) -> dict[str, Any]:
    """Newest first; ``total`` counts them all. Takes the view's filters plus the cell's own
    coordinates (a heatmap slot, a region), so the list is exactly what the cell counted."""
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        rows, total = await queries.drill(
            session,
            actor,
            flt,
            hour_of_week=hour_of_week,
            region=cell_region,
            open_only=open_only,
            limit=limit,
        )
    return {"total": total, "items": rows}


@router.get("/me", response_model=PersonalOut, summary="The caller's personal dashboard (own tickets)")
async def personal(actor: ActorDep, runtime: RuntimeDep, flt: FilterDep) -> dict[str, Any]:
    actor.require("ticket.read")
    if actor.id is None:
        raise ValidationFailed("the personal dashboard is for signed-in users")
    own = replace(actor, data_scope=DataScope.OWN)
    async with runtime.db.read(actor.tenant_id) as session:
        result = await queries.summary(session, own, flt)
        volume = await metrics.series(session, own, "volume", flt, "day")
        resolved = await metrics.series(session, own, "resolved", flt, "day")
    return {"summary": {"period": _period(flt), **result}, "volume": volume, "resolved": resolved}
