"""Dashboard views over the ticket facts: summary cards with period-over-period change, the weekday ×
hour heatmap, regions, the response funnel, the agent leaderboard, top recurring problems, breakdowns
by a dimension and the drill-down ticket list. Every view takes the same ``MetricFilter`` and is
limited to the caller's data scope (``metrics.dimension_clauses``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.analytics.domain import (
    AGING_BUCKETS,
    change,
    ratio,
    top_keywords,
)
from huiliu.analytics.metrics import (
    MetricFilter,
    check_range,
    count_not_null,
    count_true,
    created_in,
    dimension_clauses,
    grouped_percentiles,
    is_postgres,
    percentiles,
    resolved_in,
)
from huiliu.analytics.models import RollupCursor, TicketFact
from huiliu.auth.domain import Actor
from huiliu.auth.models import Team, User
from huiliu.core.clock import ensure_utc, utcnow
from huiliu.core.errors import ValidationFailed
from huiliu.entry_points.models import EntryPoint
from huiliu.tickets.models import Ticket

BREAKDOWNS = {
    "channel": TicketFact.channel,
    "entry_point": TicketFact.entry_point_id,
    "team": TicketFact.team_id,
    "agent": TicketFact.assignee_id,
    "priority": TicketFact.priority,
    "scenario": TicketFact.scenario,
    "category": TicketFact.category,
    "customer_level": TicketFact.customer_level,
}
MAX_ROWS = 50
KEYWORD_SAMPLE = 3000
DRILL_LIMIT = 200


def _aggregates() -> list[Any]:
    return [
        func.count().label("volume"),
        count_true(TicketFact.first_response_met).label("fr_met"),
        count_not_null(TicketFact.first_response_met).label("fr_decided"),
        count_true(TicketFact.resolution_met).label("res_met"),
        count_not_null(TicketFact.resolution_met).label("res_decided"),
        func.coalesce(func.sum(TicketFact.csat), 0).label("csat_sum"),
        count_not_null(TicketFact.csat).label("rated"),
        count_true(TicketFact.reopened).label("reopened"),
        count_true(TicketFact.ever_resolved).label("ever_resolved"),
        count_true(TicketFact.fcr).label("fcr"),
        count_not_null(TicketFact.fcr).label("fcr_decided"),
        func.coalesce(func.sum(TicketFact.transfers), 0).label("transfers"),
    ]


def _rates(row: Any) -> dict[str, float | None]:
    volume = int(row.volume or 0)
    return {
        "sla_first_response": ratio(int(row.fr_met), int(row.fr_decided)),
        "sla_resolution": ratio(int(row.res_met), int(row.res_decided)),
        "sla_compliance": ratio(
            int(row.fr_met) + int(row.res_met), int(row.fr_decided) + int(row.res_decided)
        ),
        "csat_avg": (int(row.csat_sum) / int(row.rated)) if int(row.rated) else None,
        "reopen_rate": ratio(int(row.reopened), int(row.ever_resolved)),
        "fcr_rate": ratio(int(row.fcr), int(row.fcr_decided)),
        "transfers_per_ticket": (int(row.transfers) / volume) if volume else None,
    }


def _pg_percentiles(session: AsyncSession, column: Any, fractions: Sequence[float]) -> list[Any]:
    """On PostgreSQL, ``percentile_cont`` columns to fold into another aggregate query (one scan)."""
    if not is_postgres(session):
        return []
    return [func.percentile_cont(f).within_group(column.asc()) for f in fractions]


def _floats(values: Sequence[Any]) -> list[float | None]:
    return [float(v) if v is not None else None for v in values]


def _median_column(session: AsyncSession, column: Any) -> list[Any]:
    """On PostgreSQL, the median of ``column`` as a ``median`` column of a grouped query (one scan)."""
    return [c.label("median") for c in _pg_percentiles(session, column, [0.5])]


async def _medians(
    session: AsyncSession,
    rows: Sequence[Any],
    key: Any,
    column: Any,
    where: Sequence[ColumnElement[bool]],
) -> dict[Any, float | None]:
    """Median of ``column`` per group: read from ``rows`` (PostgreSQL, ``_median_column``) or
    computed by ``grouped_percentiles`` (SQLite)."""
    if is_postgres(session):
        return {row[0]: (float(row.median) if row.median is not None else None) for row in rows}
    found = await grouped_percentiles(session, key, column, where, [0.5])
    return {group: values[0] for group, (values, _) in found.items()}


CSAT_STARS = range(1, 6)


def _card_columns(session: AsyncSession) -> list[Any]:
    """The created-in-period card aggregates, the CSAT distribution and, on PostgreSQL, the
    first-response median and p90 (one scan)."""
    return [
        *_aggregates(),
        *[func.count().filter(TicketFact.csat == stars).label(f"csat_{stars}") for stars in CSAT_STARS],
        *[
            column.label(name)
            for column, name in zip(
                _pg_percentiles(session, TicketFact.first_response_minutes, [0.5, 0.9]),
                ("fr_median", "fr_p90"),
                strict=False,
            )
        ],
    ]


async def _period(session: AsyncSession, actor: Actor, flt: MetricFilter) -> dict[str, Any]:
    """The cards of one period but the backlog, and ``csat_1`` … ``csat_5``: one scan of the tickets
    created in it and one of the resolutions in it (SQLite adds one read per percentile pair)."""
    row = (await session.execute(select(*_card_columns(session)).where(*created_in(actor, flt)))).one()
    res_columns = _pg_percentiles(session, TicketFact.resolution_minutes, [0.5, 0.9])
    resolved_row = (
        await session.execute(
            select(func.count(), *res_columns).select_from(TicketFact).where(*resolved_in(actor, flt))
        )
    ).one()
    if is_postgres(session):
        fr_median, fr_p90 = _floats([row.fr_median, row.fr_p90])
        res_median, res_p90 = _floats(resolved_row[1:])
    else:
        (fr_median, fr_p90), _ = await percentiles(
            session, TicketFact.first_response_minutes, created_in(actor, flt), [0.5, 0.9]
        )
        (res_median, res_p90), _ = await percentiles(
            session, TicketFact.resolution_minutes, resolved_in(actor, flt), [0.5, 0.9]
        )
    return {
        "volume": int(row.volume),
        "resolved": int(resolved_row[0]),
        "backlog": None,
        "first_response_median": fr_median,
        "first_response_p90": fr_p90,
        "resolution_median": res_median,
        "resolution_p90": res_p90,
        **_rates(row),
        **{f"csat_{stars}": int(getattr(row, f"csat_{stars}")) for stars in CSAT_STARS},
    }


async def summary(
    session: AsyncSession, actor: Actor, flt: MetricFilter, now: datetime | None = None
) -> dict[str, Any]:
    """Headline cards for the period, each with the previous period's value and the relative change;
    the backlog's aging (at the period end, or now) and the CSAT distribution. Seven queries: per
    period its created tickets and its resolutions, the open tickets at both periods' ends (two
    index ranges), and the facts' ``as_of``."""
    check_range(flt)
    now = now or utcnow()
    instant = min(ensure_utc(flt.end), now)
    earlier = min(ensure_utc(flt.start), now)  # the previous period's end
    aging, previous_backlog = await _open_tickets(session, actor, flt, instant, earlier)
    current = await _period(session, actor, flt)
    previous = await _period(session, actor, flt.previous())
    current["backlog"] = sum(aging.values())  # every ticket open at the instant has one age
    previous["backlog"] = previous_backlog
    distribution = {str(stars): current.pop(f"csat_{stars}") for stars in CSAT_STARS}
    for stars in CSAT_STARS:
        previous.pop(f"csat_{stars}")
    cards = {
        name: {"value": value, "previous": previous[name], "change": change(value, previous[name])}
        for name, value in current.items()
    }
    return {
        "cards": cards,
        "aging": aging,
        "csat_distribution": distribution,
        "as_of": await data_as_of(session),
    }


