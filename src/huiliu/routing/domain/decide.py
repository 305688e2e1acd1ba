"""``decide``: run a policy's steps in order over a roster and return the first step's choice, or
the policy's final action, with the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from operator import mul
from uuid import UUID

from huiliu.routing.domain.agents import AgentState, Presence, require_aware, to_us
from huiliu.routing.domain.decision import (
    FILTER_TEXT,
    Assign,
    Decision,
    Filter,
    LeaveUnassigned,
    Outcome,
    Param,
    QueueOnTeam,
    Reason,
    RoutingState,
    StepTrace,
    rotation_key,
)
from huiliu.routing.domain.facts import EMPTY_FAMILIARITY, Familiar, FamiliarityIndex, TicketFacts
from huiliu.routing.domain.policy import Final, Pick, RoutingPolicy, Step, Strategy
from huiliu.routing.domain.roster import Roster

_EMPTY_STATE = RoutingState()
_US_PER_MINUTE = 60_000_000
_AgentFilter = Callable[[AgentState], Filter | None]


def decide(
    policy: RoutingPolicy,
    ticket: TicketFacts,
    agents: Roster | Iterable[AgentState],
    now: datetime,
    familiarity: FamiliarityIndex | None = None,
    state: RoutingState | None = None,
) -> Decision:
    """Who gets ``ticket`` at ``now``. Pure and deterministic: the same inputs give the same
    decision whatever the order of ``agents``. Pass a ``Roster`` to reuse one snapshot's indexes
    across decisions, and the ``state`` returned by ``RoutingState.after`` to decide a batch."""
    require_aware(now, "now")
    roster = agents if isinstance(agents, Roster) else Roster(agents)
    run = _Run(roster, ticket, now, familiarity or EMPTY_FAMILIARITY, state or _EMPTY_STATE)
    traces: list[StepTrace] = []
    for index, step in enumerate(policy.steps):
        trace, chosen = run.step(step)
        traces.append(trace)
        if chosen is not None:
            return Assign(chosen.id, _team_for(chosen, ticket), _assign_reason(traces, index))
    return _final(policy, ticket, traces)


class _Run:
    """One decision's working memory. Each distinct shift is checked once (local time is computed
    once per time zone); everything else per agent is a few list lookups."""

    __slots__ = ("_on_shift", "familiarity", "now", "roster", "state", "ticket")

    def __init__(
        self,
        roster: Roster,
        ticket: TicketFacts,
        now: datetime,
        familiarity: FamiliarityIndex,
        state: RoutingState,
    ) -> None:
        self.roster = roster
        self.ticket = ticket
        self.now = now
        self.familiarity = familiarity
        self.state = state
        self._on_shift: list[bool] | None = None

    def step(self, step: Step) -> tuple[StepTrace, AgentState | None]:
        strategy = step.strategy
        ticket = self.ticket
        inapplicable = _inapplicable(step, ticket)
        if inapplicable is not None:
            return inapplicable, None
        if strategy is Strategy.FAMILIAR_AGENT:
            return self._familiar(step)
        indices, outside_team = self._pool(step)
        counts: dict[Filter, int] = {Filter.NOT_IN_TEAM: outside_team} if outside_team else {}
        candidates = self._filter(indices, step.allow_away, _own_filter(strategy, ticket), counts)
        label = _label(step, ticket)
        if not candidates:
            return _no_candidate(step, ticket, label, len(indices), counts), None
        params: dict[str, Param]
        if strategy is Strategy.ROUND_ROBIN or (
            strategy is not Strategy.LEAST_LOADED and step.pick is Pick.ROUND_ROBIN
        ):
            chosen = self._next_in_rotation(candidates)
            text = f"round robin, next of {len(candidates)}"
            params = {"pick": Pick.ROUND_ROBIN.value, "candidates": len(candidates)}
        else:
            chosen, load = self._least_loaded(candidates, step.weights)
            text = f"least loaded of {len(candidates)} (load {load:g})"
            params = {"pick": Pick.LEAST_LOADED.value, "candidates": len(candidates), "load": load}
        params.update(_subject(step, ticket))
        if strategy is Strategy.SKILLS:
            text = f"{label}, {text}" if ticket.skill_requirements else f"no skills required, {text}"
        elif strategy is Strategy.REGION:
            text = f"{label}, {text}"
        elif strategy is Strategy.VIP_SENIOR:
            text = f"VIP customer ({ticket.customer_level}) → senior agent, {text}"
        excluded = _excluded(counts)
        trace = StepTrace(strategy, Outcome.CHOSEN, len(indices), len(candidates), excluded, text, params)
        return trace, self.roster.agents[chosen]

    def _pool(self, step: Step) -> tuple[Sequence[int], int]:
        """The agents a step looks at, and how many the team restriction left out."""
        team = self.ticket.team_id
        if step.team_only and team is not None:
            members = self.roster.by_team.get(team, ())
            return members, len(self.roster) - len(members)
        return range(len(self.roster)), 0

    def _filter(
        self,
        indices: Iterable[int],
        allow_away: bool,
        own_filter: _AgentFilter | None,
        counts: dict[Filter, int],
    ) -> list[int]:
        """Positions of the agents that pass the step's own filter and are available; every other
        agent is counted under the first filter it fails."""
        agents = self.roster.agents
        candidates = []
        for i in indices:
            blocker = None if own_filter is None else own_filter(agents[i])
            if blocker is None:
                blocker = self._unavailable(i, allow_away)
            if blocker is None:
                candidates.append(i)
            else:
                counts[blocker] = counts.get(blocker, 0) + 1
        return candidates

    def _unavailable(self, i: int, allow_away: bool) -> Filter | None:
        """Why agent ``i`` cannot take a ticket now (presence, shift, capacity), or None."""
        roster = self.roster
        presence = roster.presence[i]
        if presence is Presence.OFFLINE:
            return Filter.OFFLINE
        if presence is Presence.AWAY and not allow_away:
            return Filter.AWAY
        slot = roster.shift_slots[i]
        if slot >= 0:
            on_shift = self._on_shift if self._on_shift is not None else self._shifts_now()
            if not on_shift[slot]:
                return Filter.OFF_SHIFT
        room = roster.room[i]
        if room is not None:
            assigned = self.state.assigned
            if assigned:
                since = assigned.get(roster.id_keys[i])
                if since is not None:
                    room -= since.total
            if room <= 0:
                return Filter.AT_CAPACITY
        return None

    def _shifts_now(self) -> list[bool]:
        """Whether each of the roster's distinct shifts is on at ``now``."""
        local: dict[str, datetime] = {}
        on_shift = []
        for shift in self.roster.shifts:
            moment = local.get(shift.timezone)
            if moment is None:
                moment = local[shift.timezone] = self.now.astimezone(shift.tz)
            on_shift.append(shift.covers_local(moment))
        self._on_shift = on_shift
        return on_shift

    def _next_in_rotation(self, candidates: list[int]) -> int:
        """The candidate longest without an assignment (never assigned first); ties by id."""
        roster, assigned = self.roster, self.state.assigned
        ids, last = roster.id_keys, roster.last_assigned_us
        best, best_key = -1, None
        for i in candidates:
            key = (rotation_key(assigned.get(ids[i]) if assigned else None, last[i]), ids[i])
            if best_key is None or key < best_key:
                best, best_key = i, key
        return best

    def _least_loaded(self, candidates: list[int], weights: tuple[float, ...]) -> tuple[int, float]:
        """The candidate with the least weighted open load (counting assignments in the state);
        ties go to the one longest without an assignment, then the smaller id."""
        roster, assigned = self.roster, self.state.assigned
        loads = roster.weighted_loads(weights)
        ids, last = roster.id_keys, roster.last_assigned_us
        best, best_key = -1, None
        for i in candidates:
            load = loads[i]
            since = assigned.get(ids[i]) if assigned else None
            if since is not None:
                load += sum(map(mul, weights, since.added))
            key = (load, rotation_key(since, last[i]), ids[i])
            if best_key is None or key < best_key:
                best, best_key = i, key
        assert best_key is not None
        return best, best_key[0]

    def _familiar(self, step: Step) -> tuple[StepTrace, AgentState | None]:
        """The most recent familiar agent who is available (and in the team, when restricted)."""
        ticket, roster = self.ticket, self.roster
        indices, outside_team = self._pool(step)
        counts: dict[Filter, int] = {Filter.NOT_IN_TEAM: outside_team} if outside_team else {}
        since = self.now - timedelta(days=step.familiarity_days)
        restricted = step.team_only and ticket.team_id is not None
        chosen: tuple[AgentState, Familiar] | None = None
        familiar_in_pool = candidates = skipped = 0
        for familiar in self.familiarity.for_ticket(ticket, since):
            i = roster.index.get(familiar.agent_id)
            if i is None:
                continue  # no longer an agent (or not in this snapshot)
            agent = roster.agents[i]
            if restricted and ticket.team_id not in agent.teams:
                continue  # already counted as not in the team
            familiar_in_pool += 1
            blocker = self._unavailable(i, step.allow_away)
            if blocker is not None:
                counts[blocker] = counts.get(blocker, 0) + 1
                skipped += chosen is None
                continue
            candidates += 1
            if chosen is None:
                chosen = (agent, familiar)
        if len(indices) > familiar_in_pool:
            counts[Filter.NOT_FAMILIAR] = len(indices) - familiar_in_pool
        if chosen is None:
            return _no_candidate(step, ticket, _label(step, ticket), len(indices), counts), None
        agent, familiar = chosen
        subject = f"device {ticket.device_serial}" if familiar.via == "device" else "customer"
        text = f"familiar agent: served this {subject} {_ago(to_us(self.now) - familiar.served_us)}"
        if skipped:
            text += f" ({skipped} more recent familiar agent{'s' if skipped > 1 else ''} unavailable)"
        params: dict[str, Param] = {
            **_subject(step, ticket),
            "via": familiar.via.value,
            "served_at": familiar.served_at.astimezone(UTC).isoformat(),
            "skipped": skipped,
            "candidates": candidates,
        }
        excluded = _excluded(counts)
        trace = StepTrace(step.strategy, Outcome.CHOSEN, len(indices), candidates, excluded, text, params)
        return trace, agent


