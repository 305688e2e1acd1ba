"""Direct psycopg connections for the hottest PostgreSQL writes.

SQLAlchemy's asyncio layer (session, pool, greenlet bridge) costs more CPU than the statement it
sends when that statement is a single prepared INSERT; measured on this 2-core machine, one indexed
statement behind FastAPI serves ~4,000 req/s on psycopg's own async pool and ~1,850 through
SQLAlchemy asyncio. Paths that are one statement and need no ORM objects (ticket creation without
an Idempotency-Key) take a connection from this pool instead; everything else uses the ORM.

Connections are in autocommit: a single statement is atomic on its own, and no BEGIN/COMMIT round
trips are sent. Decision record: docs/decisions/0011-driver-pool-for-hot-writes.md."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url


def conninfo(url: str) -> str:
    """libpq connection string for a SQLAlchemy PostgreSQL URL (any driver suffix)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


class DriverPool:
    """A fixed-size psycopg pool (autocommit connections), opened with the API process."""

    def __init__(self, url: str, *, size: int, timeout: float) -> None:
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
