"""Routing use cases: route a ticket (decide with the domain, apply through the ticket service),
preview a decision, and manage routing policies and agent profiles.

``route`` is the one path for every routed assignment — the new-ticket reactor, rules that assign
"via a routing policy", and an agent pressing "route again" — so they all record the same reasons."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select

from huiliu.auth.domain import Actor, system_actor
from huiliu.auth.models import Team, User
from huiliu.core import events as ev
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, HuiliuError, NotFound, ValidationFailed
from huiliu.db.session import TenantCache, UnitOfWork
from huiliu.routing import queries
from huiliu.routing.domain import (
    AgentState,
    Assign,
    Decision,
    LeaveUnassigned,
    Presence,
    QueueOnTeam,
    Roster,
    RoutingError,
    RoutingPolicy,
    RoutingState,
    Shift,
    Strategy,
    decide,
    parse_policy,
    policy_spec,
)
from huiliu.routing.domain.agents import check_level, region_key, skill_key
from huiliu.routing.models import AgentProfile, RoutingPolicyRow
from huiliu.sla import queries as sla_queries
from huiliu.tickets import service as tickets
from huiliu.tickets.models import Ticket

PERMISSION = "admin.routing"
REASON_LIMIT = 500  # the ticket event's reason column
MAX_SKILLS = 50
MAX_REGIONS = 50
MAX_CAPACITY = 10_000
ROUTABLE_STATUSES = frozenset(queries.OPEN_STATUSES)

# The routing reactor's name (``Reactor.name``): policy writes find it among the database's reactors
# to drop its cached "has an active default policy" flag for the tenant (docs/decisions/0015).
REACTOR_NAME = "routing"
# The event on a ticket routing could not place (docs/events.md).
ROUTING_FAILED = ev.TICKET_ROUTING_FAILED


@dataclass(frozen=True)
class RoutingOutcome:
    """What routing decided for a ticket and whether it changed the ticket. ``kind`` is ``assign``,
    ``team_queue`` or ``unassigned``; ``reason`` is the English text recorded on the ticket event,
    ``code`` and ``params`` render it in the console's language, ``steps`` is the chain's trace."""

    ticket_id: uuid.UUID
    policy_id: uuid.UUID
    policy_name: str
    kind: str
    agent_id: uuid.UUID | None
    team_id: uuid.UUID | None
    reason: str
    code: str
    params: Mapping[str, str | int | float]
    fallback: bool
    alert: bool
    steps: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False  # the ticket's team or agent changed (or, unassigned, the failure was recorded)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "policy_id": self.policy_id,
            "policy_name": self.policy_name,
            "kind": self.kind,
            "agent_id": self.agent_id,
            "team_id": self.team_id,
            "reason": self.reason,
            "code": self.code,
            "params": dict(self.params),
            "fallback": self.fallback,
            "alert": self.alert,
            "steps": self.steps,
            "applied": self.applied,
        }


def compile_policy(definition: Mapping[str, Any]) -> RoutingPolicy:
    try:
        return parse_policy(definition)
    except RoutingError as exc:
        raise ValidationFailed(f"routing policy: {exc}") from exc


# --- deciding and applying --------------------------------------------------------------------------


@dataclass
class _Snapshot:
    ticket: Ticket
    policy_row: RoutingPolicyRow
    policy: RoutingPolicy
    agents: dict[uuid.UUID, AgentState]
    now: datetime
    facts: Any = None  # the ticket's routing facts, once decided on


async def _snapshot(
    uow_session: Any, ticket_id: uuid.UUID, policy: str | uuid.UUID | RoutingPolicyRow | None
) -> _Snapshot:
    ticket = await uow_session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket not found")
    row = policy if isinstance(policy, RoutingPolicyRow) else await queries.policy_by_ref(uow_session, policy)
    parsed = compile_policy(row.definition)
    agents = await _agents(uow_session, parsed)
    _discount_own_ticket(agents, ticket)
    return _Snapshot(ticket, row, parsed, agents, utcnow())


async def _agents(session: Any, policy: RoutingPolicy) -> dict[uuid.UUID, AgentState]:
    """The tenant's routable agents now, their shifts following their calendars (or the policy's)."""
    roster = await queries.roster_snapshot(session)
    calendars = await queries.business_calendars(session, queries.calendar_ids(roster, policy.calendar_id))
    if calendars:
        roster = queries.following_calendars(roster, calendars, policy.calendar_id)
    return {agent.id: agent for agent in roster}


def _discount_own_ticket(agents: dict[uuid.UUID, AgentState], ticket: Ticket) -> None:
    """Re-routing an assigned ticket: its current agent's load should not count the ticket itself."""
    current = agents.get(ticket.assignee_id) if ticket.assignee_id is not None else None
    if current is not None:
        agents[current.id] = _with_load(current, _load_without(current.open_load, current.id, ticket))