def _inapplicable(step: Step, ticket: TicketFacts) -> StepTrace | None:
    """A trace when the step has nothing to go on for this ticket, so the chain moves on."""
    strategy = step.strategy
    if strategy is Strategy.REGION and not ticket.region_path:
        return _not_applicable(step, ticket, "region", "no_region", "the ticket has no region")
    if strategy is Strategy.VIP_SENIOR and ticket.customer_level.strip().casefold() not in step.vip_levels:
        why = f"customer level {ticket.customer_level}"
        return _not_applicable(step, ticket, "VIP → senior", "not_vip", why)
    if strategy is Strategy.FAMILIAR_AGENT and ticket.customer_id is None and ticket.device_serial is None:
        why = "the ticket has no customer or device"
        return _not_applicable(step, ticket, "familiar agent", "no_customer_or_device", why)
    return None


def _own_filter(strategy: Strategy, ticket: TicketFacts) -> _AgentFilter | None:
    """The step's own filter, applied before availability."""
    if strategy is Strategy.SKILLS:
        return _skills_filter(ticket)
    if strategy is Strategy.REGION:
        return _region_filter(ticket.region_path)
    if strategy is Strategy.VIP_SENIOR:
        return _senior_filter
    return None


def _skills_filter(ticket: TicketFacts) -> _AgentFilter | None:
    required = ticket.skill_requirements
    if not required:
        return None

    def has_skills(agent: AgentState) -> Filter | None:
        levels = agent.skill_levels
        for skill in required:
            if levels.get(skill.key, 0) < skill.level:
                return Filter.MISSING_SKILLS
        return None

    return has_skills


