"""The timer sweep: how long handling N due SLA timers takes (issue 7: 10,000 in ≤ 10 s on PostgreSQL).

    python -m bench.sla_sweep --db postgres --timers 10000
    python -m bench.sla_sweep --db postgres --timers 10000 --without-actions
    python -m bench.sla_sweep --db postgres --timers 10000 --sweepers 2
    add --append to append the results to docs/benchmarks.md

Set-up (not timed): a fresh migrated database, a tenant with the preset calendar (China's working
calendar) and the preset SLA policy (75 % notifies the assignee, 100 % notifies the team lead by WeCom
and SMS, 150 % notifies admins), and N tickets created at the same instant with their SLA rows and
"sla" timers as the SLA reactor writes them, written in bulk. Timed: one ``sweep`` at the instant the
first response reaches 75 %, so every timer is due and every ticket fires its 75 % tier: a
``sla.warning`` event, the tier's notify action (a notification outbox row and a
``ticket.sla_tier_fired`` event; ``--without-actions`` leaves the actions out), the SLA row and the
timer moved to the next threshold, with the API's reactors (automation, routing, SLA) installed as in
the worker. Due tickets of one tenant are handled ``BATCH_TICKETS`` to a transaction (docs/decisions/0016;
``--batch-tickets`` overrides it).

Set-up ends with ``ANALYZE``, as autovacuum does on a live database within a minute of such a load:
without statistics the planner reads a batch's SLA rows through the tenant index, i.e. every one of
the tenant's rows per batch, a cost that grows with the number of due timers and that no live system
pays. Each sweeper process configures its garbage collector as the worker process does
(``huiliu.worker.collector``; ``--default-gc`` leaves CPython's defaults). Reported: wall time, the
sweepers' CPU and PostgreSQL's (the server processes of the bench database, during the sweep) per
timer, and the load average."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import func, insert, select, text

from bench.harness import (
    DEFAULT_PG_SERVER,
    cpu_seconds,
    db_kind,
    machine_description,
    postgres_backends,
    provision,
    scratch_settings,
    temp_database,
    wait_for_quiet,
)
from bench.results import Report, append_results

# Monday 2026-11-23 10:00 in Shanghai, inside working hours: the preset normal-priority first response
# (240 business minutes) reaches 75 % at 14:00 (the lunch hour does not count).
CREATED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
INSERT_BATCH = 1000


async def _analyze(db: Any) -> None:
    """Statistics, as autovacuum gathers them on a live database (module docstring)."""
    async with db.uow(None, system=True) as uow:
        if uow.dialect == "postgresql":
            connection = await uow.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            await connection.exec_driver_sql("ANALYZE")
        else:
            await uow.session.execute(text("ANALYZE"))
            await uow.session.commit()


async def _setup(url: str, timers: int, tenant: Any, actions: bool, analyze: bool = True) -> dict[str, Any]:
    from huiliu.auth import service as auth
    from huiliu.runtime import Runtime
    from huiliu.sla import service as sla
    from huiliu.sla.domain.policy import parse_policy_rules
    from huiliu.sla.domain.ticket import metric_due_at, next_check, start_state, to_json
    from huiliu.sla.models import TicketSla
    from huiliu.sla.queries import calendar_value, get_calendar
    from huiliu.sla.reactor import TIMER_KIND
    from huiliu.tickets.models import Ticket
    from huiliu.timers.models import TicketTimer

    with scratch_settings(url, redis_url=None) as settings:
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            admin = await auth.actor_for_user(runtime.db, tenant.admin_id, tenant.id, auth.ActorCache(ttl=0))
            async with runtime.db.uow(tenant.id) as uow:
                installed = await sla.install_presets(uow, admin)
            if not actions:
                # The same tiers without their actions: each threshold records its event only.
                async with runtime.db.read(tenant.id) as session:
                    preset = await session.get(sla.SlaPolicy, installed["policy_id"])
                    assert preset is not None
                    spec = {
                        "name": preset.name,
                        "calendar_id": preset.calendar_id,
                        "targets": preset.targets,
                        "tiers": [{"percent": tier["percent"], "actions": []} for tier in preset.tiers],
                    }
                async with runtime.db.uow(tenant.id) as uow:
                    await sla.replace_policy(uow, admin, installed["policy_id"], spec)
            async with runtime.db.read(tenant.id) as session:
                calendar_row = await get_calendar(session, installed["calendar_id"])
                policy = await session.get(sla.SlaPolicy, installed["policy_id"])
                assert policy is not None
            calendar = calendar_value(calendar_row)
            rules = parse_policy_rules(policy.conditions, policy.targets, policy.tiers)
            state = start_state(rules.targets_for("normal"), CREATED)
            clocks = to_json(state)
            due = {name: metric_due_at(calendar, metric) for name, metric in state.metrics.items()}
            check = next_check(calendar, state, rules.thresholds())
            assert check is not None
            for first in range(0, timers, INSERT_BATCH):
                count = min(INSERT_BATCH, timers - first)
                ids = [uuid.uuid4() for _ in range(count)]
                async with runtime.db.uow(tenant.id) as uow:
                    await uow.session.execute(
                        insert(Ticket),
                        [
                            {
                                "id": ticket_id,
                                "tenant_id": tenant.id,
                                "number": first + index + 1,
                                "title": f"压测工单 {first + index + 1}",
                                "description": "",
                                "status": "new",
                                "priority": "normal",
                                "channel": "api",
                                "team_id": tenant.agent_team_id,
                                "assignee_id": tenant.agent_ids[index % len(tenant.agent_ids)],
                                "tags": [],
                                "fields": {},
                                "created_at": CREATED,
                                "updated_at": CREATED,
                                "reopen_count": 0,
                            }
                            for index, ticket_id in enumerate(ids)
                        ],
                    )
                    await uow.session.execute(
                        insert(TicketSla),
                        [
                            {
                                "ticket_id": ticket_id,
                                "tenant_id": tenant.id,
                                "policy_id": policy.id,
                                "policy_name": policy.name,
                                "priority": "normal",
                                "clocks": clocks,
                                "paused": False,
                                "next_due_at": min(value for value in due.values() if value is not None),
                                "first_response_due_at": due.get("first_response"),
                                "resolution_due_at": due.get("resolution"),
                                "first_response_breached": False,
                                "next_response_breached": False,
                                "resolution_breached": False,
                                "next_response_breaches": 0,
                                "created_at": CREATED,
                                "updated_at": CREATED,
                            }
                            for ticket_id in ids
                        ],
                    )
                    await uow.session.execute(
                        insert(TicketTimer),
                        [
                            {
                                "tenant_id": tenant.id,
                                "ticket_id": ticket_id,
                                "kind": TIMER_KIND,
                                "next_timer_at": check,
                            }
                            for ticket_id in ids
                        ],
                    )
                    await uow.commit()
            if analyze:
                await _analyze(runtime.db)
            return {"due_at": check}
        finally:
            await runtime.stop()


@dataclass(frozen=True)
class SweepOptions:
    batch: int
    concurrency: int | None
    pool: int
    batch_tickets: int | None
    default_gc: bool


Outcome = tuple[float, Any, dict[str, int]]


async def _sweep(url: str, now: datetime, options: SweepOptions, after: Callable[[Outcome], None]) -> Outcome:
    """One sweep in this process. ``after`` gets the outcome before the connections close (the caller
    reads the database server's CPU then)."""
    from huiliu.core.outbox import OutboxRow
    from huiliu.runtime import Runtime
    from huiliu.tickets.models import TicketEvent
    from huiliu.timers import service as timers
    from huiliu.worker.timers import install_reactors

    if not options.default_gc:
        from huiliu.worker.collector import tune_collector

        # As the worker process does: before its timer sweeper builds its runtime (``run_worker``).
        tune_collector()
    with scratch_settings(url, redis_url=None, db_pool_size=options.pool) as settings:
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            install_reactors(runtime.db)
            if options.batch_tickets is not None:
                timers.BATCH_TICKETS = options.batch_tickets
            began, cpu_began = time.perf_counter(), time.process_time()
            result = await timers.sweep(runtime.db, now, batch=options.batch, concurrency=options.concurrency)
            elapsed = time.perf_counter() - began
            cpu = time.process_time() - cpu_began
            async with runtime.db.read(None, system=True) as session:
                counts = {
                    "cpu_ms": int(cpu * 1000),
                    "warnings": int(
                        await session.scalar(
                            select(func.count())
                            .select_from(TicketEvent)
                            .where(TicketEvent.type == "sla.warning")
                        )
                        or 0
                    ),
                    "notifications": int(
                        await session.scalar(
                            select(func.count())
                            .select_from(OutboxRow)
                            .where(OutboxRow.kind == "notification")
                        )
                        or 0
                    ),
                }
            outcome = (elapsed, result, counts)
            await asyncio.to_thread(after, outcome)
            return outcome
        finally:
            await runtime.stop()


class ServerCpu:
    """CPU seconds PostgreSQL's server processes of one database used since ``start`` (processes
    that began later count from zero). Nothing on SQLite: it runs inside the sweeper."""

    def __init__(self, url: str) -> None:
        self.database = url.rsplit("/", 1)[1].split("?", 1)[0] if url.startswith("postgresql") else None
        self._before: dict[int, float] = {}

    def start(self) -> None:
        if self.database is not None:
            self._before = {pid: cpu_seconds(pid) for pid in postgres_backends(self.database)}

    def used(self) -> float:
        if self.database is None:
            return 0.0
        return sum(cpu_seconds(pid) - self._before.get(pid, 0.0) for pid in postgres_backends(self.database))


def _single_sweep(url: str, now: datetime, options: SweepOptions) -> Outcome:
    server = ServerCpu(url)
    server.start()

    def after(outcome: Outcome) -> None:
        outcome[2]["db_cpu_ms"] = int(server.used() * 1000)

    return asyncio.run(_sweep(url, now, options, after))


def _sweeper_process(
    url: str, now: datetime, options: SweepOptions, start: Any, out: Any, release: Any
) -> None:
    """One sweeper process (as one worker runs one): waits for ``start``, sweeps, reports its outcome
    and keeps its connections until ``release`` (the parent reads the server's CPU in between)."""
    start.wait()

    def after(outcome: Outcome) -> None:
        elapsed, result, counts = outcome
        out.put((elapsed, result.handled, result.failed, result.batches, counts))
        release.wait()

    asyncio.run(_sweep(url, now, options, after))


def _parallel_sweep(url: str, now: datetime, options: SweepOptions, sweepers: int) -> Outcome:
    """``sweepers`` processes sweeping the same due timers at once (FOR UPDATE SKIP LOCKED shares
    them out); the time is from the start signal until the last one is done."""
    from huiliu.timers.service import SweepResult

    context = multiprocessing.get_context("spawn")
    start, out, release = context.Event(), context.Queue(), context.Event()
    processes = [
        context.Process(target=_sweeper_process, args=(url, now, options, start, out, release))
        for _ in range(sweepers)
    ]
    for process in processes:
        process.start()
    time.sleep(3.0)  # let every process import and connect before the start signal
    server = ServerCpu(url)
    server.start()
    began = time.perf_counter()
    start.set()
    reports = [out.get() for _ in processes]
    elapsed = time.perf_counter() - began
    db_cpu = server.used()
    release.set()
    for process in processes:
        process.join()
    total = SweepResult()
    for _, handled, failed, batches, _ in reports:
        total.add(SweepResult(claimed=handled + failed, handled=handled, failed=failed, batches=batches))
    counts = {
        "cpu_ms": sum(report[4]["cpu_ms"] for report in reports),
        "db_cpu_ms": int(db_cpu * 1000),
        "warnings": max(report[4]["warnings"] for report in reports),
        "notifications": max(report[4]["notifications"] for report in reports),
        "slowest": int(max(report[0] for report in reports) * 1000),
    }
    return elapsed, total, counts


def run_sla_sweep(
    *,
    db: str = "postgres",
    timers: int = 10_000,
    batch: int = 500,
    concurrency: int | None = None,
    pool: int = 8,
    sweepers: int = 1,
    actions: bool = True,
    batch_tickets: int | None = None,
    default_gc: bool = False,
    analyze: bool = True,
    quiet_timeout: float = 120,
    pg_server: str = DEFAULT_PG_SERVER,
    console: Console | None = None,
) -> Report:
    from huiliu.timers.service import BATCH_TICKETS

    console = console or Console()
    options = SweepOptions(batch, concurrency, pool, batch_tickets, default_gc)
    with temp_database(db, pg_server) as url:
        tenant = provision(url, teams=1, agents_per_team=4)
        console.print(f"setting up {timers} tickets with due SLA timers on {db_kind(url)} …")
        setup = asyncio.run(_setup(url, timers, tenant, actions, analyze))
        now = setup["due_at"] + timedelta(seconds=1)
        busy = wait_for_quiet(max_busy_cores=0.5, timeout=quiet_timeout)
        load = os.getloadavg()
        console.print(f"sweeping at {now.isoformat()} …")
        if sweepers > 1:
            elapsed, result, counts = _parallel_sweep(url, now, options, sweepers)
        else:
            elapsed, result, counts = _single_sweep(url, now, options)
    handled = max(1, result.handled)
    return Report(
        title=f"Timer sweep: {timers} due SLA timers at their 75 % tier "
        f"({'with a notify action' if actions else 'without actions'})",
        columns=[
            "db",
            "timers",
            "handled",
            "failed",
            "seconds",
            "timers/s",
            "sweeper CPU ms/timer",
            "PostgreSQL CPU ms/timer",
            "load avg (1 min)",
        ],
        rows=[
            [
                db_kind(url),
                str(timers),
                str(result.handled),
                str(result.failed),
                f"{elapsed:.2f}",
                f"{result.handled / elapsed:,.0f}",
                f"{counts['cpu_ms'] / handled:.2f}",
                f"{counts['db_cpu_ms'] / handled:.2f}" if db == "postgres" else "–",
                f"{load[0]:.2f}",
            ]
        ],
        notes=[
            f"claims of {batch} ({result.batches} claims); a tenant's due tickets handled "
            f"{batch_tickets or BATCH_TICKETS} to a transaction (one by one if a batch fails), "
            f"{concurrency or ('4' if db == 'postgres' else '1')} transactions at a time, pool {pool}, "
            f"{sweepers} sweeper process{'es' if sweepers > 1 else ''}"
            + (" sweeping at once (as that many workers do), CPU summed over them" if sweepers > 1 else ""),
            f"written: {counts['warnings']} sla.warning events, "
            f"{counts['notifications']} notification outbox rows",
            "reactors as in the worker (automation, routing, SLA); set-up rows written in bulk, not timed, "
            + (
                "then ANALYZE (as autovacuum does on a live database)"
                if analyze
                else "no ANALYZE (the planner without statistics)"
            ),
            "garbage collector: CPython's defaults"
            if default_gc
            else "garbage collector as in the worker (huiliu.worker.collector)",
            f"machine before the sweep: {busy:.1f} busy cores in the last second, load average "
            f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (2 cores shared with other work)",
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sla_sweep", description=__doc__)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--sweepers", type=int, default=1, help="sweeper processes at once (workers)")
    parser.add_argument("--pg-server", default=DEFAULT_PG_SERVER)
    parser.add_argument(
        "--without-actions", action="store_true", help="tiers record their event only (no notify action)"
    )
    parser.add_argument(
        "--batch-tickets", type=int, default=None, help="due tickets per transaction (default: BATCH_TICKETS)"
    )
    parser.add_argument(
        "--default-gc", action="store_true", help="CPython's collector settings, not the worker's"
    )
    parser.add_argument(
        "--no-analyze", action="store_true", help="sweep right after set-up, before any statistics"
    )
    parser.add_argument(
        "--quiet-timeout", type=float, default=120, help="seconds to wait for a quiet machine (0: none)"
    )
    parser.add_argument("--append", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args(argv)
    console = Console()
    report = run_sla_sweep(
        db=args.db,
        timers=args.timers,
        batch=args.batch,
        concurrency=args.concurrency,
        pool=args.pool,
        sweepers=args.sweepers,
        actions=not args.without_actions,
        batch_tickets=args.batch_tickets,
        default_gc=args.default_gc,
        analyze=not args.no_analyze,
        quiet_timeout=args.quiet_timeout,
        pg_server=args.pg_server,
        console=console,
    )
    report.print(console)
    if args.append:
        path = append_results(
            [report],
            machine_description(),
            command="python -m bench.sla_sweep " + " ".join(argv or sys.argv[1:]),
        )
        console.print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
