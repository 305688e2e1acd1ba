"""The PostgreSQL one-statement create writes the same rows as the portable ORM path."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from huiliu.core.outbox import OutboxRow
from huiliu.customers.models import Customer, CustomerIdentity
from huiliu.tickets import service
from huiliu.tickets.models import Ticket, TicketEvent, TicketTag
from huiliu.tickets.schemas import TicketCreate
from tests.conftest import is_postgres
from tests.factories import make_member, make_team, make_tenant

VOLATILE = {
    "id",
    "ticket_id",
    "number",
    "customer_id",
    "created_at",
    "updated_at",
    "occurred_at",
    "event_id",
    "next_attempt_at",
    "tenant_id",
    "actor_id",
}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


async def _snapshot(runtime, tenant_id, ticket_id) -> dict[str, Any]:
    async with runtime.db.read(tenant_id) as session:
        ticket = await session.get(Ticket, ticket_id)
        customer = await session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        identities = (
            await session.execute(
                select(CustomerIdentity.kind, CustomerIdentity.value, CustomerIdentity.verified).where(
                    CustomerIdentity.customer_id == ticket.customer_id
                )
            )
        ).all()
        tags = sorted(
            (await session.execute(select(TicketTag.tag).where(TicketTag.ticket_id == ticket_id))).scalars()
        )
        events = (
            (await session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)))
            .scalars()
            .all()
        )
        outbox = (
            (await session.execute(select(OutboxRow).where(OutboxRow.event_id.in_([e.id for e in events]))))
            .scalars()
            .all()
        )
    columns = {c.key: getattr(ticket, c.key) for c in Ticket.__table__.columns}
    return {
        "ticket": _stable(columns),
        "customer": _stable({c.key: getattr(customer, c.key) for c in Customer.__table__.columns})
        if customer
        else None,
        "identities": [tuple(row) for row in identities],
        "tags": tags,
        "events": [
            _stable({c.key: getattr(e, c.key) for c in TicketEvent.__table__.columns}) for e in events
        ],
        "outbox": [_stable({c.key: getattr(o, c.key) for c in OutboxRow.__table__.columns}) for o in outbox],
        "payload_ticket_matches_row": all(
            o.payload["data"]["ticket"]["number"] == ticket.number
            and o.payload["data"]["ticket"]["customer_id"]
            == (str(ticket.customer_id) if ticket.customer_id else None)
            for o in outbox
        ),
    }


@pytest.mark.parametrize("customer", [{"name": "李女士", "phone": "+86 139-0000-1111"}, None])
async def test_fast_path_rows_equal_portable_rows(runtime, database_url, monkeypatch, customer):
    if not is_postgres(database_url):
        pytest.skip("the fast path exists on PostgreSQL only")
    snapshots = []
    for fast in (True, False):
        tenant = await make_tenant(runtime)
        team = await make_team(runtime, tenant, "售后组")
        admin = await make_member(runtime, tenant)
        monkeypatch.setattr(service, "_uses_pg_fast_path", lambda *args, fast=fast: fast)
        request = TicketCreate(
            title="蛋糕配送延误",
            description="<b>订单</b> 12345 <script>x</script>",
            priority="high",
            tags=["配送", "加急"],
            team_id=team.id,
            customer=customer,
            fields={"size": "8寸"},
        )
        async with runtime.db.uow(tenant.id) as uow:
            created = await service.create_ticket(uow, admin.actor, request)
        assert created["number"] == 1
        snapshot = await _snapshot(runtime, tenant.id, created["id"])
        snapshot["ticket"].pop("team_id")
        for event in snapshot["events"]:
            event.pop("actor_name", None)
        for row in snapshot["outbox"]:
            row["payload"]["data"]["ticket"].pop("team_id")
            row["payload"]["data"].pop("actor")
        snapshots.append(snapshot)
    assert snapshots[0]["payload_ticket_matches_row"] is True
    assert snapshots[0] == snapshots[1]


async def test_fast_path_finds_the_existing_customer(runtime, database_url):
    if not is_postgres(database_url):
        pytest.skip("the fast path exists on PostgreSQL only")
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    ids = []
    for phone in ("13900001111", "+86 139 0000 1111"):
        async with runtime.db.uow(tenant.id) as uow:
            row = await service.create_ticket(
                uow, admin.actor, TicketCreate(title="t", customer={"phone": phone})
            )
        ids.append(row["customer_id"])
    assert ids[0] is not None and ids[0] == ids[1]


@pytest.mark.parametrize(
    "customer", [{"name": "李女士", "phone": "+86 139-0000-1111"}, {"email": "a@b.cn"}, None]
)
async def test_direct_path_rows_equal_portable_rows(runtime, database_url, monkeypatch, customer):
    """The API's create without an Idempotency-Key runs on a driver connection, without a session."""
    if not is_postgres(database_url):
        pytest.skip("the driver pool exists on PostgreSQL only")
    request = TicketCreate(
        title="蛋糕配送延误",
        description="<b>订单</b> 12345 <script>x</script>",
        priority="high",
        tags=["配送", "加急"],
        customer=customer,
        fields={"size": "8寸"},
    )
    assert service.creates_directly(runtime.db, request)
    snapshots = []
    for direct in (True, False):
        tenant = await make_tenant(runtime)
        admin = await make_member(runtime, tenant)
        if direct:
            created = await service.create_ticket_direct(runtime.db, admin.actor, request)
        else:
            monkeypatch.setattr(service, "_uses_pg_fast_path", lambda *args: False)
            async with runtime.db.uow(tenant.id) as uow:
                created = await service.create_ticket(uow, admin.actor, request)
        assert created["number"] == 1
        snapshot = await _snapshot(runtime, tenant.id, created["id"])
        for event in snapshot["events"]:
            event.pop("actor_name", None)
        for row in snapshot["outbox"]:
            row["payload"]["data"].pop("actor")
        snapshots.append(snapshot)
    assert snapshots[0]["payload_ticket_matches_row"] is True
    assert snapshots[0] == snapshots[1]


