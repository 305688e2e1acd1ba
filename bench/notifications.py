"""Notifications through the outbox: N ``notification`` rows (as rules write them) committed at a
steady rate, each to one agent on two channels (in-app and a WeCom group robot), delivered by a real
worker process (``python -m huiliu worker``) to a local fake robot that records when each message
arrives. Reports throughput and end-to-end latency percentiles per channel: from the bench process
having committed the notification row to the provider having received it (the robot fake) or the
inbox row being stored (in-app). Issue 8's goal: p95 ≤ 1 s when not digested.

    python -m bench.notifications --db sqlite --notifications 10000 --rate 200
    python -m bench.notifications --db postgres --notifications 10000 --rate 200 --append
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.harness import (
    BENCH_SECRET,
    DEFAULT_PG_SERVER,
    db_kind,
    machine_description,
    provision,
    scratch_settings,
    temp_database,
    wait_for_quiet,
)
from bench.results import Report, append_results

ROBOT_KEY = "bench-robot-key"
MARK = re.compile(r"bench:([0-9a-f-]{36})")


class FakeRobot:
    """A WeCom group robot endpoint that answers ``errcode 0`` and notes each message's arrival."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.lock = threading.Lock()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as the platforms' HTTPS endpoints do: the worker's client reuses connections.
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                match = MARK.search(body.decode("utf-8", "replace"))
                if match and f"key={ROBOT_KEY}" in self.path:
                    with robot.lock:
                        robot.received.setdefault(match.group(1), arrived)
                data = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def _configure(url: str, tenant: Any, base_url: str) -> None:
    from huiliu.auth import service as auth
    from huiliu.notifications import service
    from huiliu.notifications.schemas import ChannelCreate
    from huiliu.runtime import Runtime

    with scratch_settings(url, redis_url=None) as settings:
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            admin = await auth.actor_for_user(runtime.db, tenant.admin_id, tenant.id, auth.ActorCache(ttl=0))
            request = ChannelCreate(
                name="压测群机器人", kind="wecom", config={"base_url": base_url}, secrets={"key": ROBOT_KEY}
            )
            async with runtime.db.uow(tenant.id) as uow:
                await service.create_channel(uow, admin, request)
        finally:
            await runtime.stop()


