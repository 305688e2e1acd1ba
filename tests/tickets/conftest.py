"""Helpers for ticket tests: run a service call in its own unit of work, and read back exactly the
audit events and outbox rows a call wrote."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from huiliu.auth.domain import Actor
from huiliu.core.outbox import KIND_EVENT, OutboxRow
from huiliu.runtime import Runtime
from huiliu.tickets.models import Message, Ticket, TicketEvent, TicketLink, TicketTag
from tests.factories import Member, make_member, make_tenant

TICKET_COLUMNS = [column.key for column in Ticket.__table__.columns]
ENVELOPE_KEYS = {"id", "type", "occurred_at", "data"}


@pytest.fixture
async def tenant(runtime: Runtime) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Runtime, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


async def call(runtime: Runtime, actor: Actor, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one service function in its own unit of work, as the API does."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await function(uow, actor, *args, **kwargs)


async def ticket_state(runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> dict[str, Any]:
    async with runtime.db.read(tenant_id) as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return {name: getattr(ticket, name) for name in TICKET_COLUMNS}


async def tags_index(runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> set[str]:
    async with runtime.db.read(tenant_id) as session:
        rows = await session.execute(select(TicketTag.tag).where(TicketTag.ticket_id == ticket_id))
        return set(rows.scalars())


async def messages_of(runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> list[Message]:
    async with runtime.db.read(tenant_id) as session:
        rows = await session.execute(
            select(Message).where(Message.ticket_id == ticket_id).order_by(Message.created_at, Message.id)
        )
        return list(rows.scalars())


async def links_of(runtime: Runtime, tenant_id: uuid.UUID) -> list[TicketLink]:
    async with runtime.db.read(tenant_id) as session:
        return list((await session.execute(select(TicketLink).order_by(TicketLink.id))).scalars())


@dataclass
class Written:
    events: list[TicketEvent]
    outbox: list[OutboxRow]

    def types(self) -> list[str]:
        return [event.type for event in self.events]

    def of(self, ticket_id: uuid.UUID) -> list[TicketEvent]:
        return [event for event in self.events if event.ticket_id == ticket_id]


class Journal:
    """Snapshot a tenant's audit and outbox ids, then return what was written since."""

    def __init__(self, runtime: Runtime, tenant_id: uuid.UUID) -> None:
        self.runtime = runtime
        self.tenant_id = tenant_id
        self._events: set[uuid.UUID] = set()
        self._outbox: set[uuid.UUID] = set()

    async def _all(self) -> Written:
        async with self.runtime.db.read(self.tenant_id) as session:
            events = (
                await session.execute(select(TicketEvent).order_by(TicketEvent.created_at, TicketEvent.id))
            ).scalars()
            outbox = (await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars()
            return Written(list(events), list(outbox))

    async def mark(self) -> Journal:
        everything = await self._all()
        self._events = {e.id for e in everything.events}
        self._outbox = {o.id for o in everything.outbox}
        return self

    async def since(self) -> Written:
        everything = await self._all()
        written = Written(
            [e for e in everything.events if e.id not in self._events],
            [o for o in everything.outbox if o.id not in self._outbox],
        )
        await self.mark()
        return written


async def journal(runtime: Runtime, tenant_id: uuid.UUID) -> Journal:
    return await Journal(runtime, tenant_id).mark()


def assert_outbox_matches(written: Written, actor: Actor) -> None:
    """One outbox row of kind "event" per audit event, same id, carrying the webhook envelope."""
    assert len(written.outbox) == len(written.events)
    by_event = {row.event_id: row for row in written.outbox}
    assert set(by_event) == {event.id for event in written.events}
    for event in written.events:
        row = by_event[event.id]
        assert row.kind == KIND_EVENT
        assert row.id == event.id
        assert row.tenant_id == event.tenant_id == actor.tenant_id
        assert row.event_type == event.type
        assert row.state == "pending" and row.attempts == 0
        payload = row.payload
        assert set(payload) == ENVELOPE_KEYS
        assert payload["id"] == str(event.id)
        assert payload["type"] == event.type
        assert payload["occurred_at"].endswith("Z")
        data = payload["data"]
        assert data["ticket"]["id"] == str(event.ticket_id)
        assert data["changes"] == event.changes
        assert data["actor"] == {
            "kind": actor.kind.value,
            "id": str(actor.id) if actor.id else None,
            "name": actor.name,
        }
        assert data.get("reason") == event.reason
        assert event.actor_kind == actor.kind.value
        assert event.actor_id == actor.id
        assert event.actor_name == actor.name
