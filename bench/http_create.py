"""Ticket creation through HTTP: ``POST /api/v1/tickets`` with a title, a description and a new
customer's phone number, bearer token, at several concurrencies, against 2 uvicorn workers."""

from __future__ import annotations

from pathlib import Path

import httpx
from rich.console import Console
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from bench import profile
from bench.harness import (
    DB_POOL,
    LUA_DIR,
    BenchError,
    api_server,
    db_kind,
    provision,
    run_wrk,
    server_meter,
    temp_database,
    wait_for_quiet,
)
from bench.results import LOAD_COLUMNS, Report, load_cells
from huiliu.tickets.models import Ticket

CREATE_SCRIPT = LUA_DIR / "create.lua"
PHONES_PER_RUN = 1_000_000  # each wrk run numbers its customers' phones from its own million


def run_create(
    db: str,
    concurrencies: list[int],
    *,
    duration: float = 10,
    warmup: float = 3,
    pg_server: str | None = None,
    py_spy_dir: Path | None = None,
    pool: tuple[int, int] = DB_POOL,
    settle: float = 90.0,
    rate: float | None = None,
    automation: bool = False,
    console: Console | None = None,
) -> Report:
    """Start a server on a fresh database, then for each concurrency: warm up, measure, record.

    With ``rate``, the load is paced: each connection pauses ``concurrency / rate`` seconds (jittered)
    before each request, so at most ``rate`` requests per second are offered however fast the server
    answers; latency is then measured below saturation, as a service sees it at that load."""
    console = console or Console()
    paced = f", paced at ≤ {rate:,.0f} req/s offered" if rate else ""
    automated = ", tenant with preset rules, SLA policy and default routing policy" if automation else ""
    report = Report(
        title=f"create — POST /api/v1/tickets, {db}, 2 API workers, DB pool {pool[0]}+{pool[1]} per worker"
        + paced
        + automated,
        columns=["db", "concurrency", *LOAD_COLUMNS],
    )

    def pause(concurrency: int) -> str:
        return f"{concurrency / rate * 1000:.1f}" if rate else "0"

    kwargs = {"pg_server": pg_server} if pg_server else {}
    with temp_database(db, **kwargs) as url:
        tenant = provision(url)
        with api_server(url, pool=pool) as server:
            token = server.login(tenant.admin_email)
            headers = {"Authorization": f"Bearer {token}"}
            endpoint = f"{server.base_url}/api/v1/tickets"
            if automation:
                install_automation(server.base_url, headers)
            for run_index, concurrency in enumerate(concurrencies, start=1):
                if warmup > 0:
                    run_wrk(
                        endpoint,
                        CREATE_SCRIPT,
                        connections=concurrency,
                        duration=warmup,
                        headers=headers,
                        script_args=[
                            f"w{run_index}",
                            str(run_index * 2 * PHONES_PER_RUN),
                            pause(concurrency),
                        ],
                    )
                busy = wait_for_quiet(timeout=settle)
                sampler = None
                if py_spy_dir is not None and concurrency == max(concurrencies):
                    sampler = profile.start_sampling(
                        server.worker_pids(),
                        max(1, round(duration) - 1),
                        py_spy_dir,
                        f"create-{db}-c{concurrency}",
                    )
                result = run_wrk(
                    endpoint,
                    CREATE_SCRIPT,
                    connections=concurrency,
                    duration=duration,
                    headers=headers,
                    meter=server_meter(server, url),
                    script_args=[
                        f"m{run_index}",
                        str((run_index * 2 + 1) * PHONES_PER_RUN),
                        pause(concurrency),
                    ],
                )
                report.rows.append([db, str(concurrency), *load_cells(result)])
                if busy > 0.3:
                    report.notes.append(
                        f"c={concurrency}: the machine was not idle before the run "
                        f"({busy:.2f} cores busy with other work)"
                    )
                console.print(
                    f"  create {db} c={concurrency}: {result.rps:,.0f} req/s, "
                    f"p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                    f"errors {result.errors}"
                )
                if sampler is not None:
                    sampler.wait(timeout=duration + 30)
                    summary = profile.summarize(sampler.outputs)
                    (py_spy_dir / f"create-{db}-c{concurrency}-summary.txt").write_text(summary + "\n")
                    report.notes.append(
                        f"py-spy profile of the c={concurrency} run: "
                        f"{py_spy_dir / f'create-{db}-c{concurrency}-summary.txt'}"
                    )
        report.notes.append(
            f"tickets in the database after the runs (warm-ups included): {count_tickets(url)}"
        )
    return report


# What a tenant that uses automation has: the three preset rules (triggers and a time rule), the
# standard SLA calendar and policy, and a default routing policy. The bench tenant's admin is its
# only agent, so routing assigns every ticket to them (least loaded of one).
AUTOMATION_SETUP: list[tuple[str, dict[str, object] | None]] = [
    ("/api/v1/rules/presets", None),
    ("/api/v1/sla/presets", None),
    (
        "/api/v1/routing/policies",
        {
            "name": "bench",
            "definition": {"strategy": "least_loaded", "final": "team_queue"},
            "is_default": True,
        },
    ),
]


def install_automation(base_url: str, headers: dict[str, str]) -> None:
    for path, body in AUTOMATION_SETUP:
        response = httpx.post(f"{base_url}{path}", headers=headers, json=body, timeout=30)
        if response.status_code >= 300:
            raise BenchError(f"POST {path} failed: {response.status_code} {response.text[:300]}")


def count_tickets(url: str) -> int:
    driver = "postgresql+psycopg" if db_kind(url) == "postgres" else "sqlite"
    engine = create_engine(make_url(url).set(drivername=driver))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Ticket)).scalar_one())
    finally:
        engine.dispose()
