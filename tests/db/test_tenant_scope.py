"""The data layer scopes every ORM statement to the session's tenant, and refuses unscoped sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from huiliu.auth.models import Role, Team, User
from huiliu.db.engine import make_sync_engine
from huiliu.db.session import ScopedSession, TenantScopeMissing, scope_sync_session
from huiliu.tickets.models import Ticket, TicketEvent
from tests.factories import make_member, make_team, make_tenant, make_ticket


@pytest.fixture
async def two_tenants(runtime):
    """Two tenants, each with a team, an admin and two tickets on that team."""
    made = []
    for name in ("甲公司", "乙公司"):
        tenant = await make_tenant(runtime, name)
        team = await make_team(runtime, tenant)
        admin = await make_member(runtime, tenant, "admin", team=team)
        tickets = [
            await make_ticket(runtime, admin, title=f"{name} 工单 {n}", team_id=team.id) for n in range(2)
        ]
        made.append({"tenant": tenant, "team": team, "admin": admin, "tickets": tickets})
    return made


async def test_a_session_without_tenant_refuses_orm_statements(runtime):
    statements = [
        select(Ticket),
        select(Ticket.id),
        update(Ticket).values(title="x"),
        delete(TicketEvent),
    ]
    for statement in statements:
        async with runtime.db.session(None) as session:
            with pytest.raises(TenantScopeMissing):
                await session.execute(statement)
    async with runtime.db.read(None) as session:
        with pytest.raises(TenantScopeMissing):
            await session.execute(select(Team.id))


async def test_a_system_session_sees_every_tenant(runtime, two_tenants):
    ids = {t["id"] for group in two_tenants for t in group["tickets"]}
    async with runtime.db.read(None, system=True) as session:
        found = set((await session.execute(select(Ticket.id).where(Ticket.id.in_(ids)))).scalars())
    assert found == ids


async def test_selects_of_entities_columns_and_aggregates_stay_in_the_tenant(runtime, two_tenants):
    mine, theirs = two_tenants
    mine_ids = {t["id"] for t in mine["tickets"]}
    their_ids = {t["id"] for t in theirs["tickets"]}
    async with runtime.db.read(mine["tenant"].id) as session:
        entities = (await session.execute(select(Ticket))).scalars().all()
        assert {t.id for t in entities} == mine_ids
        assert {t.tenant_id for t in entities} == {mine["tenant"].id}
        columns = (await session.execute(select(Ticket.id, Ticket.title))).all()
        assert {row.id for row in columns} == mine_ids
        # Asking for the other tenant's rows by id finds nothing.
        assert (await session.execute(select(Ticket.id).where(Ticket.id.in_(their_ids)))).all() == []
        assert await session.get(Ticket, next(iter(their_ids))) is None
        count = (await session.execute(select(func.count(Ticket.id)))).scalar_one()
        assert count == len(mine_ids)
        events = (await session.execute(select(TicketEvent.ticket_id))).scalars().all()
        assert set(events) == mine_ids


async def test_joins_and_subqueries_are_scoped_on_every_table(runtime, two_tenants):
    mine, theirs = two_tenants
    async with runtime.db.read(mine["tenant"].id) as session:
        # Joining on a column that does not mention tenants would pair every tenant's rows.
        rows = (
            await session.execute(
                select(Ticket.id, Team.id.label("team"), Team.tenant_id).join(Team, Team.id.isnot(None))
            )
        ).all()
        assert rows and {row.tenant_id for row in rows} == {mine["tenant"].id}
        assert {row.team for row in rows} == {mine["team"].id}
        users = (await session.execute(select(User.id, Role.name).join(Role, Role.id == User.role_id))).all()
        assert {row.id for row in users} == {mine["admin"].user.id}
        other_team = aliased(Team)
        aliased_rows = (await session.execute(select(other_team.id, other_team.tenant_id))).all()
        assert {row.tenant_id for row in aliased_rows} == {mine["tenant"].id}
        in_subquery = (
            (await session.execute(select(Ticket.id).where(Ticket.id.in_(select(TicketEvent.ticket_id)))))
            .scalars()
            .all()
        )
        assert set(in_subquery) == {t["id"] for t in mine["tickets"]}
        assert theirs["team"].id not in {row.team for row in rows}


async def test_updates_and_deletes_never_touch_another_tenant(runtime, two_tenants):
    mine, theirs = two_tenants
    their_ids = [t["id"] for t in theirs["tickets"]]
    async with runtime.db.session(mine["tenant"].id) as session:
        result = await session.execute(
            update(Ticket).where(Ticket.id.in_(their_ids)).values(title="被篡改"),
            execution_options={"synchronize_session": False},
        )
        assert result.rowcount == 0
        everything = await session.execute(
            update(Ticket).values(category="scoped"), execution_options={"synchronize_session": False}
        )
        assert everything.rowcount == len(mine["tickets"])
        removed = await session.execute(
            delete(TicketEvent).where(TicketEvent.ticket_id.in_(their_ids)),
            execution_options={"synchronize_session": False},
        )
        assert removed.rowcount == 0
        await session.commit()
    async with runtime.db.read(theirs["tenant"].id) as session:
        rows = (await session.execute(select(Ticket.title, Ticket.category))).all()
        assert {row.title for row in rows} == {t["title"] for t in theirs["tickets"]}
        assert {row.category for row in rows} == {None}
        events = (await session.execute(select(func.count(TicketEvent.id)))).scalar_one()
        assert events == len(their_ids)
    async with runtime.db.read(mine["tenant"].id) as session:
        categories = (await session.execute(select(Ticket.category))).scalars().all()
        assert categories == ["scoped"] * len(mine["tickets"])


async def test_synchronous_sessions_are_scoped_the_same_way(settings, runtime, two_tenants):
    mine, theirs = two_tenants
    engine = make_sync_engine(settings.database_url)
    try:
        with ScopedSession(engine) as session:
            scope_sync_session(session, theirs["tenant"].id)
            ids = set(session.execute(select(Ticket.id)).scalars())
            assert ids == {t["id"] for t in theirs["tickets"]}
            assert session.get(Ticket, mine["tickets"][0]["id"]) is None
        with ScopedSession(engine) as session:
            scope_sync_session(session, None)
            with pytest.raises(TenantScopeMissing):
                session.execute(select(Ticket.id))
    finally:
        engine.dispose()
