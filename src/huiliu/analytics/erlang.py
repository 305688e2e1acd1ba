"""Erlang C: how many agents a queue needs for a service level. Pure math, no I/O.

The model (M/M/N): requests arrive at random (Poisson) at ``arrivals_per_hour``, each takes an
exponentially distributed ``handle_seconds`` on average, ``agents`` serve one queue first come first
served, nobody abandons. With offered traffic ``A = arrivals_per_hour * handle_seconds / 3600``
(Erlangs) and ``N > A`` agents:

- P(wait) = C(N, A) = N·B / (N − A·(1 − B)), with B the Erlang B blocking probability;
- service level P(wait ≤ t) = 1 − C · exp(−(N − A) · t / handle_seconds);
- average speed of answer ASA = C · handle_seconds / (N − A);
- occupancy A / N.

Erlang B comes from the recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)), which never forms
``A**N`` or ``N!``: it stays exact to double precision for thousands of agents, where the textbook
formula overflows at N ≈ 170."""

from __future__ import annotations

import math
from dataclasses import dataclass

# A queue needing more agents than this is outside what one tenant's staffing page plans for; the
# search stops instead of looping on absurd input.
MAX_AGENTS = 10_000


class ErlangError(ValueError):
    """Inputs the model cannot answer (negative rates, a service level outside 0..1)."""


def traffic_erlangs(arrivals_per_hour: float, handle_seconds: float) -> float:
    """Offered traffic: how many agents would be busy all the time on average."""
    if arrivals_per_hour < 0 or handle_seconds <= 0:
        raise ErlangError("arrivals must be ≥ 0 and the handle time > 0")
    return arrivals_per_hour * handle_seconds / 3600.0


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of ``agents`` servers without a queue (Erlang B), by recursion."""
    if agents < 0 or traffic < 0:
        raise ErlangError("agents and traffic must be ≥ 0")
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def probability_of_waiting(agents: int, traffic: float) -> float:
    """Erlang C: the probability that a request waits at all. 1 when the agents cannot keep up
    (N ≤ A: the queue grows without bound)."""
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    blocking = erlang_b(agents, traffic)
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def service_level(agents: int, traffic: float, handle_seconds: float, target_seconds: float) -> float:
    """The share of requests answered within ``target_seconds``."""
    if target_seconds < 0:
        raise ErlangError("the target answer time must be ≥ 0")
    if traffic == 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    waiting = probability_of_waiting(agents, traffic)
    return 1.0 - waiting * math.exp(-(agents - traffic) * target_seconds / handle_seconds)


def average_speed_of_answer(agents: int, traffic: float, handle_seconds: float) -> float:
    """Mean wait in seconds over all requests (those answered at once count as 0); infinite when the
    agents cannot keep up."""
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return probability_of_waiting(agents, traffic) * handle_seconds / (agents - traffic)


@dataclass(frozen=True, slots=True)
class Staffing:
    """The answer for one interval: agents needed on the queue (``agents``), the same grossed up for
    shrinkage (``scheduled``: breaks, training, absence), and what ``agents`` achieve."""

    agents: int
    scheduled: int
    traffic: float
    service_level: float
    probability_of_waiting: float
    average_speed_of_answer: float
    occupancy: float


def agents_needed(
    arrivals_per_hour: float,
    handle_seconds: float,
    *,
    target_service_level: float = 0.8,
    target_seconds: float = 120.0,
    max_occupancy: float = 1.0,
    shrinkage: float = 0.0,
) -> Staffing:
    """The fewest agents that answer ``target_service_level`` of requests within ``target_seconds``
    and keep occupancy at or below ``max_occupancy``; ``scheduled`` adds ``shrinkage`` (a share of
    paid time not on the queue) and rounds up. No arrivals need no agents."""
    if not 0 < target_service_level < 1:
        raise ErlangError("the target service level is a share between 0 and 1 (exclusive)")
    if not 0 < max_occupancy <= 1:
        raise ErlangError("the maximum occupancy is a share in (0, 1]")
    if not 0 <= shrinkage < 1:
        raise ErlangError("shrinkage is a share in [0, 1)")
    traffic = traffic_erlangs(arrivals_per_hour, handle_seconds)
    if traffic == 0:
        return Staffing(0, 0, 0.0, 1.0, 0.0, 0.0, 0.0)
    agents = max(1, math.floor(traffic) + 1, math.ceil(traffic / max_occupancy - 1e-9))
    while (
        service_level(agents, traffic, handle_seconds, target_seconds) < target_service_level
        or traffic / agents > max_occupancy
    ):
        agents += 1
        if agents > MAX_AGENTS:
            raise ErlangError(f"more than {MAX_AGENTS} agents would be needed")
    scheduled = math.ceil(agents / (1.0 - shrinkage) - 1e-9)
    return Staffing(
        agents=agents,
        scheduled=scheduled,
        traffic=traffic,
        service_level=service_level(agents, traffic, handle_seconds, target_seconds),
        probability_of_waiting=probability_of_waiting(agents, traffic),
        average_speed_of_answer=average_speed_of_answer(agents, traffic, handle_seconds),
        occupancy=traffic / agents,
    )