def _produce(url: str, tenant: Any, count: int, rate: float) -> dict[str, float]:
    """Commit ``count`` notification rows at ``rate`` per second (batches every 50 ms); returns each
    notification id's commit time (epoch seconds, taken right after its commit)."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from huiliu.core.ids import new_id
    from huiliu.core.outbox import STATE_PENDING, OutboxRow
    from huiliu.db.engine import make_sync_engine

    engine = make_sync_engine(url)
    committed: dict[str, float] = {}
    tick = 0.05
    per_tick = max(1, round(rate * tick))
    started = time.perf_counter()
    made = 0
    try:
        while made < count:
            batch = min(per_tick, count - made)
            now = datetime.now(UTC)
            rows = []
            for index in range(batch):
                notification_id = new_id()
                agent = tenant.agent_ids[(made + index) % len(tenant.agent_ids)]
                rows.append(
                    {
                        "id": notification_id,
                        "tenant_id": tenant.id,
                        "kind": "notification",
                        "event_id": notification_id,
                        "event_type": "ticket.notified",
                        "payload": {
                            "id": str(notification_id),
                            "ticket": {
                                "id": str(uuid.uuid4()),
                                "number": made + index + 1,
                                "title": "压测工单",
                            },
                            "recipients": [str(agent)],
                            "channels": ["in_app", "wecom"],
                            "severity": "warning",
                            "message": f"工单即将超时 bench:{notification_id}",
                            "origin": {"kind": "rule", "id": "bench", "name": "压测规则"},
                        },
                        "state": STATE_PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
            with Session(engine) as session, session.begin():
                session.execute(insert(OutboxRow), rows)
            done = time.time()
            for row in rows:
                committed[str(row["id"])] = done
            made += batch
            pause = started + made / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    finally:
        engine.dispose()
    return committed


def _inbox_times(url: str) -> dict[str, float]:
    """Notification id → when its in-app inbox row was stored (epoch seconds)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from huiliu.db.engine import make_sync_engine
    from huiliu.notifications.models import InboxItem

    engine = make_sync_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(select(InboxItem.notification_id, InboxItem.created_at)).all()
        return {str(notification_id): created.timestamp() for notification_id, created in rows}
    finally:
        engine.dispose()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a live process has used so far, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_notifications(
    *,
    db: str = "sqlite",
    notifications: int = 10_000,
    rate: float = 200.0,
    threads: int = 4,
    timeout: float = 600.0,
    pg_server: str = DEFAULT_PG_SERVER,
    console: Console | None = None,
) -> Report:
    console = console or Console()
    robot = FakeRobot()
    try:
        with temp_database(db, pg_server) as url, tempfile.TemporaryDirectory(prefix="huiliu-bench-") as tmp:
            tenant = provision(url, teams=1, agents_per_team=8)
            asyncio.run(_configure(url, tenant, robot.base_url))
            busy = wait_for_quiet(max_busy_cores=0.5, timeout=120)
            env = {
                **os.environ,
                "HUILIU_DATABASE_URL": url,
                "HUILIU_SECRET_KEY": BENCH_SECRET,
                "HUILIU_HUEY_SQLITE_PATH": str(Path(tmp) / "huey.db"),
                "HUILIU_WORKER_THREADS": str(threads),
                "HUILIU_OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",  # the fake robot listens on 127.0.0.1
                "HUILIU_OUTBOX_POLL_SECONDS": "0.05",
                # The fake robot has no rate limit (a real WeCom robot takes 20 a minute): let the
                # worker keep 16 sends in flight to it instead of the default 4 per provider.
                "HUILIU_NOTIFICATION_PROVIDER_CONCURRENCY": "16",
                "HUILIU_LOG_LEVEL": "warning",
            }
            env.pop("HUILIU_REDIS_URL", None)
            worker_cpu = float("nan")
            worker = subprocess.Popen([sys.executable, "-m", "huiliu", "worker"], env=env, cwd=tmp)
            try:
                console.print(f"committing {notifications} notifications at {rate:.0f}/s on {db_kind(url)} …")
                began = time.time()
                committed = _produce(url, tenant, notifications, rate)
                deadline = time.time() + timeout
                while len(robot.received) < notifications and time.time() < deadline:
                    time.sleep(0.2)
                inbox = _inbox_times(url)
                while len(inbox) < notifications and time.time() < deadline:
                    time.sleep(0.5)
                    inbox = _inbox_times(url)
                finished = max([*robot.received.values(), *inbox.values(), began])
                worker_cpu = _cpu_seconds(worker.pid)
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
    finally:
        robot.stop()
    rows = []
    for channel, arrivals in (("in_app", inbox), ("wecom", robot.received)):
        latencies = [(arrivals[key] - committed[key]) * 1000 for key in committed if key in arrivals]
        rows.append(
            [
                db,
                channel,
                str(notifications),
                str(len(latencies)),
                f"{len(latencies) / max(finished - began, 1e-9):,.0f}",
                f"{_percentile(latencies, 0.50):.0f}",
                f"{_percentile(latencies, 0.95):.0f}",
                f"{_percentile(latencies, 0.99):.0f}",
                f"{max(latencies, default=float('nan')):.0f}",
            ]
        )
    return Report(
        title=f"Notifications through the outbox: {notifications} at {rate:.0f}/s, in-app + WeCom robot each",
        columns=[
            "db",
            "channel",
            "notifications",
            "delivered",
            "per s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
        ],
        rows=rows,
        notes=[
            f"one worker process, {threads} threads, 16 sends in flight per provider; "
            "fan-out + 2 deliveries per notification "
            f"({3 * notifications} outbox tasks); {finished - began:.1f} s from the first commit "
            "to the last arrival",
            "latency: bench process committed the notification row → robot fake received / inbox row stored",
            f"machine load before the run: {busy:.1f} busy cores (2 cores shared with other work)",
            f"worker CPU: {worker_cpu:.1f} s in all, {1000 * worker_cpu / max(notifications, 1):.1f} ms per "
            "notification (fan-out + 2 deliveries) — what a quiet machine would need, whatever the load",
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notifications", description=__doc__)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="sqlite")
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--pg-server", default=DEFAULT_PG_SERVER)
    parser.add_argument("--append", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args(argv)
    console = Console()
    report = run_notifications(
        db=args.db,
        notifications=args.notifications,
        rate=args.rate,
        threads=args.threads,
        timeout=args.timeout,
        pg_server=args.pg_server,
        console=console,
    )
    report.print(console)
    if args.append:
        path = append_results(
            [report],
            machine_description(),
            command="python -m bench.notifications " + " ".join(argv or sys.argv[1:]),
        )
        console.print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