def _load_without(load: Mapping[str, int], agent_id: uuid.UUID, ticket: Ticket) -> dict[str, int]:
    """``load`` of ``agent_id`` less the ticket being routed, when it is one of their open tickets."""
    out = dict(load)
    own = (
        ticket.assignee_id == agent_id
        and ticket.status in ROUTABLE_STATUSES
        and ticket.merged_into_id is None
    )
    if own and out.get(ticket.priority, 0) > 0:
        out[ticket.priority] -= 1
    return out


def _with_load(agent: AgentState, load: Mapping[str, int]) -> AgentState:
    return AgentState(
        id=agent.id,
        team_ids=agent.team_ids,
        skills=agent.skills,
        regions=agent.regions,
        senior=agent.senior,
        presence=agent.presence,
        shift=agent.shift,
        capacity=agent.capacity,
        open_load=load,
        last_assigned_at=agent.last_assigned_at,
    )


async def _decide(
    session: Any, snap: _Snapshot, state: RoutingState | None = None, roster: Roster | None = None
) -> Decision:
    days = [step.familiarity_days for step in snap.policy.steps if step.strategy is Strategy.FAMILIAR_AGENT]
    facts = await queries.ticket_facts(session, snap.ticket)
    index = await queries.familiarity(session, facts, snap.now, max(days)) if days else None
    try:
        decision = decide(snap.policy, facts, roster or Roster(snap.agents.values()), snap.now, index, state)
    except RoutingError as exc:
        raise ValidationFailed(f"routing: {exc}") from exc
    snap.facts = facts
    return decision


def _outcome(snap: _Snapshot, decision: Decision, reason: str, applied: bool) -> RoutingOutcome:
    base: dict[str, Any] = {
        "ticket_id": snap.ticket.id,
        "policy_id": snap.policy_row.id,
        "policy_name": snap.policy_row.name,
        "reason": reason,
        "code": decision.reason.code,
        "params": dict(decision.reason.params),
        "fallback": decision.reason.fallback,
        "steps": [step.as_dict() for step in decision.reason.steps],
        "applied": applied,
    }
    if isinstance(decision, Assign):
        return RoutingOutcome(
            kind="assign",
            agent_id=decision.agent_id,
            team_id=decision.team_id if decision.team_id is not None else snap.ticket.team_id,
            alert=False,
            **base,
        )
    if isinstance(decision, QueueOnTeam):
        return RoutingOutcome(kind="team_queue", agent_id=None, team_id=decision.team_id, alert=False, **base)
    return RoutingOutcome(
        kind="unassigned", agent_id=None, team_id=snap.ticket.team_id, alert=decision.alert, **base
    )


def _reason_text(decision: Decision, prefix: str | None) -> str:
    text = decision.reason.text if not prefix else f"{prefix}: {decision.reason.text}"
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


async def preview(
    uow_session: Any, ticket_id: uuid.UUID, policy: str | uuid.UUID | RoutingPolicyRow
) -> RoutingOutcome:
    """The decision ``policy`` would take for the ticket now; writes nothing."""
    snap = await _snapshot(uow_session, ticket_id, policy)
    decision = await _decide(uow_session, snap)
    return _outcome(snap, decision, decision.reason.text, applied=False)


