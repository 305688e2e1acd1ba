"""Routing decisions. Pure: no database, no HTTP; policies decide, the ticket service applies.

``decide(policy, ticket, agents, now, familiarity, state)`` runs a policy's steps in order — the
primary strategy, then its fallback chain — and returns ``Assign`` (agent and team), or, when no step
finds an agent, the policy's final action: ``QueueOnTeam`` or ``LeaveUnassigned`` with an alert.
Never nothing, and never without a reason: every decision carries a ``Reason`` with English text
("skills 粤语≥3, least loaded of 4 (load 2.5)"), an i18n code with parameters, and a trace of each
step (agents considered, how many each filter removed, candidates left).

Every step first restricts to the ticket's team (``team_only``), then applies its own filter
(skills, region, seniority, familiarity), then availability: presence (online; away only with
``allow_away``), the agent's shift at ``now``, and the capacity cap on open tickets. Each agent is
counted under the first filter it fails, in that order.

Per-agent facts (normalized skills, regions, load vector, last-assigned instant) are computed when an
``AgentState`` is built; a ``Roster`` indexes a snapshot once (by id, by team, flat per-agent lists,
interned shifts); a decision checks each distinct shift once and each agent with a few lookups.
"""

from huiliu.routing.domain.agents import (
    ALWAYS,
    MAX_SKILL_LEVEL,
    MIN_SKILL_LEVEL,
    PRIORITIES,
    AgentState,
    Presence,
    RoutingError,
    Shift,
)
from huiliu.routing.domain.decide import decide
from huiliu.routing.domain.decision import (
    Assign,
    AssignedSince,
    Decision,
    Filter,
    LeaveUnassigned,
    Outcome,
    QueueOnTeam,
    Reason,
    RoutingState,
    StepTrace,
)
from huiliu.routing.domain.facts import (
    EMPTY_FAMILIARITY,
    Familiar,
    FamiliarityIndex,
    RequiredSkill,
    ServedVia,
    ServiceRecord,
    TicketFacts,
)
from huiliu.routing.domain.policy import (
    DEFAULT_FAMILIARITY_DAYS,
    DEFAULT_LOAD_WEIGHTS,
    DEFAULT_VIP_LEVELS,
    MAX_FALLBACK_STEPS,
    MAX_FAMILIARITY_DAYS,
    Final,
    Pick,
    RoutingPolicy,
    Step,
    Strategy,
    parse_policy,
    policy_spec,
    step_spec,
)
from huiliu.routing.domain.roster import Roster

__all__ = [
    "ALWAYS",
    "DEFAULT_FAMILIARITY_DAYS",
    "DEFAULT_LOAD_WEIGHTS",
    "DEFAULT_VIP_LEVELS",
    "EMPTY_FAMILIARITY",
    "MAX_FALLBACK_STEPS",
    "MAX_FAMILIARITY_DAYS",
    "MAX_SKILL_LEVEL",
    "MIN_SKILL_LEVEL",
    "PRIORITIES",
    "AgentState",
    "Assign",
    "AssignedSince",
    "Decision",
    "Familiar",
    "FamiliarityIndex",
    "Filter",
    "Final",
    "LeaveUnassigned",
    "Outcome",
    "Pick",
    "Presence",
    "QueueOnTeam",
    "Reason",
    "RequiredSkill",
    "Roster",
    "RoutingError",
    "RoutingPolicy",
    "RoutingState",
    "ServedVia",
    "ServiceRecord",
    "Shift",
    "Step",
    "StepTrace",
    "Strategy",
    "TicketFacts",
    "decide",
    "parse_policy",
    "policy_spec",
    "step_spec",
]
