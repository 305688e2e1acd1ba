"""Request and response models of the routing API. A policy's ``definition`` is validated by the
routing domain's parser (one 422 naming the problem), not here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

POLICY_EXAMPLE: dict[str, Any] = {
    "name": "售后默认派单",
    "description": "粤语工单给粤语坐席，VIP 给资深坐席，否则最空闲的人",
    "definition": {
        "strategy": "skills",
        "pick": "least_loaded",
        "fallback": [{"strategy": "vip_senior"}, {"strategy": "least_loaded"}],
        "final": "team_queue",
    },
    "is_default": True,
    "active": True,
}

Presence = Literal["online", "away", "offline"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    definition: dict[str, Any] = Field(description="the normalised policy (every step written out)")
    is_default: bool
    active: bool
    created_at: datetime
    updated_at: datetime


class PolicyList(BaseModel):
    items: list[PolicyOut]


class PreviewRequest(StrictModel):
    ticket_id: uuid.UUID


class RouteRequest(StrictModel):
    policy: str | None = Field(
        default=None, max_length=200, description="a policy id or name; the tenant's default when left out"
    )


class StepOut(BaseModel):
    strategy: str
    outcome: Literal["chosen", "no_candidate", "not_applicable"]
    considered: int
    candidates: int
    excluded: dict[str, int]
    text: str
    params: dict[str, Any]


class OutcomeOut(BaseModel):
    ticket_id: uuid.UUID
    policy_id: uuid.UUID
    policy_name: str
    kind: Literal["assign", "team_queue", "unassigned"]
    agent_id: uuid.UUID | None
    team_id: uuid.UUID | None
    reason: str = Field(description="English text, as recorded on the ticket.assigned event")
    code: str = Field(description="i18n code of the reason (routing.*)")
    params: dict[str, Any]
    fallback: bool
    alert: bool
    steps: list[StepOut]
    applied: bool = Field(description="the ticket changed (always false for a preview)")


class AgentProfileIn(StrictModel):
    """Fields left out keep their values."""

    presence: Presence | None = None
    skills: dict[str, int] | None = Field(default=None, description="skill name → level 1–5")
    regions: list[str] | None = Field(default=None, description="region paths, e.g. 华南/广东/深圳")
    senior: bool | None = None
    capacity: int | None = Field(default=None, description="most open tickets at once; null: no cap")
    shift: Any = Field(
        default=None,
        description='"always", null (always) or '
        '{"timezone": "Asia/Shanghai", "hours": {"mon": [["09:00","18:00"]]}}',
    )


class PresenceIn(StrictModel):
    presence: Presence


class AgentOut(BaseModel):
    user_id: uuid.UUID
    name: str
    email: str
    team_id: uuid.UUID | None
    is_active: bool
    has_profile: bool
    presence: Presence
    presence_changed_at: datetime | None
    skills: dict[str, int]
    regions: list[str]
    senior: bool
    capacity: int | None
    shift: Any = Field(description='"always" or {"timezone", "hours"}')
    last_assigned_at: datetime | None
    open_load: dict[str, int] = Field(description="open tickets by priority")
    open_total: int


class AgentList(BaseModel):
    items: list[AgentOut]


class PresenceOut(BaseModel):
    user_id: uuid.UUID
    presence: Presence
    presence_changed_at: datetime | None