async def route(
    uow: UnitOfWork,
    ticket_id: uuid.UUID,
    *,
    policy: str | uuid.UUID | None = None,
    actor_name: str = "routing",
    reason_prefix: str | None = None,
) -> RoutingOutcome:
    """Route a ticket with ``policy`` (an id, a name, or ``None`` for the tenant's default) and apply
    the decision through ``tickets.service.assign`` as the system actor ``actor_name``, recording the
    decision's reason on the ``ticket.assigned`` event.

    A chosen agent with a capacity cap is re-checked under a lock on their profile row (PostgreSQL
    ``FOR UPDATE``; SQLite has one writer at a time): when their open tickets already fill the cap
    (another transaction assigned meanwhile), the decision is taken again with the fresh count. The
    assignment moves the agent's round-robin position (``last_assigned_at``). When no step finds an
    agent: ``team_queue`` assigns the team only (and takes the ticket from its agent), ``unassigned``
    leaves the assignment as it is and records ``ticket.routing_failed`` with the reason (and an internal
    note if the policy says so), so it is never silent.
    Like every ticket service function it commits the unit of work (inside a reaction the outer
    unit of work commits). Raises NotFound (ticket or policy), Conflict (inactive policy, ticket not open) or
    ValidationFailed (a stored policy or the ticket's routing fields do not parse)."""
    if uow.tenant_id is None:
        raise NotFound("ticket not found")
    session = uow.session
    # The ticket may have been created in this unit of work (the new-ticket reactor): flush it.
    await session.flush()
    snap = await _snapshot(session, ticket_id, policy)
    if not snap.policy_row.active:
        raise Conflict(f"routing policy {snap.policy_row.name!r} is not active")
    if snap.ticket.status not in ROUTABLE_STATUSES or snap.ticket.merged_into_id is not None:
        raise Conflict("only open tickets are routed")
    decision = await _decide(session, snap)
    for _ in range(len(snap.agents) + 1):
        if not isinstance(decision, Assign):
            break
        profile = await _lock_profile(uow, decision.agent_id)
        agent = snap.agents[decision.agent_id]
        if agent.capacity is None or profile is None:
            break
        fresh = (await queries.open_loads(session, [agent.id])).get(agent.id, {})
        refreshed = _with_load(agent, _load_without(fresh, agent.id, snap.ticket))
        snap.agents[agent.id] = refreshed
        if refreshed.open_total < agent.capacity:
            break
        decision = await _decide(session, snap)
    actor = system_actor(uow.tenant_id, actor_name)
    reason = _reason_text(decision, reason_prefix)
    applied = await _apply(uow, actor, snap, decision, reason)
    return _outcome(snap, decision, reason, applied)


async def route_new(
    uow: UnitOfWork, ticket_ids: Sequence[uuid.UUID], *, actor_name: str = "routing"
) -> dict[uuid.UUID, RoutingOutcome | HuiliuError]:
    """Route tickets of one unit of work (an intake batch) with the tenant's default policy on one
    snapshot of the agents: the policy, roster and calendars are read once, and each decision sees the
    assignments decided before it (``RoutingState``: round robin moves on, loads grow, caps fill). An
    agent with a cap is re-checked under a lock with the stored count, as ``route`` does. Tickets
    already assigned, or not open, are left alone (not in the answer); a ticket whose routing fields
    do not parse answers its error and gets the ``ticket.routing_failed`` event, the others go on.
    Raises NotFound / Conflict when the tenant has no active default policy."""
    if uow.tenant_id is None:
        raise NotFound("ticket not found")
    session = uow.session
    await session.flush()
    row = await queries.policy_by_ref(session, None)
    if not row.active:
        raise Conflict(f"routing policy {row.name!r} is not active")
    policy = compile_policy(row.definition)
    agents = await _agents(session, policy)
    roster = Roster(agents.values())
    state = RoutingState()
    actor = system_actor(uow.tenant_id, actor_name)
    now = utcnow()
    answers: dict[uuid.UUID, RoutingOutcome | HuiliuError] = {}
    for ticket_id in ticket_ids:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None or ticket.assignee_id is not None:
            continue
        if ticket.status not in ROUTABLE_STATUSES or ticket.merged_into_id is not None:
            continue
        snap = _Snapshot(ticket, row, policy, agents, now)
        try:
            decision = await _decide(session, snap, state, roster)
        except ValidationFailed as exc:
            detail = str(exc.detail or exc)
            await record_failure(uow, actor, ticket_id, detail, code="routing.failed", policy=row)
            answers[ticket_id] = exc
            continue
        if isinstance(decision, Assign) and agents[decision.agent_id].capacity is not None:
            decision, roster, state = await _recheck_cap(uow, snap, decision, roster, state)
        reason = _reason_text(decision, None)
        applied = await _apply(uow, actor, snap, decision, reason)
        answers[ticket_id] = _outcome(snap, decision, reason, applied)
        state = state.after(decision, snap.facts, now)
    return answers


