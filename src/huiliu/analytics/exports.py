"""Exports: the ticket list (the filters of ``GET /api/v1/tickets``, limited to the caller's scope) and
metric series as CSV or XLSX, streamed.

CSV goes out page by page as the keyset pages are read (UTF-8 with a byte-order mark, so Excel opens
Chinese text correctly). XLSX is a zip that is only valid once finished, so rows are written with
openpyxl's write-only mode (constant memory, rows never held as cell objects) into a spooled
temporary file (in memory up to 8 MiB, then on disk) and the file is streamed when complete. Cells
that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or CR) are
prefixed with an apostrophe: exported ticket titles are customer text (OWASP "CSV injection")."""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.analytics.metrics import MetricFilter, SeriesPoint, series
from huiliu.auth import queries as auth_queries
from huiliu.auth.domain import Actor
from huiliu.core.errors import ValidationFailed
from huiliu.intelligence.triage import read_config
from huiliu.tickets import queries as ticket_queries

PAGE = ticket_queries.MAX_LIMIT
# One export is at most this many tickets; a larger one is a job for the incremental BI export.
MAX_EXPORT_ROWS = 100_000
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

TICKET_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # key, zh-CN header, en header
    ("number", "工单号", "Number"),
    ("title", "标题", "Title"),
    ("status", "状态", "Status"),
    ("priority", "优先级", "Priority"),
    ("category", "分类", "Category"),
    ("scenario", "场景", "Scenario"),
    ("channel", "渠道", "Channel"),
    ("team", "团队", "Team"),
    ("assignee", "处理人", "Assignee"),
    ("tags", "标签", "Tags"),
    ("created_at", "创建时间", "Created"),
    ("updated_at", "更新时间", "Updated"),
    ("id", "ID", "ID"),
    # Last, so every earlier column keeps its position for integrations (decision 0061).
    ("category_name", "分类名称", "Category name"),
)
SERIES_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("bucket_start", "时间段开始", "Bucket start"),
    ("metric", "指标", "Metric"),
    ("value", "数值", "Value"),
    ("count", "工单数", "Tickets"),
)


@dataclass(frozen=True, slots=True)
class Sheet:
    """A header and the rows under it (async, read page by page)."""

    title: str
    header: list[str]
    rows: AsyncIterator[list[Any]]


def headers(columns: Sequence[tuple[str, str, str]], locale: str) -> list[str]:
    return [en if locale == "en" else zh for _, zh, en in columns]


def safe_cell(value: Any) -> Any:
    """A value as a spreadsheet cell: text that would be run as a formula is neutralised."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def local_text(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


# The metric filter's dimensions, as query parameters and as stored in alert rules and reports.
UUID_DIMENSIONS = ("team_ids", "agent_ids", "entry_point_ids")
TEXT_DIMENSIONS = ("channels", "scenarios", "categories", "priorities", "customer_levels", "regions")
DIMENSIONS = UUID_DIMENSIONS + TEXT_DIMENSIONS
MAX_DIMENSION_VALUES = 50
MAX_DIMENSION_TEXT = 200


def check_dimensions(dims: object) -> dict[str, list[str]]:
    """The dimension filters of a metric, normalised (ids as canonical UUID text, no empty lists);
    ValidationFailed names the first problem."""
    if not isinstance(dims, dict):
        raise ValidationFailed("filters must be an object of dimension lists")
    unknown = sorted(set(dims) - set(DIMENSIONS))
    if unknown:
        raise ValidationFailed(f"unknown filter {unknown[0]!r}; filters are {', '.join(DIMENSIONS)}")
    out: dict[str, list[str]] = {}
    for key in DIMENSIONS:
        values = dims.get(key) or []
        if not isinstance(values, list) or len(values) > MAX_DIMENSION_VALUES:
            raise ValidationFailed(f"filters.{key} is a list of at most {MAX_DIMENSION_VALUES} values")
        cleaned: list[str] = []
        for value in values:
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_DIMENSION_TEXT:
                raise ValidationFailed(f"filters.{key} holds non-empty texts of at most 200 characters")
            if key in UUID_DIMENSIONS:
                try:
                    value = str(uuid.UUID(value))
                except ValueError as exc:
                    raise ValidationFailed(f"filters.{key} holds UUIDs") from exc
            cleaned.append(value.strip())
        if cleaned:
            out[key] = list(dict.fromkeys(cleaned))
    return out


def metric_filter(start: datetime, end: datetime, dims: dict[str, list[str]]) -> MetricFilter:
    """A MetricFilter over [start, end) from checked dimensions (see ``check_dimensions``)."""

    def ids(key: str) -> tuple[uuid.UUID, ...]:
        return tuple(uuid.UUID(value) for value in dims.get(key, []))

    def texts(key: str) -> tuple[str, ...]:
        return tuple(dims.get(key, []))

    return MetricFilter(
        start=start,
        end=end,
        team_ids=ids("team_ids"),
        agent_ids=ids("agent_ids"),
        entry_point_ids=ids("entry_point_ids"),
        channels=texts("channels"),
        scenarios=texts("scenarios"),
        categories=texts("categories"),
        priorities=texts("priorities"),
        customer_levels=texts("customer_levels"),
        regions=texts("regions"),
    )


# --- tickets -----------------------------------------------------------------------------------------


async def _names(session: AsyncSession) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    teams = {team["id"]: team["name"] for team in await auth_queries.list_teams(session)}
    users: dict[uuid.UUID, str] = {}
    offset = 0
    while True:
        page, total = await auth_queries.list_users(
            session, auth_queries.UserFilters(), limit=auth_queries.MAX_USER_PAGE, offset=offset
        )
        users.update({row.id: row.name for row in page})
        offset += len(page)
        if not page or offset >= total:
            return teams, users


async def _category_names(session: AsyncSession, actor: Actor, locale: str) -> dict[str, str]:
    """Category key → its name in the tenant's taxonomy in ``locale`` (zh-CN unless English)."""
    if actor.tenant_id is None:
        return {}
    language = "en" if locale == "en" else "zh-CN"
    config = await read_config(session, actor.tenant_id)
    return {category.key: category.names[language] for category in config.categories}


