"""The Singles' Day burst through the intake API: 5,000 customer messages through
``POST /api/v1/intake/messages:batch`` (5 × 1,000), then ``POST /api/v1/intake/messages`` one by one
at concurrency 64 for a fixed time (wrk measures a duration, not a count), against 2 uvicorn workers.
Every message is fully processed: entry point, idempotency check, identity resolution (a new
customer for most), threading (every fifth message is a follow-up of an earlier customer), entity
extraction (an order number in most), order look-up, ticket, message, events and outbox rows. After
each phase the stored messages are counted: every acknowledged message must be in the database.

Goals on PostgreSQL (issue 4): the 5,000 batch messages committed in ≤ 5 s; ≥ 1,000 messages/s with
single requests at concurrency 64."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from bench import profile
from bench.harness import (
    DB_POOL,
    LUA_DIR,
    BenchError,
    LoadResult,
    Server,
    api_server,
    db_kind,
    provision,
    run_wrk,
    server_meter,
    temp_database,
    wait_for_quiet,
)
from bench.results import Report
from huiliu.tickets.models import Message, Ticket

INTAKE_SCRIPT = LUA_DIR / "intake.lua"
PRODUCTS = ("电饭煲", "羽绒服", "扫地机器人", "口红礼盒", "蓝牙耳机", "婴儿推车", "空气炸锅")
COLUMNS = [
    "db",
    "scenario",
    "messages",
    "seconds",
    "msg/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "errors",
    "stored",
    "API cores",
    "DB cores",
    "client cores",
    "other cores",
]


def run_intake(
    db: str,
    *,
    messages: int = 5000,
    batch_size: int = 1000,
    batch_concurrency: int = 2,
    concurrency: int = 64,
    duration: float = 10.0,
    warmup: float = 3.0,
    pg_server: str | None = None,
    pool: tuple[int, int] = DB_POOL,
    settle: float = 90.0,
    console: Console | None = None,
    py_spy_dir: Path | None = None,
) -> Report:
    """Start a server on a fresh database, create an ``api`` entry point, then run the batch phase
    and the single-request phase, each followed by a count of what was stored."""
    console = console or Console()
    report = Report(
        title=f"intake — Singles' Day burst, {db}, 2 API workers, DB pool {pool[0]}+{pool[1]} per worker",
        columns=COLUMNS,
    )
    kwargs = {"pg_server": pg_server} if pg_server else {}
    with temp_database(db, **kwargs) as url:
        tenant = provision(url)
        with api_server(url, pool=pool) as server:
            headers = {"Authorization": f"Bearer {server.login(tenant.admin_email)}"}
            entry_point_id = create_entry_point(server, headers)

            # Warm both workers' caches (statements, connections) with a small batch first.
            asyncio.run(
                send_batches(server, headers, batch_messages("warm", entry_point_id, 200, 100, 9_000_000), 2)
            )
            analyze(url)
            busy = wait_for_quiet(timeout=settle)
            batches = batch_messages("batch", entry_point_id, messages, batch_size, 0)
            meter = server_meter(server, url)
            meter.start()
            batch = asyncio.run(send_batches(server, headers, batches, batch_concurrency))
            used = meter.stop(batch.client_cpu_seconds)
            stored = count_messages(url, "batch-")
            report.rows.append(
                [db, f"batch {len(batches)}×{batch_size}, c={batch_concurrency}", *batch.cells(used, stored)]
            )
            _note_busy(report, "batch", busy)
            console.print(
                f"  intake batch {db}: {batch.messages} messages in {batch.seconds:.2f} s "
                f"({batch.messages / batch.seconds:,.0f}/s), problems {batch.problems}, stored {stored}"
            )
            if stored != batch.acknowledged:
                report.notes.append(f"LOST: {batch.acknowledged} acknowledged, {stored} stored")

            analyze(url)
            endpoint = f"{server.base_url}/api/v1/intake/messages"
            if warmup > 0:
                run_wrk(
                    endpoint,
                    INTAKE_SCRIPT,
                    connections=concurrency,
                    duration=warmup,
                    headers=headers,
                    script_args=["warm1", str(entry_point_id), str(20_000_000)],
                )
            busy = wait_for_quiet(timeout=settle)
            sampler = None
            if py_spy_dir is not None:
                sampler = profile.start_sampling(
                    server.worker_pids(), max(1, round(duration) - 1), py_spy_dir, f"intake-single-{db}"
                )
            single = run_wrk(
                endpoint,
                INTAKE_SCRIPT,
                connections=concurrency,
                duration=duration,
                headers=headers,
                meter=server_meter(server, url),
                script_args=["single", str(entry_point_id), str(30_000_000)],
            )
            stored = count_messages(url, "single-")
            report.rows.append([db, f"single, c={concurrency}", *single_cells(single, stored)])
            _note_busy(report, "single", busy)
            acknowledged = single.requests - single.errors
            console.print(
                f"  intake single {db} c={concurrency}: {single.rps:,.0f} msg/s, p50 {single.p50_ms:.1f} ms, "
                f"p95 {single.p95_ms:.1f} ms, errors {single.errors}, stored {stored}"
            )
            if stored < acknowledged:
                report.notes.append(f"LOST: {acknowledged} acknowledged by wrk, {stored} stored")
            if sampler is not None:
                sampler.wait(timeout=duration + 30)
                summary_path = py_spy_dir / f"intake-single-{db}-summary.txt" if py_spy_dir else None
                if summary_path is not None:
                    summary_path.write_text(profile.summarize(sampler.outputs) + "\n")
                    report.notes.append(f"py-spy profile of the single phase: {summary_path}")
        report.notes.append(
            "the database is ANALYZEd before each phase, as autovacuum does within its first minute "
            "(see analyze)"
        )
        report.notes.append(
            "stored = messages of the phase found in the database afterwards; when wrk stops, up to "
            f"{concurrency} single requests in flight may be stored without being counted as answered"
        )
        report.notes.append(
            f"tickets in the database after the runs (warm-ups included): {count_tickets(url)}"
        )
    return report


def analyze(url: str) -> None:
    """Bring the planner's statistics up to date, as autovacuum does within ``autovacuum_naptime`` (a
    minute) of the first writes. On a fresh benchmark database the tables still carry the statistics
    of when the migrations created their indexes (no rows): the planner then reads the intake
    look-ups by ``tenant_id`` alone and filters the tenant's rows, so PostgreSQL's CPU per message
    grows with every message stored during the run (docs/decisions/0056)."""
    if db_kind(url) != "postgres":
        return
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def _note_busy(report: Report, phase: str, busy: float) -> None:
    if busy > 0.3:
        report.notes.append(f"{phase}: the machine was not idle before the run ({busy:.2f} cores busy)")


def create_entry_point(server: Server, headers: dict[str, str]) -> str:
    response = httpx.post(
        f"{server.base_url}/api/v1/entry-points",
        headers=headers,
        json={"kind": "api", "name": "双十一 ERP 接入", "config": {"default_priority": "high"}},
        timeout=30,
    )
    if response.status_code != 201:
        raise BenchError(f"creating the entry point failed: {response.status_code} {response.text[:300]}")
    return str(response.json()["id"])


def batch_messages(
    tag: str, entry_point_id: str, total: int, batch_size: int, phone_offset: int
) -> list[list[dict[str, Any]]]:
    """``total`` messages in batches; in each batch every fifth message follows up an earlier
    customer of the same batch (it threads onto the ticket that customer's first message opened)."""
    batches: list[list[dict[str, Any]]] = []
    for start in range(0, total, batch_size):
        batch = []
        for n in range(start, min(start + batch_size, total)):
            order = 236500000000000000 + phone_offset + n
            customer = n
            product = PRODUCTS[n % len(PRODUCTS)]
            text = f"双十一买的{product}，订单号 {order:018d} 到现在还没发货，麻烦帮忙查一下物流"
            if n % 5 == 4 and n - 3 >= start:
                customer, text = n - 3, "补充一下：收件地址是杭州市西湖区文三路 90 号，电话同上，谢谢"
            batch.append(
                {
                    "entry_point_id": entry_point_id,
                    "external_id": f"{tag}-{n}",
                    "sender": {
                        "name": f"顾客{customer}",
                        "identities": [
                            {"kind": "phone", "value": f"137{(phone_offset + customer) % 10**8:08d}"}
                        ],
                    },
                    "text": text,
                }
            )
        batches.append(batch)
    return batches


@dataclass
class BatchRun:
    messages: int
    seconds: float
    latencies_ms: list[float]
    acknowledged: int
    problems: int
    client_cpu_seconds: float
    outcomes: Counter[str] = field(default_factory=Counter)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0

    def cells(self, used: dict[str, float], stored: int) -> list[str]:
        def cores(group: str) -> str:
            return f"{used[group] / self.seconds:.2f}" if group in used and self.seconds else "–"

        return [
            str(self.messages),
            f"{self.seconds:.2f}",
            f"{self.messages / self.seconds:,.0f}" if self.seconds else "–",
            f"{self.percentile(50):.0f}",
            f"{self.percentile(95):.0f}",
            f"{self.percentile(99):.0f}",
            f"{max(self.latencies_ms, default=0):.0f}",
            str(self.problems),
            str(stored),
            cores("api"),
            cores("db"),
            f"{self.client_cpu_seconds / self.seconds:.2f}" if self.seconds else "–",
            cores("other"),
        ]


async def send_batches(
    server: Server, headers: dict[str, str], batches: list[list[dict[str, Any]]], concurrency: int
) -> BatchRun:
    """POST the batches, ``concurrency`` at a time; every message must be answered 201 or 200."""
    semaphore = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    problems = 0
    cpu_before = time.process_time()

    async def send(client: httpx.AsyncClient, batch: list[dict[str, Any]]) -> None:
        nonlocal problems
        async with semaphore:
            started = time.perf_counter()
            response = await client.post(
                "/api/v1/intake/messages:batch", headers=headers, json={"messages": batch}
            )
            latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchError(f"batch answered {response.status_code}: {response.text[:300]}")
        for result in response.json()["results"]:
            if result["status"] in (200, 201):
                outcomes[result["outcome"]] += 1
            else:
                problems += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(send(client, batch) for batch in batches))
        seconds = time.perf_counter() - started
    total = sum(len(batch) for batch in batches)
    return BatchRun(
        messages=total,
        seconds=seconds,
        latencies_ms=latencies,
        acknowledged=total - problems,
        problems=problems,
        client_cpu_seconds=time.process_time() - cpu_before,
        outcomes=outcomes,
    )


def single_cells(result: LoadResult, stored: int) -> list[str]:
    errors = str(result.errors)
    if result.error_detail:
        errors += " (" + ", ".join(f"{k} {v}" for k, v in sorted(result.error_detail.items())) + ")"
    db = f"{result.cores('db'):.2f}" if "db" in result.cpu_seconds else "–"
    return [
        str(result.requests),
        f"{result.seconds:.2f}",
        f"{result.rps:,.0f}",
        f"{result.p50_ms:.1f}",
        f"{result.p95_ms:.1f}",
        f"{result.p99_ms:.1f}",
        f"{result.max_ms:.1f}",
        errors,
        str(stored),
        f"{result.cores('api'):.2f}",
        db,
        f"{result.cores('client'):.2f}",
        f"{result.cores('other'):.2f}",
    ]


def _engine(url: str) -> Any:
    driver = "postgresql+psycopg" if db_kind(url) == "postgres" else "sqlite"
    return create_engine(make_url(url).set(drivername=driver))


def count_messages(url: str, prefix: str) -> int:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(Message).where(Message.external_id.like(prefix + "%"))
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def count_tickets(url: str) -> int:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Ticket)).scalar_one())
    finally:
        engine.dispose()