async def _recheck_cap(
    uow: UnitOfWork, snap: _Snapshot, decision: Decision, roster: Roster, state: RoutingState
) -> tuple[Decision, Roster, RoutingState]:
    """``route``'s cap check inside a batch: lock the chosen agent's profile and count their open
    tickets as stored (this transaction's assignments flushed, so the count includes them and the
    batch state forgets the agent); decide again while the chosen agent turns out full."""
    for _ in range(len(snap.agents) + 1):
        if not isinstance(decision, Assign):
            break
        agent = snap.agents[decision.agent_id]
        if agent.capacity is None or await _lock_profile(uow, agent.id) is None:
            break
        await uow.session.flush()
        fresh = (await queries.open_loads(uow.session, [agent.id])).get(agent.id, {})
        refreshed = _with_load(agent, fresh)
        if state.for_agent(agent.id) is not None:
            refreshed = replace(refreshed, last_assigned_at=snap.now)
            kept = {key: value for key, value in state.assigned.items() if key != agent.id.int}
            state = RoutingState(MappingProxyType(kept), state.sequence)
        snap.agents[agent.id] = refreshed
        roster = Roster(snap.agents.values())
        if refreshed.open_total < agent.capacity:
            break
        decision = await _decide(uow.session, snap, state, roster)
    return decision, roster, state


