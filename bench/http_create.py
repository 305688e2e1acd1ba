"""Ticket creation through HTTP: ``POST /api/v1/tickets`` with a title, a description and a new
customer's phone number, bearer token, at several concurrencies, against 2 uvicorn workers."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from bench import profile
from bench.harness import (
    DB_POOL,
    LUA_DIR,
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
    console: Console | None = None,
) -> Report:
    """Start a server on a fresh database, then for each concurrency: warm up, measure, record.

    With ``rate``, the load is paced: each connection pauses ``concurrency / rate`` seconds (jittered)
    before each request, so at most ``rate`` requests per second are offered however fast the server
    answers; latency is then measured below saturation, as a service sees it at that load."""
    console = console or Console()
    paced = f", paced at ≤ {rate:,.0f} req/s offered" if rate else ""
    report = Report(
        title=f"create — POST /api/v1/tickets, {db}, 2 API workers, DB pool {pool[0]}+{pool[1]} per worker"
        + paced,
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


def count_tickets(url: str) -> int:
    driver = "postgresql+psycopg" if db_kind(url) == "postgres" else "sqlite"
    engine = create_engine(make_url(url).set(drivername=driver))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Ticket)).scalar_one())
    finally:
        engine.dispose()
