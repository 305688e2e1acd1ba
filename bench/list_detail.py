"""The agent's reads at scale: the ticket list (``GET /api/v1/tickets?status=open&limit=25``, newest
first: first page, a deep page reached through ``next_cursor``, the multi-status ``new,open`` filter,
and an agent whose role sees only their team) and the ticket detail (``GET /api/v1/tickets/{id}``),
on one tenant bulk-seeded with N tickets."""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from bench.harness import (
    DB_POOL,
    LUA_DIR,
    BenchError,
    LoadResult,
    Server,
    api_server,
    provision,
    run_wrk,
    server_meter,
    temp_database,
    wait_for_quiet,
)
from bench.results import LOAD_COLUMNS, Report, load_cells
from bench.seed import estimate_open_tickets, seed

GET_SCRIPT = LUA_DIR / "get.lua"
LIST = "/api/v1/tickets"
WALK_PAGE = 200  # the API's largest page, to reach a deep cursor in few requests
MAX_WALK_PAGES = 500


@dataclass
class Scenario:
    name: str
    path: str
    token: str
    paths_file: Path | None = None


def deep_cursor(server: Server, token: str, target_depth: int) -> tuple[str, int]:
    """Follow ``next_cursor`` through open tickets until ``target_depth`` rows are behind us."""
    headers = {"Authorization": f"Bearer {token}"}
    cursor, depth = None, 0
    page_size = WALK_PAGE if target_depth >= 2 * WALK_PAGE else 25
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        for _ in range(MAX_WALK_PAGES):
            params = {"status": "open", "limit": str(page_size)}
            if cursor:
                params["cursor"] = cursor
            response = client.get(LIST, params=params)
            if response.status_code != 200:
                raise BenchError(
                    f"list failed while walking pages: {response.status_code} {response.text[:200]}"
                )
            page = response.json()
            if not page["next_cursor"]:
                break
            cursor, depth = page["next_cursor"], depth + len(page["items"])
            if depth >= target_depth:
                break
    if cursor is None:
        raise BenchError("not enough open tickets for a deep page")
    return cursor, depth


def check(server: Server, scenario: Scenario) -> None:
    """One request by hand before the load: the scenario must answer 200 with a full page."""
    path = scenario.path
    if scenario.paths_file is not None:
        path = scenario.paths_file.read_text().split("\n", 1)[0]
    response = httpx.get(
        server.base_url + path, headers={"Authorization": f"Bearer {scenario.token}"}, timeout=30
    )
    if response.status_code != 200:
        raise BenchError(f"{scenario.name}: {response.status_code} {response.text[:200]}")
    body = response.json()
    if "items" in body and len(body["items"]) == 0:
        raise BenchError(f"{scenario.name}: empty page")


def run_list(
    db: str,
    sizes: list[int],
    *,
    concurrencies: list[int],
    duration: float = 8,
    warmup: float = 2,
    detail_count: int = 1000,
    pg_server: str | None = None,
    pool: tuple[int, int] = DB_POOL,
    settle: float = 90.0,
    console: Console | None = None,
    quiet_seed: bool = False,
) -> tuple[Report, Report]:
    console = console or Console()
    reads = Report(
        title=f"list and detail — {db}, 2 API workers, DB pool {pool[0]}+{pool[1]} per worker",
        columns=["db", "tickets", "scenario", "concurrency", *LOAD_COLUMNS],
    )
    seeding = Report(
        title=f"seeding — {db}",
        columns=[
            "db",
            "tickets",
            "customers",
            "messages",
            "events",
            "seconds (by phase)",
            "total s",
            "database MB",
        ],
    )
    kwargs = {"pg_server": pg_server} if pg_server else {}
    for size in sizes:
        with temp_database(db, **kwargs) as url, tempfile.TemporaryDirectory(prefix="huiliu-bench-") as tmp:
            tenant = provision(url)
            seeded = seed(url, tenant, size, detail_count=detail_count, quiet=quiet_seed)
            phases = ", ".join(f"{name} {secs:.1f}" for name, secs in seeded.seconds.items())
            seeding.rows.append(
                [
                    db,
                    f"{size:,}",
                    f"{seeded.customers:,}",
                    f"{seeded.messages:,}",
                    f"{seeded.events:,}",
                    phases,
                    f"{seeded.total_seconds:.1f}",
                    f"{seeded.database_bytes / 1e6:,.0f}",
                ]
            )
            console.print(f"  seeded {size:,} tickets on {db} in {seeded.total_seconds:.1f}s")
            detail_paths = Path(tmp) / "detail-paths.txt"
            ids = list(seeded.detail_ids)
            random.Random(7).shuffle(ids)
            detail_paths.write_text("".join(f"{LIST}/{ticket_id}\n" for ticket_id in ids))
            with api_server(url, pool=pool) as server:
                admin = server.login(tenant.admin_email)
                agent = server.login(tenant.agent_email)
                cursor, depth = deep_cursor(server, admin, max(25, estimate_open_tickets(size) // 2))
                scenarios = [
                    Scenario("list open, first page", f"{LIST}?status=open&limit=25", admin),
                    Scenario(
                        f"list open, deep page ({depth:,} rows in)",
                        f"{LIST}?status=open&limit=25&cursor={cursor}",
                        admin,
                    ),
                    Scenario("list new+open, first page", f"{LIST}?status=new,open&limit=25", admin),
                    Scenario("list open, agent (team scope)", f"{LIST}?status=open&limit=25", agent),
                    Scenario("detail", f"{LIST}/{ids[0]}", admin, detail_paths),
                ]
                for scenario in scenarios:
                    check(server, scenario)
                for concurrency in concurrencies:
                    for scenario in scenarios:
                        result = measure(server, url, scenario, concurrency, duration, warmup, settle)
                        reads.rows.append(
                            [db, f"{size:,}", scenario.name, str(concurrency), *load_cells(result)]
                        )
                        console.print(
                            f"  {db} {size:,} {scenario.name} c={concurrency}: {result.rps:,.0f} req/s, "
                            f"p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms, "
                            f"p99 {result.p99_ms:.1f} ms, errors {result.errors}"
                        )
    return seeding, reads


def measure(
    server: Server,
    url: str,
    scenario: Scenario,
    concurrency: int,
    duration: float,
    warmup: float,
    settle: float,
) -> LoadResult:
    headers = {"Authorization": f"Bearer {scenario.token}"}
    args = [str(scenario.paths_file)] if scenario.paths_file else None
    target = server.base_url + scenario.path
    if warmup > 0:
        run_wrk(
            target, GET_SCRIPT, connections=concurrency, duration=warmup, headers=headers, script_args=args
        )
    wait_for_quiet(timeout=settle)
    return run_wrk(
        target,
        GET_SCRIPT,
        connections=concurrency,
        duration=duration,
        headers=headers,
        script_args=args,
        meter=server_meter(server, url),
    )