def _age_columns(instant: datetime, *condition: ColumnElement[bool]) -> list[Any]:
    """One count per backlog age bucket at ``instant`` (of the rows that also meet ``condition``)."""
    columns = []
    for key, low, high in AGING_BUCKETS:
        age = [*condition, TicketFact.created_at <= instant - timedelta(days=low)]
        if high != float("inf"):
            age.append(TicketFact.created_at > instant - timedelta(days=high))
        columns.append(func.count().filter(*age).label(key))
    return columns


async def _open_tickets(
    session: AsyncSession, actor: Actor, flt: MetricFilter, instant: datetime, earlier: datetime
) -> tuple[dict[str, int], int]:
    """The tickets open at ``instant`` by age, and how many were open at ``earlier`` (≤ ``instant``):
    one count over the unresolved tickets (a partial index that holds the dimensions too, so the table
    is not read) and one over those resolved at or after ``earlier`` — an OR of the two would read
    every ticket created before ``instant``."""
    open_earlier = func.count().filter(TicketFact.created_at < earlier).label("earlier")
    base = [*dimension_clauses(actor, flt), TicketFact.created_at < instant]
    unresolved = (
        await session.execute(
            select(open_earlier, *_age_columns(instant)).where(*base, TicketFact.resolved_at.is_(None))
        )
    ).one()
    # Resolved at or after ``earlier`` (so open then, if created before it); of those, the ones
    # resolved at or after ``instant`` were still open at ``instant`` and have an age.
    resolved = (
        await session.execute(
            select(open_earlier, *_age_columns(instant, TicketFact.resolved_at >= instant)).where(
                *base, TicketFact.resolved_at >= earlier
            )
        )
    ).one()
    aging = {key: int(getattr(unresolved, key)) + int(getattr(resolved, key)) for key, _, _ in AGING_BUCKETS}
    return aging, int(unresolved.earlier) + int(resolved.earlier)


