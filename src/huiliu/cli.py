"""The ``huiliu`` command: serve, worker, migrate, demo, createadmin, import, eval, train, bench, run
(what ``make run`` uses)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.engine import make_url

from huiliu.analytics import rollups as analytics_rollups
from huiliu.analytics import tasks as analytics_tasks
from huiliu.intelligence import commands as intelligence_commands
from huiliu.settings import Settings, get_settings

if TYPE_CHECKING:
    from rich.progress import TaskID

    from huiliu.db.session import Database
    from huiliu.demo import SeedReport

app = typer.Typer(
    name="huiliu",
    help="汇流 Huiliu — one ticket pool for every channel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()

DemoTickets = Annotated[
    int, typer.Option("--tickets", envvar="HUILIU_DEMO_TICKETS", min=0, help="How many demo tickets to seed.")
]
DemoCustomers = Annotated[
    int,
    typer.Option(
        "--customers", envvar="HUILIU_DEMO_CUSTOMERS", min=1, help="How many demo customers to seed."
    ),
]
DEFAULT_DEMO_TICKETS = 3000
DEFAULT_DEMO_CUSTOMERS = 500
STOP_GRACE_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 60.0


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]✗[/] {message}")
    return typer.Exit(code)


# --- serve / worker ----------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default HUILIU_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default HUILIU_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="API processes (default HUILIU_API_WORKERS).")] = None,
) -> None:
    """Run the API (uvicorn) with the app factory ``huiliu.app:create_app``."""
    import uvicorn

    from huiliu.http_protocol import HttpProtocol

    settings = get_settings()
    processes = workers or settings.api_workers
    if processes > 1 and not settings.redis_url:
        console.print(
            "[yellow]![/] HUILIU_API_WORKERS > 1 without HUILIU_REDIS_URL: live updates published "
            "in one API process will not reach consoles connected to another."
        )
    uvicorn.run(
        "huiliu.app:create_app",
        factory=True,
        http=HttpProtocol,  # one send per response (decision 0060)
        host=host or settings.host,
        port=port or settings.port,
        workers=processes,
        log_level=settings.log_level,
        proxy_headers=True,
        # Live-update streams stay open; clients reconnect with Last-Event-ID, so do not wait on them.
        timeout_graceful_shutdown=5,
    )


@app.command()
def worker() -> None:
    """Run the background worker: outbox delivery with retries (webhooks)."""
    try:
        from huiliu.worker.runner import run_worker
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("huiliu.worker"):
            raise _fail("this installation has no worker module (huiliu.worker.runner)") from exc
        raise
    run_worker(get_settings())


# --- database ----------------------------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Apply database migrations up to the newest revision."""
    from huiliu.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    console.print(f"[green]✓[/] database is up to date: {_safe_url(settings.database_url)}")


def _database(settings: Settings) -> Database:
    from huiliu.core.pubsub import InProcessHub
    from huiliu.db.engine import make_async_engine
    from huiliu.db.session import Database

    engine = make_async_engine(settings.database_url, pool_size=5, max_overflow=5)
    # What commands write (an admin, back-dated demo history) is no live news: updates stay in-process.
    return Database(engine, InProcessHub())


@dataclass
class _RichProgress:
    """Adapts the seeder's progress reports to a rich progress bar (one bar per phase)."""

    progress: Progress
    task: TaskID | None = None

    def phase(self, description: str, total: int) -> None:
        self.task = self.progress.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)


def seed(settings: Settings, tickets: int, customers: int) -> SeedReport:
    """Seed (or complete) the demo tenant with a progress bar; returns the seeder's report."""
    from huiliu.demo import seed_demo

    async def go() -> SeedReport:
        db = _database(settings)
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                report = await seed_demo(
                    db, tickets_count=tickets, customers_count=customers, progress=_RichProgress(progress)
                )
            if report.changed:
                # The demo's history is back-dated: the dashboards' facts are rebuilt rather than left
                # to the refresher's cursor (docs/analytics.md).
                await analytics_rollups.rebuild(db, report.tenant_id)
            return report
        finally:
            await db.dispose()

    try:
        return asyncio.run(go())
    except KeyboardInterrupt:
        raise _fail("seeding interrupted; run the command again to continue where it stopped", 130) from None


def _login_panel(url: str | None = None) -> Panel:
    from huiliu.demo import ADMIN_EMAIL, ADMIN_PASSWORD, TENANT_NAME

    lines = []
    if url:
        lines.append(f"[bold]控制台 Console[/]  {url}")
    lines += [
        f"[bold]演示企业 Tenant[/]  {TENANT_NAME} (demo)",
        f"[bold]登录 Login[/]      {ADMIN_EMAIL} / {ADMIN_PASSWORD}",
        "[dim]Leads and agents (e.g. wang.fang@demo.local) use the same password.[/]",
    ]
    return Panel("\n".join(lines), title="汇流 Huiliu", expand=False)


