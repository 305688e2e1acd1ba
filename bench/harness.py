"""What every benchmark shares: a throw-away database, the API server subprocess, a provisioned
tenant, the ``wrk`` load generator and the machine description printed with the numbers.

Everything here talks to 127.0.0.1 only, and every wait is bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from huiliu.db.migrate import upgrade
from huiliu.settings import Settings

if TYPE_CHECKING:
    from huiliu.runtime import Runtime

BENCH_DIR = Path(__file__).resolve().parent
LUA_DIR = BENCH_DIR / "lua"
REPO_DIR = BENCH_DIR.parent
DEFAULT_PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_SECRET = "huiliu-bench-secret-key-0123456789abcdef"
ADMIN_PASSWORD = "bench-password-42"
API_WORKERS = 2
DB_POOL = (10, 0)
SERVER_START_TIMEOUT = 60.0
WRK_INSTALL_HINT = "wrk is not installed: apt-get update && apt-get install -y wrk"


class BenchError(RuntimeError):
    """The benchmark could not run (missing tool, server did not start, bad response)."""


# --- databases ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def temp_database(kind: str, pg_server: str = DEFAULT_PG_SERVER) -> Iterator[str]:
    """A fresh, migrated database for one benchmark, removed afterwards.

    PostgreSQL: ``huiliu_bench_<random>`` on ``pg_server``, dropped WITH (FORCE) at the end.
    SQLite: a file in a temporary directory."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="huiliu-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    if kind != "postgres":
        raise BenchError(f"unknown database kind {kind!r}: use postgres or sqlite")
    base = make_url(pg_server).set(drivername="postgresql+psycopg")
    if base.host not in {"127.0.0.1", "localhost", "::1"}:
        raise BenchError("benchmarks only talk to a PostgreSQL server on this machine (127.0.0.1)")
    name = f"huiliu_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
        try:
            upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def db_kind(url: str) -> str:
    return "sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgres"


# --- tenant -------------------------------------------------------------------------------------------


@dataclass
class Tenant:
    """The benchmark's tenant: an admin (scope all), teams and agents (scope team) to spread tickets over."""

    id: uuid.UUID
    admin_email: str
    admin_id: uuid.UUID
    team_ids: list[uuid.UUID]
    agent_ids: list[uuid.UUID]
    agent_email: str
    agent_team_id: uuid.UUID


def provision(url: str, *, teams: int = 4, agents_per_team: int = 3) -> Tenant:
    """Create the tenant, its teams, an admin and agents through the services, as production does."""
    return asyncio.run(_provision(url, teams, agents_per_team))


async def _provision(url: str, teams: int, agents_per_team: int) -> Tenant:
    from huiliu.runtime import Runtime

    with scratch_settings(url, redis_url=None, db_pool_size=2, db_max_overflow=2) as settings:
        runtime = Runtime.build(settings)
        try:
            return await _provision_tenant(runtime, teams, agents_per_team)
        finally:
            await runtime.stop()


async def _provision_tenant(runtime: Runtime, teams: int, agents_per_team: int) -> Tenant:
    from huiliu.auth import service as auth
    from huiliu.tenancy.service import provision_tenant

    suffix = uuid.uuid4().hex[:8]
    tenant = await provision_tenant(runtime.db, f"bench-{suffix}", "压测企业")
    team_ids, agent_ids, first_agent_email = [], [], ""
    async with runtime.db.uow(tenant.id) as uow:
        admin_role = await auth.role_by_name(uow, "admin")
        agent_role = await auth.role_by_name(uow, "agent")
        admin = await auth.create_user(
            uow,
            email=f"admin-{suffix}@bench.example.com",
            name="压测管理员",
            password=ADMIN_PASSWORD,
            role_id=admin_role.id,
        )
        for t in range(teams):
            team = await auth.create_team(uow, f"售后{t + 1}组")
            team_ids.append(team.id)
            for a in range(agents_per_team):
                email = f"agent-{t}-{a}-{suffix}@bench.example.com"
                user = await auth.create_user(
                    uow,
                    email=email,
                    name=f"客服{t + 1}-{a + 1}",
                    password=ADMIN_PASSWORD,
                    role_id=agent_role.id,
                    team_id=team.id,
                )
                agent_ids.append(user.id)
                first_agent_email = first_agent_email or email
        await uow.commit()
    return Tenant(
        id=tenant.id,
        admin_email=admin.email,
        admin_id=admin.id,
        team_ids=team_ids,
        agent_ids=agent_ids,
        agent_email=first_agent_email,
        agent_team_id=team_ids[0],
    )