async def data_as_of(session: AsyncSession) -> datetime | None:
    """The time of the last audit event the facts include."""
    cursor = (await session.execute(select(RollupCursor.event_created_at))).scalar_one_or_none()
    return ensure_utc(cursor) if cursor is not None else None


async def heatmap(session: AsyncSession, actor: Actor, flt: MetricFilter) -> list[list[int]]:
    """Tickets created per Asia/Shanghai weekday (0 = Monday) and hour: 7 rows of 24 counts."""
    check_range(flt)
    grid = [[0] * 24 for _ in range(7)]
    rows = (
        await session.execute(
            select(TicketFact.hour_of_week, func.count())
            .where(*created_in(actor, flt))
            .group_by(TicketFact.hour_of_week)
        )
    ).all()
    for slot, n in rows:
        grid[int(slot) // 24][int(slot) % 24] = int(n)
    return grid


async def regions(session: AsyncSession, actor: Actor, flt: MetricFilter) -> list[dict[str, Any]]:
    """Ranked regions (the ticket's ``region`` field, else its customer's): volume, median first
    response and SLA compliance per region path, and per province (the first part) in ``province``."""
    check_range(flt)
    where = [*created_in(actor, flt), TicketFact.region.is_not(None)]
    rows = (
        await session.execute(
            select(
                TicketFact.region,
                *_aggregates(),
                *_median_column(session, TicketFact.first_response_minutes),
            )
            .where(*where)
            .group_by(TicketFact.region)
        )
    ).all()
    medians = await _medians(session, rows, TicketFact.region, TicketFact.first_response_minutes, where)
    out = []
    for row in rows:
        rates = _rates(row)
        out.append(
            {
                "region": row.region,
                "province": row.region.split("/")[0],
                "volume": int(row.volume),
                "first_response_median": medians.get(row.region),
                "sla_compliance": rates["sla_compliance"],
                "csat_avg": rates["csat_avg"],
            }
        )
    out.sort(key=lambda r: (-r["volume"], r["region"]))
    return out[:MAX_ROWS]


def minutes_between(session: AsyncSession, later: Any, earlier: Any) -> Any:
    if is_postgres(session):
        return func.extract("epoch", later - earlier) / 60.0
    return (func.julianday(later) - func.julianday(earlier)) * 1440.0


async def funnel(session: AsyncSession, actor: Actor, flt: MetricFilter) -> list[dict[str, Any]]:
    """Tickets created in the period through created → accepted → first response → resolved → rated:
    how many reached each stage, the drop-off from the stage before, and the median wall-clock
    minutes from the previous stage."""
    check_range(flt)
    where = created_in(actor, flt)
    steps: list[tuple[str, Any, Any]] = [
        ("accepted", TicketFact.accepted_at, TicketFact.created_at),
        ("first_response", TicketFact.first_response_at, TicketFact.accepted_at),
        ("resolved", TicketFact.resolved_at, TicketFact.first_response_at),
        ("rated", TicketFact.rated_at, TicketFact.resolved_at),
    ]
    # On PostgreSQL the medians come from the same scan as the counts: percentile_cont skips the NULL
    # differences of tickets that missed a stage.
    median_columns = [
        func.percentile_cont(0.5)
        .within_group(minutes_between(session, later, earlier).asc())
        .label(f"{name}_median")
        for name, later, earlier in steps
        if is_postgres(session)
    ]
    row = (
        await session.execute(
            select(
                func.count().label("created"),
                count_not_null(TicketFact.accepted_at).label("accepted"),
                count_not_null(TicketFact.first_response_at).label("first_response"),
                count_true(TicketFact.ever_resolved).label("resolved"),
                count_not_null(TicketFact.csat).label("rated"),
                *median_columns,
            ).where(*where)
        )
    ).one()
    medians: dict[str, float | None] = {}
    if median_columns:
        medians = {name: _floats([getattr(row, f"{name}_median")])[0] for name, _, _ in steps}
    else:
        for name, later, earlier in steps:
            (median,), _ = await percentiles(
                session,
                minutes_between(session, later, earlier),
                [*where, later.is_not(None), earlier.is_not(None)],
                [0.5],
            )
            medians[name] = median
    stages: list[dict[str, Any]] = [
        {"stage": "created", "count": int(row.created), "drop_off": None, "median_minutes": None}
    ]
    previous = int(row.created)
    for name, _, _ in steps:
        count = int(getattr(row, name))
        median = medians[name]
        stages.append(
            {
                "stage": name,
                "count": count,
                "drop_off": (1 - count / previous) if previous else None,
                "median_minutes": max(0.0, median) if median is not None else None,
            }
        )
        previous = count
    return stages


async def _names(session: AsyncSession, by: str, keys: Sequence[Any]) -> dict[Any, str]:
    ids = [k for k in keys if isinstance(k, uuid.UUID)]
    if not ids:
        return {}
    model: Any = {"agent": User, "team": Team, "entry_point": EntryPoint}.get(by)
    if model is None:
        return {}
    rows = (await session.execute(select(model.id, model.name).where(model.id.in_(ids)))).all()
    return {row.id: row.name for row in rows}


async def breakdown(session: AsyncSession, actor: Actor, flt: MetricFilter, by: str) -> list[dict[str, Any]]:
    """Volume, resolutions, median first response, SLA compliance and CSAT per value of a dimension."""
    if by not in BREAKDOWNS:
        raise ValidationFailed(f"by must be one of {', '.join(BREAKDOWNS)}")
    check_range(flt)
    key = BREAKDOWNS[by]
    where = created_in(actor, flt)
    rows = (
        await session.execute(
            select(
                key.label("key"),
                *_aggregates(),
                count_not_null(TicketFact.resolved_at).label("resolved"),
                *_median_column(session, TicketFact.first_response_minutes),
            )
            .where(*where)
            .group_by(key)
            .order_by(func.count().desc())
            .limit(MAX_ROWS)
        )
    ).all()
    medians = await _medians(session, rows, key, TicketFact.first_response_minutes, where)
    names = await _names(session, by, [row.key for row in rows])
    out = []
    for row in rows:
        rates = _rates(row)
        out.append(
            {
                "key": str(row.key) if row.key is not None else None,
                "label": names.get(row.key, str(row.key) if row.key is not None else None),
                "volume": int(row.volume),
                "resolved": int(row.resolved),
                "first_response_median": medians.get(row.key),
                "sla_compliance": rates["sla_compliance"],
                "csat_avg": rates["csat_avg"],
            }
        )
    return out


async def leaderboard(
    session: AsyncSession, actor: Actor, flt: MetricFilter, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per agent, for tickets created in the period: handled (assigned) count, resolved, median
    resolution ("handle time", business minutes where an SLA applies), SLA compliance, CSAT,
    transfers; and the agent's open workload now."""
    check_range(flt)
    now = now or utcnow()
    where = [*created_in(actor, flt), TicketFact.assignee_id.is_not(None)]
    rows = (
        await session.execute(
            select(
                TicketFact.assignee_id,
                *_aggregates(),
                count_not_null(TicketFact.resolved_at).label("resolved"),
                *_median_column(session, TicketFact.resolution_minutes),
            )
            .where(*where)
            .group_by(TicketFact.assignee_id)
        )
    ).all()
    handle = await _medians(session, rows, TicketFact.assignee_id, TicketFact.resolution_minutes, where)
    open_rows = (
        await session.execute(
            select(TicketFact.assignee_id, func.count())
            .where(
                *dimension_clauses(actor, flt),
                TicketFact.resolved_at.is_(None),
                TicketFact.assignee_id.is_not(None),
            )
            .group_by(TicketFact.assignee_id)
        )
    ).all()
    workload = {agent: int(n) for agent, n in open_rows}
    names = await _names(session, "agent", [row.assignee_id for row in rows] + list(workload))
    out: list[dict[str, Any]] = []
    for row in rows:
        rates = _rates(row)
        out.append(
            {
                "agent_id": str(row.assignee_id),
                "name": names.get(row.assignee_id, str(row.assignee_id)),
                "handled": int(row.volume),
                "resolved": int(row.resolved),
                "handle_minutes_median": handle.get(row.assignee_id),
                "sla_compliance": rates["sla_compliance"],
                "csat_avg": rates["csat_avg"],
                "transfers": int(row.transfers),
                "open_now": workload.get(row.assignee_id, 0),
            }
        )
    out.sort(key=lambda r: (-r["resolved"], -r["handled"], r["name"]))
    return out[:MAX_ROWS]


async def problems(
    session: AsyncSession, actor: Actor, flt: MetricFilter, limit: int = 10
) -> list[dict[str, Any]]:
    """Top categories of the period with the previous period's count, the change, reopen rate, and
    the recurring keywords of their titles (from the newest ``KEYWORD_SAMPLE`` titles of the period,
    read in one index range)."""
    check_range(flt)
    current = await _category_counts(session, actor, flt)
    previous = await _category_counts(session, actor, flt.previous())
    ranked = sorted(current.items(), key=lambda item: (-item[1][0], item[0] or ""))[: max(1, min(limit, 20))]
    titles = await _titles(session, actor, flt, [category for category, _ in ranked])
    out = []
    for category, (count, reopened, resolved) in ranked:
        before = previous.get(category, (0, 0, 0))[0]
        out.append(
            {
                "category": category,
                "count": count,
                "previous": before,
                "change": change(count, before),
                "reopen_rate": ratio(reopened, resolved),
                "keywords": [
                    {"term": term, "count": n} for term, n in top_keywords(titles.get(category, []))
                ],
            }
        )
    return out


async def _category_counts(
    session: AsyncSession, actor: Actor, flt: MetricFilter
) -> dict[str | None, tuple[int, int, int]]:
    rows = (
        await session.execute(
            select(
                TicketFact.category,
                func.count(),
                count_true(TicketFact.reopened),
                count_true(TicketFact.ever_resolved),
            )
            .where(*created_in(actor, flt))
            .group_by(TicketFact.category)
        )
    ).all()
    return {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in rows}


async def _titles(
    session: AsyncSession, actor: Actor, flt: MetricFilter, categories: Sequence[str | None]
) -> dict[str | None, list[str]]:
    """The newest titles of the period per category (of ``categories``)."""
    named = [c for c in categories if c is not None]
    wanted = []
    if named:
        wanted.append(TicketFact.category.in_(named))
    if None in categories:
        wanted.append(TicketFact.category.is_(None))
    if not wanted:
        return {}
    rows = (
        await session.execute(
            select(TicketFact.category, Ticket.title)
            .select_from(TicketFact)
            .join(Ticket, Ticket.id == TicketFact.ticket_id)
            .where(*created_in(actor, flt), or_(*wanted))
            .order_by(TicketFact.created_at.desc())
            .limit(KEYWORD_SAMPLE)
        )
    ).all()
    out: dict[str | None, list[str]] = {}
    for category, title in rows:
        out.setdefault(category, []).append(title)
    return out


def drill_clauses(
    actor: Actor,
    flt: MetricFilter,
    *,
    hour_of_week: int | None = None,
    region: str | None = None,
    open_only: bool = False,
) -> list[ColumnElement[bool]]:
    where = created_in(actor, flt)
    if hour_of_week is not None:
        if not 0 <= hour_of_week < 168:
            raise ValidationFailed("hour_of_week is 0 (Monday 00:00) to 167 (Sunday 23:00)")
        where.append(TicketFact.hour_of_week == hour_of_week)
    if region is not None:
        where.append(TicketFact.region == region)
    if open_only:
        where.append(TicketFact.resolved_at.is_(None))
    return where


async def drill(
    session: AsyncSession,
    actor: Actor,
    flt: MetricFilter,
    *,
    hour_of_week: int | None = None,
    region: str | None = None,
    open_only: bool = False,
    limit: int = 50,
) -> tuple[list[Any], int]:
    """The tickets behind a chart cell, newest first, and how many there are in all."""
    check_range(flt)
    where = drill_clauses(actor, flt, hour_of_week=hour_of_week, region=region, open_only=open_only)
    total = int(
        (await session.execute(select(func.count()).select_from(TicketFact).where(*where))).scalar_one()
    )
    rows = (
        await session.execute(
            select(
                Ticket.id,
                Ticket.number,
                Ticket.title,
                Ticket.status,
                Ticket.priority,
                Ticket.category,
                Ticket.channel,
                Ticket.team_id,
                Ticket.assignee_id,
                Ticket.created_at,
                TicketFact.first_response_minutes,
                TicketFact.resolution_minutes,
                TicketFact.csat,
            )
            .select_from(TicketFact)
            .join(Ticket, Ticket.id == TicketFact.ticket_id)
            .where(*where)
            .order_by(TicketFact.created_at.desc(), TicketFact.ticket_id.desc())
            .limit(max(1, min(limit, DRILL_LIMIT)))
        )
    ).all()
    return list(rows), total
