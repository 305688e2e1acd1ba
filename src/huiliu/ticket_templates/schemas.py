"""Request and response models of the ticket templates API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Scenario = Literal["presales", "sales", "aftersales", "complaint", "custom"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TemplateDefaultsIn(StrictModel):
    priority: Literal["urgent", "high", "normal", "low"] | None = None
    team_id: uuid.UUID | None = None
    tags: list[str] = Field(default_factory=list, max_length=30)
    category: str | None = Field(default=None, max_length=100)


class TicketTemplateCreate(StrictModel):
    key: str = Field(min_length=2, max_length=64, description="stable key, e.g. cake_order")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    scenario: Scenario = "custom"
    fields: list[dict[str, Any]] = Field(default_factory=list, description="the field schema (see docs)")
    defaults: TemplateDefaultsIn = Field(default_factory=TemplateDefaultsIn)
    workflow_id: uuid.UUID | None = None
    sla_policy_id: uuid.UUID | None = None


class TemplateDraftUpdate(StrictModel):
    """Changes to the draft; properties left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    scenario: Scenario | None = None
    fields: list[dict[str, Any]] | None = None
    defaults: TemplateDefaultsIn | None = None
    workflow_id: uuid.UUID | None = None
    sla_policy_id: uuid.UUID | None = None


class TemplateSummary(BaseModel):
    id: uuid.UUID
    key: str
    name: str
    scenario: str
    status: Literal["draft", "published", "archived"]
    current_version: int | None
    field_count: int
    has_draft_changes: bool
    preset_key: str | None
    updated_at: datetime


class TicketTemplateList(BaseModel):
    items: list[TemplateSummary]


class TicketTemplateOut(BaseModel):
    id: uuid.UUID
    key: str
    name: str
    description: str
    scenario: str
    status: str
    fields: list[dict[str, Any]]
    defaults: dict[str, Any]
    workflow_id: uuid.UUID | None
    sla_policy_id: uuid.UUID | None
    current_version: int | None
    current_version_id: uuid.UUID | None
    has_draft_changes: bool
    preset_key: str | None
    created_at: datetime
    updated_at: datetime


class TemplateVersionOut(BaseModel):
    id: uuid.UUID
    template_id: uuid.UUID
    version: int
    name: str
    scenario: str
    fields: list[dict[str, Any]]
    defaults: dict[str, Any]
    workflow_id: uuid.UUID | None
    sla_policy_id: uuid.UUID | None
    published_by_id: uuid.UUID | None
    created_at: datetime


class TemplateVersionList(BaseModel):
    items: list[TemplateVersionOut]


class ValidateIn(StrictModel):
    values: dict[str, Any] = Field(default_factory=dict)
    channel: str | None = Field(default=None, max_length=32, description="None: every field is shown")
    role: str | None = Field(default=None, max_length=64, description="the role the form is shown to")
    source: Literal["draft", "published"] = "draft"
    fields: list[dict[str, Any]] | None = Field(
        default=None, description="an unsaved field schema to check against instead (designer preview)"
    )


class FieldErrorOut(BaseModel):
    field: str
    code: str
    message: str
    messages: dict[str, str]


class ValidateOut(BaseModel):
    ok: bool
    values: dict[str, Any]
    errors: list[FieldErrorOut]
    visible: list[str] = Field(description="keys of the fields shown for these values")


class TemplatePresetOut(BaseModel):
    key: str
    name: str
    description: str
    scenario: str
    industry: str
    field_count: int
    installed_template_id: uuid.UUID | None


class TemplatePresetList(BaseModel):
    items: list[TemplatePresetOut]