# --- Huiliu in this process ----------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_settings(url: str, **overrides: Any) -> Iterator[Settings]:
    """Settings for a benchmark that runs Huiliu in its own process (``Runtime.build``, ``create_app``):
    the files directory and the SQLite Huey queue in a temporary directory removed afterwards, where
    the defaults (``./var``) would write into the working directory."""
    with tempfile.TemporaryDirectory(prefix="huiliu-bench-var-") as tmp:
        yield Settings(
            database_url=url,
            secret_key=BENCH_SECRET,
            files_dir=Path(tmp) / "files",
            huey_sqlite_path=Path(tmp) / "huey.db",
            _env_file=None,
            **overrides,
        )


# --- the API server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the server process we started)."""
        return children_of(self.process.pid)

    def login(self, email: str, password: str = ADMIN_PASSWORD) -> str:
        response = httpx.post(
            f"{self.base_url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30
        )
        if response.status_code != 200:
            raise BenchError(f"login failed: {response.status_code} {response.text[:200]}")
        return str(response.json()["access_token"])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (after the parenthesised command, which may contain spaces) is the parent pid.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def api_server(url: str, workers: int = API_WORKERS, pool: tuple[int, int] = DB_POOL) -> Iterator[Server]:
    """``huiliu serve --workers N`` (uvicorn, the app factory) on a free port, stopped afterwards.

    ``pool`` is each worker's (pool size, overflow): PostgreSQL here allows 100 connections for
    everyone, so N workers x the default 20+20 can run out under load (see docs/benchmarks.md)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="huiliu-bench-srv-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUILIU_")}
        env.update(
            HUILIU_DATABASE_URL=url,
            HUILIU_SECRET_KEY=BENCH_SECRET,
            HUILIU_LOG_LEVEL="warning",
            HUILIU_FILES_DIR=str(Path(tmp) / "files"),
            HUILIU_HUEY_SQLITE_PATH=str(Path(tmp) / "huey.db"),
            HUILIU_DB_POOL_SIZE=str(pool[0]),
            HUILIU_DB_MAX_OVERFLOW=str(pool[1]),
        )
        # Settings a run varies on purpose: BENCH_SERVER_HUILIU_X=v becomes HUILIU_X=v for the server.
        prefix = "BENCH_SERVER_"
        env.update({k.removeprefix(prefix): v for k, v in os.environ.items() if k.startswith(prefix)})
        log_path = Path(tmp) / "server.log"
        # The server as production runs it (``huiliu serve``: uvicorn with Huiliu's HTTP protocol);
        # HUILIU_LOG_LEVEL=warning keeps the access log quiet.
        command = [
            sys.executable,
            "-m",
            "huiliu",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        with log_path.open("wb") as log:
            # Its own session, so stopping it signals exactly this server and its workers.
            process = subprocess.Popen(
                command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = Server(f"http://127.0.0.1:{port}", process, log_path)
        try:
            _wait_ready(server, workers)
            yield server
        finally:
            _stop(process)


def _wait_ready(server: Server, workers: int) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    ready = 0
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"API server exited: {server.log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.base_url}/api/v1/health", timeout=2).status_code == 200:
                ready += 1
                # Both workers import the app; a few answers in a row means the port is being served.
                if ready >= 3 * workers and len(server.worker_pids()) >= workers:
                    return
        except httpx.HTTPError:
            ready = 0
        time.sleep(0.2)
    raise BenchError(
        f"API server did not start in {SERVER_START_TIMEOUT:.0f}s: {server.log_path.read_text()[-2000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


# --- wrk ----------------------------------------------------------------------------------------------


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(WRK_INSTALL_HINT)
    return path


@dataclass
class LoadResult:
    """One wrk run: counts, throughput, latency percentiles (ms) and the CPU each side used."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_seconds: float
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    error_detail: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def cores(self, group: str) -> float:
        """Average number of cores a process group (``api``, ``db``, ``client``) kept busy."""
        used = self.client_cpu_seconds if group == "client" else self.cpu_seconds.get(group, 0.0)
        return used / self.seconds if self.seconds else 0.0


