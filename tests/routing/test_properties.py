"""Properties of ``decide`` on random rosters, tickets and policies, checked against a plain
reference written separately from the implementation: the chosen agent is always eligible and best
by the step's rule, an earlier step in the chain had no eligible agent, there is always a visible
decision, the trace adds up, and the result does not depend on the order of the agents. Plus
round-robin fairness over many assignments."""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiliu.routing.domain import (
    ALWAYS,
    AgentState,
    Assign,
    Decision,
    FamiliarityIndex,
    Filter,
    Final,
    LeaveUnassigned,
    Outcome,
    Pick,
    QueueOnTeam,
    RoutingPolicy,
    RoutingState,
    ServiceRecord,
    Shift,
    Step,
    Strategy,
    TicketFacts,
    decide,
)
from tests.routing.builders import NOW, OFFICE_SHIFT, TEAM_A, TEAM_B, weekly

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CUSTOMER = UUID(int=0xC0FFEE)
SERIAL = "SN-42"
SKILLS = ("a", "b", "c")
REGIONS = ("华南", "华南/广东", "华南/广东/深圳", "华东")
WEIGHTS = {"urgent": 4.0, "high": 2.0, "normal": 1.0, "low": 0.5}
SHIFTS = (
    ALWAYS,
    OFFICE_SHIFT,
    Shift(
        "Europe/Berlin", weekly(mon=[["08:00", "20:00"]], wed=[["08:00", "20:00"]], sat=[["00:00", "24:00"]])
    ),
    Shift("Asia/Shanghai", weekly(tue=[["22:00", "24:00"]], wed=[["00:00", "06:00"]])),
)


@st.composite
def agents(draw: st.DrawFn) -> list[AgentState]:
    ids = draw(st.lists(st.integers(1, 40), max_size=12, unique=True))
    roster = []
    for n in ids:
        last = draw(st.one_of(st.none(), st.integers(0, 5000)))
        roster.append(
            AgentState(
                UUID(int=n),
                team_ids=draw(st.lists(st.sampled_from((TEAM_A, TEAM_B)), max_size=2, unique=True)),
                skills=draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5))),
                regions=draw(st.lists(st.sampled_from(REGIONS), max_size=2, unique=True)),
                senior=draw(st.booleans()),
                presence=draw(st.sampled_from(("online", "online", "away", "offline"))),
                shift=draw(st.sampled_from(SHIFTS)),
                capacity=draw(st.one_of(st.none(), st.integers(0, 5))),
                open_load=draw(st.dictionaries(st.sampled_from(tuple(WEIGHTS)), st.integers(0, 3))),
                last_assigned_at=None if last is None else NOW - timedelta(minutes=last),
            )
        )
    return roster


tickets = st.builds(
    TicketFacts,
    id=st.just(UUID(int=0x7777)),
    priority=st.sampled_from(tuple(WEIGHTS)),
    team_id=st.sampled_from((TEAM_A, TEAM_B, None)),
    required_skills=st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=2),
    region=st.one_of(st.none(), st.sampled_from(REGIONS)),
    customer_level=st.sampled_from(("normal", "vip", "svip")),
    customer_id=st.one_of(st.none(), st.just(CUSTOMER)),
    device_serial=st.one_of(st.none(), st.just(SERIAL)),
)

steps = st.builds(
    Step,
    strategy=st.sampled_from(list(Strategy)),
    allow_away=st.booleans(),
    team_only=st.booleans(),
    familiarity_days=st.integers(1, 60),
    pick=st.sampled_from(list(Pick)),
)

policies = st.builds(
    RoutingPolicy,
    primary=steps,
    fallback=st.lists(steps, max_size=3).map(tuple),
    final=st.sampled_from(list(Final)),
)


@st.composite
def familiarity(draw: st.DrawFn) -> FamiliarityIndex:
    records = []
    for _ in range(draw(st.integers(0, 8))):
        via_device = draw(st.booleans())
        records.append(
            ServiceRecord(
                UUID(int=draw(st.integers(1, 40))),
                NOW - timedelta(minutes=draw(st.integers(0, 90 * 1440))),
                customer_id=None if via_device else CUSTOMER,
                device_serial=SERIAL if via_device else None,
            )
        )
    return FamiliarityIndex(records)


