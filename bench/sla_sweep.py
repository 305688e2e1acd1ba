"""The timer sweep: how long handling N due SLA timers takes (issue 7: 10,000 in ≤ 10 s on PostgreSQL).

    python -m bench.sla_sweep --db postgres --timers 10000
    python -m bench.sla_sweep --db postgres --timers 10000 --without-actions
    add --append to append the results to docs/benchmarks.md

Set-up (not timed): a fresh migrated database, a tenant with the preset calendar (China's working
calendar) and the preset SLA policy (75 % notifies the assignee, 100 % notifies the team lead by WeCom
and SMS, 150 % notifies admins), and N tickets created at the same instant with their SLA rows and
"sla" timers as the SLA reactor writes them, written in bulk. Timed: one ``sweep`` at the instant the
first response reaches 75 %, so every timer is due and every ticket fires its 75 % tier: a
``sla.warning`` event, the tier's notify action (a notification outbox row and a
``ticket.sla_tier_fired`` event; ``--without-actions`` leaves the actions out), the SLA row and the
timer moved to the next threshold, with the API's reactors (automation, routing, SLA) installed as in
the worker. Due tickets of one tenant are handled 50 to a transaction (docs/decisions/0016)."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import func, insert, select

from bench.harness import (
    BENCH_SECRET,
    DEFAULT_PG_SERVER,
    db_kind,
    machine_description,
    provision,
    temp_database,
    wait_for_quiet,
)
from bench.results import Report, append_results

# Monday 2026-11-23 10:00 in Shanghai, inside working hours: the preset normal-priority first response
# (240 business minutes) reaches 75 % at 14:00 (the lunch hour does not count).
CREATED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
INSERT_BATCH = 1000


async def _setup(url: str, timers: int, tenant: Any, actions: bool) -> dict[str, Any]:
    from huiliu.auth import service as auth
    from huiliu.runtime import Runtime
    from huiliu.settings import Settings
    from huiliu.sla import service as sla
    from huiliu.sla.domain.policy import parse_policy_rules
    from huiliu.sla.domain.ticket import metric_due_at, next_check, start_state, to_json
    from huiliu.sla.models import TicketSla
    from huiliu.sla.queries import calendar_value, get_calendar
    from huiliu.sla.reactor import TIMER_KIND
    from huiliu.tickets.models import Ticket
    from huiliu.timers.models import TicketTimer

    settings = Settings(database_url=url, secret_key=BENCH_SECRET, redis_url=None, _env_file=None)
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
        return {"due_at": check}
    finally:
        await runtime.stop()


async def _sweep(
    url: str, now: datetime, batch: int, concurrency: int | None, pool: int
) -> tuple[float, Any, dict[str, int]]:
    from huiliu.core.outbox import OutboxRow
    from huiliu.runtime import Runtime
    from huiliu.settings import Settings
    from huiliu.tickets.models import TicketEvent
    from huiliu.timers.service import sweep
    from huiliu.worker.timers import install_reactors

    settings = Settings(
        database_url=url, secret_key=BENCH_SECRET, redis_url=None, db_pool_size=pool, _env_file=None
    )
    runtime = Runtime.build(settings)
    await runtime.start()
    try:
        install_reactors(runtime.db)
        began, cpu_began = time.perf_counter(), time.process_time()
        result = await sweep(runtime.db, now, batch=batch, concurrency=concurrency)
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
        async with runtime.db.read(None, system=True) as session:
            counts = {
                "cpu_ms": int(cpu * 1000),
                "warnings": int(
                    await session.scalar(
                        select(func.count()).select_from(TicketEvent).where(TicketEvent.type == "sla.warning")
                    )
                    or 0
                ),
                "notifications": int(
                    await session.scalar(
                        select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "notification")
                    )
                    or 0
                ),
            }
        return elapsed, result, counts
    finally:
        await runtime.stop()


def _sweeper_process(
    url: str, now: datetime, batch: int, concurrency: int | None, pool: int, start: Any, out: Any
) -> None:
    """One sweeper process (as one worker runs one): waits for ``start``, sweeps, reports its result."""
    start.wait()
    elapsed, result, counts = asyncio.run(_sweep(url, now, batch, concurrency, pool))
    out.put((elapsed, result.handled, result.failed, result.batches, counts))


def _parallel_sweep(
    url: str, now: datetime, batch: int, concurrency: int | None, pool: int, sweepers: int
) -> tuple[float, Any, dict[str, int]]:
    """``sweepers`` processes sweeping the same due timers at once (FOR UPDATE SKIP LOCKED shares
    them out); the time is from the start signal until the last one is done."""
    from huiliu.timers.service import SweepResult

    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    processes = [
        context.Process(target=_sweeper_process, args=(url, now, batch, concurrency, pool, start, out))
        for _ in range(sweepers)
    ]
    for process in processes:
        process.start()
    time.sleep(3.0)  # let every process import and connect before the start signal
    began = time.perf_counter()
    start.set()
    reports = [out.get() for _ in processes]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    total = SweepResult()
    for _, handled, failed, batches, _ in reports:
        total.add(SweepResult(claimed=handled + failed, handled=handled, failed=failed, batches=batches))
    counts = {
        "cpu_ms": sum(report[4]["cpu_ms"] for report in reports),
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
    pg_server: str = DEFAULT_PG_SERVER,
    console: Console | None = None,
) -> Report:
    console = console or Console()
    with temp_database(db, pg_server) as url:
        tenant = provision(url, teams=1, agents_per_team=4)
        console.print(f"setting up {timers} tickets with due SLA timers on {db_kind(url)} …")
        setup = asyncio.run(_setup(url, timers, tenant, actions))
        now = setup["due_at"] + timedelta(seconds=1)
        busy = wait_for_quiet(max_busy_cores=0.5, timeout=120)
        console.print(f"sweeping at {now.isoformat()} …")
        if sweepers > 1:
            elapsed, result, counts = _parallel_sweep(url, now, batch, concurrency, pool, sweepers)
        else:
            elapsed, result, counts = asyncio.run(_sweep(url, now, batch, concurrency, pool))
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
            "ms/timer",
            "sweeper CPU ms/timer",
        ],
        rows=[
            [
                db_kind(url),
                str(timers),
                str(result.handled),
                str(result.failed),
                f"{elapsed:.2f}",
                f"{result.handled / elapsed:,.0f}",
                f"{elapsed * 1000 / max(1, result.handled):.2f}",
                f"{counts['cpu_ms'] / max(1, result.handled):.2f}",
            ]
        ],
        notes=[
            f"claims of {batch} ({result.batches} claims); a tenant's due tickets handled 50 to a "
            f"transaction (one by one if a batch fails), "
            f"{concurrency or ('4' if db == 'postgres' else '1')} transactions at a time, pool {pool}, "
            f"{sweepers} sweeper process{'es' if sweepers > 1 else ''}"
            + (" sweeping at once (as that many workers do), CPU summed over them" if sweepers > 1 else ""),
            f"written: {counts['warnings']} sla.warning events, "
            f"{counts['notifications']} notification outbox rows",
            "reactors as in the worker (automation, routing, SLA); set-up rows written in bulk, not timed",
            f"machine load before the sweep: {busy:.1f} busy cores (2 cores shared with other work)",
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