async def _lock_profile(uow: UnitOfWork, user_id: uuid.UUID) -> AgentProfile | None:
    return (
        await uow.session.execute(
            select(AgentProfile)
            .where(AgentProfile.user_id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def _apply(uow: UnitOfWork, actor: Actor, snap: _Snapshot, decision: Decision, reason: str) -> bool:
    ticket = snap.ticket
    before = (ticket.team_id, ticket.assignee_id)
    if isinstance(decision, Assign):
        team_id = decision.team_id if decision.team_id is not None else ticket.team_id
        # Before the ticket service commits, so the round-robin position commits with the assignment.
        profile = await uow.session.get(AgentProfile, decision.agent_id)
        if profile is not None:
            profile.last_assigned_at = snap.now
        await tickets.assign(
            uow, actor, ticket.id, team_id=team_id, assignee_id=decision.agent_id, reason=reason
        )
        return (ticket.team_id, ticket.assignee_id) != before
    if isinstance(decision, QueueOnTeam):
        await tickets.assign(uow, actor, ticket.id, team_id=decision.team_id, assignee_id=None, reason=reason)
        return (ticket.team_id, ticket.assignee_id) != before
    if not isinstance(decision, LeaveUnassigned):
        raise TypeError(f"unknown routing decision {decision!r}")
    await record_failure(
        uow,
        actor,
        ticket.id,
        reason,
        code=decision.reason.code,
        policy=snap.policy_row,
        note=snap.policy.note_on_failure,
    )
    return True


async def record_failure(
    uow: UnitOfWork,
    actor: Actor,
    ticket_id: uuid.UUID,
    reason: str,
    *,
    code: str,
    policy: RoutingPolicyRow | None = None,
    note: bool = False,
) -> None:
    """Routing could not place the ticket: a ``ticket.routing_failed`` event with the reason (the
    ticket's timeline, webhooks and the live queue show it), and an internal note only when the
    policy asks for one (``note_on_failure``): a note on every unroutable ticket is noise when no
    agent has a routing profile yet."""
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket not found")
    extra: dict[str, Any] = {"routing": {"code": code}}
    if policy is not None:
        extra["routing"].update(policy_id=policy.id, policy_name=policy.name)
    tickets.record(uow, actor, ticket, ROUTING_FAILED, {}, reason=reason[:REASON_LIMIT], extra=extra)
    if note:
        await tickets.add_message(
            uow, actor, ticket_id, f"自动分配未找到坐席 / Routing found no agent: {reason}", public=False
        )


# --- policies ---------------------------------------------------------------------------------------


def _policy_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            raise ValidationFailed("name is 1 to 200 characters")
        out["name"] = name.strip()
    if "description" in body:
        description = body["description"] or ""
        if not isinstance(description, str) or len(description) > 1000:
            raise ValidationFailed("description is at most 1000 characters")
        out["description"] = description
    for flag in ("is_default", "active"):
        if flag in body:
            if not isinstance(body[flag], bool):
                raise ValidationFailed(f"{flag} is true or false")
            out[flag] = body[flag]
    if "definition" in body:
        if not isinstance(body["definition"], Mapping):
            raise ValidationFailed("definition is a routing policy object")
        out["definition"] = policy_spec(compile_policy(body["definition"]))
    return out


async def _check_name(uow: UnitOfWork, name: str, policy_id: uuid.UUID | None) -> None:
    clash = await uow.session.scalar(
        select(RoutingPolicyRow.id).where(RoutingPolicyRow.name == name, RoutingPolicyRow.id != policy_id)
    )
    if clash is not None:
        raise Conflict(f"a routing policy named {name!r} exists already")


async def _clear_other_defaults(uow: UnitOfWork, policy_id: uuid.UUID) -> None:
    others = (
        (
            await uow.session.execute(
                select(RoutingPolicyRow).where(
                    RoutingPolicyRow.is_default.is_(True), RoutingPolicyRow.id != policy_id
                )
            )
        )
        .scalars()
        .all()
    )
    for other in others:
        other.is_default = False
        other.updated_at = utcnow()


def _invalidate(uow: UnitOfWork) -> None:
    """After a policy write commits, the routing reactor of this process asks the database again
    whether the tenant routes new tickets (other processes within the flag's time to live)."""
    db, tenant_id = uow.db, uow.tenant_id

    def drop() -> None:
        for reactor in db.reactors:
            flags = getattr(reactor, "flags", None)
            if reactor.name == REACTOR_NAME and isinstance(flags, TenantCache):
                flags.invalidate(tenant_id)

    uow.after_commit(drop)


async def create_policy(
    uow: UnitOfWork, actor: Actor, body: Mapping[str, Any], *, policy_id: uuid.UUID | None = None
) -> RoutingPolicyRow:
    """A new policy from ``{"name", "description"?, "definition", "is_default"?, "active"?}``; the
    definition is validated by the domain parser and stored normalised. Setting ``is_default`` takes
    the flag from the tenant's previous default."""
    actor.require(PERMISSION)
    unknown = sorted(set(body) - {"name", "description", "definition", "is_default", "active"})
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}")
    for required in ("name", "definition"):
        if required not in body:
            raise ValidationFailed(f"{required} is required")
    fields = _policy_fields(body)
    await _check_name(uow, fields["name"], None)
    await _check_references(uow, fields.get("definition"))
    row = RoutingPolicyRow(
        id=policy_id or uuid.uuid4(),
        tenant_id=actor.tenant_id,
        name=fields["name"],
        description=fields.get("description", ""),
        definition=fields["definition"],
        is_default=fields.get("is_default", False),
        active=fields.get("active", True),
    )
    if row.is_default:
        await _clear_other_defaults(uow, row.id)
    uow.session.add(row)
    _invalidate(uow)
    await uow.commit()
    return row


async def update_policy(
    uow: UnitOfWork, actor: Actor, policy_id: uuid.UUID, body: Mapping[str, Any]
) -> RoutingPolicyRow:
    """Change any of name, description, definition, is_default, active (validated as on create)."""
    actor.require(PERMISSION)
    unknown = sorted(set(body) - {"name", "description", "definition", "is_default", "active"})
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}")
    row = await queries.require_policy(uow.session, policy_id)
    fields = _policy_fields(body)
    if "name" in fields:
        await _check_name(uow, fields["name"], row.id)
    await _check_references(uow, fields.get("definition"))
    if fields.get("is_default"):
        await _clear_other_defaults(uow, row.id)
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    _invalidate(uow)
    await uow.commit()
    return row


async def _check_references(uow: UnitOfWork, definition: Mapping[str, Any] | None) -> None:
    """A policy's final team and calendar, and a shift's calendar, name rows of the tenant (422)."""
    if not definition:
        return
    team = definition.get("final_team")
    if team is not None and await uow.session.get(Team, uuid.UUID(str(team))) is None:
        raise ValidationFailed(f"final_team: no team {team} in this tenant")
    await _check_calendar(uow, definition.get("calendar"), "calendar")


async def _check_calendar(uow: UnitOfWork, calendar: object, where: str) -> None:
    if calendar is None:
        return
    if not await sla_queries.calendars_by_id(uow.session, [uuid.UUID(str(calendar))]):
        raise ValidationFailed(f"{where}: no SLA calendar {calendar} in this tenant")


async def delete_policy(uow: UnitOfWork, actor: Actor, policy_id: uuid.UUID) -> None:
    actor.require(PERMISSION)
    row = await queries.require_policy(uow.session, policy_id)
    await uow.session.delete(row)
    _invalidate(uow)
    await uow.commit()


# --- agent profiles ---------------------------------------------------------------------------------


PROFILE_FIELDS = frozenset({"presence", "skills", "regions", "senior", "capacity", "shift"})


def _profile_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}")
    out: dict[str, Any] = {}
    try:
        if "presence" in body:
            out["presence"] = _presence(body["presence"]).value
        if "skills" in body:
            skills = body["skills"] or {}
            if not isinstance(skills, Mapping) or len(skills) > MAX_SKILLS:
                raise RoutingError(f"skills is an object of name -> level 1..5 (at most {MAX_SKILLS})")
            cleaned: dict[str, int] = {}
            for name, level in skills.items():
                skill_key(name)
                cleaned[name.strip()] = check_level(level, f"skill {name!r} level")
            out["skills"] = cleaned
        if "regions" in body:
            regions = body["regions"] or []
            if not isinstance(regions, list) or len(regions) > MAX_REGIONS:
                raise RoutingError(f"regions is a list of region paths (at most {MAX_REGIONS})")
            for region in regions:
                if not isinstance(region, str):
                    raise RoutingError("a region is a path like 华南/广东/深圳")
                region_key(region)
            out["regions"] = [region.strip() for region in regions]
        if "senior" in body:
            if not isinstance(body["senior"], bool):
                raise RoutingError("senior is true or false")
            out["senior"] = body["senior"]
        if "capacity" in body:
            capacity = body["capacity"]
            if capacity is not None and (
                isinstance(capacity, bool)
                or not isinstance(capacity, int)
                or not 0 <= capacity <= MAX_CAPACITY
            ):
                raise RoutingError(f"capacity is a number of open tickets from 0 to {MAX_CAPACITY}, or null")
            out["capacity"] = capacity
        if "shift" in body:
            spec = body["shift"]
            if spec is None or spec == "always":
                out["shift"] = None
            else:
                parsed = Shift.from_spec(spec)
                shift_spec = parsed.spec()
                out["shift"] = shift_spec if isinstance(shift_spec, dict) else None
    except RoutingError as exc:
        raise ValidationFailed(str(exc)) from exc
    return out


