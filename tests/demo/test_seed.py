"""Seeding the demo through the services: deterministic, resumable, idempotent, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from huiliu.auth import service as auth
from huiliu.auth.models import Role, Team, User
from huiliu.core.outbox import OutboxRow
from huiliu.core.pubsub import InProcessHub
from huiliu.customers.models import Customer, CustomerIdentity
from huiliu.db.engine import make_async_engine
from huiliu.db.session import Database
from huiliu.demo import ADMIN_EMAIL, ADMIN_PASSWORD, seed_demo
from huiliu.demo import content as c
from huiliu.demo.plan import build_customers, plan_tickets
from huiliu.tickets.models import Message, Ticket, TicketEvent
from tests.demo.databases import fresh_database

TICKETS = 40
CUSTOMERS = 25
NOW = datetime.now(UTC).replace(microsecond=0)


class Interrupt(Exception):
    """Raised from the progress sink to stop a seed part-way, as a Ctrl-C would."""


class StopAfter:
    def __init__(self, tickets: int) -> None:
        self.tickets = tickets
        self.current = ""

    def phase(self, description: str, total: int) -> None:
        self.current = description

    def advance(self, amount: int = 1) -> None:
        if self.current.startswith("工单"):
            self.tickets -= amount
            if self.tickets <= 0:
                raise Interrupt


def database(url: str) -> Database:
    return Database(make_async_engine(url), InProcessHub())


async def ticket_rows(db: Database) -> list[tuple]:
    async with db.session(None, system=True) as session:
        rows = (
            await session.execute(
                select(
                    Ticket.number,
                    Ticket.title,
                    Ticket.status,
                    Ticket.priority,
                    Ticket.channel,
                    Ticket.category,
                    Ticket.scenario,
                    Ticket.tags,
                ).order_by(Ticket.number)
            )
        ).all()
    return [tuple(row) for row in rows]


async def counts(db: Database) -> dict[str, int]:
    result = {}
    async with db.session(None, system=True) as session:
        for name, model in (
            ("tickets", Ticket),
            ("messages", Message),
            ("events", TicketEvent),
            ("outbox", OutboxRow),
            ("users", User),
            ("teams", Team),
            ("customers", Customer),
            ("identities", CustomerIdentity),
        ):
            result[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return result


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory):
    """Database A seeded in one go; database B interrupted after 15 tickets and then resumed."""
    directory = tmp_path_factory.mktemp("demo")
    with fresh_database(directory) as url_a, fresh_database(directory) as url_b:
        db_a, db_b = database(url_a), database(url_b)
        first = await seed_demo(db_a, tickets_count=TICKETS, customers_count=CUSTOMERS, now=NOW)
        with pytest.raises(Interrupt):
            await seed_demo(
                db_b, tickets_count=TICKETS, customers_count=CUSTOMERS, now=NOW, progress=StopAfter(15)
            )
        interrupted = await counts(db_b)
        resumed = await seed_demo(db_b, tickets_count=TICKETS, customers_count=CUSTOMERS, now=NOW)
        yield {"a": db_a, "b": db_b, "first": first, "interrupted": interrupted, "resumed": resumed}
        await db_a.dispose()
        await db_b.dispose()


async def test_two_seeds_of_fresh_databases_hold_the_same_tickets(seeded):
    rows_a, rows_b = await ticket_rows(seeded["a"]), await ticket_rows(seeded["b"])
    assert [row[0] for row in rows_a] == list(range(1, TICKETS + 1))
    assert rows_a == rows_b


async def test_an_interrupted_seed_resumes_where_it_stopped(seeded):
    assert seeded["interrupted"]["tickets"] == 15
    assert seeded["resumed"].tickets_created == TICKETS - 15
    assert seeded["resumed"].users_created == 0
    assert (await counts(seeded["b"]))["customers"] == CUSTOMERS


async def test_seeding_again_adds_nothing(seeded):
    before = await counts(seeded["a"])
    again = await seed_demo(seeded["a"], tickets_count=TICKETS, customers_count=CUSTOMERS, now=NOW)
    assert not again.changed and again.tickets_created == 0
    assert await counts(seeded["a"]) == before


async def test_ticket_statuses_and_titles_follow_the_plan(seeded):
    plans = plan_tickets(TICKETS, build_customers(CUSTOMERS), NOW)
    rows = await ticket_rows(seeded["a"])
    assert [(row[1], row[2]) for row in rows] == [(plan.title, plan.final_status) for plan in plans]


async def test_history_is_back_dated_and_every_event_has_an_outbox_row(seeded):
    db = seeded["a"]
    numbers = await counts(db)
    assert numbers["events"] == numbers["outbox"] > numbers["tickets"]
    async with db.session(None, system=True) as session:
        created = (
            await session.execute(
                select(Ticket.created_at, TicketEvent.created_at)
                .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
                .where(TicketEvent.type == "ticket.created")
            )
        ).all()
        latest_event = await session.scalar(select(func.max(TicketEvent.created_at)))
        earliest = await session.scalar(select(func.min(Ticket.created_at)))
        kinds = {
            tuple(row) for row in (await session.execute(select(Message.author_kind, Message.public))).all()
        }
    assert len(created) == TICKETS and all(ticket == event for ticket, event in created)
    assert earliest < NOW - timedelta(days=7)
    assert latest_event < NOW
    assert ("agent", True) in kinds and ("customer", True) in kinds and ("agent", False) in kinds


async def test_the_organisation_and_logins_exist(seeded):
    db = seeded["a"]
    async with db.session(None, system=True) as session:
        teams = {
            row.name: row.parent_id
            for row in (await session.execute(select(Team.name, Team.parent_id))).all()
        }
        ids = {row.name: row.id for row in (await session.execute(select(Team.name, Team.id))).all()}
        agents = (
            (
                await session.execute(
                    select(User.team_id).join(Role, Role.id == User.role_id).where(Role.name == "agent")
                )
            )
            .scalars()
            .all()
        )
    for department, children in c.DEPARTMENTS.items():
        assert teams[department] is None
        assert all(teams[child] == ids[department] for child in children)
    assert len(agents) == 20 and all(team_id is not None for team_id in agents)
    admin = await auth.login(db, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert admin.email == ADMIN_EMAIL
    agent = await auth.login(db, c.AGENTS["售后组"][0].email, ADMIN_PASSWORD)
    assert agent.team_id == ids["售后组"]


async def test_customers_carry_phone_email_and_wechat_identities(seeded):
    async with seeded["a"].session(None, system=True) as session:
        kinds = {row.kind for row in (await session.execute(select(CustomerIdentity.kind))).all()}
    assert {"phone", "email", "wechat_openid"} <= kinds
