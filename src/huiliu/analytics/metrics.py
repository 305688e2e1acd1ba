"""Metric time series over the ticket facts, filtered by the dashboard dimensions and always limited to
the caller's data scope. ``series`` is the contract the alerts, staffing and export modules build on.

Definitions (docs/analytics.md):

- ``volume``: tickets created in the bucket; ``resolved``: tickets whose (latest) resolution falls in
  the bucket and that are still resolved or closed; ``backlog``: tickets open at the end of the bucket.
- ``first_response_*`` by creation bucket, ``resolution_*`` by resolution bucket, in business minutes
  where an SLA (and so a business calendar) covers the ticket, else wall-clock minutes. Percentiles
  interpolate linearly (PostgreSQL's ``percentile_cont``).
- ``sla_compliance``: met targets / decided targets (first response and resolution together).
- ``csat_avg``: mean latest rating; ``reopen_rate``: reopened / ever resolved; ``fcr_rate``: resolved
  with at most one agent reply and never reopened / ever resolved — all by creation bucket.

Hour buckets are UTC hours; day buckets are Asia/Shanghai calendar days (``bucket_start`` is the UTC
instant the day starts)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.analytics.domain import buckets, day_start, percentile
from huiliu.analytics.models import TicketFact
from huiliu.auth.domain import Actor, DataScope
from huiliu.core.clock import ensure_utc
from huiliu.core.errors import ValidationFailed

METRICS = (
    "volume",
    "resolved",
    "backlog",
    "first_response_median",
    "first_response_p90",
    "resolution_median",
    "resolution_p90",
    "sla_compliance",
    "csat_avg",
    "reopen_rate",
    "fcr_rate",
)
Granularity = Literal["hour", "day"]
MAX_RANGE = timedelta(days=400)
MAX_HOUR_RANGE = timedelta(days=31)


@dataclass(frozen=True)
class MetricFilter:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    team_ids: tuple[uuid.UUID, ...] = ()
    agent_ids: tuple[uuid.UUID, ...] = ()
    channels: tuple[str, ...] = ()
    entry_point_ids: tuple[uuid.UUID, ...] = ()
    scenarios: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    customer_levels: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # province or "province/city"

    def previous(self) -> MetricFilter:
        """The same filter over the period of equal length just before this one."""
        length = self.end - self.start
        return _replace(self, start=self.start - length, end=self.start)


def _replace(flt: MetricFilter, **changes: Any) -> MetricFilter:
    return replace(flt, **changes)


@dataclass(frozen=True)
class SeriesPoint:
    bucket_start: datetime  # UTC
    value: float | None
    count: int  # tickets behind the value


def check_range(flt: MetricFilter, granularity: str | None = None) -> None:
    start, end = ensure_utc(flt.start), ensure_utc(flt.end)
    if end <= start:
        raise ValidationFailed("end must be after start")
    if end - start > MAX_RANGE:
        raise ValidationFailed(f"a period is at most {MAX_RANGE.days} days")
    if granularity is not None and granularity not in ("hour", "day"):
        raise ValidationFailed("granularity must be hour or day")
    if granularity == "hour" and end - start > MAX_HOUR_RANGE:
        raise ValidationFailed(f"hourly series cover at most {MAX_HOUR_RANGE.days} days")


def scope_clause(actor: Actor) -> ColumnElement[bool] | None:
    """The data-scope rule of ``tickets.queries.scope_clause`` on the fact's team and assignee."""
    if actor.data_scope is DataScope.ALL:
        return None
    mine = TicketFact.assignee_id == actor.id if actor.id is not None else false()
    if actor.data_scope is DataScope.TEAM:
        return or_(TicketFact.team_id == actor.team_id, mine) if actor.team_id else mine
    if actor.data_scope is DataScope.DEPARTMENT:
        return or_(TicketFact.team_id.in_(actor.team_ids), mine) if actor.team_ids else mine
    return mine


def region_clause(regions: Sequence[str]) -> ColumnElement[bool]:
    """A region and everything below it: ``广东`` matches ``广东`` and ``广东/深圳``."""
    parts: list[ColumnElement[bool]] = []
    for region in regions:
        escaped = region.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        parts.append(or_(TicketFact.region == region, TicketFact.region.like(f"{escaped}/%", escape="\\")))
    return or_(*parts)


