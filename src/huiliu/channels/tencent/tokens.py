"""The access-token cache every process shares: one database row per (entry point, kind).

WeChat and WeCom hand out tokens valid for about two hours, and on WeChat each new token invalidates
the previous one, so processes must not refresh independently. A token is used until
``REFRESH_MARGIN`` before it expires; then one process takes the row's refresh lease (a conditional
UPDATE, the same on PostgreSQL and SQLite, no transaction held across the HTTP call), asks the
platform and stores the result, while the others wait for it (docs/decisions/0019)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from huiliu.channels.tencent.models import PlatformToken
from huiliu.core.clock import utcnow
from huiliu.core.errors import HuiliuError
from huiliu.core.ids import new_id
from huiliu.db.session import ScopedSession, scope_sync_session

REFRESH_MARGIN = timedelta(minutes=5)
LEASE = timedelta(seconds=30)
WAIT_STEP_SECONDS = 0.1

# Asks the platform for a new credential: (value, seconds it is valid).
Fetch = Callable[[], tuple[str, int]]


class TokenUnavailable(HuiliuError):
    status = 503
    slug = "token-unavailable"
    title = "The platform access token could not be obtained"


@dataclass(frozen=True)
class TokenKey:
    tenant_id: uuid.UUID
    entry_point_id: uuid.UUID
    kind: str = "access_token"


class TokenStore:
    """Tokens on a sync engine (the worker's; the API runs it in a thread)."""

    def __init__(self, engine: Engine, *, wait_seconds: float = LEASE.total_seconds()) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, class_=ScopedSession, expire_on_commit=False, autoflush=False)
        self.wait_seconds = wait_seconds

    def _session(self, key: TokenKey) -> Session:
        return scope_sync_session(self._sessions(), key.tenant_id)

    def _where(self, key: TokenKey) -> list[ColumnElement[bool]]:
        return [PlatformToken.entry_point_id == key.entry_point_id, PlatformToken.kind == key.kind]

    def cached(self, key: TokenKey) -> PlatformToken | None:
        with self._session(key) as session:
            return session.scalars(select(PlatformToken).where(*self._where(key))).first()

    def get(self, key: TokenKey, fetch: Fetch, *, rejected: str | None = None) -> str:
        """A usable token: the cached one while fresh, else a new one from ``fetch`` (one process
        asks, the others wait). ``rejected`` is a token the platform just refused (expired or
        invalidated): it is never handed out again, unless another process already replaced it."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            now = utcnow()
            row = self.cached(key)
            if row is not None and _fresh(row, now) and row.value != rejected:
                assert row.value is not None
                return row.value
            if self._claim(key, now, rejected):
                return self._refresh(key, fetch)
            if time.monotonic() > deadline:
                raise TokenUnavailable("another process is refreshing the token and has not finished")
            time.sleep(WAIT_STEP_SECONDS)

    def invalidate(self, key: TokenKey) -> None:
        with self._session(key) as session, session.begin():
            session.execute(
                update(PlatformToken)
                .where(*self._where(key))
                .values(expires_at=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def _claim(self, key: TokenKey, now: datetime, rejected: str | None) -> bool:
        """Take the refresh lease, if the token still needs refreshing (another process may have
        refreshed it since we looked) and nobody holds the lease."""
        with self._session(key) as session, session.begin():
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(
                insert(PlatformToken)
                .values(
                    id=new_id(),
                    tenant_id=key.tenant_id,
                    entry_point_id=key.entry_point_id,
                    kind=key.kind,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["entry_point_id", "kind"])
            )
            stale = [
                PlatformToken.value.is_(None),
                PlatformToken.expires_at.is_(None),
                PlatformToken.expires_at <= now + REFRESH_MARGIN,
            ]
            if rejected is not None:
                stale.append(PlatformToken.value == rejected)
            claimed = session.execute(
                update(PlatformToken)
                .where(
                    *self._where(key),
                    or_(*stale),
                    or_(PlatformToken.refreshing_until.is_(None), PlatformToken.refreshing_until < now),
                )
                .values(refreshing_until=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(claimed, "rowcount", 0) == 1)

    def _refresh(self, key: TokenKey, fetch: Fetch) -> str:
        try:
            value, expires_in = fetch()
        except BaseException:
            self._release(key, {})
            raise
        now = utcnow()
        self._release(key, {"value": value, "expires_at": now + timedelta(seconds=expires_in)})
        return value

    def _release(self, key: TokenKey, values: dict[str, object]) -> None:
        with self._session(key) as session, session.begin():
            session.execute(
                update(PlatformToken)
                .where(*self._where(key))
                .values(refreshing_until=None, updated_at=utcnow(), **values)
                .execution_options(synchronize_session=False)
            )


def _fresh(row: PlatformToken, now: datetime) -> bool:
    return bool(row.value) and row.expires_at is not None and row.expires_at - REFRESH_MARGIN > now
