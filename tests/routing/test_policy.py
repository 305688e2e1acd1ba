"""Policies and inputs from their JSON shapes, and the errors bad ones give."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from huiliu.routing.domain import (
    DEFAULT_LOAD_WEIGHTS,
    AgentState,
    Final,
    Pick,
    RoutingError,
    RoutingPolicy,
    Shift,
    Step,
    Strategy,
    TicketFacts,
    parse_policy,
    policy_spec,
)


def test_top_level_parameters_are_defaults_for_fallback_steps() -> None:
    policy = parse_policy(
        {
            "strategy": "skills",
            "allow_away": True,
            "pick": "round_robin",
            "load_weights": {"urgent": 8},
            "fallback": [{"strategy": "region"}, {"strategy": "least_loaded", "allow_away": False}],
            "final": "unassigned",
        }
    )
    assert policy.strategy is Strategy.SKILLS
    assert [s.allow_away for s in policy.steps] == [True, True, False]
    assert all(s.pick is Pick.ROUND_ROBIN for s in policy.steps)
    assert policy.fallback[1].load_weights == {**DEFAULT_LOAD_WEIGHTS, "urgent": 8.0}
    assert policy.final is Final.UNASSIGNED


def test_a_policy_spec_round_trips() -> None:
    policy = RoutingPolicy(
        Step(Strategy.FAMILIAR_AGENT, familiarity_days=14, team_only=False),
        (Step(Strategy.VIP_SENIOR, vip_levels=frozenset({"VIP", "金卡"})), Step(Strategy.ROUND_ROBIN)),
        Final.TEAM_QUEUE,
    )
    assert parse_policy(policy_spec(policy)) == policy
    assert policy_spec(policy)["fallback"][0]["vip_levels"] == ["vip", "金卡"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "needs a strategy"),
        ({"strategy": "random"}, "strategy is one of round_robin, least_loaded"),
        ({"strategy": "skills", "colour": "red"}, "unknown routing policy field 'colour'"),
        ({"strategy": "skills", "final": "drop"}, "final is one of team_queue, unassigned"),
        ({"strategy": "skills", "allow_away": "yes"}, "allow_away is true or false"),
        ({"strategy": "skills", "load_weights": {"critical": 9}}, "unknown priority 'critical'"),
        ({"strategy": "skills", "load_weights": {"low": -1}}, "cannot be negative"),
        ({"strategy": "skills", "load_weights": {"low": "much"}}, "must be a number"),
        ({"strategy": "skills", "load_weights": [1, 2]}, "load_weights is an object"),
        ({"strategy": "familiar_agent", "familiarity_days": 0}, "1 to 3650 days"),
        ({"strategy": "familiar_agent", "familiarity_days": 7.5}, "1 to 3650 days"),
        ({"strategy": "vip_senior", "vip_levels": []}, "at least one customer level"),
        ({"strategy": "vip_senior", "vip_levels": "vip"}, "vip_levels is a list"),
        ({"strategy": "skills", "pick": "random"}, "pick is one of least_loaded, round_robin"),
        ({"strategy": "skills", "fallback": {"strategy": "region"}}, "fallback is a list"),
        ({"strategy": "skills", "fallback": ["region"]}, "fallback step 1 is an object"),
        ({"strategy": "skills", "fallback": [{}]}, "fallback step 1 needs a strategy"),
        ({"strategy": "skills", "fallback": [{"strategy": "x"}]}, "fallback step 1: strategy is one of"),
        ({"strategy": "skills", "fallback": [{"strategy": "region", "final": "x"}]}, "unknown field 'final'"),
        ({"strategy": "skills", "fallback": [{"strategy": "region"}] * 9}, "at most 8 steps"),
    ],
)
def test_bad_policies_are_refused_with_a_clear_message(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        parse_policy(spec)


def test_shift_spec_round_trips_and_always_is_a_word() -> None:
    spec = {"timezone": "Europe/Berlin", "hours": {"mon": [["08:00", "12:00"], ["12:30", "16:30"]]}}
    shift = Shift.from_spec(spec)
    assert shift.spec() == spec
    assert Shift.from_spec("always").always
    assert Shift.from_spec("always").spec() == "always"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sometimes", "a shift is"),
        ({"hours": {"mon": [["09:00", "25:00"]]}}, "HH:MM"),
        ({"hours": {"mon": [["18:00", "09:00"]]}}, "end after it starts"),
        ({"hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "overlap"),
        ({"hours": {"funday": []}}, "unknown weekday"),
        ({"timezone": "Mars/Olympus", "hours": {}}, "unknown time zone"),
        ({"hours": {}, "days": 1}, "unknown shift field 'days'"),
        ({"timezone": "Asia/Shanghai"}, 'needs "hours"'),
    ],
)
def test_bad_shifts_are_refused(spec: Any, message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        Shift.from_spec(spec)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"skills": {"粤语": 6}}, "from 1 to 5"),
        ({"skills": {"粤语": 0}}, "from 1 to 5"),
        ({"skills": {"粤语": True}}, "whole number"),
        ({"skills": {"  ": 3}}, "a skill needs a name"),
        ({"regions": ["华南//深圳"]}, "names separated by '/'"),
        ({"presence": "busy"}, "online, away or offline"),
        ({"capacity": -1}, "0 or more"),
        ({"capacity": 2.5}, "0 or more"),
        ({"open_load": {"critical": 1}}, "unknown priority 'critical'"),
        ({"open_load": {"low": -1}}, "must be 0 or more"),
        ({"last_assigned_at": datetime(2026, 1, 1)}, "UTC offset"),
    ],
)
def test_bad_agent_states_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        AgentState(UUID(int=1), **fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"priority": "critical"}, "unknown priority"),
        ({"required_skills": {"粤语": 9}}, "from 1 to 5"),
        ({"region": "/华南"}, "names separated by '/'"),
    ],
)
def test_bad_ticket_facts_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        TicketFacts(UUID(int=1), **fields)


def test_duplicate_agents_are_refused() -> None:
    from huiliu.routing.domain import Roster

    with pytest.raises(RoutingError, match="listed twice"):
        Roster([AgentState(UUID(int=1)), AgentState(UUID(int=1))])


def test_names_are_matched_without_case_and_spaces() -> None:
    agent = AgentState(UUID(int=1), skills={" English ": 3}, regions=[" 华南 / 广东 "])
    assert agent.skill_levels == {"english": 3}
    assert agent.region_keys == {"华南/广东"}
    facts = TicketFacts(
        UUID(int=2), required_skills={"ENGLISH": 2}, region="华南/广东/深圳", device_serial="  "
    )
    assert facts.skill_requirements[0].key == "english"
    assert facts.region_path == {"华南", "华南/广东", "华南/广东/深圳"}
    assert facts.device_serial is None
