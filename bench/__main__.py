"""``python -m bench``: run the benchmarks and append the results to docs/benchmarks.md.

python -m bench create --db postgres --concurrency 1,16,64 --duration 10
python -m bench list --db postgres --sizes 100000,1000000
python -m bench statements --db postgres
python -m bench intake --db postgres --messages 5000
python -m bench sla --calls 10000
python -m bench classify --messages 2000
python -m bench rules --rules 200 --tickets 10000
python -m bench routing --agents 500 --tickets 10000
python -m bench all
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from bench.classify import run_classify
from bench.harness import DB_POOL, DEFAULT_PG_SERVER, REPO_DIR, BenchError, machine_description, require_wrk
from bench.http_create import run_create
from bench.intake import run_intake
from bench.list_detail import run_list
from bench.results import RESULTS_FILE, Report, append_results
from bench.routing import run_routing
from bench.rules import run_rules
from bench.sla import run_sla
from bench.statements import run_statements

CODE_ENV = "HUILIU_BENCH_CODE"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def code_under_test() -> str:
    """Which code the numbers belong to: a commit, or the working tree with its uncommitted changes."""
    if os.environ.get(CODE_ENV):
        return os.environ[CODE_ENV]
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--", "src")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"working tree at {commit}" + (" with uncommitted changes in src/" if dirty else " (clean)")


def run_at_revision(rev: str, argv: list[str]) -> int:
    """Export ``src/`` of ``rev`` to a temporary directory and run this command again with that code
    first on the import path (the server subprocesses inherit it)."""
    commit = _git("rev-parse", "--short", rev)
    with tempfile.TemporaryDirectory(prefix="huiliu-bench-code-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO_DIR), "archive", commit, "src"],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True, timeout=120)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(tmp) / "src"), str(REPO_DIR)])
        env[CODE_ENV] = f"commit {commit} ({rev})"
        return subprocess.run([sys.executable, "-m", "bench", *argv], env=env, check=False).returncode


def _ints(value: str) -> list[int]:
    try:
        numbers = [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from exc
    if not numbers or any(n <= 0 for n in numbers):
        raise argparse.ArgumentTypeError("expected positive integers")
    return numbers


def _dbs(value: str) -> list[str]:
    kinds = [part.strip() for part in value.split(",") if part.strip()]
    for kind in kinds:
        if kind not in {"postgres", "sqlite"}:
            raise argparse.ArgumentTypeError(f"unknown database {kind!r}: use postgres and/or sqlite")
    return kinds


def _pool(value: str) -> tuple[int, int]:
    size, _, overflow = value.partition("+")
    try:
        return int(size), int(overflow or 0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("pool is SIZE+OVERFLOW, e.g. 10+0") from exc


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--pg-server",
        default=DEFAULT_PG_SERVER,
        help="PostgreSQL server on 127.0.0.1 where a temporary database is created and dropped",
    )
    common.add_argument(
        "--pool",
        type=_pool,
        default=DB_POOL,
        metavar="SIZE+OVERFLOW",
        help="the API workers' database pool, each (default %(default)s)",
    )
    common.add_argument(
        "--results", type=Path, default=RESULTS_FILE, help="markdown file to append results to"
    )
    common.add_argument(
        "--no-write", action="store_true", help="print only; do not append to the results file"
    )
    common.add_argument(
        "--rev",
        default=None,
        metavar="GIT_REV",
        help="benchmark the code of this commit (exported with git archive) instead of the "
        "working tree, e.g. HEAD while others edit the tree",
    )
    sub = main.add_subparsers(dest="command", required=True)

    create = sub.add_parser("create", parents=[common], help="POST /api/v1/tickets throughput and latency")
    create.add_argument(
        "--db", type=_dbs, default=["postgres"], help="postgres, sqlite or both (comma-separated)"
    )
    create.add_argument("--concurrency", type=_ints, default=[1, 16, 64])
    create.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    create.add_argument(
        "--warmup", type=float, default=3.0, help="seconds of unmeasured load before each run"
    )
    create.add_argument(
        "--rate",
        type=float,
        default=None,
        help="pace the load: offer at most this many requests/s in total (latency below saturation)",
    )
    create.add_argument(
        "--automation",
        action="store_true",
        help="give the tenant the preset rules, the SLA presets and a default routing policy first",
    )
    create.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample the API workers with py-spy during the highest-concurrency run",
    )

    reads = sub.add_parser("list", parents=[common], help="list and detail latency on a seeded tenant")
    reads.add_argument("--db", type=_dbs, default=["postgres"])
    reads.add_argument("--sizes", type=_ints, default=[100_000, 1_000_000], help="tickets to seed")
    reads.add_argument("--concurrency", type=_ints, default=[1, 16])
    reads.add_argument("--duration", type=float, default=8.0)
    reads.add_argument("--warmup", type=float, default=2.0)
    reads.add_argument(
        "--detail-tickets",
        type=int,
        default=1000,
        help="tickets that get messages and events and are read by the detail benchmark",
    )

    statements = sub.add_parser(
        "statements",
        parents=[common],
        help="SQL statements per request (create, list, detail), counted in-process",
    )
    statements.add_argument("--db", type=_dbs, default=["postgres", "sqlite"])
    statements.add_argument("--requests", type=int, default=20)
    statements.add_argument(
        "--automation", action="store_true", help="tenant with preset rules, SLA policy, routing policy"
    )

    sla = sub.add_parser("sla", parents=[common], help="SLA deadline math per call (pure CPU, no database)")
    sla.add_argument("--calls", type=int, default=10_000)
    sla.add_argument("--seed", type=int, default=7)
    sla.set_defaults(db=[])

    rules = sub.add_parser(
        "rules", parents=[common], help="automation rule evaluation per ticket (pure CPU, no database)"
    )
    rules.add_argument("--rules", type=int, default=200, help="active rules")
    rules.add_argument("--tickets", type=int, default=10_000)
    rules.add_argument("--seed", type=int, default=7)
    rules.set_defaults(db=[])

    routing = sub.add_parser(
        "routing", parents=[common], help="routing decisions per call over 500 agents (pure CPU, no database)"
    )
    routing.add_argument("--agents", type=int, default=500)
    routing.add_argument("--tickets", type=int, default=10_000)
    routing.add_argument("--seed", type=int, default=7)
    routing.add_argument("--only", default=None, help="run the scenarios whose name contains this text")
    routing.set_defaults(db=[])

    classify = sub.add_parser(
        "classify", parents=[common], help="ticket classification + extraction per message (pure CPU)"
    )
    classify.add_argument("--messages", type=int, default=2000)
    classify.set_defaults(db=[])

    intake = sub.add_parser(
        "intake", parents=[common], help="Singles' Day burst through the intake API (batch and single)"
    )
    intake.add_argument("--db", type=_dbs, default=["postgres"])
    intake.add_argument("--messages", type=int, default=5000, help="messages per phase")
    intake.add_argument("--batch-size", type=int, default=1000)
    intake.add_argument("--batch-concurrency", type=int, default=2, help="batch requests in flight")
    intake.add_argument("--concurrency", type=int, default=64, help="single requests in flight")
    intake.add_argument("--duration", type=float, default=10.0, help="seconds of single requests")
    intake.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample the API workers with py-spy during the single-request phase",
    )

    everything = sub.add_parser("all", parents=[common], help="create on both databases, then list/detail")
    everything.add_argument("--duration", type=float, default=10.0)
    everything.add_argument("--pg-sizes", type=_ints, default=[100_000, 1_000_000])
    everything.add_argument("--sqlite-sizes", type=_ints, default=[100_000])
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console()
    if args.rev and not os.environ.get(CODE_ENV):
        return run_at_revision(args.rev, sys.argv[1:] if argv is None else argv)
    dbs = getattr(args, "db", ["postgres", "sqlite"])
    uses_postgres = "postgres" in dbs or args.command == "all"
    reports: list[Report] = []
    try:
        if args.command not in {"statements", "sla", "routing", "rules", "classify"}:
            require_wrk()
        machine = (
            machine_description(args.pg_server if uses_postgres else None) + "; code: " + code_under_test()
        )
        console.print(f"[bold]Machine:[/] {machine}")
        if args.command == "create":
            for db in args.db:
                reports.append(
                    run_create(
                        db,
                        args.concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        pg_server=args.pg_server,
                        py_spy_dir=args.py_spy,
                        pool=args.pool,
                        rate=args.rate,
                        automation=args.automation,
                        console=console,
                    )
                )
        elif args.command == "list":
            for db in args.db:
                reports.extend(
                    run_list(
                        db,
                        args.sizes,
                        concurrencies=args.concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        detail_count=args.detail_tickets,
                        pg_server=args.pg_server,
                        pool=args.pool,
                        console=console,
                    )
                )
        elif args.command == "classify":
            reports.append(run_classify(args.messages, console))
        elif args.command == "sla":
            reports.append(run_sla(args.calls, args.seed, console))
        elif args.command == "rules":
            reports.append(run_rules(args.rules, args.tickets, args.seed, console))
        elif args.command == "routing":
            reports.append(run_routing(args.agents, args.tickets, args.seed, console, args.only))
        elif args.command == "intake":
            for db in args.db:
                reports.append(
                    run_intake(
                        db,
                        messages=args.messages,
                        batch_size=args.batch_size,
                        batch_concurrency=args.batch_concurrency,
                        concurrency=args.concurrency,
                        duration=args.duration,
                        pg_server=args.pg_server,
                        pool=args.pool,
                        console=console,
                        py_spy_dir=args.py_spy,
                    )
                )
        elif args.command == "statements":
            for db in args.db:
                reports.append(
                    run_statements(
                        db, requests=args.requests, pg_server=args.pg_server, automation=args.automation
                    )
                )
        else:
            for db in ("postgres", "sqlite"):
                reports.append(
                    run_create(
                        db,
                        [1, 16, 64],
                        duration=args.duration,
                        pg_server=args.pg_server,
                        pool=args.pool,
                        console=console,
                    )
                )
            for db, sizes in (("postgres", args.pg_sizes), ("sqlite", args.sqlite_sizes)):
                reports.extend(
                    run_list(
                        db,
                        sizes,
                        concurrencies=[1, 16],
                        pg_server=args.pg_server,
                        pool=args.pool,
                        console=console,
                    )
                )
    except BenchError as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        return 2
    for report in reports:
        report.print(console)
    if not args.no_write:
        path = append_results(reports, machine, path=args.results)
        console.print(f"results appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
