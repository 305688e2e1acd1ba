"""Each routing strategy on hand-made rosters: who is chosen, and what the reason says."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from huiliu.routing.domain import (
    PRIORITIES,
    Assign,
    FamiliarityIndex,
    Filter,
    Outcome,
    Pick,
    QueueOnTeam,
    RoutingState,
    ServedVia,
    ServiceRecord,
    Step,
    Strategy,
    decide,
)
from huiliu.tickets.domain import Priority
from tests.routing.builders import NOW, TEAM_A, TEAM_B, agent, agent_id, assigned_to, policy, ticket

CUSTOMER = UUID(int=0xC0FFEE)


def test_priorities_are_the_ticket_priorities() -> None:
    assert tuple(p.value for p in Priority) == PRIORITIES


# -- round robin ---------------------------------------------------------------------------------


def test_round_robin_picks_the_agent_longest_without_an_assignment() -> None:
    agents = [
        agent(1, last_assigned_at=NOW - timedelta(minutes=5)),
        agent(2, last_assigned_at=NOW - timedelta(hours=3)),
        agent(3, last_assigned_at=NOW - timedelta(minutes=30)),
    ]
    decision = decide(policy("round_robin"), ticket(), agents, NOW)
    assert assigned_to(decision) == 2
    assert decision.reason.text == "round robin, next of 3"
    assert decision.reason.code == "routing.round_robin"


def test_round_robin_puts_never_assigned_agents_first_and_breaks_ties_by_id() -> None:
    agents = [agent(5), agent(4), agent(1, last_assigned_at=NOW - timedelta(days=30))]
    assert assigned_to(decide(policy("round_robin"), ticket(), agents, NOW)) == 4


def test_round_robin_rotates_through_the_state_within_one_instant() -> None:
    agents = [agent(n) for n in (1, 2, 3)]
    state = RoutingState()
    chosen = []
    for _ in range(7):
        t = ticket()
        decision = decide(policy("round_robin"), t, agents, NOW, state=state)
        chosen.append(assigned_to(decision))
        state = state.after(decision, t, NOW)
    assert chosen == [1, 2, 3, 1, 2, 3, 1]


def test_state_assignments_come_after_the_snapshot_ones() -> None:
    # Agent 1 was assigned (per the snapshot) a minute ago; agent 2 just now in this batch.
    agents = [agent(1, last_assigned_at=NOW - timedelta(minutes=1)), agent(2)]
    state = RoutingState()
    first = decide(policy("round_robin"), ticket(), agents, NOW, state=state)
    assert assigned_to(first) == 2
    state = state.after(first, ticket(), NOW)
    assert assigned_to(decide(policy("round_robin"), ticket(), agents, NOW, state=state)) == 1


# -- least loaded ---------------------------------------------------------------------------------


def test_least_loaded_weights_open_tickets_by_priority() -> None:
    agents = [
        agent(1, open_load={"urgent": 1}),  # 4
        agent(2, open_load={"normal": 3}),  # 3
        agent(3, open_load={"low": 4, "high": 1}),  # 2 + 2 = 4
    ]
    decision = decide(policy("least_loaded"), ticket(), agents, NOW)
    assert assigned_to(decision) == 2
    assert decision.reason.text == "least loaded of 3 (load 3)"
    assert decision.reason.params["load"] == 3.0


def test_least_loaded_uses_the_policys_weights() -> None:
    agents = [agent(1, open_load={"urgent": 1}), agent(2, open_load={"normal": 3})]
    flat = {"urgent": 1, "high": 1, "normal": 1, "low": 1}
    decision = decide(policy("least_loaded", load_weights=flat), ticket(), agents, NOW)
    assert assigned_to(decision) == 1
    assert "load 1" in decision.reason.text


def test_least_loaded_ties_go_to_the_agent_longest_without_an_assignment() -> None:
    agents = [
        agent(1, open_load={"normal": 2}, last_assigned_at=NOW - timedelta(minutes=1)),
        agent(2, open_load={"normal": 2}, last_assigned_at=NOW - timedelta(hours=1)),
        agent(3, open_load={"normal": 5}),
    ]
    assert assigned_to(decide(policy("least_loaded"), ticket(), agents, NOW)) == 2


def test_least_loaded_counts_assignments_in_the_state() -> None:
    agents = [agent(1, open_load={"normal": 1}), agent(2, open_load={"normal": 3})]
    state = RoutingState()
    urgent = ticket(priority="urgent")
    first = decide(policy("least_loaded"), urgent, agents, NOW, state=state)
    assert assigned_to(first) == 1
    state = state.after(first, urgent, NOW)  # agent 1 now carries 1 + 4
    second = decide(policy("least_loaded"), ticket(), agents, NOW, state=state)
    assert assigned_to(second) == 2
    since = state.for_agent(agent_id(1))
    assert since is not None and (since.added, since.total) == ((1, 0, 0, 0), 1)


# -- skills ---------------------------------------------------------------------------------------


def test_skills_needs_every_required_skill_at_its_level_then_least_loaded() -> None:
    agents = [
        agent(1, skills={"粤语": 5}),  # no English
        agent(2, skills={"粤语": 2, "English": 4}),  # Cantonese too low
        agent(3, skills={"粤语": 3, "english": 2}, open_load={"normal": 2}),
        agent(4, skills={"粤语": 4, "ENGLISH": 5}, open_load={"normal": 1}),
        agent(5, skills={"粤语": 3, "English": 2}, presence="offline"),
    ]
    t = ticket(required_skills={"粤语": 3, "English": 2})
    decision = decide(policy("skills"), t, agents, NOW)
    assert assigned_to(decision) == 4
    assert decision.reason.text == "skills English≥2, 粤语≥3, least loaded of 2 (load 1)"
    assert decision.reason.params["skills"] == "English≥2, 粤语≥3"
    (step,) = decision.reason.steps
    assert dict(step.excluded) == {Filter.MISSING_SKILLS: 2, Filter.OFFLINE: 1}
    assert (step.considered, step.candidates) == (5, 2)


def test_skill_levels_are_minimums() -> None:
    agents = [agent(1, skills={"退款": 2}), agent(2, skills={"退款": 3})]
    assert assigned_to(decide(policy("skills"), ticket(required_skills={"退款": 3}), agents, NOW)) == 2
    assert assigned_to(decide(policy("skills"), ticket(required_skills={"退款": 4}), agents, NOW)) is None


def test_skills_without_requirements_takes_anyone_and_says_so() -> None:
    decision = decide(policy("skills"), ticket(), [agent(1), agent(2, open_load={"low": 1})], NOW)
    assert assigned_to(decision) == 1
    assert decision.reason.text == "no skills required, least loaded of 2 (load 0)"


def test_skills_can_pick_by_round_robin() -> None:
    agents = [
        agent(1, skills={"安装": 3}, open_load={"normal": 9}, last_assigned_at=NOW - timedelta(days=1)),
        agent(2, skills={"安装": 3}, last_assigned_at=NOW - timedelta(minutes=1)),
    ]
    decision = decide(
        policy("skills", pick=Pick.ROUND_ROBIN), ticket(required_skills={"安装": 1}), agents, NOW
    )
    assert assigned_to(decision) == 1
    assert decision.reason.text == "skills 安装≥1, round robin, next of 2"


# -- region ---------------------------------------------------------------------------------------


def test_region_matches_the_region_or_a_wider_one() -> None:
    agents = [
        agent(1, regions=["华东"]),
        agent(2, regions=["华南"], open_load={"normal": 2}),
        agent(3, regions=["华南/广东/深圳"], open_load={"normal": 1}),
        agent(4, regions=["华南/广西"]),
    ]
    decision = decide(policy("region"), ticket(region="华南/广东/深圳"), agents, NOW)
    assert assigned_to(decision) == 3
    assert decision.reason.text == "region 华南/广东/深圳, least loaded of 2 (load 1)"
    # A narrower region does not cover the wider one.
    assert assigned_to(decide(policy("region"), ticket(region="华南/广东"), agents, NOW)) == 2


def test_region_is_not_applicable_without_a_region() -> None:
    decision = decide(policy("region", "least_loaded"), ticket(), [agent(1, regions=["华北"])], NOW)
    assert assigned_to(decision) == 1
    assert decision.reason.steps[0].outcome is Outcome.NOT_APPLICABLE
    assert decision.reason.text.startswith("region: not applicable (the ticket has no region); fallback:")


# -- VIP to senior --------------------------------------------------------------------------------


def test_vip_customers_go_to_senior_agents_only() -> None:
    agents = [agent(1), agent(2, senior=True, open_load={"high": 1}), agent(3, senior=True, presence="away")]
    decision = decide(policy("vip_senior"), ticket(customer_level="vip"), agents, NOW)
    assert assigned_to(decision) == 2
    assert decision.reason.text == "VIP customer (vip) → senior agent, least loaded of 1 (load 2)"
    assert dict(decision.reason.steps[0].excluded) == {Filter.NOT_SENIOR: 1, Filter.AWAY: 1}


def test_vip_without_an_available_senior_falls_back_to_the_team_queue() -> None:
    agents = [agent(1), agent(2, senior=True, presence="offline")]
    decision = decide(policy("vip_senior"), ticket(customer_level="svip"), agents, NOW)
    assert isinstance(decision, QueueOnTeam)
    assert "VIP (svip) → senior: no candidate (1 not senior, 1 offline)" in decision.reason.text


def test_vip_step_does_not_apply_to_other_customers() -> None:
    agents = [agent(1, senior=True, open_load={"normal": 5}), agent(2)]
    decision = decide(policy("vip_senior", "least_loaded"), ticket(customer_level="normal"), agents, NOW)
    assert assigned_to(decision) == 2
    assert decision.reason.steps[0].outcome is Outcome.NOT_APPLICABLE
    assert decision.reason.steps[0].params["why"] == "not_vip"


def test_which_levels_count_as_vip_is_configurable() -> None:
    agents = [agent(1), agent(2, senior=True)]
    decision = decide(
        policy("vip_senior", vip_levels=frozenset({"金卡"})), ticket(customer_level="金卡"), agents, NOW
    )
    assert assigned_to(decision) == 2


# -- familiar agent -------------------------------------------------------------------------------


def _records(*entries: tuple[int, timedelta, str]) -> FamiliarityIndex:
    """(agent, how long ago, "customer" | "device") records for CUSTOMER and device SN-1."""
    return FamiliarityIndex(
        ServiceRecord(
            agent_id(n),
            NOW - ago,
            customer_id=CUSTOMER if via == "customer" else None,
            device_serial="SN-1" if via == "device" else None,
        )
        for n, ago, via in entries
    )


def test_familiar_agent_is_the_most_recent_one_who_served_the_customer() -> None:
    agents = [agent(n) for n in (1, 2, 3)]
    index = _records((1, timedelta(days=10), "customer"), (2, timedelta(days=2), "customer"))
    decision = decide(policy("familiar_agent"), ticket(customer_id=CUSTOMER), agents, NOW, index)
    assert assigned_to(decision) == 2
    assert decision.reason.text == "familiar agent: served this customer 2 days ago"
    assert decision.reason.params["via"] == ServedVia.CUSTOMER.value


def test_familiar_agent_served_the_device() -> None:
    agents = [agent(1), agent(2)]
    index = _records((1, timedelta(days=3), "customer"), (2, timedelta(hours=5), "device"))
    t = ticket(customer_id=CUSTOMER, device_serial="SN-1")
    decision = decide(policy("familiar_agent"), t, agents, NOW, index)
    assert assigned_to(decision) == 2
    assert decision.reason.text == "familiar agent: served this device SN-1 5 h ago"


def test_familiar_agent_skips_unavailable_ones_and_says_so() -> None:
    agents = [agent(1), agent(2, presence="offline"), agent(3, capacity=1, open_load={"low": 1})]
    index = _records(
        (1, timedelta(days=9), "customer"),
        (2, timedelta(days=1), "customer"),
        (3, timedelta(days=2), "customer"),
    )
    decision = decide(policy("familiar_agent"), ticket(customer_id=CUSTOMER), agents, NOW, index)
    assert assigned_to(decision) == 1
    assert decision.reason.text == (
        "familiar agent: served this customer 9 days ago (2 more recent familiar agents unavailable)"
    )
    assert dict(decision.reason.steps[0].excluded) == {Filter.OFFLINE: 1, Filter.AT_CAPACITY: 1}


def test_familiarity_window_includes_exactly_n_days_and_not_a_microsecond_more() -> None:
    agents = [agent(1)]
    t = ticket(customer_id=CUSTOMER)
    on_edge = _records((1, timedelta(days=30), "customer"))
    past_edge = _records((1, timedelta(days=30, microseconds=1), "customer"))
    assert assigned_to(decide(policy("familiar_agent", familiarity_days=30), t, agents, NOW, on_edge)) == 1
    decision = decide(policy("familiar_agent", familiarity_days=30), t, agents, NOW, past_edge)
    assert isinstance(decision, QueueOnTeam)
    assert decision.reason.steps[0].excluded == ((Filter.NOT_FAMILIAR, 1),)


def test_familiar_agent_outside_the_team_is_skipped_when_team_restricted() -> None:
    agents = [agent(1, team_ids=(TEAM_B,)), agent(2)]
    index = _records((1, timedelta(days=1), "customer"), (2, timedelta(days=5), "customer"))
    t = ticket(customer_id=CUSTOMER)
    assert assigned_to(decide(policy("familiar_agent"), t, agents, NOW, index)) == 2
    anywhere = decide(policy("familiar_agent", team_only=False), t, agents, NOW, index)
    assert isinstance(anywhere, Assign)
    assert (assigned_to(anywhere), anywhere.team_id) == (1, TEAM_B)


def test_familiar_agent_is_not_applicable_without_customer_or_device() -> None:
    decision = decide(policy("familiar_agent", "round_robin"), ticket(), [agent(1)], NOW, _records())
    assert decision.reason.steps[0].outcome is Outcome.NOT_APPLICABLE
    assert assigned_to(decision) == 1


def test_familiar_agents_no_longer_on_the_roster_are_ignored() -> None:
    index = _records((9, timedelta(days=1), "customer"), (1, timedelta(days=4), "customer"))
    decision = decide(policy("familiar_agent"), ticket(customer_id=CUSTOMER), [agent(1)], NOW, index)
    assert assigned_to(decision) == 1
    assert "more recent" not in decision.reason.text


# -- team -----------------------------------------------------------------------------------------


def test_team_restricted_steps_only_consider_the_tickets_team() -> None:
    agents = [agent(1, team_ids=(TEAM_B,)), agent(2, open_load={"urgent": 3})]
    decision = decide(policy("least_loaded"), ticket(), agents, NOW)
    assert isinstance(decision, Assign)
    assert (assigned_to(decision), decision.team_id) == (2, TEAM_A)
    assert dict(decision.reason.steps[0].excluded) == {Filter.NOT_IN_TEAM: 1}


def test_a_step_open_to_all_teams_moves_the_ticket_to_the_agents_home_team() -> None:
    agents = [agent(1, team_ids=(TEAM_B, TEAM_A)), agent(2, open_load={"urgent": 3})]
    fallback = Step(Strategy.LEAST_LOADED, team_only=False)
    decision = decide(policy("least_loaded", fallback), ticket(team_id=None), agents, NOW)
    assert isinstance(decision, Assign)
    assert (assigned_to(decision), decision.team_id) == (1, TEAM_B)
    # A ticket without a team is not restricted either.
    assert decision.reason.steps[0].considered == 2


@pytest.mark.parametrize("strategy", [s.value for s in Strategy])
def test_every_strategy_chooses_from_a_plain_roster(strategy: str) -> None:
    agents = [
        agent(1, skills={"安装": 3}, regions=["华南"], senior=True, open_load={"high": 1}),
        agent(2, skills={"安装": 3}, regions=["华南"], senior=True),
    ]
    t = ticket(required_skills={"安装": 2}, region="华南", customer_level="vip", customer_id=CUSTOMER)
    index = _records((1, timedelta(days=1), "customer"))
    decision = decide(policy(strategy), t, agents, NOW, index)
    assert isinstance(decision, Assign)
    assert decision.reason.steps[-1].strategy.value == strategy
    assert decision.reason.fallback is False
    # Round robin: neither was ever assigned, so the smaller id; the others: the least loaded.
    assert assigned_to(decision) == (1 if strategy in {"familiar_agent", "round_robin"} else 2)