moments = st.integers(0, 7 * 1440).map(lambda m: NOW + timedelta(minutes=m))


# -- the reference --------------------------------------------------------------------------------


def on_shift(shift: Shift, now: datetime) -> bool:
    if shift.weekly_hours is None:
        return True
    local = now.astimezone(shift.tz)
    minute = local.hour * 60 + local.minute
    return any(p.start <= minute < p.end for p in shift.weekly_hours[local.weekday()])


def available(agent: AgentState, step: Step, ticket: TicketFacts, now: datetime) -> bool:
    if step.team_only and ticket.team_id is not None and ticket.team_id not in agent.team_ids:
        return False
    if agent.presence == "offline" or (agent.presence == "away" and not step.allow_away):
        return False
    if not on_shift(agent.shift, now):
        return False
    return agent.capacity is None or sum(agent.open_load.values()) < agent.capacity


def last_served(
    agent: AgentState, ticket: TicketFacts, index: FamiliarityIndex, step: Step, now: datetime
) -> datetime | None:
    since = now - timedelta(days=step.familiarity_days)
    found = [f.served_at for f in index.for_ticket(ticket, since) if f.agent_id == agent.id]
    return found[0] if found else None


def applicable(step: Step, ticket: TicketFacts) -> bool:
    if step.strategy is Strategy.REGION:
        return ticket.region is not None
    if step.strategy is Strategy.VIP_SENIOR:
        return ticket.customer_level in step.vip_levels
    if step.strategy is Strategy.FAMILIAR_AGENT:
        return ticket.customer_id is not None or ticket.device_serial is not None
    return True


def qualifies(
    agent: AgentState, step: Step, ticket: TicketFacts, index: FamiliarityIndex, now: datetime
) -> bool:
    if not available(agent, step, ticket, now):
        return False
    if step.strategy is Strategy.SKILLS:
        return all(agent.skills.get(name, 0) >= level for name, level in ticket.required_skills.items())
    if step.strategy is Strategy.REGION:
        assert ticket.region is not None
        return any(ticket.region == r or ticket.region.startswith(r + "/") for r in agent.regions)
    if step.strategy is Strategy.VIP_SENIOR:
        return agent.senior
    if step.strategy is Strategy.FAMILIAR_AGENT:
        return last_served(agent, ticket, index, step, now) is not None
    return True


def load(agent: AgentState) -> float:
    return sum(WEIGHTS[p] * n for p, n in agent.open_load.items())


def recency(agent: AgentState) -> datetime:
    return agent.last_assigned_at or datetime.min.replace(tzinfo=NOW.tzinfo)


# -- properties -----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(policies, tickets, agents(), moments, familiarity())
def test_decisions_agree_with_the_reference(
    policy: RoutingPolicy,
    ticket: TicketFacts,
    roster: list[AgentState],
    now: datetime,
    index: FamiliarityIndex,
) -> None:
    decision = decide(policy, ticket, roster, now, index)
    trace = decision.reason.steps
    assert decision.reason.text
    for step, seen in zip(policy.steps, trace, strict=False):
        qualified = [a for a in roster if applicable(step, ticket) and qualifies(a, step, ticket, index, now)]
        if seen.outcome is not Outcome.CHOSEN:
            # A step falls through only when nobody qualified.
            assert qualified == [], seen.text
            assert seen.outcome is (
                Outcome.NO_CANDIDATE if applicable(step, ticket) else Outcome.NOT_APPLICABLE
            )
            continue
        assert isinstance(decision, Assign)
        chosen = next(a for a in roster if a.id == decision.agent_id)
        assert chosen in qualified
        assert seen.candidates == len(qualified)
        if step.strategy is Strategy.FAMILIAR_AGENT:
            served = [last_served(a, ticket, index, step, now) for a in qualified]
            assert last_served(chosen, ticket, index, step, now) == max(s for s in served if s is not None)
        elif step.strategy is Strategy.ROUND_ROBIN or (
            step.strategy is not Strategy.LEAST_LOADED and step.pick is Pick.ROUND_ROBIN
        ):
            assert recency(chosen) == min(recency(a) for a in qualified)
        else:
            assert load(chosen) == min(load(a) for a in qualified)
    if isinstance(decision, Assign):
        assert trace[-1].outcome is Outcome.CHOSEN
        assert decision.reason.fallback == (len(trace) > 1)
    else:
        assert len(trace) == len(policy.steps)
        assert decision.reason.fallback is True