def _presence(value: object) -> Presence:
    try:
        return Presence(str(value))
    except ValueError as exc:
        raise RoutingError(f"presence is online, away or offline, got {value!r}") from exc


async def _require_user(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    if await uow.session.get(User, user_id) is None:
        raise NotFound("user not found")


async def put_profile(
    uow: UnitOfWork, actor: Actor, user_id: uuid.UUID, body: Mapping[str, Any]
) -> AgentProfile:
    """Create or change an agent's routing profile (fields left out keep their values; a new profile
    starts offline, without skills, regions or cap, always on shift)."""
    actor.require(PERMISSION)
    fields = _profile_fields(body)
    await _require_user(uow, user_id)
    if isinstance(fields.get("shift"), dict):
        await _check_calendar(uow, fields["shift"].get("calendar"), "shift")
    profile = await uow.session.get(AgentProfile, user_id)
    now = utcnow()
    if profile is None:
        profile = AgentProfile(
            user_id=user_id,
            tenant_id=actor.tenant_id,
            presence=Presence.OFFLINE.value,
            skills={},
            regions=[],
            senior=False,
            capacity=None,
            shift=None,
        )
        uow.session.add(profile)
    if "presence" in fields and fields["presence"] != profile.presence:
        profile.presence_changed_at = now
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.updated_at = now
    await uow.commit()
    return profile


async def set_presence(uow: UnitOfWork, actor: Actor, presence: str) -> AgentProfile:
    """The signed-in user sets their own presence (a profile is created for them if missing)."""
    if actor.id is None or actor.kind.value != "user":
        raise ValidationFailed("only a signed-in user has a presence")
    try:
        wanted = _presence(presence).value
    except RoutingError as exc:
        raise ValidationFailed(str(exc)) from exc
    profile = await uow.session.get(AgentProfile, actor.id)
    now = utcnow()
    if profile is None:
        profile = AgentProfile(
            user_id=actor.id,
            tenant_id=actor.tenant_id,
            presence=wanted,
            presence_changed_at=now,
            skills={},
            regions=[],
            senior=False,
            capacity=None,
            shift=None,
        )
        uow.session.add(profile)
    elif profile.presence != wanted:
        profile.presence = wanted
        profile.presence_changed_at = now
    profile.updated_at = now
    await uow.commit()
    return profile
