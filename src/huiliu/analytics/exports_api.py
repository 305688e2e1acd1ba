"""Export routes: ``GET /api/v1/analytics/exports/tickets.csv|.xlsx`` (the ticket list's filters, the
caller's scope, ``ticket.read``) and ``.../series.csv|.xlsx`` (metric series, ``analytics.read``).
Bad parameters are refused with a 422 before anything is streamed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from huiliu.analytics import exports
from huiliu.analytics.metrics import METRICS, MetricFilter, check_range
from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import ValidationFailed
from huiliu.runtime import Runtime
from huiliu.tickets import queries as ticket_queries
from huiliu.tickets.domain import Priority, Status

router = APIRouter(prefix="/api/v1/analytics/exports", tags=["analytics"])
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Locale = Literal["zh-CN", "en"]
DEFAULT_DAYS = 30


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def _uuid_or_word(value: str | None, name: str, words: tuple[str, ...]) -> str | None:
    if value is None or value in words:
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be a UUID or one of {', '.join(words)}") from exc


async def ticket_filters(
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    priority: Annotated[str | None, Query(description="comma-separated priorities")] = None,
    assignee_id: Annotated[str | None, Query(description="user id, 'me' or 'none'")] = None,
    team_id: Annotated[str | None, Query(description="team id or 'none'")] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    customer_id: uuid.UUID | None = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> ticket_queries.TicketFilters:
    """The filters of ``GET /api/v1/tickets``, with the same names and meaning."""
    try:
        statuses = [Status(s).value for s in _csv(status)]
    except ValueError as exc:
        raise ValidationFailed(f"unknown status in {status!r}") from exc
    try:
        priorities = [Priority(p).value for p in _csv(priority)]
    except ValueError as exc:
        raise ValidationFailed(f"unknown priority in {priority!r}") from exc
    return ticket_queries.TicketFilters(
        statuses=statuses,
        priorities=priorities,
        assignee=_uuid_or_word(assignee_id, "assignee_id", ("me", "none")),
        team=_uuid_or_word(team_id, "team_id", ("none",)),
        channel=channel,
        category=category,
        customer_id=customer_id,
        tag=tag,
        created_from=created_from,
        created_to=created_to,
        text=q,
    )


async def series_filter(
    start: Annotated[datetime | None, Query(description="UTC, inclusive; default 30 days ago")] = None,
    end: Annotated[datetime | None, Query(description="UTC, exclusive; default now")] = None,
    team_ids: Annotated[str | None, Query(description="comma-separated team ids")] = None,
    agent_ids: Annotated[str | None, Query(description="comma-separated user ids")] = None,
    channels: str | None = None,
    entry_point_ids: str | None = None,
    scenarios: str | None = None,
    categories: str | None = None,
    priorities: str | None = None,
    customer_levels: str | None = None,
    regions: Annotated[str | None, Query(description="province or province/city, comma-separated")] = None,
) -> MetricFilter:
    given = {
        "team_ids": team_ids,
        "agent_ids": agent_ids,
        "channels": channels,
        "entry_point_ids": entry_point_ids,
        "scenarios": scenarios,
        "categories": categories,
        "priorities": priorities,
        "customer_levels": customer_levels,
        "regions": regions,
    }
    dims = exports.check_dimensions({key: _csv(value) for key, value in given.items() if value})
    end = end or utcnow()
    start = start or end - timedelta(days=DEFAULT_DAYS)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed("start and end need a time zone (e.g. 2026-11-01T00:00:00Z)")
    return exports.metric_filter(start, end, dims)


TicketFiltersDep = Annotated[ticket_queries.TicketFilters, Depends(ticket_filters)]
SeriesFilterDep = Annotated[MetricFilter, Depends(series_filter)]


def _filename(stem: str, suffix: str) -> dict[str, str]:
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return {"Content-Disposition": f'attachment; filename="{stem}-{stamp}.{suffix}"'}


def _tz(runtime: Runtime) -> ZoneInfo:
    return ZoneInfo(runtime.settings.display_timezone)


def _check_sort(sort: str) -> None:
    if sort not in ticket_queries.SORTS:
        raise ValidationFailed(f"sort must be one of {sorted(ticket_queries.SORTS)}")


async def _ticket_csv(
    runtime: Runtime, actor: Actor, filters: ticket_queries.TicketFilters, sort: str, locale: str
) -> AsyncIterator[bytes]:
    async with runtime.db.read(actor.tenant_id) as session:
        rows = exports.ticket_rows(session, actor, filters, sort=sort, tz=_tz(runtime), locale=locale)
        sheet = exports.Sheet("tickets", exports.headers(exports.TICKET_COLUMNS, locale), rows)
        async for chunk in exports.csv_stream(sheet):
            yield chunk


@router.get("/tickets.csv", summary="Export tickets as CSV (the list's filters)")
async def tickets_csv(
    actor: ActorDep,
    runtime: RuntimeDep,
    filters: TicketFiltersDep,
    sort: str = "-created_at",
    locale: Locale = "zh-CN",
) -> StreamingResponse:
    """Every ticket the caller sees that matches (at most 100,000), newest first by default; times in
    the display time zone. UTF-8 with a byte-order mark."""
    actor.require("ticket.read")
    _check_sort(sort)
    return StreamingResponse(
        _ticket_csv(runtime, actor, filters, sort, locale),
        media_type=CSV_TYPE,
        headers=_filename("tickets", "csv"),
    )


@router.get("/tickets.xlsx", summary="Export tickets as XLSX (the list's filters)")
async def tickets_xlsx(
    actor: ActorDep,
    runtime: RuntimeDep,
    filters: TicketFiltersDep,
    sort: str = "-created_at",
    locale: Locale = "zh-CN",
) -> StreamingResponse:
    actor.require("ticket.read")
    _check_sort(sort)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = exports.ticket_rows(session, actor, filters, sort=sort, tz=_tz(runtime), locale=locale)
        sheet = exports.Sheet("tickets", exports.headers(exports.TICKET_COLUMNS, locale), rows)
        output = await exports.xlsx_file(sheet)
    return StreamingResponse(
        exports.file_chunks(output), media_type=XLSX_TYPE, headers=_filename("tickets", "xlsx")
    )


def _metrics(metric: str) -> list[str]:
    names = list(dict.fromkeys(_csv(metric)))
    unknown = [name for name in names if name not in METRICS]
    if not names or unknown:
        raise ValidationFailed(f"metric is a comma-separated list of {', '.join(METRICS)}")
    return names


async def _series_csv(
    runtime: Runtime, actor: Actor, names: list[str], flt: MetricFilter, granularity: str, locale: str
) -> AsyncIterator[bytes]:
    async with runtime.db.read(actor.tenant_id) as session:
        rows = exports.series_rows(session, actor, names, flt, granularity, tz=_tz(runtime))
        sheet = exports.Sheet("series", exports.headers(exports.SERIES_COLUMNS, locale), rows)
        async for chunk in exports.csv_stream(sheet):
            yield chunk


@router.get("/series.csv", summary="Export metric series as CSV")
async def series_csv(
    actor: ActorDep,
    runtime: RuntimeDep,
    flt: SeriesFilterDep,
    metric: Annotated[str, Query(description="one metric or several, comma-separated")],
    granularity: Literal["hour", "day"] = "day",
    locale: Locale = "zh-CN",
) -> StreamingResponse:
    """One row per metric and bucket, limited to the caller's data scope."""
    actor.require("analytics.read")
    names = _metrics(metric)
    check_range(flt, granularity)
    return StreamingResponse(
        _series_csv(runtime, actor, names, flt, granularity, locale),
        media_type=CSV_TYPE,
        headers=_filename("series", "csv"),
    )


@router.get("/series.xlsx", summary="Export metric series as XLSX")
async def series_xlsx(
    actor: ActorDep,
    runtime: RuntimeDep,
    flt: SeriesFilterDep,
    metric: Annotated[str, Query(description="one metric or several, comma-separated")],
    granularity: Literal["hour", "day"] = "day",
    locale: Locale = "zh-CN",
) -> Any:
    actor.require("analytics.read")
    names = _metrics(metric)
    check_range(flt, granularity)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = exports.series_rows(session, actor, names, flt, granularity, tz=_tz(runtime))
        sheet = exports.Sheet("series", exports.headers(exports.SERIES_COLUMNS, locale), rows)
        output = await exports.xlsx_file(sheet)
    return StreamingResponse(
        exports.file_chunks(output), media_type=XLSX_TYPE, headers=_filename("series", "xlsx")
    )
