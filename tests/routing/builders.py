"""Builders for routing inputs: agents with small integer ids (agent 3 is ``UUID(int=3)``), tickets
on team A by default, and policies from a strategy plus fallback strategies."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from huiliu.routing.domain import (
    AgentState,
    Decision,
    Final,
    RoutingPolicy,
    Shift,
    Step,
    Strategy,
    TicketFacts,
)
from huiliu.sla.domain import parse_weekly_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEAM_A = UUID(int=0xA000)
TEAM_B = UUID(int=0xB000)
# Wednesday 2026-05-06, 10:00 in Shanghai.
NOW = datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI)

OFFICE_SHIFT = Shift.from_spec(
    {"hours": {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}}
)


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def agent_id(n: int) -> UUID:
    return UUID(int=n)


def agent(n: int, **fields: Any) -> AgentState:
    fields.setdefault("team_ids", (TEAM_A,))
    return AgentState(agent_id(n), **fields)


def ticket(**fields: Any) -> TicketFacts:
    fields.setdefault("team_id", TEAM_A)
    return TicketFacts(fields.pop("id", UUID(int=0x7777)), **fields)


def policy(
    strategy: Strategy | str,
    *fallback: Strategy | str | Step,
    final: Final = Final.TEAM_QUEUE,
    **params: Any,
) -> RoutingPolicy:
    """A policy whose steps all share ``params``; a fallback given as a Step keeps its own."""
    steps = tuple(f if isinstance(f, Step) else Step(Strategy(f), **params) for f in fallback)
    return RoutingPolicy(Step(Strategy(strategy), **params), steps, final)


def weekly(**hours: list[list[str]]) -> Any:
    return parse_weekly_hours(hours)


def assigned_to(decision: Decision) -> int | None:
    """The small integer id of the assigned agent, or None when the decision assigns nobody."""
    agent_uuid = getattr(decision, "agent_id", None)
    return None if agent_uuid is None else agent_uuid.int