@app.command()
def demo(
    tickets: DemoTickets = DEFAULT_DEMO_TICKETS, customers: DemoCustomers = DEFAULT_DEMO_CUSTOMERS
) -> None:
    """Seed the demo tenant (idempotent: an existing demo is left as it is) and print the login."""
    from huiliu.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    started = time.monotonic()
    report = seed(settings, tickets, customers)
    elapsed = time.monotonic() - started
    if report.changed:
        console.print(
            f"[green]✓[/] demo seeded in {elapsed:.1f} s: {report.users_created} staff, "
            f"{report.customers} customers, {report.tickets_created} new tickets "
            f"({report.tickets_total} in total)"
        )
    else:
        console.print(f"[green]✓[/] the demo tenant is already seeded ({report.tickets_total} tickets)")
    console.print(_login_panel())


@app.command()
def createadmin(
    email: Annotated[str, typer.Option(prompt="E-mail", help="Login e-mail of the new administrator.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "管理员",
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug; created when missing.")] = "default",
    tenant_name: Annotated[
        str | None, typer.Option(help="Name for a new tenant (default: the slug).")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (prompted, with confirmation, when omitted).")
    ] = None,
) -> None:
    """Create an administrator (and the tenant, when it does not exist yet)."""
    from huiliu.core.errors import HuiliuError

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = get_settings()
    try:
        created_tenant = asyncio.run(_create_admin(settings, email, name, tenant, tenant_name, password))
    except HuiliuError as exc:
        raise _fail(str(exc)) from exc
    if created_tenant:
        console.print(f"[green]✓[/] tenant {tenant} created")
    console.print(f"[green]✓[/] administrator {email.strip().lower()} created in tenant {tenant}")


async def _create_admin(
    settings: Settings, email: str, name: str, slug: str, tenant_name: str | None, password: str
) -> bool:
    from huiliu.auth import service as auth
    from huiliu.auth.models import Tenant
    from huiliu.db import registry as _registry  # noqa: F401  (every table known to the ORM)
    from huiliu.tenancy.service import provision_tenant

    db = _database(settings)
    try:
        async with db.uow(None, system=True) as uow:
            found = (
                await uow.session.execute(select(Tenant).where(Tenant.slug == slug))
            ).scalar_one_or_none()
        created = found is None
        tenant = found or await provision_tenant(db, slug, tenant_name or slug)
        async with db.uow(tenant.id) as uow:
            role = await auth.role_by_name(uow, "admin")
            await auth.create_user(uow, email=email, name=name, password=password, role_id=role.id)
            await uow.commit()
        return created
    finally:
        await db.dispose()


# --- import ------------------------------------------------------------------------------------------


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="What the rows are: customers (other kinds as registered).")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help=".csv or .xlsx")],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug.")],
    errors: Annotated[
        Path | None, typer.Option("--errors", help="Write the row-level error report (CSV) here.")
    ] = None,
) -> None:
    """Import a CSV (UTF-8 or GBK) or XLSX file as a job, with a progress bar; the same job the API's
    POST /api/v1/imports creates, run in this process."""
    from huiliu.core.errors import HuiliuError

    settings = get_settings()
    try:
        job, report = asyncio.run(_import_file(settings, kind, file.name, file.read_bytes(), tenant))
    except HuiliuError as exc:
        raise _fail(str(exc)) from exc
    except KeyboardInterrupt:
        raise _fail("import interrupted; the job resumes where it stopped when the API runs", 130) from None
    if job.status != "done":
        raise _fail(f"import failed: {job.error}")
    console.print(
        f"[green]✓[/] imported {job.succeeded_rows} of {job.total_rows} rows "
        f"({job.created_rows} created, {job.updated_rows} updated, {job.failed_rows} with errors)"
    )
    if report is not None and errors is not None:
        errors.write_bytes(report)
        console.print(f"[yellow]![/] row errors written to {errors}")


