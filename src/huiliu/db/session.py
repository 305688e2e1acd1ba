"""Sessions, tenant scoping and the unit of work.

Tenant scoping lives here and only here: every ORM SELECT, UPDATE and DELETE run through a session
gets ``tenant_id = <the session's tenant>`` added for every tenant-scoped table it touches. A session
without a tenant refuses to query unless it was opened explicitly as a system session."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from huiliu.core.events import DomainEvent
from huiliu.core.outbox import KIND_EVENT, OutboxRow
from huiliu.core.pubsub import Hub
from huiliu.db.base import TenantScoped
from huiliu.db.driver import DriverPool

TENANT_KEY = "tenant_id"
SYSTEM_KEY = "system"


class TenantScopeMissing(RuntimeError):
    """A query ran on a session that has neither a tenant nor system rights: a programming error."""


class ScopedSession(Session):
    """Session class whose ORM statements are filtered by tenant (see module docstring)."""


@event.listens_for(ScopedSession, "do_orm_execute")
def _apply_tenant_scope(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    tenant_id = state.session.info.get(TENANT_KEY)
    if tenant_id is None:
        if state.session.info.get(SYSTEM_KEY):
            return
        raise TenantScopeMissing("tenant-scoped session used without a tenant")
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def scope_sync_session(session: Session, tenant_id: uuid.UUID | None, *, system: bool = False) -> Session:
    session.info[TENANT_KEY] = tenant_id
    session.info[SYSTEM_KEY] = system
    return session


def publish(hub: Hub, domain_event: DomainEvent) -> None:
    """Hand a committed domain event to live consumers (SSE), with the audience that may see it."""
    message = domain_event.envelope()
    message["audience"] = {
        "team_id": str(domain_event.audience.team_id) if domain_event.audience.team_id else None,
        "assignee_id": str(domain_event.audience.assignee_id) if domain_event.audience.assignee_id else None,
    }
    hub.publish(domain_event.tenant_id, message)


class Database:
    """The async engine and the session factory the API and services use."""

    def __init__(self, engine: AsyncEngine, hub: Hub, driver_pool: DriverPool | None = None) -> None:
        self.engine = engine
        self.hub = hub
        # PostgreSQL only: plain psycopg connections for single-statement hot writes (see db.driver).
        self.driver_pool = driver_pool
        self._sessions = async_sessionmaker(
            engine, expire_on_commit=False, sync_session_class=ScopedSession, autoflush=False
        )
        # Reads run in autocommit: no BEGIN/ROLLBACK round trips around a page or a detail view.
        self._read_sessions = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False,
            sync_session_class=ScopedSession,
            autoflush=False,
        )

    def uow(self, tenant_id: uuid.UUID | None, *, system: bool = False) -> UnitOfWork:
        return UnitOfWork(self, tenant_id, system=system)

    def read(self, tenant_id: uuid.UUID | None, *, system: bool = False) -> AsyncSession:
        """A tenant-scoped session for reads only (autocommit; writing through it is a bug)."""
        return self._configure(self._read_sessions(), tenant_id, system)

    def session(self, tenant_id: uuid.UUID | None, *, system: bool = False) -> AsyncSession:
        return self._configure(self._sessions(), tenant_id, system)

    @staticmethod
    def _configure(session: AsyncSession, tenant_id: uuid.UUID | None, system: bool) -> AsyncSession:
        session.info[TENANT_KEY] = tenant_id
        session.info[SYSTEM_KEY] = system
        return session

    async def open(self) -> None:
        if self.driver_pool is not None:
            await self.driver_pool.open()

    async def dispose(self) -> None:
        if self.driver_pool is not None:
            await self.driver_pool.close()
        await self.engine.dispose()


class UnitOfWork:
    """One transaction: the writes of one use case, its domain events (as outbox rows, in the same
    transaction) and, after commit only, the live updates."""

    def __init__(self, db: Database, tenant_id: uuid.UUID | None, *, system: bool = False) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.session = db.session(tenant_id, system=system)
        self._events: list[DomainEvent] = []
        self._after_commit: list[Callable[[], Any]] = []
        self._to_publish: list[DomainEvent] = []
        self.committed = False

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``: for the few write paths that differ by database."""
        return self.db.engine.dialect.name

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # close() ends any open transaction (rolling it back) without expiring what was loaded, so
        # read-only units of work can hand their objects to the response; on error, roll back explicitly.
        try:
            if exc_type is not None and not self.committed:
                await self.session.rollback()
        finally:
            await self.session.close()

    def emit(self, domain_event: DomainEvent) -> None:
        """Queue a domain event: it becomes an outbox row now and a live update after commit."""
        self._events.append(domain_event)

    def after_commit(self, callback: Callable[[], Any]) -> None:
        self._after_commit.append(callback)

    @staticmethod
    def outbox_row(domain_event: DomainEvent) -> dict[str, Any]:
        """The outbox row (kind "event") that owes ``domain_event`` to the outside world."""
        return {
            "id": domain_event.id,
            "tenant_id": domain_event.tenant_id,
            "kind": KIND_EVENT,
            "event_id": domain_event.id,
            "event_type": domain_event.type,
            "payload": domain_event.envelope(),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": domain_event.occurred_at,
            "created_at": domain_event.occurred_at,
        }

    def take_events(self) -> list[DomainEvent]:
        """Hand the queued events to a caller that writes their outbox rows itself (a bulk or
        pipelined write path); they are still published after commit."""
        taken, self._events = self._events, []
        self._to_publish.extend(taken)
        return taken

    async def flush_events(self) -> None:
        if not self._events:
            return
        await self.session.execute(insert(OutboxRow), [self.outbox_row(ev) for ev in self.take_events()])

    def _publish(self, domain_event: DomainEvent) -> None:
        publish(self.db.hub, domain_event)

    async def commit(self) -> None:
        await self.flush_events()
        await self.session.commit()
        self.committed = True
        published, self._to_publish = self._to_publish, []
        for domain_event in published:
            self._publish(domain_event)
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
