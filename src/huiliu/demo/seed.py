"""Seed the demo tenant through the real services, back-dated with ``core.clock.at``.

Every ticket is created with ``tickets.service.create_ticket`` and moved with ``assign``,
``add_message``, ``change_status`` and ``change_tags``, so its audit events and outbox rows are the
ones production would have written. The seed is idempotent: teams and people are looked up before
they are created, customers are resolved by identity, and tickets continue from the number of tickets
the demo tenant already holds (an interrupted run resumes; a complete one adds nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select

from huiliu.auth import service as auth
from huiliu.auth.domain import Actor, ActorKind, DataScope, system_actor
from huiliu.auth.models import Team, Tenant, User
from huiliu.core import clock
from huiliu.customers.service import resolve_customer
from huiliu.db import registry as _registry  # noqa: F401  (every table known to the ORM)
from huiliu.db.session import Database, UnitOfWork
from huiliu.demo import content as c
from huiliu.demo.capabilities import install_capabilities, switch_classification_on
from huiliu.demo.plan import (
    AUTO_CLOSE,
    CUSTOMER,
    HISTORY_DAYS,
    ROUTING,
    CustomerSpec,
    Step,
    TicketPlan,
    build_customers,
    plan_tickets,
)
from huiliu.intelligence import triage
from huiliu.routing import service as routing
from huiliu.routing.models import AgentProfile, RoutingPolicyRow
from huiliu.settings import Settings
from huiliu.sla import service as sla
from huiliu.tenancy.service import provision_tenant
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import Priority, Status
from huiliu.tickets.models import Ticket
from huiliu.tickets.schemas import CustomerRef, TicketCreate

DEFAULT_TICKETS = 3000
DEFAULT_CUSTOMERS = 500
CUSTOMER_BATCH = 100
T = TypeVar("T")


class ProgressSink(Protocol):
    """Where the seeder reports progress (the CLI draws a rich progress bar)."""

    def phase(self, description: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class _Silent:
    def phase(self, description: str, total: int) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None


@dataclass(frozen=True)
class SeedReport:
    tenant_id: uuid.UUID
    tenant_created: bool
    users_created: int
    customers: int
    tickets_created: int
    tickets_total: int

    @property
    def changed(self) -> bool:
        return self.tenant_created or self.users_created > 0 or self.tickets_created > 0


async def seed_demo(
    db: Database,
    *,
    tickets_count: int = DEFAULT_TICKETS,
    customers_count: int = DEFAULT_CUSTOMERS,
    progress: ProgressSink | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> SeedReport:
    """Create (or complete) the demo tenant ``demo`` with its organisation, customers and tickets.
    ``settings`` name the classifier's model (default: the process's settings)."""
    sink = progress or _Silent()
    moment = clock.ensure_utc(now or clock.utcnow())
    tenant, tenant_created = await _tenant(db)
    existing_tickets = await _count_tickets(db, tenant.id)
    staff_before = await _staff_ids(db, tenant.id)
    if not tenant_created and existing_tickets >= tickets_count and staff_emails() <= set(staff_before):
        await _routing(db, tenant.id)
        await _sla(db, tenant.id)
        await _capabilities(db, tenant.id, moment)
        return SeedReport(tenant.id, False, 0, customers_count, 0, existing_tickets)
    history_start = moment - _history_span()
    team_ids = await _teams(db, tenant.id, history_start)
    users_created = await _people(db, tenant.id, team_ids, history_start, sink)
    actors = await _actors(db, tenant.id)
    customers = build_customers(customers_count)
    await _customers(db, tenant.id, customers, history_start, sink)
    plans = plan_tickets(tickets_count, customers, moment)[existing_tickets:]
    if any(plan.category is None for plan in plans):
        # The last week's free-text requests are classified as they arrive (see ``plan``).
        await switch_classification_on(db, tenant.id)
    runner = _TicketRunner(db, _classifying(db, settings), tenant.id, actors, team_ids, customers)
    sink.phase("工单 tickets", len(plans))
    for plan in plans:
        await runner.run(plan)
        sink.advance()
    # After the history: with a default policy in place, the reactor would route the seeded tickets.
    await _routing(db, tenant.id)
    # The SLA presets after the history too: new tickets get clocks; the seeded past does not breach.
    await _sla(db, tenant.id)
    # Rules, templates, workflows, knowledge, classification and alerts: after the history too.
    await _capabilities(db, tenant.id, moment)
    return SeedReport(
        tenant.id, tenant_created, users_created, len(customers), len(plans), existing_tickets + len(plans)
    )


def _classifying(db: Database, settings: Settings | None) -> Database:
    """The database with the classification reactor, on ``db``'s engine, for the tickets that arrive
    without a category: the reactor classifies them with the real model as it would in production.
    The rest of the history is replayed without it, so it never changes what the plan says."""
    classifying = Database(db.engine, db.hub)
    triage.install(classifying, settings)
    return classifying


def _history_span() -> timedelta:
    # Staff and customers exist a week before the first ticket of the history.
    return timedelta(days=HISTORY_DAYS + 7)


def staff_emails() -> set[str]:
    """Every staff login the demo creates (admin, leads, agents)."""
    return (
        {c.ADMIN_EMAIL}
        | {p.email for p in c.LEADS.values()}
        | {p.email for people in c.AGENTS.values() for p in people}
    )


async def _tenant(db: Database) -> tuple[Tenant, bool]:
    async with db.uow(None, system=True) as uow:
        found = (
            await uow.session.execute(select(Tenant).where(Tenant.slug == c.TENANT_SLUG))
        ).scalar_one_or_none()
    if found is not None:
        return found, False
    return await provision_tenant(db, c.TENANT_SLUG, c.TENANT_NAME), True


async def _count_tickets(db: Database, tenant_id: uuid.UUID) -> int:
    """The tickets of the history: sub-tasks the demo's workflows open are not among them."""
    async with db.uow(tenant_id) as uow:
        total = await uow.session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.tenant_id == tenant_id, Ticket.parent_id.is_(None))
        )
    return int(total or 0)


