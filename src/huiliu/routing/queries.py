"""The read side of routing: policies, agent profiles with their open load, the routing facts of a
ticket, and who served a customer or device recently. Tickets and customers are read here (not
written): routing decides on them, and only ``tickets.service`` changes a ticket."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.auth.models import User
from huiliu.core.errors import NotFound, ValidationFailed
from huiliu.customers.models import Customer
from huiliu.routing.domain import (
    AgentState,
    FamiliarityIndex,
    Presence,
    RoutingError,
    ServiceRecord,
    Shift,
    TicketFacts,
)
from huiliu.routing.models import AgentProfile, RoutingPolicyRow
from huiliu.sla import queries as sla_queries
from huiliu.sla.domain import BusinessCalendar
from huiliu.tickets.models import Ticket

# Ticket statuses that count towards an agent's open load (and capacity cap).
OPEN_STATUSES: tuple[str, ...] = ("new", "open", "pending", "on_hold")
# Ticket ``fields`` keys routing reads: the skills a ticket needs, its region, the device it is about.
REQUIRED_SKILLS_FIELD = "required_skills"
REGION_FIELD = "region"
DEVICE_FIELD = "device_sn"
# At most this many recent service records of one customer or device feed a familiarity decision.
FAMILIARITY_ROWS = 200


# --- policies ---------------------------------------------------------------------------------------


async def list_policies(session: AsyncSession) -> Sequence[RoutingPolicyRow]:
    return (
        (await session.execute(select(RoutingPolicyRow).order_by(RoutingPolicyRow.name, RoutingPolicyRow.id)))
        .scalars()
        .all()
    )


async def require_policy(session: AsyncSession, policy_id: uuid.UUID) -> RoutingPolicyRow:
    row = await session.get(RoutingPolicyRow, policy_id)
    if row is None:
        raise NotFound("routing policy not found")
    return row


async def policy_by_ref(session: AsyncSession, ref: str | uuid.UUID | None) -> RoutingPolicyRow:
    """A policy by id, by name, or (``None``) the tenant's default; NotFound when there is none."""
    if ref is None:
        row = await default_policy(session)
        if row is None:
            raise NotFound("the tenant has no default routing policy")
        return row
    if isinstance(ref, uuid.UUID):
        return await require_policy(session, ref)
    try:
        by_id = await session.get(RoutingPolicyRow, uuid.UUID(ref))
    except ValueError:
        by_id = None
    if by_id is not None:
        return by_id
    found = (
        await session.execute(select(RoutingPolicyRow).where(RoutingPolicyRow.name == ref))
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"routing policy {ref!r} not found")
    return found


async def default_policy(session: AsyncSession) -> RoutingPolicyRow | None:
    return (
        await session.execute(select(RoutingPolicyRow).where(RoutingPolicyRow.is_default.is_(True)).limit(1))
    ).scalar_one_or_none()


async def has_active_default(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(RoutingPolicyRow.id)
        .where(RoutingPolicyRow.is_default.is_(True), RoutingPolicyRow.active.is_(True))
        .limit(1)
    )
    return found is not None


# --- agents -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentRow:
    """A user with their routing profile (``None``: not routed to) and open tickets by priority."""

    user_id: uuid.UUID
    name: str
    email: str
    team_id: uuid.UUID | None
    is_active: bool
    profile: AgentProfile | None
    open_load: Mapping[str, int]

    @property
    def open_total(self) -> int:
        return sum(self.open_load.values())


async def open_loads(
    session: AsyncSession, user_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, dict[str, int]]:
    """Open tickets by assignee and priority (every assignee, or only ``user_ids``)."""
    query = (
        select(Ticket.assignee_id, Ticket.priority, func.count())
        .where(
            Ticket.assignee_id.is_not(None),
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.merged_into_id.is_(None),
        )
        .group_by(Ticket.assignee_id, Ticket.priority)
    )
    if user_ids is not None:
        ids = list(user_ids)
        if not ids:
            return {}
        query = query.where(Ticket.assignee_id.in_(ids))
    loads: dict[uuid.UUID, dict[str, int]] = {}
    for assignee_id, priority, count in (await session.execute(query)).all():
        if assignee_id is None:
            continue
        loads.setdefault(assignee_id, {})[priority] = int(count)
    return loads


