"""Filters every strategy shares: presence, shift at ``now``, capacity cap; and how they are
counted in the trace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from huiliu.routing.domain import (
    ALWAYS,
    Filter,
    QueueOnTeam,
    RoutingError,
    RoutingState,
    Shift,
    decide,
)
from tests.routing.builders import NOW, OFFICE_SHIFT, agent, assigned_to, policy, sh, ticket, weekly


def test_offline_agents_never_get_tickets() -> None:
    decision = decide(policy("least_loaded", allow_away=True), ticket(), [agent(1, presence="offline")], NOW)
    assert isinstance(decision, QueueOnTeam)
    assert decision.reason.steps[0].excluded == ((Filter.OFFLINE, 1),)


def test_away_agents_count_only_when_the_policy_allows_it() -> None:
    agents = [agent(1, presence="away"), agent(2, presence="online", open_load={"urgent": 5})]
    assert assigned_to(decide(policy("least_loaded"), ticket(), agents, NOW)) == 2
    assert assigned_to(decide(policy("least_loaded", allow_away=True), ticket(), agents, NOW)) == 1


@pytest.mark.parametrize(
    ("moment", "on_shift"),
    [
        ("2026-05-06 08:59", False),
        ("2026-05-06 09:00", True),
        ("2026-05-06 11:59", True),
        ("2026-05-06 12:00", False),  # lunch: periods are half-open
        ("2026-05-06 12:59", False),
        ("2026-05-06 13:00", True),
        ("2026-05-06 17:59", True),
        ("2026-05-06 18:00", False),
        ("2026-05-09 10:00", False),  # Saturday
    ],
)
def test_shift_windows_are_half_open_on_the_agents_wall_clock(moment: str, on_shift: bool) -> None:
    decision = decide(policy("least_loaded"), ticket(), [agent(1, shift=OFFICE_SHIFT)], sh(moment))
    assert (assigned_to(decision) == 1) is on_shift
    if not on_shift:
        assert decision.reason.steps[0].excluded == ((Filter.OFF_SHIFT, 1),)


def test_shift_seconds_inside_the_last_minute_are_still_on_shift() -> None:
    moment = sh("2026-05-06 17:59:59.999999")
    assert assigned_to(decide(policy("least_loaded"), ticket(), [agent(1, shift=OFFICE_SHIFT)], moment)) == 1


def test_shifts_use_their_own_time_zone() -> None:
    berlin = Shift("Europe/Berlin", weekly(wed=[["09:00", "17:00"]]))
    agents = [agent(1, shift=berlin), agent(2, shift=OFFICE_SHIFT)]
    # 16:00 in Shanghai is 10:00 in Berlin (CEST, UTC+2): both on shift.
    at_16 = sh("2026-05-06 16:00")
    assert decide(policy("least_loaded"), ticket(), agents, at_16).reason.steps[0].candidates == 2
    # 20:00 in Shanghai is 14:00 in Berlin: only the Berlin agent.
    assert assigned_to(decide(policy("least_loaded"), ticket(), agents, sh("2026-05-06 20:00"))) == 1
    # The same instant given in UTC decides the same.
    assert (
        assigned_to(decide(policy("least_loaded"), ticket(), agents, datetime(2026, 5, 6, 12, tzinfo=UTC)))
        == 1
    )


def test_a_night_shift_is_written_as_two_periods_across_midnight() -> None:
    night = Shift("Asia/Shanghai", weekly(tue=[["22:00", "24:00"]], wed=[["00:00", "06:00"]]))
    agents = [agent(1, shift=night)]
    assert assigned_to(decide(policy("round_robin"), ticket(), agents, sh("2026-05-05 23:30"))) == 1
    assert assigned_to(decide(policy("round_robin"), ticket(), agents, sh("2026-05-06 05:59"))) == 1
    assert assigned_to(decide(policy("round_robin"), ticket(), agents, sh("2026-05-06 06:00"))) is None


def test_always_on_shift_agents_are_available_at_any_time() -> None:
    for hour in range(0, 24, 3):
        moment = datetime(2026, 5, 10, hour, tzinfo=ZoneInfo("Asia/Shanghai"))
        assert assigned_to(decide(policy("round_robin"), ticket(), [agent(1, shift=ALWAYS)], moment)) == 1


def test_capacity_counts_open_tickets_of_every_priority() -> None:
    agents = [
        agent(1, capacity=3, open_load={"low": 2, "urgent": 1}),
        agent(2, capacity=4, open_load={"normal": 3}, last_assigned_at=NOW),
    ]
    decision = decide(policy("round_robin"), ticket(), agents, NOW)
    assert assigned_to(decision) == 2
    assert decision.reason.steps[0].excluded == ((Filter.AT_CAPACITY, 1),)


def test_a_zero_capacity_takes_nothing_and_no_cap_takes_anything() -> None:
    agents = [agent(1, capacity=0), agent(2, capacity=None, open_load={"urgent": 500})]
    assert assigned_to(decide(policy("round_robin"), ticket(), agents, NOW)) == 2


def test_capacity_fills_up_within_a_batch() -> None:
    agents = [agent(1, capacity=2, open_load={"normal": 1}), agent(2, capacity=1)]
    state = RoutingState()
    chosen = []
    for _ in range(4):
        t = ticket()
        decision = decide(policy("least_loaded"), t, agents, NOW, state=state)
        chosen.append(assigned_to(decision))
        state = state.after(decision, t, NOW)
    assert chosen == [2, 1, None, None]


def test_each_agent_is_counted_under_its_first_failing_filter() -> None:
    agents = [
        agent(1, presence="offline", shift=OFFICE_SHIFT, capacity=0),
        agent(2, presence="away", shift=OFFICE_SHIFT, capacity=0),
        agent(3, shift=OFFICE_SHIFT, capacity=0),
        agent(4, capacity=0),
    ]
    decision = decide(policy("least_loaded"), ticket(), agents, sh("2026-05-06 20:00"))
    assert decision.reason.steps[0].excluded == (
        (Filter.OFFLINE, 1),
        (Filter.AWAY, 1),
        (Filter.OFF_SHIFT, 1),
        (Filter.AT_CAPACITY, 1),
    )
    # With away agents allowed, the away agent is off shift instead.
    lenient = decide(policy("least_loaded", allow_away=True), ticket(), agents, sh("2026-05-06 20:00"))
    assert dict(lenient.reason.steps[0].excluded)[Filter.OFF_SHIFT] == 2


def test_now_must_be_aware() -> None:
    with pytest.raises(RoutingError, match="UTC offset"):
        decide(policy("round_robin"), ticket(), [agent(1)], datetime(2026, 5, 6, 10))


def test_state_after_a_non_assignment_is_unchanged() -> None:
    state = RoutingState()
    decision = decide(policy("round_robin"), ticket(), [], NOW)
    assert state.after(decision, ticket(), NOW + timedelta(seconds=1)) is state