def dimension_clauses(actor: Actor, flt: MetricFilter) -> list[ColumnElement[bool]]:
    """Scope and dimension filters (no time range)."""
    clauses: list[ColumnElement[bool]] = []
    scope = scope_clause(actor)
    if scope is not None:
        clauses.append(scope)
    pairs: list[tuple[Any, Sequence[Any]]] = [
        (TicketFact.team_id, flt.team_ids),
        (TicketFact.assignee_id, flt.agent_ids),
        (TicketFact.channel, flt.channels),
        (TicketFact.entry_point_id, flt.entry_point_ids),
        (TicketFact.scenario, flt.scenarios),
        (TicketFact.category, flt.categories),
        (TicketFact.priority, flt.priorities),
        (TicketFact.customer_level, flt.customer_levels),
    ]
    for column, values in pairs:
        if values:
            clauses.append(column.in_(list(values)))
    if flt.regions:
        clauses.append(region_clause(flt.regions))
    return clauses


def created_in(actor: Actor, flt: MetricFilter) -> list[ColumnElement[bool]]:
    return [
        *dimension_clauses(actor, flt),
        TicketFact.created_at >= ensure_utc(flt.start),
        TicketFact.created_at < ensure_utc(flt.end),
    ]


def resolved_in(actor: Actor, flt: MetricFilter) -> list[ColumnElement[bool]]:
    return [
        *dimension_clauses(actor, flt),
        TicketFact.resolved_at >= ensure_utc(flt.start),
        TicketFact.resolved_at < ensure_utc(flt.end),
    ]


def open_at(actor: Actor, flt: MetricFilter, instant: datetime) -> list[ColumnElement[bool]]:
    """Tickets open at ``instant``: created before it and not (still) resolved by then."""
    instant = ensure_utc(instant)
    return [
        *dimension_clauses(actor, flt),
        TicketFact.created_at < instant,
        or_(TicketFact.resolved_at.is_(None), TicketFact.resolved_at >= instant),
    ]


async def count_open(
    session: AsyncSession,
    actor: Actor,
    flt: MetricFilter,
    instant: datetime,
    extra: Sequence[ColumnElement[bool]] = (),
) -> int:
    """How many tickets were open at ``instant`` (``open_at``), counted as two index ranges: the
    unresolved ones (a partial index) and those resolved after ``instant`` — an OR of the two would
    read every ticket created before ``instant``."""
    instant = ensure_utc(instant)
    base = [*dimension_clauses(actor, flt), TicketFact.created_at < instant, *extra]
    total = 0
    for branch in (TicketFact.resolved_at.is_(None), TicketFact.resolved_at >= instant):
        query = select(func.count()).select_from(TicketFact).where(*base, branch)
        total += int((await session.execute(query)).scalar_one())
    return total


def count_true(column: Any) -> Any:
    """How many rows have ``column`` true (``count(*) FILTER``: cheaper than summing a CASE)."""
    return func.count().filter(column.is_(True))


def count_not_null(column: Any) -> Any:
    return func.count(column)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def percentiles(
    session: AsyncSession, column: Any, where: Sequence[ColumnElement[bool]], fractions: Sequence[float]
) -> tuple[list[float | None], int]:
    """Percentiles of ``column`` over the matching facts (NULLs skipped) and how many values there were."""
    where = [*where, column.is_not(None)]
    if is_postgres(session):
        row = (
            await session.execute(
                select(
                    func.count(),
                    *[func.percentile_cont(f).within_group(column.asc()) for f in fractions],
                ).where(*where)
            )
        ).one()
        values = [float(v) if v is not None else None for v in row[1:]]
        return values, int(row[0])
    found = [
        float(v) for v in (await session.execute(select(column).where(*where).order_by(column))).scalars()
    ]
    return [percentile(found, f) for f in fractions], len(found)


async def grouped_percentiles(
    session: AsyncSession,
    key: Any,
    column: Any,
    where: Sequence[ColumnElement[bool]],
    fractions: Sequence[float],
) -> dict[Any, tuple[list[float | None], int]]:
    """``percentiles`` per value of ``key``."""
    where = [*where, column.is_not(None)]
    if is_postgres(session):
        rows = (
            await session.execute(
                select(
                    key,
                    func.count(),
                    *[func.percentile_cont(f).within_group(column.asc()) for f in fractions],
                )
                .where(*where)
                .group_by(key)
            )
        ).all()
        return {row[0]: ([float(v) if v is not None else None for v in row[2:]], int(row[1])) for row in rows}
    groups: dict[Any, list[float]] = defaultdict(list)
    for group, value in (await session.execute(select(key, column).where(*where).order_by(column))).all():
        groups[group].append(float(value))
    return {
        group: ([percentile(values, f) for f in fractions], len(values)) for group, values in groups.items()
    }


def _bucket_key(value: Any) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)
    if isinstance(value, date):
        return day_start(value)
    if isinstance(value, str):  # SQLite date text in raw aggregates
        return day_start(date.fromisoformat(value[:10]))
    raise TypeError(f"unexpected bucket value {value!r}")


def _created_bucket(granularity: Granularity) -> Any:
    return TicketFact.created_hour if granularity == "hour" else TicketFact.created_day


