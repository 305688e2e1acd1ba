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
its own row after the commit (group commit, docs/decisions/0048-grouped-driver-writes.md).
:meth:`DriverPool.fetchone_batched` goes one step further for writes that have a set-based form
(``RowBatch``): the items of the callers queued together are written by *one* statement, so the
statement's parse, plan and executor start-up — most of PostgreSQL's cost for a small insert — are
paid once per group instead of once per caller (docs/decisions/0059-set-based-grouped-creates.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

# Statements of concurrent callers sent in one pipeline and committed together, at most.
MAX_GROUP = 64


def conninfo(url: str) -> str:
    """libpq connection string for a SQLAlchemy PostgreSQL URL (any driver suffix)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def session_driver_connection(session: AsyncSession) -> AsyncConnection[Any]:
    """The psycopg connection under an ORM session's transaction (PostgreSQL): for statements that
    must share that transaction but skip SQLAlchemy's per-statement work."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, AsyncConnection)
    return driver


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
        return await self._group.submit(_Job(statement, params, _future()))

    async def fetchone_batched(self, batch: RowBatch, item: Any) -> tuple[Any, ...] | None:
        """``batch``'s row for ``item``, written and committed before this returns: alone when the
        process's grouped transactions are not all busy, otherwise in one statement with the items of
        every other caller of the same ``batch`` queued meanwhile (and in the same transaction as any
        queued ``fetchone_grouped`` statement). Failure handling as ``fetchone_grouped``: should a
        group's transaction fail, each caller's item is written again alone."""
        return await self._group.submit(_Job(batch.statement, {}, _future(), batch, item))


@dataclass(frozen=True, eq=False)
class RowBatch:
    """A write with a set-based form: one statement that writes the rows of many items and returns one
    row per item.

    ``params(items)`` gives the statement's parameters for a list of items; ``item_key(item)`` and
    ``row_key(row)`` match returned rows to items. Items whose ``conflict_key`` is equal (not None)
    must see each other's writes — e.g. two creates that register the same new customer phone — so
    they go into successive statements of the same transaction, never into one."""

    statement: str
    params: Callable[[Sequence[Any]], Mapping[str, Any]]
    item_key: Callable[[Any], Hashable]
    row_key: Callable[[tuple[Any, ...]], Hashable]
    conflict_key: Callable[[Any], Hashable | None] = lambda item: None


@dataclass
class _Job:
    statement: str
    params: Mapping[str, Any]
    answer: asyncio.Future[tuple[Any, ...] | None]
    batch: RowBatch | None = None
    item: Any = None


def _future() -> asyncio.Future[tuple[Any, ...] | None]:
    return asyncio.get_running_loop().create_future()


@dataclass
class _Statement:
    """One statement of a group's transaction: a plain job's, or a batch's for several jobs."""

    statement: str
    params: Mapping[str, Any]
    jobs: list[_Job]
    batch: RowBatch | None = None


def _statements(taken: list[_Job]) -> list[_Statement]:
    """The statements that run ``taken``: plain jobs one each; the jobs of one batch together, split
    into rounds so no statement holds two items with the same conflict key."""
    plain: list[_Statement] = []
    batched: dict[int, tuple[RowBatch, list[list[_Job]], list[set[Hashable]]]] = {}
    for job in taken:
        if job.batch is None:
            plain.append(_Statement(job.statement, job.params, [job]))
            continue
        _, rounds, keys = batched.setdefault(id(job.batch), (job.batch, [], []))
        key = job.batch.conflict_key(job.item)
        index = 0
        if key is not None:
            while index < len(keys) and key in keys[index]:
                index += 1
        if index == len(rounds):
            rounds.append([])
            keys.append(set())
        rounds[index].append(job)
        if key is not None:
            keys[index].add(key)
    statements = []
    for batch, rounds, _ in batched.values():
        for jobs in rounds:
            params = batch.params([job.item for job in jobs])
            statements.append(_Statement(batch.statement, params, jobs, batch))
    return statements + plain


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

    async def submit(self, job: _Job) -> tuple[Any, ...] | None:
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
        statements = _statements(taken)
        async with self._pool.connection() as connection:
            if len(statements) == 1:  # autocommit: one statement is atomic on its own
                cursor = connection.cursor()
                await cursor.execute(statements[0].statement, statements[0].params)
                results = [await cursor.fetchall()]
            else:
                # BEGIN, the statements and COMMIT leave in one pipeline: one round trip for the group.
                cursors = []
                async with connection.pipeline():
                    async with connection.transaction():
                        for statement in statements:
                            cursor = connection.cursor()
                            await cursor.execute(statement.statement, statement.params)
                            cursors.append(cursor)
                    results = [await cursor.fetchall() for cursor in cursors]
        answers: dict[int, tuple[Any, ...] | None] = {}
        for statement, rows in zip(statements, results, strict=True):
            if statement.batch is None:
                answers[id(statement.jobs[0])] = rows[0] if rows else None
                continue
            by_key = {statement.batch.row_key(row): row for row in rows}
            for job in statement.jobs:
                answers[id(job)] = by_key.get(statement.batch.item_key(job.item))
        return [answers[id(job)] for job in taken]


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
