"""Seeding the demo through the services: deterministic, resumable, idempotent, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from huiliu.analytics.alerts.models import AlertRule
from huiliu.auth import service as auth
from huiliu.auth.models import Role, Team, Tenant, User
from huiliu.automation.models import Rule
from huiliu.core.outbox import OutboxRow
from huiliu.core.pubsub import InProcessHub
from huiliu.customers.models import Customer, CustomerIdentity
from huiliu.db.engine import make_async_engine
from huiliu.db.session import Database
from huiliu.demo import ADMIN_EMAIL, ADMIN_PASSWORD, seed_demo
from huiliu.demo import capabilities as caps
from huiliu.demo import content as c
from huiliu.demo import knowledge as k
from huiliu.demo.plan import build_customers, plan_tickets
from huiliu.entry_points.models import EntryPoint
from huiliu.intelligence.models import TicketClassification
from huiliu.intelligence.taxonomy import DEFAULT_CATEGORIES
from huiliu.kb.models import KbArticle, KbCategory, QuickReply
from huiliu.settings import Settings
from huiliu.ticket_templates.models import TicketTemplate, TicketTemplateVersion
from huiliu.tickets.models import Message, Ticket, TicketEvent
from huiliu.workflows.models import (
    Workflow,
    WorkflowApproval,
    WorkflowInstance,
    WorkflowSubtask,
    WorkflowVersion,
)
from tests.demo.databases import fresh_database
from tests.demo.models import small_classifier_settings

# 60 tickets leave one open refund of 售后组 and one open complaint for the demo's workflow runs; a
# fixed moment keeps that so whatever the date the tests run on.
TICKETS = 60
CUSTOMERS = 25
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


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
                )
                .where(Ticket.parent_id.is_(None))
                .order_by(Ticket.number)
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
            ("rules", Rule),
            ("templates", TicketTemplate),
            ("template_versions", TicketTemplateVersion),
            ("entry_points", EntryPoint),
            ("workflows", Workflow),
            ("workflow_versions", WorkflowVersion),
            ("workflow_runs", WorkflowInstance),
            ("approvals", WorkflowApproval),
            ("kb_categories", KbCategory),
            ("kb_articles", KbArticle),
            ("quick_replies", QuickReply),
            ("alert_rules", AlertRule),
        ):
            result[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return result


@pytest.fixture(scope="module")
def classifier_settings(request, tmp_path_factory) -> Settings:
    return small_classifier_settings(request.config.cache, tmp_path_factory.mktemp("demo-dataset"))


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory, classifier_settings):
    """Database A seeded in one go; database B interrupted after 15 tickets and then resumed."""
    directory = tmp_path_factory.mktemp("demo")
    sizes = {"tickets_count": TICKETS, "customers_count": CUSTOMERS, "now": NOW}
    with fresh_database(directory) as url_a, fresh_database(directory) as url_b:
        db_a, db_b = database(url_a), database(url_b)
        first = await seed_demo(db_a, **sizes, settings=classifier_settings)
        with pytest.raises(Interrupt):
            await seed_demo(db_b, **sizes, settings=classifier_settings, progress=StopAfter(15))
        interrupted = await counts(db_b)
        resumed = await seed_demo(db_b, **sizes, settings=classifier_settings)
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
    async with db.session(None, system=True) as session:
        # Notifications (the demo's approval requests) are outbox rows of their own.
        event_rows = await session.scalar(
            select(func.count(func.distinct(OutboxRow.event_id))).where(
                OutboxRow.event_id.in_(select(TicketEvent.id))
            )
        )
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
    assert numbers["events"] == event_rows > numbers["tickets"]
    assert numbers["outbox"] >= numbers["events"]
    assert len(created) == numbers["tickets"] and all(ticket == event for ticket, event in created)
    assert earliest < NOW - timedelta(days=7)
    # The history lies before the seed's moment; the demo's workflow runs start at that moment.
    assert latest_event <= NOW
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


def final_team(plan) -> str | None:
    team = plan.team
    for step in plan.steps:
        if step.kind == "assign" and step.team:
            team = step.team
    return team


async def instance_tickets(db: Database) -> list[tuple[str, int]]:
    async with db.session(None, system=True) as session:
        rows = (
            await session.execute(
                select(Workflow.name, Ticket.number)
                .join(WorkflowInstance, WorkflowInstance.workflow_id == Workflow.id)
                .join(Ticket, Ticket.id == WorkflowInstance.ticket_id)
                .order_by(Workflow.name, Ticket.number)
            )
        ).all()
    return [tuple(row) for row in rows]


async def test_each_capability_exists_once_after_two_seeds(seeded):
    db = seeded["a"]
    await seed_demo(db, tickets_count=TICKETS, customers_count=CUSTOMERS, now=NOW)
    await seed_demo(db, tickets_count=TICKETS, customers_count=CUSTOMERS, now=NOW)
    async with db.session(None, system=True) as session:
        presets = (await session.execute(select(Rule.preset_key, Rule.active))).all()
        templates = {
            row.preset_key: row for row in (await session.execute(select(TicketTemplate))).scalars().all()
        }
        entry_points = (await session.execute(select(EntryPoint))).scalars().all()
        workflows = {
            row.name: row.latest_version for row in (await session.execute(select(Workflow))).scalars().all()
        }
        categories = (await session.execute(select(KbCategory.name))).scalars().all()
        articles = (
            await session.execute(select(KbArticle.title, KbArticle.visibility, KbArticle.status))
        ).all()
        replies = (await session.execute(select(QuickReply.title, QuickReply.body))).all()
        alert_names = (await session.execute(select(AlertRule.name))).scalars().all()
        settings = await session.scalar(select(Tenant.settings).where(Tenant.slug == c.TENANT_SLUG))
        inspectors = (
            await session.execute(
                select(Role.name, Team.name, User.email)
                .join(Role, Role.id == User.role_id)
                .join(Team, Team.id == User.team_id)
                .where(Role.name == caps.QA_ROLE)
            )
        ).all()
        qa_team_parent = await session.scalar(
            select(Team.name).where(
                Team.id == select(Team.parent_id).where(Team.name == caps.QA_TEAM).scalar_subquery()
            )
        )
    assert sorted(key for key, _ in presets) == [
        "preset-low-rating-qa-review",
        "preset-refund-to-after-sales",
        "preset-unhandled-24h",
    ]
    assert all(active for _, active in presets)
    assert sorted(templates) == sorted(caps.TEMPLATE_PRESETS)
    assert all(row.status == "published" and row.current_version == 1 for row in templates.values())
    assert [(row.name, row.kind) for row in entry_points] == [(caps.REPAIR_ENTRY_POINT, "h5_form")]
    assert entry_points[0].config["default_template_id"] == str(templates[caps.REPAIR_TEMPLATE].id)
    assert workflows == {caps.REFUND_WORKFLOW: 1, caps.COMPLAINT_WORKFLOW: 1}
    assert sorted(categories) == sorted(category.name for category in k.CATEGORIES)
    assert sorted(title for title, _, _ in articles) == sorted(article.title for article in k.ARTICLES)
    assert {visibility for _, visibility, _ in articles} == {"public", "internal"}
    assert {status for _, _, status in articles} == {"published"}
    assert len(replies) == len(k.QUICK_REPLIES) and all("{{" in body for _, body in replies)
    assert sorted(alert_names) == sorted(rule["name"] for rule in caps.ALERT_RULES)
    assert settings["classification"]["enabled"] is True
    assert [tuple(row) for row in inspectors] == [(caps.QA_ROLE, caps.QA_TEAM, caps.QA_PERSON.email)]
    assert qa_team_parent == caps.QA_PARENT


async def test_workflow_runs_wait_in_the_team_leads_approval_inbox(seeded):
    db_a, db_b = seeded["a"], seeded["b"]
    runs = await instance_tickets(db_a)
    # The resumed seed started the same runs on the same tickets.
    assert runs == await instance_tickets(db_b)
    refunds = [number for name, number in runs if name == caps.REFUND_WORKFLOW]
    complaints = [number for name, number in runs if name == caps.COMPLAINT_WORKFLOW]
    plans = plan_tickets(TICKETS, build_customers(CUSTOMERS), NOW)
    open_plans = [
        (number, final_team(plan), plan)
        for number, plan in enumerate(plans, start=1)
        if plan.final_status in caps.OPEN_STATUSES
    ]
    # A request that arrived without a category is a refund when the classifier said so.
    categories = {row[0]: row[5] for row in await ticket_rows(db_a)}
    open_refunds = [
        number
        for number, team, plan in open_plans
        if team == "售后组" and categories[number] == caps.REFUND_CATEGORY
    ]
    open_complaints = [
        number for number, team, plan in open_plans if team == "投诉处理组" and plan.scenario == "complaint"
    ]
    assert refunds == open_refunds[: caps.REFUND_RUNS]
    assert complaints == open_complaints[: caps.COMPLAINT_RUNS]
    assert refunds and complaints
    async with db_a.session(None, system=True) as session:
        pending = (
            await session.execute(
                select(WorkflowApproval.node_id, User.email)
                .join(User, User.id == WorkflowApproval.approver_id)
                .where(WorkflowApproval.state == "pending")
            )
        ).all()
        subtasks = await session.scalar(select(func.count()).select_from(WorkflowSubtask))
    assert sorted(pending) == sorted(
        [("lead_approval", c.LEADS["售后组"].email)] * len(refunds)
        + [("confirm", c.LEADS["投诉处理组"].email)] * len(complaints)
    )
    # The complaints split into sub-tasks when the lead approves, not while seeding.
    assert subtasks == 0


async def test_tickets_carry_taxonomy_keys_and_free_text_requests_of_the_last_week_were_classified(seeded):
    plans = plan_tickets(TICKETS, build_customers(CUSTOMERS), NOW)
    rows = await ticket_rows(seeded["a"])
    async with seeded["a"].session(None, system=True) as session:
        classified = {
            number: row
            for number, row in (
                await session.execute(
                    select(Ticket.number, TicketClassification).join(
                        Ticket, Ticket.id == TicketClassification.ticket_id
                    )
                )
            ).all()
        }
    keys = {category.key for category in DEFAULT_CATEGORIES}
    left_open = [number for number, plan in enumerate(plans, start=1) if plan.category is None]
    assert left_open, "the 60 planned tickets include a free-text request of the last week"
    # Only the requests that arrived without a category met the classifier, which ran as it does in
    # production: a category it was sure of was filled in, an unsure target left the ticket in 待分类.
    assert sorted(classified) == left_open
    for number, plan, row in zip(range(1, TICKETS + 1), plans, rows, strict=True):
        category = row[5]
        if plan.category is not None:
            assert category == plan.category and category in keys
            continue
        outcome = classified[number]
        assert outcome.needs_triage == bool(outcome.low)
        if "category" in outcome.low:
            assert category is None
        else:
            assert category == outcome.labels["category"] and category in keys
    assert any(row.needs_triage for row in classified.values())
    assert await ticket_rows(seeded["b"]) == rows