async def _import_file(
    settings: Settings, kind: str, file_name: str, data: bytes, slug: str
) -> tuple[Any, bytes | None]:
    from huiliu.auth.domain import system_actor
    from huiliu.auth.models import Tenant
    from huiliu.core.errors import Conflict, NotFound
    from huiliu.db import registry as _registry  # noqa: F401  (every table known to the ORM)
    from huiliu.imports import queries as import_queries
    from huiliu.imports import service as imports
    from huiliu.imports.service import Limits
    from huiliu.orders import importer as _order_importers  # noqa: F401  (orders, opportunities)

    db = _database(settings)
    try:
        async with db.uow(None, system=True) as uow:
            tenant_id = (
                await uow.session.execute(select(Tenant.id).where(Tenant.slug == slug))
            ).scalar_one_or_none()
        if tenant_id is None:
            raise NotFound(f"no tenant {slug}")
        limits = Limits.from_settings(settings)
        actor = system_actor(tenant_id, f"命令行导入 CLI import ({file_name})")
        async with db.uow(tenant_id) as uow:
            job = await imports.create_job(
                uow, actor, kind=kind, file_name=file_name, data=data, limits=limits
            )
        lease = await imports.claim(db, job.id, limits=limits)
        if lease is None:
            raise Conflict("the job was taken by a running API process; follow it there")
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"导入 {file_name}", total=job.total_rows)
            await imports.run_job(
                db, lease, limits, on_progress=lambda done, _total: progress.update(task, completed=done)
            )
        report = None
        async with db.read(tenant_id) as session:
            job = await import_queries.get_job(session, job.id)
            if job.failed_rows:
                rows = await import_queries.row_errors(session, job.id)
                report = import_queries.error_report_csv(job, rows)
        return job, report
    finally:
        await db.dispose()


# --- eval / train (ticket classifier, docs/intelligence.md) -------------------------------------------

app.command("eval")(intelligence_commands.eval_command)
app.command("train")(intelligence_commands.train_command)

# --- analytics (docs/analytics.md) --------------------------------------------------------------------

analytics_app = typer.Typer(help="Analytics: the ticket facts behind the dashboards.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")
analytics_app.command("rebuild")(analytics_tasks.rebuild_command)


# --- bench -------------------------------------------------------------------------------------------


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context) -> None:
    """Run the benchmarks: ``python -m bench <args>`` from the repository root (see docs/benchmarks.md)."""
    if not Path("bench").is_dir():
        raise _fail("no bench/ directory here: run `huiliu bench` from the repository root")
    completed = subprocess.run([sys.executable, "-m", "bench", *ctx.args], check=False)
    raise typer.Exit(completed.returncode)


# --- run (make run) ----------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to send SIGTERM if ``huiliu run`` itself dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            pr_set_pdeathsig = 1
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Supervisor:
    """Runs the API and the worker as two child processes and stops both together.

    Children get their own session so a terminal's Ctrl-C reaches only this process, which then stops
    each child exactly once with SIGTERM (graceful for uvicorn and the worker), waiting up to
    ``STOP_GRACE_SECONDS`` before SIGKILL."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop_signal: int | None = None

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.children[name] = subprocess.Popen(
            argv, env=env, start_new_session=True, preexec_fn=_die_with_parent
        )

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stop_signal = signum

    def dead_child(self) -> tuple[str, int] | None:
        for name, process in self.children.items():
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self) -> None:
        for process in self.children.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.children.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(supervisor: Supervisor, url: str) -> bool:
    """True once the API answers its health check; False if a child died or a stop was requested first."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if supervisor.stop_signal is not None or supervisor.dead_child() is not None:
            return False
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/v1/health", timeout=2.0).status_code == 200:
                return True
        time.sleep(0.3)
    return False


@app.command()
def run(
    tickets: DemoTickets = DEFAULT_DEMO_TICKETS,
    customers: DemoCustomers = DEFAULT_DEMO_CUSTOMERS,
    with_demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Seed the demo tenant if needed.")
    ] = True,
) -> None:
    """Migrate, seed the demo when needed, then run the API and the worker until Ctrl-C or SIGTERM."""
    from huiliu.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    console.print(f"[green]✓[/] database is up to date: {_safe_url(settings.database_url)}")
    if with_demo:
        report = seed(settings, tickets, customers)
        console.print(f"[green]✓[/] demo tenant ready ({report.tickets_total} tickets)")
    supervisor = Supervisor()
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    env = dict(os.environ)
    command = [sys.executable, "-m", "huiliu"]
    supervisor.start("api", [*command, "serve"], env)
    supervisor.start("worker", [*command, "worker"], env)
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host
    url = f"http://{host}:{settings.port}"
    if _wait_until_ready(supervisor, url):
        console.print(_login_panel(url) if with_demo else f"汇流 Huiliu: {url}")
        console.print("[dim]Ctrl-C stops the API and the worker.[/]")
    exit_code = _supervise(supervisor)
    raise typer.Exit(exit_code)


def _supervise(supervisor: Supervisor) -> int:
    dead: tuple[str, int] | None = None
    while supervisor.stop_signal is None:
        dead = supervisor.dead_child()
        if dead is not None:
            break
        time.sleep(0.2)
    supervisor.stop_all()
    if dead is not None:
        name, code = dead
        console.print(f"[bold red]✗[/] the {name} process exited (code {code}); stopped the others")
        return code or 1
    console.print("[green]✓[/] stopped the API and the worker")
    return 0
