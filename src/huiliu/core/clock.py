"""The one source of "now", so tests can freeze or travel time and seeders can back-date history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_override: ContextVar[datetime | None] = ContextVar("huiliu_clock_override", default=None)


def utcnow() -> datetime:
    """Current time as an aware UTC datetime (or the moment set by ``at``)."""
    moment = _override.get()
    return moment if moment is not None else datetime.now(UTC)


def override() -> datetime | None:
    """The moment set by ``at``, if any."""
    return _override.get()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Within this block (and the tasks it starts) ``utcnow()`` returns ``moment``. Used to replay or
    import history (the demo seeder) through the normal services."""
    token = _override.set(ensure_utc(moment))
    try:
        yield
    finally:
        _override.reset(token)


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; naive values (as SQLite returns them) are taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
