"""Erlang C against published worked examples, and its behaviour where the textbook formula breaks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huiliu.analytics.erlang import (
    ErlangError,
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    probability_of_waiting,
    service_level,
    traffic_erlangs,
)


def test_call_centre_helper_worked_example() -> None:
    """Call Centre Helper, "Erlang C Formula – Made Simple With an Easy Worked Example"
    (callcentrehelper.com): 100 calls per 30 minutes,
    AHT 180 s, 80 % answered within 20 s, maximum occupancy 85 %, shrinkage 30 %. Published: traffic
    intensity 10 Erlangs; with 11 agents the probability a call waits is 68.21 %, the service level
    39 % and the ASA 122.8 s; 14 agents reach 88.8 %; 20 agents with shrinkage."""
    traffic = traffic_erlangs(200, 180)
    assert traffic == pytest.approx(10.0)
    assert probability_of_waiting(11, traffic) == pytest.approx(0.6821, abs=5e-5)
    assert service_level(11, traffic, 180, 20) == pytest.approx(0.39, abs=5e-3)
    assert average_speed_of_answer(11, traffic, 180) == pytest.approx(122.8, abs=0.05)
    assert service_level(14, traffic, 180, 20) == pytest.approx(0.888, abs=1e-3)
    staffing = agents_needed(
        200, 180, target_service_level=0.8, target_seconds=20, max_occupancy=0.85, shrinkage=0.3
    )
    assert (staffing.agents, staffing.scheduled) == (14, 20)
    assert staffing.occupancy == pytest.approx(10 / 14)


def test_mike_hills_erlang_c_worked_example() -> None:
    """Mike Hills, "The Erlang-C formula" (mitan.co.uk, the Erlang C calculations page): 360 calls
    per half hour, average duration 240 s, 55 agents, 15 s target. Published: traffic 48 Erlangs,
    occupancy 0.873, E_C = 0.2388, ASA 8.18 s, service level 84.6 %."""
    traffic = traffic_erlangs(720, 240)
    assert traffic == pytest.approx(48.0)
    assert traffic / 55 == pytest.approx(0.873, abs=5e-4)
    assert probability_of_waiting(55, traffic) == pytest.approx(0.2388, abs=1e-4)
    assert average_speed_of_answer(55, traffic, 240) == pytest.approx(8.18, abs=0.01)
    assert service_level(55, traffic, 240, 15) == pytest.approx(0.846, abs=1e-3)


def test_erlang_b_matches_the_closed_form_where_it_is_computable() -> None:
    # Erlang B = (A^N / N!) / sum_k A^k / k!  (fine for small N)
    for agents, traffic in [(1, 0.5), (5, 3.0), (10, 7.5), (30, 25.0)]:
        terms = [traffic**k / math.factorial(k) for k in range(agents + 1)]
        assert erlang_b(agents, traffic) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


def test_large_queues_stay_finite_where_factorials_overflow() -> None:
    # 171! overflows a double; the recursion does not care.
    waiting = probability_of_waiting(2000, 1950.0)
    assert 0.0 < waiting < 1.0
    staffing = agents_needed(1950 * 3600 / 300, 300, target_service_level=0.8, target_seconds=20)
    assert 1950 < staffing.agents < 2100
    assert staffing.service_level >= 0.8


def test_overloaded_and_idle_queues() -> None:
    assert probability_of_waiting(10, 10.0) == 1.0
    assert service_level(9, 10.0, 180, 20) == 0.0
    assert average_speed_of_answer(10, 10.0, 180) == math.inf
    idle = agents_needed(0, 300)
    assert (idle.agents, idle.scheduled, idle.service_level) == (0, 0, 1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target_service_level": 1.0},
        {"target_service_level": 0.0},
        {"max_occupancy": 0.0},
        {"max_occupancy": 1.2},
        {"shrinkage": 1.0},
        {"shrinkage": -0.1},
        {"target_seconds": -1},
    ],
)
def test_bad_targets_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ErlangError):
        agents_needed(100, 300, **kwargs)


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ErlangError):
        traffic_erlangs(-1, 300)
    with pytest.raises(ErlangError):
        traffic_erlangs(10, 0)


@given(
    arrivals=st.floats(min_value=0.5, max_value=2000),
    handle=st.floats(min_value=30, max_value=3600),
    target=st.floats(min_value=0.5, max_value=0.99),
    seconds=st.floats(min_value=0, max_value=600),
)
def test_agents_needed_is_the_fewest_that_meet_the_target(
    arrivals: float, handle: float, target: float, seconds: float
) -> None:
    staffing = agents_needed(arrivals, handle, target_service_level=target, target_seconds=seconds)
    traffic = staffing.traffic
    assert staffing.agents > traffic
    assert service_level(staffing.agents, traffic, handle, seconds) >= target
    fewer = staffing.agents - 1
    assert fewer <= traffic or service_level(fewer, traffic, handle, seconds) < target


@given(traffic=st.floats(min_value=0.1, max_value=500), extra=st.integers(min_value=1, max_value=50))
def test_more_agents_never_lower_the_service_level(traffic: float, extra: int) -> None:
    base = math.floor(traffic) + 1
    assert service_level(base + extra, traffic, 300, 60) >= service_level(base, traffic, 300, 60) - 1e-12
    assert 0.0 <= probability_of_waiting(base + extra, traffic) <= 1.0
