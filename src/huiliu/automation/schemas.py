"""Request and response models of the rules API. A rule's definition (conditions, actions …) is
validated by the engine, not here, so one 422 lists every problem with its path in the body."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_RULE_IDS = 1000

RULE_EXAMPLE: dict[str, Any] = {
    "name": "含“退款”关键词 → 分配售后",
    "kind": "trigger",
    "on": ["ticket.created"],
    "conditions": {"any": [{"field": "title", "op": "contains", "value": ["退款", "退货"]}]},
    "actions": [{"type": "assign", "team": "after_sales"}],
}


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    kind: Literal["trigger", "automation"]
    on: list[str] | None = Field(default=None, description="trigger events; null for automations")
    position: int
    active: bool
    stop_processing: bool
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    preset_key: str | None = Field(default=None, description="the preset this rule was installed from")
    fired_count: int
    last_fired_at: datetime | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class RuleList(BaseModel):
    items: list[RuleOut]


class ReorderRequest(StrictModel):
    ids: list[uuid.UUID] = Field(max_length=MAX_RULE_IDS, description="every rule's id, in the new order")


class PresetsRequest(StrictModel):
    language: Literal["zh-CN", "en"] = "zh-CN"


class PresetsInstalledOut(BaseModel):
    installed: list[RuleOut]
    already_installed: list[str] = Field(description="preset keys the tenant already had")


class DryRunRequest(StrictModel):
    ticket_id: uuid.UUID
    event: Literal["ticket.created", "ticket.updated", "message.received", "rating.given", "timer"] = Field(
        default="ticket.created", description="the event to evaluate for; timer runs the automations"
    )
    rule_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=MAX_RULE_IDS, description="only these rules (default: all)"
    )


class RuleOutcomeOut(BaseModel):
    rule_id: str
    rule_name: str
    outcome: Literal[
        "fired", "not_matched", "inactive", "other_event", "already_fired", "not_reached", "invalid"
    ]
    note: str
    reason: str | None = None
    explanation: dict[str, Any] | None = Field(default=None, description="the condition tree, node by node")
    actions: list[dict[str, Any]] | None = Field(default=None, description="fired: the planned actions")
    skipped: list[str] | None = Field(default=None, description="fired: actions skipped as no-ops")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="invalid: the definition's problems"
    )


class DryRunOut(BaseModel):
    ticket_id: uuid.UUID
    evaluated_at: datetime
    event: str
    outcomes: list[RuleOutcomeOut]
    actions: list[dict[str, Any]] = Field(description="every planned action, in order")
    fired: list[str] = Field(description="ids of the rules that would fire, in order")
    changes: dict[str, Any] = Field(description="net fact changes the actions would make")
    passes: int
    stopped_by: str | None
    pass_limit_reached: bool
    facts: dict[str, Any] = Field(description="the facts the rules saw, by condition path")


class RuleChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    rule_id: uuid.UUID
    action: Literal["created", "updated", "reordered", "deleted"]
    actor_kind: str
    actor_id: uuid.UUID | None
    actor_name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


class RuleChangeList(BaseModel):
    items: list[RuleChangeOut]
