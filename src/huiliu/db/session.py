"""Sessions, tenant scoping and the unit of work.

Tenant scoping lives here and only here: every ORM SELECT, UPDATE and DELETE run through a session
gets ``tenant_id = <the session's tenant>`` added for every tenant-scoped table it touches. A session
without a tenant refuses to query unless it was opened explicitly as a system session."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from huiliu.core.events import DomainEvent
from huiliu.core.outbox import KIND_EVENT, OutboxRow
from huiliu.core.pubsub import Hub
from huiliu.core.single_flight import SingleFlight
from huiliu.db.base import TenantScoped
from huiliu.db.driver import DriverPool

log = logging.getLogger("huiliu.db")

T = TypeVar("T")

TENANT_KEY = "tenant_id"
SYSTEM_KEY = "system"
# Reactions to reactions: a rule that assigns triggers routing and SLA, which may trigger rules again.
# Each pass reacts to the events the previous pass emitted; after this many the chain is cut (logged).
MAX_REACTION_PASSES = 5


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


class Reactor(Protocol):
    """Something that reacts to ticket changes inside the unit of work that made them (event
    triggers, routing, SLA deadlines), before it commits: the reaction's own writes, events and outbox
    rows commit with the change or not at all (DESIGN.md §2).

    ``applies`` is asked by the single-statement write paths (``tickets.pg_create``, intake's batch
    statement) that bypass the unit of work: when no reactor applies to the tenant they stay fast;
    otherwise the caller takes the portable path. It must be cheap: a ``TenantFlagCache`` answers from
    memory and may be stale in other processes for its time to live (docs/decisions/0015)."""

    name: str

    async def applies(self, db: Database, tenant_id: uuid.UUID) -> bool: ...

    async def react(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> None: ...


class TenantCache(Generic[T]):
    """A per-tenant value with a time to live, for ``Reactor.applies`` and the configuration reactors
    read (compiled rules …): ``get`` answers from memory when fresh, ``invalidate`` drops a tenant (the
    process that changed the configuration sees the change at once; other processes within ``ttl``
    seconds)."""

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._values: dict[uuid.UUID, tuple[float, T]] = {}
        self._flights: SingleFlight[uuid.UUID, T] = SingleFlight()
        self._generation = 0

    def get(self, tenant_id: uuid.UUID) -> T | None:
        hit = self._values.get(tenant_id)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, tenant_id: uuid.UUID, value: T) -> T:
        self._values[tenant_id] = (time.monotonic() + self.ttl, value)
        return value

    async def load(self, tenant_id: uuid.UUID, loader: Callable[[], Awaitable[T]]) -> T:
        """The fresh value, else the result of ``loader`` — one load per tenant at a time, shared by
        every caller that arrives while it runs. When an entry expires under load, every request in
        flight misses at once; each reading the value itself cost a fifth of the API's CPU in the
        create benchmark. ``loader`` must open its own session (it runs as its own task, so one
        caller giving up does not fail the others)."""
        hit = self.get(tenant_id)
        if hit is not None:
            return hit
        generation = self._generation

        async def load_and_keep() -> T:
            value = await loader()
            # Invalidated while loading: answer the callers, but do not keep what may already be old.
            return self.put(tenant_id, value) if generation == self._generation else value

        return await self._flights.run(tenant_id, load_and_keep)

    def invalidate(self, tenant_id: uuid.UUID | None = None) -> None:
        # A load already running may have read the old value: later callers start a new one.
        self._generation += 1
        if tenant_id is None:
            self._values.clear()
            self._flights.forget()
        else:
            self._values.pop(tenant_id, None)
            self._flights.forget(lambda key: key == tenant_id)


# Whether a reactor applies to a tenant.
TenantFlagCache = TenantCache[bool]


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
        # Run, in this order, by every unit of work before it commits (see ``Reactor``).
        self.reactors: list[Reactor] = []

    async def reactions_apply(self, tenant_id: uuid.UUID) -> bool:
        """Whether any reactor wants to see the tenant's ticket changes (fast paths check this)."""
        for reactor in self.reactors:
            if await reactor.applies(self, tenant_id):
                return True
        return False

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
        # Every event emitted in this unit of work, and how many of them the reactors have seen.
        self._emitted: list[DomainEvent] = []
        self._reacted = 0
        self.reacting = False
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
        self._emitted.append(domain_event)

    @property
    def emitted_count(self) -> int:
        """How many events this unit of work has emitted so far (its reactions' included): a write
        path compares it before and after ``commit`` to know whether reactions changed anything."""
        return len(self._emitted)

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

    @property
    def holds_other_work(self) -> bool:
        """Whether this unit of work is part of a larger one: its commits are held (a reactor, a
        workflow step) or events of earlier writes wait for the outbox. A write path that commits on
        its own (the PostgreSQL create statement) must then step aside."""
        return self.reacting or bool(self._events)

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

    async def react(self) -> None:
        """Let the database's reactors see the events emitted since they last looked, in passes."""
        if self.reacting or not self.db.reactors:
            return
        self.reacting = True
        try:
            for _ in range(MAX_REACTION_PASSES):
                fresh = self._emitted[self._reacted :]
                if not fresh:
                    return
                self._reacted = len(self._emitted)
                for reactor in self.db.reactors:
                    await reactor.react(self, fresh)
            if len(self._emitted) > self._reacted:
                log.warning(
                    "reactions cut after %d passes; %d event(s) not reacted to",
                    MAX_REACTION_PASSES,
                    len(self._emitted) - self._reacted,
                )
                self._reacted = len(self._emitted)
        finally:
            self.reacting = False

    async def commit(self) -> None:
        """React, write the outbox rows, commit, then publish. Called by a reactor (a service function
        the reaction reuses), it only returns: the outer commit commits everything at once."""
        if self.reacting:
            return
        await self.react()
        await self.flush_events()
        await self.session.commit()
        self.committed = True
        published, self._to_publish = self._to_publish, []
        for domain_event in published:
            self._publish(domain_event)
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
