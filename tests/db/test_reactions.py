"""Reactors: they see a unit of work's ticket events before it commits, their writes commit with the
change (or roll back with it), reactions to reactions run in bounded passes, and the single-statement
create paths step aside for tenants a reactor applies to."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import func, select

from huiliu.auth.domain import system_actor
from huiliu.core import events as ev
from huiliu.core.events import DomainEvent
from huiliu.core.outbox import OutboxRow
from huiliu.db.session import MAX_REACTION_PASSES, Database, TenantFlagCache, UnitOfWork
from huiliu.runtime import Runtime
from huiliu.tickets import service
from huiliu.tickets.models import Ticket, TicketEvent
from huiliu.tickets.schemas import TicketCreate
from tests.factories import make_member, make_tenant


class Tagger:
    """On ``ticket.created`` of its tenant, tag the ticket through the ticket service (which calls
    ``uow.commit`` itself, as every service function does)."""

    name = "tagger"

    def __init__(self, tenant_id: uuid.UUID, *, chain: bool = False, fail: bool = False) -> None:
        self.tenant_id = tenant_id
        self.chain = chain
        self.fail = fail
        self.seen: list[list[str]] = []

    async def applies(self, db: Database, tenant_id: uuid.UUID) -> bool:
        return tenant_id == self.tenant_id

    async def react(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        mine = [event for event in events if event.tenant_id == self.tenant_id]
        if not mine:
            return
        self.seen.append([event.type for event in mine])
        actor = system_actor(self.tenant_id, "rule:tagger")
        for event in mine:
            ticket_id = uuid.UUID(event.data["ticket"]["id"])
            if event.type == ev.TICKET_CREATED:
                await service.change_tags(uow, actor, ticket_id, add=["auto"], remove=[])
                if self.fail:
                    raise RuntimeError("reaction failed")
            elif self.chain and event.type == ev.TICKET_TAGS_CHANGED:
                # Reacts to its own change: only the pass limit stops it.
                await service.change_tags(uow, actor, ticket_id, add=[f"n{len(self.seen)}"], remove=[])


@pytest.fixture
def reactors(runtime: Runtime) -> Iterator[list[object]]:
    saved = list(runtime.db.reactors)
    yield runtime.db.reactors  # type: ignore[misc]
    runtime.db.reactors[:] = saved


async def _counts(runtime: Runtime, tenant_id: uuid.UUID) -> tuple[int, int, int]:
    async with runtime.db.read(tenant_id) as session:
        tickets = await session.scalar(select(func.count()).select_from(Ticket))
        events = await session.scalar(select(func.count()).select_from(TicketEvent))
        outbox = await session.scalar(select(func.count()).select_from(OutboxRow))
    return tickets or 0, events or 0, outbox or 0


async def test_reaction_commits_with_the_change(runtime, reactors):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    tagger = Tagger(tenant.id)
    reactors.append(tagger)
    request = TicketCreate(title="退款", customer={"phone": "13800138000"})
    async with runtime.db.uow(tenant.id) as uow:
        created = await service.create_ticket(uow, admin.actor, request)
    async with runtime.db.read(tenant.id) as session:
        ticket = await session.get(Ticket, created["id"])
        types = list(
            await session.scalars(
                select(TicketEvent.type)
                .where(TicketEvent.ticket_id == created["id"])
                .order_by(TicketEvent.created_at)
            )
        )
        actors = set(
            await session.scalars(
                select(TicketEvent.actor_name).where(TicketEvent.ticket_id == created["id"])
            )
        )
    assert ticket is not None and ticket.tags == ["auto"]
    assert types == [ev.TICKET_CREATED, ev.TICKET_TAGS_CHANGED]
    assert "rule:tagger" in actors
    # The reactor saw the create once; its own tag event came in a second pass it ignores.
    assert tagger.seen == [[ev.TICKET_CREATED], [ev.TICKET_TAGS_CHANGED]]
    assert (await _counts(runtime, tenant.id))[1:] == (2, 2)


async def test_failed_reaction_writes_nothing(runtime, reactors):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    reactors.append(Tagger(tenant.id, fail=True))
    with pytest.raises(RuntimeError):
        async with runtime.db.uow(tenant.id) as uow:
            await service.create_ticket(uow, admin.actor, TicketCreate(title="退款"))
    assert await _counts(runtime, tenant.id) == (0, 0, 0)


async def test_reactions_to_reactions_stop_after_the_pass_limit(runtime, reactors):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    tagger = Tagger(tenant.id, chain=True)
    reactors.append(tagger)
    async with runtime.db.uow(tenant.id) as uow:
        created = await service.create_ticket(uow, admin.actor, TicketCreate(title="循环"))
    assert len(tagger.seen) == MAX_REACTION_PASSES
    async with runtime.db.read(tenant.id) as session:
        ticket = await session.get(Ticket, created["id"])
    assert ticket is not None and len(ticket.tags) == MAX_REACTION_PASSES


async def test_other_tenants_keep_the_fast_path(runtime, reactors):
    tenant, other = await make_tenant(runtime), await make_tenant(runtime)
    reactors.append(Tagger(tenant.id))
    assert await runtime.db.reactions_apply(tenant.id)
    assert not await runtime.db.reactions_apply(other.id)


async def test_api_create_runs_reactions(runtime, client, reactors):
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    reactors.append(Tagger(tenant.id))
    response = await client.post(
        "/api/v1/tickets", json={"title": "退款", "customer": {"phone": "13900139000"}}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    async with runtime.db.read(tenant.id) as session:
        ticket = await session.get(Ticket, uuid.UUID(response.json()["id"]))
    assert ticket is not None and ticket.tags == ["auto"]


def test_tenant_flag_cache_expires_and_invalidates(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("huiliu.db.session.time.monotonic", lambda: clock[0])
    cache = TenantFlagCache(ttl=2.0)
    tenant = uuid.uuid4()
    assert cache.get(tenant) is None
    assert cache.put(tenant, True) is True
    assert cache.get(tenant) is True
    clock[0] += 2.5
    assert cache.get(tenant) is None
    cache.put(tenant, False)
    cache.invalidate(tenant)
    assert cache.get(tenant) is None
