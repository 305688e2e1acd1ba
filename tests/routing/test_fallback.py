"""The fallback chain: steps run in order, the first that finds an agent decides, and when none
does the final action is a visible decision (team queue, or unassigned with an alert)."""

from __future__ import annotations

from uuid import UUID

from huiliu.routing.domain import (
    Assign,
    Final,
    LeaveUnassigned,
    Outcome,
    QueueOnTeam,
    Step,
    Strategy,
    decide,
)
from tests.routing.builders import NOW, TEAM_A, agent, assigned_to, policy, ticket


def test_the_first_step_that_finds_an_agent_decides() -> None:
    agents = [agent(1, skills={"日语": 2}, regions=["华南"]), agent(2, regions=["华东"])]
    t = ticket(required_skills={"日语": 3}, region="华东")
    decision = decide(policy("skills", "region", "least_loaded"), t, agents, NOW)
    assert isinstance(decision, Assign)
    assert assigned_to(decision) == 2
    assert [s.strategy for s in decision.reason.steps] == [Strategy.SKILLS, Strategy.REGION]
    assert [s.outcome for s in decision.reason.steps] == [Outcome.NO_CANDIDATE, Outcome.CHOSEN]
    assert decision.reason.fallback is True
    assert decision.reason.code == "routing.region"
    assert decision.reason.params["step"] == 1
    assert decision.reason.text == (
        "skills 日语≥3: no candidate (2 missing skills); fallback: region 华东, least loaded of 1 (load 0)"
    )


def test_fallback_steps_keep_their_own_parameters() -> None:
    agents = [agent(1, presence="away")]
    strict_then_lenient = policy("least_loaded", Step(Strategy.LEAST_LOADED, allow_away=True))
    decision = decide(strict_then_lenient, ticket(), agents, NOW)
    assert assigned_to(decision) == 1
    assert decision.reason.text == "least loaded: no candidate (1 away); fallback: least loaded of 1 (load 0)"


def test_when_no_step_finds_an_agent_the_ticket_is_queued_on_its_team() -> None:
    agents = [agent(1, presence="offline"), agent(2, capacity=0)]
    decision = decide(policy("skills", "round_robin"), ticket(required_skills={"x": 1}), agents, NOW)
    assert isinstance(decision, QueueOnTeam)
    assert decision.team_id == TEAM_A
    assert decision.reason.code == "routing.team_queue"
    assert decision.reason.params == {"team_id": str(TEAM_A)}
    assert decision.reason.text == (
        "skills x≥1: no candidate (2 missing skills); "
        "round robin: no candidate (1 offline, 1 at capacity); no agent chosen: queued on the team"
    )


def test_a_team_queue_without_a_team_leaves_the_ticket_unassigned_with_an_alert() -> None:
    decision = decide(policy("round_robin"), ticket(team_id=None), [], NOW)
    assert isinstance(decision, LeaveUnassigned)
    assert decision.alert is True
    assert decision.reason.code == "routing.unassigned_no_team"
    assert decision.reason.text == (
        "round robin: no candidate (no agents); "
        "no agent chosen and no team to queue on: left unassigned (alert)"
    )


def test_final_unassigned_raises_an_alert_even_with_a_team() -> None:
    decision = decide(policy("round_robin", final=Final.UNASSIGNED), ticket(), [agent(1, capacity=0)], NOW)
    assert isinstance(decision, LeaveUnassigned)
    assert decision.alert is True
    assert decision.reason.code == "routing.unassigned"
    assert decision.reason.text.endswith("no agent chosen: left unassigned (alert)")


def test_an_empty_team_is_reported_as_agents_outside_it() -> None:
    other = UUID(int=0xDEAD)
    decision = decide(policy("least_loaded"), ticket(team_id=other), [agent(1), agent(2)], NOW)
    assert isinstance(decision, QueueOnTeam)
    assert decision.team_id == other
    assert decision.reason.steps[0].text == "least loaded: no candidate (2 not in the team)"


def test_every_step_of_a_failed_chain_is_in_the_trace_in_order() -> None:
    chain = policy("vip_senior", "familiar_agent", "region", "skills", "round_robin", final=Final.UNASSIGNED)
    decision = decide(chain, ticket(required_skills={"x": 1}), [agent(1, capacity=0)], NOW)
    assert isinstance(decision, LeaveUnassigned)
    steps = decision.reason.steps
    assert [s.strategy.value for s in steps] == [
        "vip_senior",
        "familiar_agent",
        "region",
        "skills",
        "round_robin",
    ]
    assert [s.outcome.value for s in steps] == [
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "no_candidate",
        "no_candidate",
    ]
    as_dict = decision.reason.as_dict()
    assert as_dict["steps"][3]["excluded"] == {"missing_skills": 1}
    assert as_dict["steps"][4]["excluded"] == {"at_capacity": 1}
    assert as_dict["fallback"] is True
