"""Runs import jobs inside the API process: an upload starts its job at once (``kick``), and a sweep
every ``import_sweep_seconds`` picks up jobs nobody runs — queued ones whose process died before
starting them, running ones whose lease ran out (a crash) — and fails those out of attempts.

Several API processes (or machines) may run runners side by side: claiming is a compare-and-set in
the database, so each job has one runner at a time. On shutdown running jobs are handed back to the
queue and resume from their last committed chunk (docs/decisions/0009-import-jobs.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from huiliu.db.session import Database
from huiliu.imports import service
from huiliu.imports.service import Limits
from huiliu.settings import Settings

log = logging.getLogger("huiliu.imports")


class ImportRunner:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.limits = Limits.from_settings(settings)
        self.sweep_seconds = settings.import_sweep_seconds
        self._slots = asyncio.Semaphore(max(1, settings.import_concurrency))
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.start_sweeping()

    async def start_sweeping(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_loop(), name="imports-sweeper")

    async def stop_sweeping(self) -> None:
        """Stop picking up jobs nobody runs (jobs already running go on)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def stop(self) -> None:
        tasks = [t for t in [self._sweeper, *self._tasks.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def kick(self, job_id: uuid.UUID) -> None:
        """Run the job in the background unless this runner already does."""
        if job_id in self._tasks:
            return
        task = asyncio.create_task(self._run(job_id), name=f"import-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def sweep_once(self) -> list[uuid.UUID]:
        ready = await service.sweep(self.db, limits=self.limits)
        for job_id in ready:
            self.kick(job_id)
        return ready

    async def wait_idle(self) -> None:
        """Wait until every job this runner started has stopped (tests, CLI)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("import sweep failed; trying again")
            await asyncio.sleep(self.sweep_seconds)

    async def _run(self, job_id: uuid.UUID) -> None:
        async with self._slots:
            lease = await service.claim(self.db, job_id, limits=self.limits)
            if lease is None:
                return
            try:
                await service.run_job(self.db, lease, self.limits)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await asyncio.shield(service.release(self.db, lease))
                raise