def _resolved_bucket(granularity: Granularity) -> Any:
    return TicketFact.resolved_hour if granularity == "hour" else TicketFact.resolved_day


async def _counts(
    session: AsyncSession, key: Any, where: Sequence[ColumnElement[bool]]
) -> dict[datetime, int]:
    rows = (await session.execute(select(key, func.count()).where(*where).group_by(key))).all()
    return {_bucket_key(row[0]): int(row[1]) for row in rows}


async def _ratios(
    session: AsyncSession, key: Any, where: Sequence[ColumnElement[bool]], part: Any, whole: Any
) -> dict[datetime, tuple[float | None, int]]:
    rows = (await session.execute(select(key, part, whole).where(*where).group_by(key))).all()
    out: dict[datetime, tuple[float | None, int]] = {}
    for group, got, total in rows:
        total = int(total or 0)
        out[_bucket_key(group)] = ((int(got or 0) / total) if total else None, total)
    return out


async def series(
    session: AsyncSession, actor: Actor, metric: str, flt: MetricFilter, granularity: Granularity
) -> list[SeriesPoint]:
    """One point per bucket of [start, end) (empty buckets included: counts 0, other values None)."""
    if metric not in METRICS:
        raise ValidationFailed(f"metric must be one of {', '.join(METRICS)}")
    check_range(flt, granularity)
    starts = buckets(flt.start, flt.end, granularity)
    created_key = _created_bucket(granularity)
    resolved_key = _resolved_bucket(granularity)
    if metric == "volume":
        counts = await _counts(session, created_key, created_in(actor, flt))
        return [SeriesPoint(b, float(counts.get(b, 0)), counts.get(b, 0)) for b in starts]
    if metric == "resolved":
        counts = await _counts(session, resolved_key, resolved_in(actor, flt))
        return [SeriesPoint(b, float(counts.get(b, 0)), counts.get(b, 0)) for b in starts]
    if metric == "backlog":
        return await _backlog(session, actor, flt, granularity, starts)
    if metric.startswith(("first_response_", "resolution_")):
        fraction = 0.5 if metric.endswith("median") else 0.9
        if metric.startswith("first_response_"):
            key, column, where = created_key, TicketFact.first_response_minutes, created_in(actor, flt)
        else:
            key, column, where = resolved_key, TicketFact.resolution_minutes, resolved_in(actor, flt)
        groups = await grouped_percentiles(session, key, column, where, [fraction])
        by_bucket = {_bucket_key(k): v for k, v in groups.items()}
        return [
            SeriesPoint(b, by_bucket[b][0][0], by_bucket[b][1]) if b in by_bucket else SeriesPoint(b, None, 0)
            for b in starts
        ]
    where = created_in(actor, flt)
    if metric == "sla_compliance":
        part = count_true(TicketFact.first_response_met) + count_true(TicketFact.resolution_met)
        whole = count_not_null(TicketFact.first_response_met) + count_not_null(TicketFact.resolution_met)
        ratios = await _ratios(session, created_key, where, part, whole)
    elif metric == "csat_avg":
        rows = (
            await session.execute(
                select(created_key, func.sum(TicketFact.csat), func.count(TicketFact.csat))
                .where(*where)
                .group_by(created_key)
            )
        ).all()
        ratios = {_bucket_key(k): ((float(total) / int(n)) if n else None, int(n)) for k, total, n in rows}
    elif metric == "reopen_rate":
        ratios = await _ratios(
            session, created_key, where, count_true(TicketFact.reopened), count_true(TicketFact.ever_resolved)
        )
    else:  # fcr_rate
        ratios = await _ratios(
            session, created_key, where, count_true(TicketFact.fcr), count_not_null(TicketFact.fcr)
        )
    return [SeriesPoint(b, *ratios[b]) if b in ratios else SeriesPoint(b, None, 0) for b in starts]


async def _backlog(
    session: AsyncSession, actor: Actor, flt: MetricFilter, granularity: Granularity, starts: list[datetime]
) -> list[SeriesPoint]:
    """Open tickets at the end of each bucket: those open at the start of the period, plus each
    bucket's new tickets, minus each bucket's resolutions (windows are clipped to [start, end))."""
    first = starts[0] if starts else ensure_utc(flt.start)
    window = _replace(flt, start=first)
    base = await count_open(session, actor, window, first)
    created = await _counts(session, _created_bucket(granularity), created_in(actor, window))
    resolved = await _counts(
        session,
        _resolved_bucket(granularity),
        [*resolved_in(actor, window), TicketFact.created_at < window.end],
    )
    points: list[SeriesPoint] = []
    running = base
    for bucket in starts:
        running += created.get(bucket, 0) - resolved.get(bucket, 0)
        points.append(SeriesPoint(bucket, float(running), running))
    return points