def _region_filter(path: frozenset[str]) -> _AgentFilter:
    def covers_region(agent: AgentState) -> Filter | None:
        return None if not agent.region_keys.isdisjoint(path) else Filter.OUTSIDE_REGION

    return covers_region


def _senior_filter(agent: AgentState) -> Filter | None:
    return None if agent.senior else Filter.NOT_SENIOR


def _label(step: Step, ticket: TicketFacts) -> str:
    strategy = step.strategy
    if strategy is Strategy.SKILLS:
        return f"skills {ticket.describe_skills()}" if ticket.skill_requirements else "skills (none required)"
    if strategy is Strategy.REGION:
        return f"region {ticket.region}"
    if strategy is Strategy.VIP_SENIOR:
        return f"VIP ({ticket.customer_level}) → senior"
    if strategy is Strategy.FAMILIAR_AGENT:
        return f"familiar agent (within {step.familiarity_days} days)"
    return strategy.value.replace("_", " ")


def _subject(step: Step, ticket: TicketFacts) -> dict[str, Param]:
    """The ticket facts a step decides on, as reason parameters."""
    strategy = step.strategy
    if strategy is Strategy.SKILLS:
        return {"skills": ticket.describe_skills()}
    if strategy is Strategy.REGION:
        return {"region": ticket.region or ""}
    if strategy is Strategy.VIP_SENIOR:
        return {"customer_level": ticket.customer_level}
    if strategy is Strategy.FAMILIAR_AGENT:
        return {"days": step.familiarity_days}
    return {}


