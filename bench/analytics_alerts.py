"""Alerts, staffing, exports and the BI export at scale: seed N tickets on PostgreSQL (COPY, see
bench/seed.py), build the ticket facts, then time in-process (the API's async read session, no HTTP):

- one evaluation of each alert condition kind (spike, 3 days below, 24-hour threshold) on volume and
  SLA compliance, as the worker runs them (``alerts.service.load_points`` + ``domain.evaluate``);
- the staffing plan (7 days ahead from 4 weeks of history, with the roster);
- the incremental BI export: a 500-row page from the start and from a cursor in the middle;
- the CSV and XLSX exports of every ticket, newest first (rows per second; an export stops at 100,000).

    python -m bench.analytics_alerts --tickets 1000000
    python -m bench.analytics_alerts --tickets 1000000 --append     (appends to docs/benchmarks.md)"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from bench.harness import (
    DEFAULT_PG_SERVER,
    Tenant,
    machine_description,
    provision,
    scratch_settings,
    temp_database,
)
from bench.results import Report, append_results
from bench.seed import seed
from huiliu.analytics import bi, exports, rollups, staffing
from huiliu.analytics.alerts import domain as alerts
from huiliu.analytics.alerts.service import load_points
from huiliu.auth.domain import system_actor
from huiliu.runtime import Runtime
from huiliu.tickets.queries import TicketFilters

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _ms(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000, ordered[-1] * 1000


async def _timed(
    runtime: Runtime, tenant: Tenant, repeat: int, run: Callable[[Any], Awaitable[Any]]
) -> list[float]:
    durations = []
    for attempt in range(repeat + 2):
        async with runtime.db.read(tenant.id) as session:
            started = time.perf_counter()
            await run(session)
            elapsed = time.perf_counter() - started
        if attempt >= 2:  # two warm-up runs
            durations.append(elapsed)
    return durations


async def _queries(runtime: Runtime, tenant: Tenant, repeat: int) -> list[list[str]]:
    actor = system_actor(tenant.id)
    now = datetime.now(UTC)
    conditions: list[tuple[str, str, alerts.Condition]] = [
        ("alert: spike vs 4 weeks (volume)", "volume", alerts.Spike()),
        ("alert: spike vs 12 weeks (volume)", "volume", alerts.Spike(weeks=12)),
        ("alert: 3 days below (sla_compliance)", "sla_compliance", alerts.ConsecutiveDays(0.9, 3)),
        (
            "alert: 3 days below (first_response_median)",
            "first_response_median",
            alerts.ConsecutiveDays(30, 3, "above"),
        ),
        ("alert: threshold over 24 h (volume)", "volume", alerts.Threshold("gt", 1000, 24)),
    ]
    rows: list[list[str]] = []
    for name, metric, condition in conditions:
        bucket = alerts.evaluation_bucket(condition, now)

        async def evaluate(
            session: Any,
            metric: str = metric,
            condition: alerts.Condition = condition,
            bucket: datetime = bucket,
        ) -> None:
            points = await load_points(session, actor, metric, {}, condition, bucket)
            alerts.evaluate(metric, condition, bucket, points)

        rows.append([name, *(f"{v:.1f}" for v in _ms(await _timed(runtime, tenant, repeat, evaluate)))])

    params = staffing.StaffingParams()
    rows.append(
        [
            "staffing plan (7 days, 4 weeks of history)",
            *(
                f"{v:.1f}"
                for v in _ms(
                    await _timed(
                        runtime, tenant, repeat, lambda s: staffing.staffing_plan(s, actor, params, {}, now)
                    )
                )
            ),
        ]
    )
    first = await _timed(
        runtime, tenant, repeat, lambda s: bi.ticket_changes(s, actor, cursor=None, limit=500)
    )
    rows.append(["BI export: first page of 500", *(f"{v:.1f}" for v in _ms(first))])
    async with runtime.db.read(tenant.id) as session:
        page: dict[str, Any] = {"next_cursor": None}
        for _ in range(20):  # walk 10,000 rows in
            page = await bi.ticket_changes(session, actor, cursor=page["next_cursor"], limit=500)
        middle = page["next_cursor"]
    later = await _timed(
        runtime, tenant, repeat, lambda s: bi.ticket_changes(s, actor, cursor=middle, limit=500)
    )
    rows.append(["BI export: a page of 500 from a cursor 10,000 rows in", *(f"{v:.1f}" for v in _ms(later))])
    return rows


async def _exports(runtime: Runtime, tenant: Tenant) -> list[list[str]]:
    actor = system_actor(tenant.id)
    filters = TicketFilters()
    header = exports.headers(exports.TICKET_COLUMNS, "zh-CN")
    rows: list[list[str]] = []
    async with runtime.db.read(tenant.id) as session:
        sheet = exports.Sheet("tickets", header, exports.ticket_rows(session, actor, filters, tz=SHANGHAI))
        started = time.perf_counter()
        size = lines = 0
        async for chunk in exports.csv_stream(sheet):
            size += len(chunk)
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    count = lines - 1
    rows.append(["CSV", f"{count:,}", f"{seconds:.2f}", f"{count / seconds:,.0f}", f"{size / 1e6:.1f}"])
    async with runtime.db.read(tenant.id) as session:
        sheet = exports.Sheet("tickets", header, exports.ticket_rows(session, actor, filters, tz=SHANGHAI))
        started = time.perf_counter()
        output = await exports.xlsx_file(sheet)
        seconds = time.perf_counter() - started
        output.seek(0, 2)
        size = output.tell()
        output.close()
    rows.append(["XLSX", f"{count:,}", f"{seconds:.2f}", f"{count / seconds:,.0f}", f"{size / 1e6:.1f}"])
    return rows


async def _run(url: str, tenant: Tenant, repeat: int, console: Console) -> list[Report]:
    with scratch_settings(url) as settings:
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            console.print("building the ticket facts …")
            built = await rollups.rebuild(runtime.db, tenant.id, batch=2000)
            console.print(f"timing alert evaluations, staffing and the BI export ({repeat} runs each) …")
            rows = await _queries(runtime, tenant, repeat)
            console.print("timing the ticket exports …")
            export_rows = await _exports(runtime, tenant)
        finally:
            await runtime.stop()
    return [
        Report(
            f"Analytics alerts, staffing and BI export at {built:,} tickets",
            ["operation", "p50 ms", "p95 ms", "max ms"],
            rows,
            [f"{repeat} runs each after 2 warm-ups, in-process through the API's async read session"],
        ),
        Report(
            f"Analytics: ticket export (all tickets, newest first, capped) at {built:,} tickets",
            ["format", "rows", "seconds", "rows/s", "MB"],
            export_rows,
            ["whole export read page by page (200 rows) and written; XLSX in openpyxl write-only mode"],
        ),
    ]


def run(tickets_count: int, repeat: int, console: Console) -> list[Report]:
    with temp_database("postgres") as url:
        tenant = provision(url)
        console.print(f"seeding {tickets_count:,} tickets …")
        seeded = seed(url, tenant, tickets_count, detail_count=min(1000, tickets_count))
        reports = asyncio.run(_run(url, tenant, repeat, console))
        reports[0].notes.append(f"seed: {seeded.total_seconds:.0f}s by COPY ({seeded.tickets:,} tickets)")
        return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_alerts", description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--append", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args(argv)
    console = Console()
    machine = machine_description(DEFAULT_PG_SERVER)
    reports = run(args.tickets, args.repeat, console)
    for report in reports:
        report.print(console)
    if args.append:
        command = "python -m bench.analytics_alerts " + " ".join(argv if argv is not None else sys.argv[1:])
        path = append_results(reports, machine, command=command)
        console.print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
