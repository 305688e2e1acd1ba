"""Engines for the configured database URL: async for the API, sync for the worker, CLI and Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


def _normalize(url: str, *, use_async: bool) -> str:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite" if use_async else "sqlite"))
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database backend: {backend}")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout makes writers queue, not fail.
    # synchronous=FULL: a commit is on disk before it is acknowledged (NORMAL could lose the last
    # commits on a power cut; see docs/decisions/0014-sqlite-durability.md).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sync_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    kwargs: dict[str, Any] = {}
    if is_sqlite(url):
        _prepare_sqlite_file(url)
    else:
        kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
    engine = create_engine(_normalize(url, use_async=False), **kwargs)
    if is_sqlite(url):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_async_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 0, pool_timeout: float = 10.0
) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if is_sqlite(url):
        _prepare_sqlite_file(url)
        kwargs["poolclass"] = NullPool if ":memory:" in url else None
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
    else:
        kwargs.update(
            pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout, pool_pre_ping=False
        )
    engine = create_async_engine(_normalize(url, use_async=True), **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine
