"""The worker's analytics refresher: every ``analytics_refresh_seconds`` it brings every tenant's
ticket facts up to the audit events that have settled (``rollups.refresh_all``). Like the timer
sweeper it runs on its own thread with its own event loop and async ``Database``."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from huiliu.analytics.rollups import rebuild, refresh_all
from huiliu.periodic import PeriodicJob
from huiliu.runtime import Runtime
from huiliu.settings import Settings, get_settings

log = logging.getLogger("huiliu.analytics")

ERROR_PAUSE_SECONDS = 5.0


class RollupRefresher(PeriodicJob):
    """Refreshes the ticket facts on a background thread until ``stop``."""

    name = "analytics-refresher"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, max(1.0, settings.analytics_refresh_seconds), log=log)

    async def run_once(self, runtime: Runtime) -> None:
        results = await refresh_all(runtime.db)
        events = sum(r.events for r in results.values())
        if events:
            log.info(
                "analytics: %d event(s), %d fact(s) refreshed",
                events,
                sum(r.tickets for r in results.values()),
            )


def rebuild_command(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Tenant slug (default: every tenant).")
    ] = None,
) -> None:
    """Recompute the ticket facts behind the dashboards from the tickets, with a progress bar (after
    an import of back-dated history, or to check the incremental refresh)."""
    console = Console()
    settings = get_settings()
    try:
        counts = asyncio.run(_rebuild(settings, tenant, console))
    except KeyboardInterrupt:
        console.print("[red]✗[/] interrupted; the facts rebuilt so far are kept, run it again to finish")
        raise typer.Exit(130) from None
    if tenant is not None and not counts:
        console.print(f"[red]✗[/] no tenant {tenant}")
        raise typer.Exit(1)
    for slug, (tickets, seconds) in counts.items():
        console.print(f"[green]✓[/] {slug}: {tickets} ticket(s) in {seconds:.1f}s")


async def _rebuild(settings: Settings, slug: str | None, console: Console) -> dict[str, tuple[int, float]]:
    from sqlalchemy import select

    from huiliu.auth.models import Tenant

    runtime = Runtime.build(settings)
    await runtime.start()
    try:
        async with runtime.db.read(None, system=True) as session:
            query = select(Tenant.id, Tenant.slug).order_by(Tenant.slug)
            if slug is not None:
                query = query.where(Tenant.slug == slug)
            tenants = (await session.execute(query)).all()
        counts: dict[str, tuple[int, float]] = {}
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            for tenant_id, tenant_slug in tenants:
                task = progress.add_task(f"重建看板数据 {tenant_slug}", total=None)
                started = time.perf_counter()

                def report(done: int, total: int, task: TaskID = task) -> None:
                    progress.update(task, completed=done, total=total)

                done = await rebuild(runtime.db, tenant_id, progress=report)
                counts[tenant_slug] = (done, time.perf_counter() - started)
        return counts
    finally:
        await runtime.stop()