async def test_requests_with_checks_or_two_identities_take_the_session_path(runtime, database_url):
    if not is_postgres(database_url):
        assert not service.creates_directly(runtime.db, TicketCreate(title="t"))
        return
    team_id = uuid.uuid4()
    assert not service.creates_directly(runtime.db, TicketCreate(title="t", team_id=team_id))
    assert not service.creates_directly(
        runtime.db, TicketCreate(title="t", customer={"phone": "13900001111", "email": "a@b.cn"})
    )
    assert not service.creates_directly(runtime.db, TicketCreate(title="t", customer={"name": "王先生"}))
    assert service.creates_directly(runtime.db, TicketCreate(title="t", customer={"phone": "13900001111"}))


async def test_a_create_inside_a_larger_unit_of_work_commits_with_it(runtime, database_url):
    """Held commits (a reactor or workflow step creating a sub-task) and earlier events in the unit of
    work keep the create in that unit of work: nothing is committed before the outer commit, and a
    rollback takes the ticket with it."""
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    request = TicketCreate(title="子任务", customer={"phone": "13900002222"})
    async with runtime.db.uow(tenant.id) as uow:
        await service.create_ticket(uow, admin.actor, TicketCreate(title="父工单"))
    async with runtime.db.uow(tenant.id) as uow:
        uow.reacting = True  # as inside a reactor: the service's commits are held
        child = await service.create_ticket(uow, admin.actor, request)
        uow.reacting = False
        await uow.session.rollback()  # the outer work fails
    async with runtime.db.read(tenant.id) as session:
        assert await session.get(Ticket, child["id"]) is None
    async with runtime.db.uow(tenant.id) as uow:
        uow.reacting = True
        child = await service.create_ticket(uow, admin.actor, request)
        uow.reacting = False
        await uow.commit()
    async with runtime.db.read(tenant.id) as session:
        stored = await session.get(Ticket, child["id"])
        assert stored is not None and stored.customer_id is not None