async def _staff_ids(db: Database, tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    async with db.uow(tenant_id) as uow:
        rows = (
            await uow.session.execute(select(User.email, User.id).where(User.tenant_id == tenant_id))
        ).all()
    return {row.email: row.id for row in rows}


async def _at(
    db: Database, tenant_id: uuid.UUID, moment: datetime, work: Callable[[UnitOfWork], Awaitable[T]]
) -> T:
    """Run one use case in its own unit of work with the clock set to ``moment``."""
    with clock.at(moment):
        async with db.uow(tenant_id) as uow:
            return await work(uow)


async def _teams(db: Database, tenant_id: uuid.UUID, moment: datetime) -> dict[str, uuid.UUID]:
    async with db.uow(tenant_id) as uow:
        ids = {row.name: row.id for row in (await uow.session.execute(select(Team.name, Team.id))).all()}
    for department, teams in c.DEPARTMENTS.items():
        for name, parent in ((department, None), *((team, department) for team in teams)):
            if name in ids:
                continue

            async def create(uow: UnitOfWork, name: str = name, parent: str | None = parent) -> uuid.UUID:
                team = await auth.create_team(uow, name, ids[parent] if parent else None)
                await uow.commit()
                return team.id

            ids[name] = await _at(db, tenant_id, moment, create)
    return ids


async def _people(
    db: Database, tenant_id: uuid.UUID, team_ids: dict[str, uuid.UUID], moment: datetime, sink: ProgressSink
) -> int:
    """The admin, a lead per team and the agents. Staff log in with the demo password too."""
    wanted: list[tuple[str, str, str, str | None]] = [(c.ADMIN_EMAIL, c.ADMIN_NAME, "admin", None)]
    wanted += [(person.email, person.name, "lead", team) for team, person in c.LEADS.items()]
    wanted += [(p.email, p.name, "agent", team) for team, people in c.AGENTS.items() for p in people]
    existing = await _staff_ids(db, tenant_id)
    missing = [entry for entry in wanted if entry[0] not in existing]
    sink.phase("人员 staff", len(missing))
    for email, name, role, team in missing:

        async def create(
            uow: UnitOfWork, email: str = email, name: str = name, role: str = role, team: str | None = team
        ) -> None:
            role_row = await auth.role_by_name(uow, role)
            await auth.create_user(
                uow,
                email=email,
                name=name,
                password=c.ADMIN_PASSWORD,
                role_id=role_row.id,
                team_id=team_ids[team] if team else None,
            )
            await uow.commit()

        await _at(db, tenant_id, moment, create)
        sink.advance()
    return len(missing)


# Routing: skills per team (level by seniority), regions of the repair teams, a default policy.
_TEAM_SKILLS: dict[str, dict[str, int]] = {
    "售前组": {"产品咨询": 4, "English": 2},
    "售后组": {"退换货": 4, "粤语": 3},
    "投诉处理组": {"投诉处理": 4},
    "华南维修组": {"设备维修": 4, "粤语": 4},
    "华东维修组": {"设备维修": 4},
}
_TEAM_REGIONS: dict[str, list[str]] = {"华南维修组": ["华南"], "华东维修组": ["华东"]}
_OFFICE_SHIFT = {
    "timezone": "Asia/Shanghai",
    "hours": {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
}
_DEMO_POLICIES: list[dict[str, Any]] = [
    {
        "name": "默认派单",
        "description": "熟悉的坐席优先，其次按技能、区域，最后最空闲；都不行则进入团队队列",
        "definition": {
            "strategy": "familiar_agent",
            "familiarity_days": 30,
            "fallback": [{"strategy": "skills"}, {"strategy": "region"}, {"strategy": "least_loaded"}],
            "final": "team_queue",
        },
        "is_default": True,
    },
    {
        "name": "VIP 专属",
        "description": "VIP 客户交给资深坐席，否则轮询",
        "definition": {"strategy": "vip_senior", "fallback": [{"strategy": "round_robin"}]},
    },
]


async def _routing(db: Database, tenant_id: uuid.UUID) -> None:
    """Routing policies and agent profiles (presence, skills, regions, caps, shifts), each once."""
    ids = await _staff_ids(db, tenant_id)
    async with db.uow(tenant_id) as uow:
        admin = await auth.actor_for_user(db, ids[c.ADMIN_EMAIL], tenant_id, auth.ActorCache(ttl=0))
        names = set((await uow.session.execute(select(RoutingPolicyRow.name))).scalars().all())
        profiled = set((await uow.session.execute(select(AgentProfile.user_id))).scalars().all())
        for policy in _DEMO_POLICIES:
            if policy["name"] not in names:
                await routing.create_policy(uow, admin, policy)
        for team, people in c.AGENTS.items():
            for index, person in enumerate(people):
                user_id = ids.get(person.email)
                if user_id is None or user_id in profiled:
                    continue
                profile: dict[str, Any] = {
                    "presence": "away" if index == len(people) - 1 else "online",
                    "skills": {
                        name: max(1, level - (1 if index else 0))
                        for name, level in _TEAM_SKILLS[team].items()
                    },
                    "regions": _TEAM_REGIONS.get(team, []),
                    "senior": index == 0,
                    "capacity": 30 if index == 0 else 20,
                    "shift": _OFFICE_SHIFT if index % 2 else "always",
                }
                await routing.put_profile(uow, admin, user_id, profile)


async def _sla(db: Database, tenant_id: uuid.UUID) -> None:
    """The standard business calendar (China's working calendar) and SLA policy, each once."""
    ids = await _staff_ids(db, tenant_id)
    admin = await auth.actor_for_user(db, ids[c.ADMIN_EMAIL], tenant_id, auth.ActorCache(ttl=0))
    async with db.uow(tenant_id) as uow:
        await sla.install_presets(uow, admin)


async def _capabilities(db: Database, tenant_id: uuid.UUID, moment: datetime) -> None:
    """Automation rules, templates and an H5 entry point, workflows with runs, the knowledge base,
    classification and alert rules (``demo.capabilities``), each once, at the end of the history."""
    ids = await _staff_ids(db, tenant_id)
    with clock.at(moment):
        await install_capabilities(db, tenant_id, ids[c.ADMIN_EMAIL])


async def _actors(db: Database, tenant_id: uuid.UUID) -> dict[str, Actor]:
    cache = auth.ActorCache(ttl=3600)
    return {
        email: await auth.actor_for_user(db, user_id, tenant_id, cache)
        for email, user_id in (await _staff_ids(db, tenant_id)).items()
    }


async def _customers(
    db: Database, tenant_id: uuid.UUID, customers: list[CustomerSpec], moment: datetime, sink: ProgressSink
) -> None:
    """Register every customer with all their identities (resolving is idempotent per identity)."""
    sink.phase("客户 customers", len(customers))
    for start in range(0, len(customers), CUSTOMER_BATCH):
        batch = customers[start : start + CUSTOMER_BATCH]

        async def register(uow: UnitOfWork, batch: list[CustomerSpec] = batch) -> None:
            for spec in batch:
                await resolve_customer(uow, spec.name, spec.identities())
            await uow.commit()

        await _at(db, tenant_id, moment, register)
        sink.advance(len(batch))


class _TicketRunner:
    """Replays one ``TicketPlan`` through the ticket services."""

    def __init__(
        self,
        db: Database,
        classifying: Database,
        tenant_id: uuid.UUID,
        actors: dict[str, Actor],
        team_ids: dict[str, uuid.UUID],
        customers: list[CustomerSpec],
    ) -> None:
        self.db, self.tenant_id, self.actors, self.team_ids, self.customers = (
            db,
            tenant_id,
            actors,
            team_ids,
            customers,
        )
        self.classifying = classifying
        self.routing = system_actor(tenant_id, "自动分派")
        self.auto_close = system_actor(tenant_id, "自动关闭")
        self.intake = {
            channel: system_actor(tenant_id, name) for channel, name in c.CHANNEL_INTAKE_NAMES.items()
        }
        self.customer_ids: dict[int, uuid.UUID] = {}

    def _staff(self, email: str | None) -> uuid.UUID | None:
        if email is None:
            return None
        actor_id = self.actors[email].id
        assert actor_id is not None
        return actor_id

    async def run(self, plan: TicketPlan) -> None:
        spec = self.customers[plan.customer]
        creator = (
            self.actors[plan.created_by] if plan.created_by in self.actors else self.intake[plan.channel]
        )
        # E-mail requests are recognised by address; every other channel carries the phone number.
        if plan.channel == "email" and spec.email:
            customer = CustomerRef(name=spec.name, email=spec.email)
        else:
            customer = CustomerRef(name=spec.name, phone=spec.phone)
        request = TicketCreate(
            title=plan.title,
            description=plan.description,
            priority=Priority(plan.priority),
            category=plan.category,
            scenario=plan.scenario,
            channel=plan.channel,
            customer=customer,
            tags=list(plan.tags),
            team_id=self.team_ids[plan.team] if plan.team else None,
            assignee_id=self._staff(plan.assignee),
        )

        async def create(uow: UnitOfWork) -> dict[str, Any]:
            return await tickets.create_ticket(uow, creator, request)

        arrival = self.db if plan.category is not None else self.classifying
        row = await _at(arrival, self.tenant_id, plan.created_at, create)
        customer_actor = Actor(
            ActorKind.CUSTOMER,
            self.tenant_id,
            row["customer_id"],
            spec.name,
            frozenset({"ticket.reply"}),
            DataScope.ALL,
        )
        for step in plan.steps:
            await _at(self.db, self.tenant_id, step.at, self._step(row["id"], step, customer_actor))

    def _actor(self, who: str, customer: Actor) -> Actor:
        if who == ROUTING:
            return self.routing
        if who == AUTO_CLOSE:
            return self.auto_close
        if who == CUSTOMER:
            return customer
        return self.actors[who]

    def _step(
        self, ticket_id: uuid.UUID, step: Step, customer: Actor
    ) -> Callable[[UnitOfWork], Awaitable[Any]]:
        actor = self._actor(step.by, customer)

        async def work(uow: UnitOfWork) -> Any:
            if step.kind == "assign":
                team_id = self.team_ids[step.team] if step.team else None
                return await tickets.assign(
                    uow,
                    actor,
                    ticket_id,
                    team_id=team_id,
                    assignee_id=self._staff(step.assignee),
                    reason=step.reason,
                )
            if step.kind in {"reply", "customer"}:
                return await tickets.add_message(uow, actor, ticket_id, step.body, public=True)
            if step.kind == "note":
                return await tickets.add_message(uow, actor, ticket_id, step.body, public=False)
            if step.kind == "status":
                assert step.status is not None
                return await tickets.change_status(
                    uow, actor, ticket_id, Status(step.status), reason=step.reason
                )
            if step.kind == "tags":
                return await tickets.change_tags(uow, actor, ticket_id, add=list(step.tags), remove=[])
            raise ValueError(f"unknown demo step {step.kind}")

        return work