async def open_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The agent's open tickets now (read afresh: the capacity re-check under the profile's lock)."""
    found = await session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.assignee_id == user_id,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.merged_into_id.is_(None),
        )
    )
    return int(found or 0)


async def agent_rows(
    session: AsyncSession, user_id: uuid.UUID | None = None, *, with_profile_only: bool = True
) -> list[AgentRow]:
    """Users with their routing profiles and open loads, by name: only users with a profile, or
    (``with_profile_only=False``) every user of the tenant."""
    query = (
        select(User.id, User.name, User.email, User.team_id, User.is_active, AgentProfile)
        .join(AgentProfile, AgentProfile.user_id == User.id, isouter=not with_profile_only)
        .order_by(User.name, User.id)
    )
    if user_id is not None:
        query = query.where(User.id == user_id)
    rows = (await session.execute(query)).all()
    loads = await open_loads(session, [row[0] for row in rows] if user_id is not None else None)
    return [
        AgentRow(uid, name, email, team_id, is_active, profile, loads.get(uid, {}))
        for uid, name, email, team_id, is_active, profile in rows
    ]


def agent_state(row: AgentRow, profile: AgentProfile) -> AgentState:
    """The routing view of a stored profile. Stored profiles were validated when written; a profile
    that no longer parses (a time zone removed from the system database) counts as offline."""
    try:
        shift = Shift.from_spec(profile.shift) if profile.shift is not None else Shift()
        presence = Presence(profile.presence)
    except (RoutingError, ValueError):
        shift, presence = Shift(), Presence.OFFLINE
    return AgentState(
        id=row.user_id,
        team_ids=(row.team_id,) if row.team_id is not None else (),
        skills=dict(profile.skills),
        regions=tuple(profile.regions),
        senior=profile.senior,
        presence=presence if row.is_active else Presence.OFFLINE,
        shift=shift,
        capacity=profile.capacity,
        open_load=dict(row.open_load),
        last_assigned_at=profile.last_assigned_at,
    )


async def business_calendars(
    session: AsyncSession, calendar_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, BusinessCalendar]:
    """The tenant's SLA calendars with these ids, as calendar values (an id naming none is left out:
    a shift naming a deleted calendar follows its weekly hours only)."""
    rows = await sla_queries.calendars_by_id(session, calendar_ids)
    return {row.id: sla_queries.calendar_value(row) for row in rows}


def following_calendars(
    agents: Iterable[AgentState],
    calendars: Mapping[uuid.UUID, BusinessCalendar],
    policy_calendar: uuid.UUID | None = None,
) -> list[AgentState]:
    """The agents with their shifts following their own calendar, else the policy's."""
    out = []
    for agent in agents:
        calendar_id = agent.shift.calendar_id or policy_calendar
        calendar = calendars.get(calendar_id) if calendar_id is not None else None
        out.append(agent if calendar is None else replace(agent, shift=agent.shift.with_calendar(calendar)))
    return out


def calendar_ids(agents: Iterable[AgentState], policy_calendar: uuid.UUID | None = None) -> set[uuid.UUID]:
    """The calendars the agents' shifts (and the policy) name."""
    found = {agent.shift.calendar_id for agent in agents if agent.shift.calendar_id is not None}
    return found | ({policy_calendar} if policy_calendar is not None else set())


async def roster_snapshot(session: AsyncSession) -> list[AgentState]:
    """Every routable agent of the tenant (active users with a profile) at this moment."""
    return [agent_state(row, row.profile) for row in await agent_rows(session) if row.profile is not None]


# --- tickets ----------------------------------------------------------------------------------------