def _excluded(counts: dict[Filter, int]) -> tuple[tuple[Filter, int], ...]:
    return tuple((f, counts[f]) for f in Filter if counts.get(f))


def _no_candidate(
    step: Step, ticket: TicketFacts, label: str, considered: int, counts: dict[Filter, int]
) -> StepTrace:
    excluded = _excluded(counts)
    why = ", ".join(f"{n} {FILTER_TEXT[f]}" for f, n in excluded) or "no agents"
    text = f"{label}: no candidate ({why})"
    return StepTrace(
        step.strategy, Outcome.NO_CANDIDATE, considered, 0, excluded, text, _subject(step, ticket)
    )


def _not_applicable(step: Step, ticket: TicketFacts, label: str, code: str, why: str) -> StepTrace:
    params: dict[str, Param] = {**_subject(step, ticket), "why": code}
    return StepTrace(
        step.strategy, Outcome.NOT_APPLICABLE, 0, 0, (), f"{label}: not applicable ({why})", params
    )


def _ago(us: int) -> str:
    minutes = max(0, us) // _US_PER_MINUTE
    if minutes >= 1440:
        days = minutes // 1440
        return f"{days} day{'s' if days != 1 else ''} ago"
    if minutes >= 60:
        return f"{minutes // 60} h ago"
    return f"{minutes} min ago"


def _team_for(agent: AgentState, ticket: TicketFacts) -> UUID | None:
    """The ticket's team when the agent belongs to it, else the agent's home team (a step that is not
    team-restricted moves the ticket with its agent), else the ticket's team unchanged."""
    if ticket.team_id is not None and ticket.team_id in agent.teams:
        return ticket.team_id
    if agent.team_ids:
        return agent.team_ids[0]
    return ticket.team_id


def _assign_reason(traces: list[StepTrace], index: int) -> Reason:
    chosen = traces[index]
    text = (
        chosen.text
        if index == 0
        else "; ".join(t.text for t in traces[:index]) + "; fallback: " + chosen.text
    )
    params: dict[str, Param] = {"strategy": chosen.strategy.value, "step": index, **chosen.params}
    return Reason(f"routing.{chosen.strategy.value}", text, params, tuple(traces), index > 0)


def _final(policy: RoutingPolicy, ticket: TicketFacts, traces: list[StepTrace]) -> Decision:
    final = policy.final
    tried = "; ".join(t.text for t in traces)
    steps = tuple(traces)
    if final is Final.TEAM_QUEUE and ticket.team_id is not None:
        text = f"{tried}; no agent chosen: queued on the team"
        reason = Reason("routing.team_queue", text, {"team_id": str(ticket.team_id)}, steps, True)
        return QueueOnTeam(ticket.team_id, reason)
    if final is Final.TEAM_QUEUE and policy.final_team is not None:
        text = f"{tried}; no agent chosen and no team on the ticket: queued on the policy's team"
        params: dict[str, Param] = {"team_id": str(policy.final_team)}
        return QueueOnTeam(policy.final_team, Reason("routing.final_team", text, params, steps, True))
    if final is Final.TEAM_QUEUE:
        text = f"{tried}; no agent chosen and no team to queue on: left unassigned (alert)"
        return LeaveUnassigned(Reason("routing.unassigned_no_team", text, {}, steps, True))
    text = f"{tried}; no agent chosen: left unassigned (alert)"
    return LeaveUnassigned(Reason("routing.unassigned", text, {}, steps, True))
