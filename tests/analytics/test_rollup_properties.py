"""Incremental facts equal a recomputation from scratch, whatever happened to the tickets in between
refreshes: random sequences of creates, assignments, replies, status moves, reopens and ratings, with
refreshes at random points, then ``rebuild`` must not change a single fact; and the facts agree with
counts read straight from the ticket tables."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from huiliu.analytics import rollups
from huiliu.analytics.models import TicketFact
from huiliu.automation.ratings import rate_ticket
from huiliu.core import clock
from huiliu.core.errors import HuiliuError
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import DONE, Status
from huiliu.tickets.models import Ticket
from tests.sla.helpers import sh, sla_tenant

OPS = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(["web", "wechat"]), st.sampled_from(["退款", "发票", None])),
    st.tuples(st.just("assign"), st.integers(0, 5), st.integers(0, 2)),
    st.tuples(st.just("reply"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("status"), st.integers(0, 5), st.sampled_from(list(Status))),
    st.tuples(st.just("reopen"), st.integers(0, 5), st.none()),
    st.tuples(st.just("rate"), st.integers(0, 5), st.integers(1, 5)),
    st.tuples(st.just("refresh"), st.none(), st.none()),
)
STEPS = st.lists(st.tuples(OPS, st.integers(1, 600)), min_size=1, max_size=25)


def _snapshot(rows: list[TicketFact]) -> dict[uuid.UUID, dict[str, Any]]:
    columns = [c.key for c in TicketFact.__table__.columns if c.key != "refreshed_at"]
    return {row.ticket_id: {name: getattr(row, name) for name in columns} for row in rows}


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_incremental_facts_equal_a_rebuild(runtime: Any, steps: list[Any]) -> None:
    tenant = await sla_tenant(runtime, cn_statutory=False)
    admin = tenant.admin.actor
    db = runtime.db
    made: list[uuid.UUID] = []
    now = sh("2026-03-02 08:00")
    for (op, a, b), minutes in steps:
        now += timedelta(minutes=minutes)
        if op == "refresh":
            await rollups.refresh(db, tenant.tenant_id, settle=timedelta(0))
            continue
        if op == "create":
            made.append(await tenant.create(now, channel=a, category=b))
            continue
        if not made:
            continue
        ticket_id = made[a % len(made)]
        try:
            with clock.at(now):
                async with db.uow(tenant.tenant_id) as uow:
                    if op == "assign":
                        agent = admin.id if b else None
                        await tickets.assign(uow, admin, ticket_id, team_id=None, assignee_id=agent)
                    elif op == "reply":
                        await tickets.add_message(uow, admin, ticket_id, "处理中", public=b)
                    elif op == "status":
                        await tickets.change_status(uow, admin, ticket_id, b)
                    elif op == "reopen":
                        await tickets.reopen(uow, admin, ticket_id)
                    elif op == "rate":
                        await rate_ticket(uow, admin, ticket_id, b)
        except HuiliuError:
            pass  # a move the status machine refuses changes nothing
    await rollups.refresh(db, tenant.tenant_id, settle=timedelta(0))
    async with db.read(tenant.tenant_id) as session:
        incremental = _snapshot(list((await session.execute(select(TicketFact))).scalars()))
        raw_total = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
        raw_done = (
            await session.execute(
                select(func.count()).select_from(Ticket).where(Ticket.status.in_([s.value for s in DONE]))
            )
        ).scalar_one()
        raw_reopened = (
            await session.execute(select(func.count()).select_from(Ticket).where(Ticket.reopen_count > 0))
        ).scalar_one()
    await rollups.rebuild(db, tenant.tenant_id)
    async with db.read(tenant.tenant_id) as session:
        rebuilt = _snapshot(list((await session.execute(select(TicketFact))).scalars()))
    assert incremental == rebuilt
    assert len(incremental) == raw_total
    assert sum(1 for f in incremental.values() if f["resolved_at"] is not None) == raw_done
    assert sum(1 for f in incremental.values() if f["reopened"]) == raw_reopened
