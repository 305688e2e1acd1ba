"""Analytics at scale: seed N tickets (default 1,000,000, COPY on PostgreSQL, see bench/seed.py), build
the ticket facts from scratch (``rollups.rebuild``, the ``huiliu analytics rebuild`` path), then

- time every dashboard query (the calls the dashboard page makes, over the last 30 days, as an admin
  with scope "all" and as a team-scope agent) and report p50 / p95 / max;
- measure the refresher's cost per audit event: create tickets and change their status through the
  ticket services (production's write path), then time ``rollups.refresh`` over those events.

    python -m bench.analytics --tickets 1000000
    python -m bench.analytics --tickets 1000000 --append     (appends to docs/benchmarks.md)

Queries run in-process through the same async session the API uses (no HTTP), one at a time."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import func, select, text

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
from huiliu.analytics import metrics, queries, rollups
from huiliu.analytics.metrics import MetricFilter
from huiliu.analytics.models import TicketFact
from huiliu.auth.domain import Actor, ActorKind, DataScope, system_actor
from huiliu.reactions import install_reactors
from huiliu.runtime import Runtime
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import Status
from huiliu.tickets.schemas import TicketCreate

Query = Callable[[Any, Actor, MetricFilter], Awaitable[Any]]

QUERIES: list[tuple[str, Query]] = [
    ("summary (cards, aging, CSAT)", lambda s, a, f: queries.summary(s, a, f)),
    ("series volume/day", lambda s, a, f: metrics.series(s, a, "volume", f, "day")),
    ("series resolved/day", lambda s, a, f: metrics.series(s, a, "resolved", f, "day")),
    ("series backlog/day", lambda s, a, f: metrics.series(s, a, "backlog", f, "day")),
    ("series first_response_p90/day", lambda s, a, f: metrics.series(s, a, "first_response_p90", f, "day")),
    ("series volume/hour", lambda s, a, f: metrics.series(s, a, "volume", f, "hour")),
    ("heatmap", lambda s, a, f: queries.heatmap(s, a, f)),
    ("funnel", lambda s, a, f: queries.funnel(s, a, f)),
    ("leaderboard", lambda s, a, f: queries.leaderboard(s, a, f)),
    ("problems", lambda s, a, f: queries.problems(s, a, f)),
    ("breakdown channel", lambda s, a, f: queries.breakdown(s, a, f, "channel")),
    ("breakdown entry_point", lambda s, a, f: queries.breakdown(s, a, f, "entry_point")),
    ("regions", lambda s, a, f: queries.regions(s, a, f)),
    ("drill heatmap cell", lambda s, a, f: queries.drill(s, a, f, hour_of_week=24 * 2 + 15)),
]


def _ms(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000, ordered[-1] * 1000


def _backend_cpu_seconds(pid: int) -> float:
    """CPU time a PostgreSQL backend (on this machine) has run, from the scheduler's nanosecond
    counter (``/proc/<pid>/schedstat``; ``stat``'s clock ticks are 10 ms, too coarse per query)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


async def _serial_backend(session: Any) -> int:
    """The session's backend, with parallel workers off, so that all of a query's server CPU time is
    that backend's (a parallel worker's would be lost when it exits)."""
    await session.execute(text("SET max_parallel_workers_per_gather = 0"))
    return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _time_queries(runtime: Runtime, tenant: Tenant, repeat: int, days: int) -> list[list[str]]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    flt = MetricFilter(end - timedelta(days=days), end)
    hourly = MetricFilter(end - timedelta(days=min(days, 7)), end)
    admin = system_actor(tenant.id)
    agent = Actor(
        ActorKind.USER,
        tenant.id,
        tenant.agent_ids[0],
        "agent",
        frozenset({"ticket.read", "analytics.read"}),
        DataScope.TEAM,
        team_id=tenant.agent_team_id,
    )
    rows: list[list[str]] = []
    for name, run in QUERIES:
        window = hourly if name.endswith("/hour") else flt
        for label, actor in (("all", admin), ("team", agent)):
            durations: list[float] = []
            cpu: list[float] = []
            for attempt in range(repeat + 2):
                async with runtime.db.read(tenant.id) as session:
                    backend = await _serial_backend(session)
                    server_before = _backend_cpu_seconds(backend)
                    client_before = time.process_time()
                    started = time.perf_counter()
                    await run(session, actor, window)
                    elapsed = time.perf_counter() - started
                    client = time.process_time() - client_before
                    server = _backend_cpu_seconds(backend) - server_before
                if attempt >= 2:  # two warm-up runs (plans, caches)
                    durations.append(elapsed)
                    cpu.append(client + server)
            p50, p95, worst = _ms(durations)
            cpu50, cpu95, _ = _ms(cpu)
            rows.append(
                [name, label, f"{p50:.1f}", f"{p95:.1f}", f"{worst:.1f}", f"{cpu50:.1f}", f"{cpu95:.1f}"]
            )
    return rows


async def _maintenance(runtime: Runtime, tenant: Tenant, operations: int) -> tuple[int, float, float]:
    """Create ``operations`` tickets and move each to ``open`` through the services, then time the
    refresh of the events they wrote: (events, seconds, seconds spent writing them)."""
    actor = system_actor(tenant.id, "bench")
    await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    started = time.perf_counter()
    for n in range(operations):
        async with runtime.db.uow(tenant.id) as uow:
            row = await tickets.create_ticket(
                uow, actor, TicketCreate(title=f"打印机卡纸 {n}", channel="web")
            )
        async with runtime.db.uow(tenant.id) as uow:
            await tickets.change_status(uow, actor, uuid.UUID(str(row["id"])), Status.OPEN)
    writing = time.perf_counter() - started
    started = time.perf_counter()
    result = await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    return result.events, time.perf_counter() - started, writing


async def _run(
    url: str, tenant: Tenant, repeat: int, days: int, operations: int, console: Console
) -> list[Report]:
    with scratch_settings(url) as settings:
        runtime = Runtime.build(settings)
        await runtime.start()
        install_reactors(runtime.db)
        try:
            console.print("building the ticket facts (rollups.rebuild) …")
            started = time.perf_counter()
            built = await rollups.rebuild(runtime.db, tenant.id, batch=2000)
            rebuild_seconds = time.perf_counter() - started
            async with runtime.db.read(tenant.id) as session:
                facts = (await session.execute(select(func.count()).select_from(TicketFact))).scalar_one()
            console.print(f"  {built:,} tickets → {facts:,} facts in {rebuild_seconds:.1f}s")
            console.print(f"timing dashboard queries ({repeat} runs each, last {days} days) …")
            load_before = os.getloadavg()[0]
            rows = await _time_queries(runtime, tenant, repeat, days)
            load_after = os.getloadavg()[0]
            console.print(f"writing {operations} tickets + status changes through the services …")
            events, refresh_seconds, writing = await _maintenance(runtime, tenant, operations)
        finally:
            await runtime.stop()
    rebuild = Report(
        "Analytics: full rebuild of the ticket facts",
        ["tickets", "facts", "seconds", "tickets/s"],
        [[f"{built:,}", f"{facts:,}", f"{rebuild_seconds:.1f}", f"{built / rebuild_seconds:,.0f}"]],
    )
    dashboard = Report(
        f"Analytics: dashboard queries at {built:,} tickets (last {days} days; hourly series 7 days)",
        ["query", "scope", "p50 ms", "p95 ms", "max ms", "CPU p50 ms", "CPU p95 ms"],
        rows,
        [
            f"{repeat} runs per query after 2 warm-ups, in-process through the API's async read session",
            "CPU: the PostgreSQL backend's CPU time (/proc/<pid>/schedstat) plus this process's, per "
            "query; parallel workers are off in these sessions so the backend does all the server work "
            "(wall times are single-backend too)",
            f"load average (1 min) when the timing started {load_before:.2f}, when it ended {load_after:.2f}",
        ],
    )
    per_event = refresh_seconds / events * 1000 if events else 0.0
    write_per_event = writing / events * 1000 if events else 0.0
    maintenance = Report(
        "Analytics: refresher cost per audit event",
        ["events", "refresh s", "ms per event", "write path ms per event (for scale)"],
        [[f"{events:,}", f"{refresh_seconds:.2f}", f"{per_event:.3f}", f"{write_per_event:.2f}"]],
        ["the refresh runs in the worker, after commit: it adds nothing to the write path itself"],
    )
    return [rebuild, dashboard, maintenance]


def run_analytics(
    tickets_count: int, repeat: int, days: int, operations: int, console: Console
) -> list[Report]:
    with temp_database("postgres") as url:
        tenant = provision(url)
        console.print(f"seeding {tickets_count:,} tickets …")
        seeded = seed(url, tenant, tickets_count, detail_count=min(1000, tickets_count))
        reports = asyncio.run(_run(url, tenant, repeat, days, operations, console))
        reports[0].notes.append(
            f"seed: {seeded.total_seconds:.0f}s by COPY "
            f"({seeded.tickets:,} tickets, {seeded.events:,} events)"
        )
        return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--operations", type=int, default=1000, help="tickets created + opened for the refresh cost"
    )
    parser.add_argument("--append", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args(argv)
    console = Console()
    machine = machine_description(DEFAULT_PG_SERVER)
    reports = run_analytics(args.tickets, args.repeat, args.days, args.operations, console)
    for report in reports:
        report.print(console)
    if args.append:
        command = "python -m bench.analytics " + " ".join(argv if argv is not None else sys.argv[1:])
        path = append_results(reports, machine, command=command)
        console.print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