def required_skills_of(fields: Mapping[str, Any]) -> dict[str, int]:
    """A ticket's required skills from its ``required_skills`` field: ``{"粤语": 3}``, a list of names
    (level 1) or a list of ``{"name": …, "level": …}``. Anything else is a 422."""
    value = fields.get(REQUIRED_SKILLS_FIELD)
    if value in (None, "", [], {}):
        return {}
    if isinstance(value, Mapping):
        return {str(name): level for name, level in value.items()}
    if isinstance(value, list):
        skills: dict[str, int] = {}
        for item in value:
            if isinstance(item, str):
                skills[item] = 1
            elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
                skills[item["name"]] = item.get("level", 1)
            else:
                raise ValidationFailed(
                    "required_skills is {name: level}, a list of names or a list of {name, level}"
                )
        return skills
    raise ValidationFailed("required_skills is {name: level}, a list of names or a list of {name, level}")


def device_of(ticket: Ticket) -> str | None:
    value = (ticket.fields or {}).get(DEVICE_FIELD)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if ticket.alarm_key and ":" in ticket.alarm_key:
        return ticket.alarm_key.split(":", 1)[0] or None
    return None


async def ticket_facts(session: AsyncSession, ticket: Ticket) -> TicketFacts:
    """What routing decides on: priority, team, required skills, region (the ticket's own, else the
    customer's ``region`` attribute), customer level, customer, device serial and channel."""
    fields = ticket.fields or {}
    customer = await session.get(Customer, ticket.customer_id) if ticket.customer_id is not None else None
    region = fields.get(REGION_FIELD)
    if not (isinstance(region, str) and region.strip()) and customer is not None:
        region = (customer.attributes or {}).get(REGION_FIELD)
    try:
        return TicketFacts(
            id=ticket.id,
            priority=ticket.priority,
            team_id=ticket.team_id,
            required_skills=required_skills_of(fields),
            region=region if isinstance(region, str) else None,
            customer_level=(customer.level if customer is not None else "normal") or "normal",
            customer_id=ticket.customer_id,
            device_serial=device_of(ticket),
            channel=ticket.channel,
        )
    except RoutingError as exc:
        raise ValidationFailed(f"ticket routing facts: {exc}") from exc


async def familiarity(
    session: AsyncSession, facts: TicketFacts, now: datetime, days: int
) -> FamiliarityIndex:
    """Who handled other tickets of the ticket's customer or device within ``days``: each such
    ticket's assignee served it when it was last updated."""
    clauses = []
    if facts.customer_id is not None:
        clauses.append(Ticket.customer_id == facts.customer_id)
    if facts.device_serial is not None:
        clauses.append(Ticket.fields[DEVICE_FIELD].as_string() == facts.device_serial)
        clauses.append(Ticket.alarm_key.like(f"{_escape_like(facts.device_serial)}:%", escape="\\"))
    if not clauses:
        return FamiliarityIndex()
    since = now - timedelta(days=days)
    rows = (
        await session.execute(
            select(Ticket.assignee_id, Ticket.updated_at, Ticket.customer_id, Ticket.fields, Ticket.alarm_key)
            .where(
                or_(*clauses),
                Ticket.id != facts.id,
                Ticket.assignee_id.is_not(None),
                Ticket.updated_at >= since,
            )
            .order_by(Ticket.updated_at.desc())
            .limit(FAMILIARITY_ROWS)
        )
    ).all()
    records = []
    for assignee_id, updated_at, customer_id, fields, alarm_key in rows:
        serial = (fields or {}).get(DEVICE_FIELD)
        if not isinstance(serial, str) and alarm_key and ":" in alarm_key:
            serial = alarm_key.split(":", 1)[0]
        records.append(
            ServiceRecord(
                agent_id=assignee_id,
                served_at=updated_at,
                customer_id=customer_id,
                device_serial=serial if isinstance(serial, str) else None,
            )
        )
    return FamiliarityIndex(records)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
