"""Direct psycopg connections for the hottest PostgreSQL writes.

SQLAlchemy's asyncio layer (session, pool, greenlet bridge) costs more CPU than the statement it
sends when that statement is a single prepared INSERT; measured on this 2-core machine, one indexed
statement behind FastAPI serves ~4,000 req/s on psycopg's own async pool and ~1,850 through
SQLAlchemy asyncio. Paths that are one statement and need no ORM objects (ticket creation without
an Idempotency-Key) take a connection from this pool instead; everything else uses the ORM.

Connections are in autocommit: a single statement is atomic on its own, and no BEGIN/COMMIT round
trips are sent. Decision record: docs/decisions/0011-driver-pool-for-hot-writes.md.

Under load, :meth:`DriverPool.fetchone_grouped` runs the statements of concurrent callers together:
one transaction, sent as one psycopg pipeline (one round trip, one commit), each caller answered with
its own row after the commit (group commit, docs/decisions/0048-grouped-driver-writes.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# Statements of concurrent callers sent in one pipeline and committed together, at most.
MAX_GROUP = 64


def conninfo(url: str) -> str:
    """libpq connection string for a SQLAlchemy PostgreSQL URL (any driver suffix)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


class DriverPool:
    """A fixed-size psycopg pool (autocommit connections), opened with the API process."""

    def __init__(self, url: str, *, size: int, timeout: float, group_concurrency: int = 4) -> None:
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            conninfo(url),
            min_size=size,
            max_size=size,
            timeout=timeout,
            kwargs={"autocommit": True},
            open=False,
            name="huiliu-driver",
        )
        self._opened = False
        self._group = _GroupCommit(self, group_concurrency)

    async def open(self) -> None:
        await self._pool.open(wait=False)
        self._opened = True

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()
            self._opened = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        async with self._pool.connection() as connection:
            yield connection

    async def fetchone_grouped(self, statement: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of ``statement``, run atomically and committed before this returns.

        When the process's grouped transactions are all busy, the statement waits and then runs with
        every other statement queued meanwhile, in one transaction sent as one pipeline; otherwise it
        runs at once on its own. Statements of one group must not depend on each other's absence: a
        later one sees what an earlier one wrote. Should a group's transaction fail, each of its
        statements is run again alone, so one failing statement fails only its own caller."""
        return await self._group.submit(statement, params)


@dataclass
class _Job:
    statement: str
    params: Mapping[str, Any]
    answer: asyncio.Future[tuple[Any, ...] | None]


class _GroupCommit:
    """Group commit for single statements on the driver pool (see ``DriverPool.fetchone_grouped``):
    no timer — a statement that finds fewer than ``concurrency`` transactions in flight starts one at
    once with whatever is queued, so an idle process answers as fast as without grouping."""

    def __init__(self, pool: DriverPool, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("group concurrency must be at least 1")
        self._pool = pool
        self.concurrency = concurrency
        self._queue: list[_Job] = []
        self._in_flight = 0
        # Transactions run so far and the statements they carried (tests and benchmarks read them).
        self.transactions = 0
        self.statements = 0

    async def submit(self, statement: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        job = _Job(statement, params, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        if self._in_flight < self.concurrency:
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._drain())
            task.add_done_callback(_log_crash)
        return await job.answer

    async def _drain(self) -> None:
        try:
            # Let requests that are already running reach the queue before this transaction takes it.
            await asyncio.sleep(0)
            while self._queue:
                taken, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                # A caller that gave up while queued is not run: nothing was acknowledged to it.
                taken = [job for job in taken if not job.answer.cancelled()]
                if taken:
                    await self._run(taken)
        finally:
            self._in_flight -= 1

    async def _run(self, taken: list[_Job]) -> None:
        self.transactions += 1
        self.statements += len(taken)
        try:
            rows = await self._execute(taken)
        except Exception as exc:
            if len(taken) == 1:
                _settle(taken[0], exc)
                return
            log.warning("grouped transaction of %d failed (%s); running each alone", len(taken), exc)
            for job in taken:
                await self._run([job])
            return
        for job, row in zip(taken, rows, strict=True):
            _settle(job, row)

    async def _execute(self, taken: list[_Job]) -> list[tuple[Any, ...] | None]:
        async with self._pool.connection() as connection:
            if len(taken) == 1:  # autocommit: one statement is atomic on its own
                cursor = connection.cursor()
                await cursor.execute(taken[0].statement, taken[0].params)
                return [await cursor.fetchone()]
            # BEGIN, the statements and COMMIT leave in one pipeline: one round trip for the group.
            cursors = []
            async with connection.pipeline():
                async with connection.transaction():
                    for job in taken:
                        cursor = connection.cursor()
                        await cursor.execute(job.statement, job.params)
                        cursors.append(cursor)
                return [await cursor.fetchone() for cursor in cursors]


def _settle(job: _Job, outcome: object) -> None:
    if job.answer.done():
        return
    if isinstance(outcome, BaseException):
        job.answer.set_exception(outcome)
    else:
        job.answer.set_result(outcome)  # type: ignore[arg-type]


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("grouped driver writes crashed", exc_info=task.exception())