@PROPERTY_SETTINGS
@given(policies, tickets, agents(), moments, familiarity())
def test_every_decision_is_visible_and_its_trace_accounts_for_every_agent(
    policy: RoutingPolicy,
    ticket: TicketFacts,
    roster: list[AgentState],
    now: datetime,
    index: FamiliarityIndex,
) -> None:
    decision = decide(policy, ticket, roster, now, index)
    if isinstance(decision, QueueOnTeam):
        assert policy.final is Final.TEAM_QUEUE and decision.team_id == ticket.team_id
    elif isinstance(decision, LeaveUnassigned):
        assert decision.alert is True
        assert policy.final is Final.UNASSIGNED or ticket.team_id is None
    else:
        assert isinstance(decision, Assign)
    for seen in decision.reason.steps:
        if seen.outcome is Outcome.NOT_APPLICABLE:
            assert (seen.considered, seen.candidates, seen.excluded) == (0, 0, ())
            continue
        excluded = dict(seen.excluded)
        assert all(n > 0 for n in excluded.values())
        outside = excluded.pop(Filter.NOT_IN_TEAM, 0)
        assert seen.considered + outside == len(roster)
        assert seen.candidates + sum(excluded.values()) == seen.considered


@PROPERTY_SETTINGS
@given(policies, tickets, agents(), moments, familiarity(), st.randoms(use_true_random=False))
def test_the_same_input_gives_the_same_decision_in_any_agent_order(
    policy: RoutingPolicy,
    ticket: TicketFacts,
    roster: list[AgentState],
    now: datetime,
    index: FamiliarityIndex,
    random: Random,
) -> None:
    first: Decision = decide(policy, ticket, roster, now, index)
    assert decide(policy, ticket, roster, now, index) == first
    shuffled = list(roster)
    random.shuffle(shuffled)
    assert decide(policy, ticket, shuffled, now, index) == first


@PROPERTY_SETTINGS
@given(agents(), st.integers(1, 80), st.sampled_from([Strategy.ROUND_ROBIN, Strategy.SKILLS]))
def test_round_robin_is_fair_within_one_assignment(
    roster: list[AgentState], rounds: int, strategy: Strategy
) -> None:
    # No caps and no load changes, so eligibility stays the same across the batch.
    roster = [
        AgentState(
            a.id, a.team_ids, a.skills, a.regions, presence=a.presence, last_assigned_at=a.last_assigned_at
        )
        for a in roster
    ]
    policy = RoutingPolicy(Step(strategy, team_only=False, pick=Pick.ROUND_ROBIN))
    eligible = {a.id for a in roster if a.presence == "online"}
    state = RoutingState()
    counts = dict.fromkeys(eligible, 0)
    for n in range(rounds):
        facts = TicketFacts(UUID(int=n))
        decision = decide(policy, facts, roster, NOW, state=state)
        if not eligible:
            assert not isinstance(decision, Assign)
            return
        assert isinstance(decision, Assign)
        counts[decision.agent_id] += 1
        state = state.after(decision, facts, NOW)
    assert max(counts.values()) - min(counts.values()) <= 1


@PROPERTY_SETTINGS
@given(st.lists(st.integers(0, 6), min_size=1, max_size=8), st.integers(1, 60))
def test_least_loaded_batches_never_widen_the_spread_beyond_one_ticket(loads: list[int], rounds: int) -> None:
    roster = [AgentState(UUID(int=i + 1), open_load={"normal": n}) for i, n in enumerate(loads)]
    policy = RoutingPolicy(Step(Strategy.LEAST_LOADED))
    state = RoutingState()
    totals = list(loads)
    for n in range(rounds):
        facts = TicketFacts(UUID(int=n))
        decision = decide(policy, facts, roster, NOW, state=state)
        assert isinstance(decision, Assign)
        i = decision.agent_id.int - 1
        assert totals[i] == min(totals)
        totals[i] += 1
        state = state.after(decision, facts, NOW)