async def ticket_rows(
    session: AsyncSession,
    actor: Actor,
    filters: ticket_queries.TicketFilters,
    *,
    sort: str = "-created_at",
    tz: ZoneInfo,
    locale: str = "zh-CN",
    max_rows: int = MAX_EXPORT_ROWS,
) -> AsyncIterator[list[Any]]:
    """The tickets the list would show, every page, as export rows (names for team and assignee,
    local times, the category's key and its taxonomy name in ``locale``)."""
    teams, users = await _names(session)
    category_names = await _category_names(session, actor, locale)
    cursor: str | None = None
    sent = 0
    while sent < max_rows:
        page, cursor = await ticket_queries.list_tickets(
            session, actor, filters, sort=sort, cursor=cursor, limit=min(PAGE, max_rows - sent)
        )
        for row in page:
            yield [
                row.number,
                row.title,
                row.status,
                row.priority,
                row.category or "",
                row.scenario or "",
                row.channel,
                teams.get(row.team_id, "") if row.team_id else "",
                users.get(row.assignee_id, "") if row.assignee_id else "",
                ",".join(row.tags or []),
                local_text(row.created_at, tz),
                local_text(row.updated_at, tz),
                str(row.id),
                category_names.get(row.category, "") if row.category else "",
            ]
        sent += len(page)
        if cursor is None:
            return


# --- series ------------------------------------------------------------------------------------------


async def series_rows(
    session: AsyncSession,
    actor: Actor,
    metrics: Sequence[str],
    flt: MetricFilter,
    granularity: str,
    *,
    tz: ZoneInfo,
) -> AsyncIterator[list[Any]]:
    """One row per metric and bucket: local bucket start, metric, value (empty when none), count."""
    for metric in metrics:
        points: list[SeriesPoint] = await series(session, actor, metric, flt, granularity)  # type: ignore[arg-type]
        for point in points:
            value = round(point.value, 6) if point.value is not None else ""
            yield [local_text(point.bucket_start, tz), metric, value, point.count]


# --- writers -----------------------------------------------------------------------------------------


def _csv_line(values: Iterable[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(value) for value in values])
    return buffer.getvalue().encode("utf-8")


async def csv_stream(sheet: Sheet) -> AsyncIterator[bytes]:
    """The sheet as CSV, in chunks of about CHUNK_BYTES."""
    chunk = bytearray(b"\xef\xbb\xbf" + _csv_line(sheet.header))
    async for row in sheet.rows:
        chunk += _csv_line(row)
        if len(chunk) >= CHUNK_BYTES:
            yield bytes(chunk)
            chunk.clear()
    if chunk:
        yield bytes(chunk)


def _append_rows(worksheet: Any, rows: list[list[Any]]) -> None:
    for row in rows:
        worksheet.append([safe_cell(value) for value in row])


async def xlsx_file(sheet: Sheet, *, batch: int = 500) -> IO[bytes]:
    """The sheet as an XLSX workbook in a spooled temporary file, positioned at its start. Rows are
    appended in batches off the event loop (openpyxl is synchronous)."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet.title[:31])
    worksheet.append(sheet.header)
    pending: list[list[Any]] = []
    async for row in sheet.rows:
        pending.append(row)
        if len(pending) >= batch:
            await asyncio.to_thread(_append_rows, worksheet, pending)
            pending = []
    if pending:
        await asyncio.to_thread(_append_rows, worksheet, pending)
    output: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    await asyncio.to_thread(workbook.save, output)
    output.seek(0)
    return output


async def file_chunks(output: IO[bytes], close: Callable[[], None] | None = None) -> AsyncIterator[bytes]:
    """A finished file in chunks; closes it at the end."""
    try:
        while True:
            chunk = await asyncio.to_thread(output.read, CHUNK_BYTES)
            if not chunk:
                return
            yield chunk
    finally:
        output.close()
        if close is not None:
            close()