class CpuMeter:
    """CPU seconds used by groups of processes between ``start`` and ``stop`` (from /proc)."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self._before: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        self._machine_before = machine_busy_seconds()
        self._before = {name: {pid: cpu_seconds(pid) for pid in pids()} for name, pids in self.groups.items()}

    def stop(self, client_seconds: float = 0.0) -> dict[str, float]:
        """CPU seconds per group, plus ``other``: what the rest of the machine used meanwhile (other
        people's work on a shared machine shows up here and makes the numbers less trustworthy)."""
        used = {}
        for name, pids in self.groups.items():
            before = self._before.get(name, {})
            used[name] = sum(max(0.0, cpu_seconds(pid) - before.get(pid, 0.0)) for pid in pids())
        machine = machine_busy_seconds() - self._machine_before
        used["other"] = max(0.0, machine - sum(used.values()) - client_seconds)
        return used


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (not idle, not waiting for I/O) since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_busy_cores: float = 0.3, timeout: float = 90.0) -> float:
    """Wait (at most ``timeout`` seconds) until the machine is nearly idle before measuring; return the
    busy cores seen in the last one-second sample. Other work on the machine skews every number.
    ``timeout`` 0 skips the wait (smoke tests)."""
    if timeout <= 0:
        return 0.0
    deadline = time.monotonic() + timeout
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = machine_busy_seconds() - before
        if busy <= max_busy_cores or time.monotonic() >= deadline:
            return busy


def postgres_backends(database: str) -> list[int]:
    """Server processes of PostgreSQL serving ``database`` (their titles name it)."""
    found = []
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and marker in title:
            found.append(int(entry.name))
    return found


def server_meter(server: Server, url: str) -> CpuMeter:
    groups: dict[str, Callable[[], list[int]]] = {"api": server.worker_pids}
    if db_kind(url) == "postgres":
        database = make_url(url).database or ""
        groups["db"] = lambda: postgres_backends(database)
    return CpuMeter(groups)


def run_wrk(
    url: str,
    script: Path,
    *,
    connections: int,
    duration: float,
    headers: dict[str, str],
    script_args: list[str] | None = None,
    meter: CpuMeter | None = None,
) -> LoadResult:
    """Run wrk with one thread (the machine has 2 cores; the server needs them) and parse the JSON line
    the Lua script's ``done()`` prints."""
    wrk = require_wrk()
    seconds = max(1, round(duration))
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    if meter:
        meter.start()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, usage = _wait4(process, timeout=seconds + 60)
        except TimeoutError:
            process.kill()
            process.wait(timeout=5)
            raise BenchError("wrk did not finish in time") from None
        out.seek(0)
        output = out.read().decode(errors="replace")
    client_seconds = usage.ru_utime + usage.ru_stime
    used = meter.stop(client_seconds) if meter else {}
    if status != 0:
        raise BenchError(f"wrk failed ({status}): {output[-1500:]}")
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise BenchError(f"wrk printed no result line: {output[-1500:]}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    detail = {k: int(v) for k, v in data["errors"].items() if int(v)}
    return LoadResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        errors=sum(detail.values()),
        p50_ms=data["p50"] / 1000,
        p95_ms=data["p95"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000,
        client_cpu_seconds=client_seconds,
        cpu_seconds=used,
        error_detail=detail,
    )


def _wait4(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, int, Any]:
    """Wait for a child and return its resource usage (the client's own CPU cost)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return pid, process.returncode, usage
        time.sleep(0.05)
    raise TimeoutError


# --- the machine --------------------------------------------------------------------------------------


def machine_description(pg_server: str | None = None) -> str:
    """nproc, CPU model, memory, load, Python, SQLite and PostgreSQL versions, in one line."""
    import sqlite3

    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    parts = [
        f"nproc={os.cpu_count()} ({cpu}{memory})",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    if pg_server:
        parts.append(f"PostgreSQL {postgres_version(pg_server)}")
    load = os.getloadavg()
    parts.append(f"load avg at start {load[0]:.2f}")
    return "; ".join(parts)


def postgres_version(pg_server: str) -> str:
    engine = create_engine(make_url(pg_server).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one()).split()[0]
    except Exception as exc:  # the version is decoration; a failed look-up must not stop the run
        return f"unavailable ({type(exc).__name__})"
    finally:
        engine.dispose()
