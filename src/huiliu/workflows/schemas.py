"""Request and response models of the workflow API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

GRAPH_EXAMPLE: dict[str, Any] = {
    "nodes": [
        {"id": "start", "type": "start", "label": "开始", "position": {"x": 0, "y": 0}},
        {
            "id": "approve",
            "type": "approve",
            "label": "主管审批",
            "config": {"approvers": {"kind": "manager_of"}, "mode": "any", "reject_to": "handle"},
            "position": {"x": 0, "y": 120},
        },
        {
            "id": "handle",
            "type": "handle",
            "label": "补充材料",
            "config": {"assignee": {"kind": "none"}},
            "position": {"x": 240, "y": 120},
        },
        {
            "id": "end",
            "type": "end",
            "label": "结束",
            "config": {"resolve_ticket": True},
            "position": {"x": 0, "y": 240},
        },
    ],
    "edges": [
        {"source": "start", "target": "approve"},
        {"source": "approve", "target": "end", "label": "通过"},
        {"source": "handle", "target": "approve"},
    ],
}


class WorkflowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    graph: dict[str, Any] = Field(
        default_factory=lambda: {"nodes": [], "edges": []},
        description="the draft graph: nodes {id, type, label?, config, position} and edges "
        "{source, target, label?, condition?} (docs/admin/workflows.md)",
    )
    active: bool = True


class WorkflowPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    graph: dict[str, Any] | None = None
    active: bool | None = None


class GraphIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    graph: dict[str, Any]


class ProblemOut(BaseModel):
    code: str
    message: str
    node_id: str | None = None
    edge: int | None = None


class ValidationOut(BaseModel):
    valid: bool
    errors: list[ProblemOut]


class WorkflowOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    graph: dict[str, Any]
    latest_version: int | None
    active: bool
    draft_changed: bool = Field(description="whether the draft differs from the latest published version")
    running: int = Field(description="runs of this workflow still running")
    created_at: datetime
    updated_at: datetime


class WorkflowList(BaseModel):
    items: list[WorkflowOut]


class WorkflowVersionOut(BaseModel):
    id: uuid.UUID
    workflow_id: uuid.UUID
    version: int
    graph: dict[str, Any]
    published_at: datetime
    published_by: uuid.UUID | None


class WorkflowVersionList(BaseModel):
    items: list[WorkflowVersionOut]


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflow_id: uuid.UUID


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000)


class StepDoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000)


class WorkflowStepOut(BaseModel):
    id: uuid.UUID
    node_id: str
    node_type: str
    label: str
    status: str
    outcome: str | None
    entered_reason: str
    completed_reason: str | None
    entered_at: datetime
    completed_at: datetime | None
    due_at: datetime | None
    overdue_at: datetime | None


class ApprovalOut(BaseModel):
    id: uuid.UUID
    instance_id: uuid.UUID
    ticket_id: uuid.UUID
    ticket_number: int | None = None
    ticket_title: str | None = None
    workflow_name: str | None = None
    node_id: str
    node_label: str
    mode: str
    position: int
    approver_id: uuid.UUID | None
    approver_name: str | None = None
    state: str
    comment: str | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    created_at: datetime
    can_decide: bool = False


class ApprovalList(BaseModel):
    items: list[ApprovalOut]


class SubtaskOut(BaseModel):
    id: uuid.UUID
    node_id: str
    key: str
    child_ticket_id: uuid.UUID
    number: int | None
    title: str | None
    ticket_status: str | None
    status: str


class InstanceOut(BaseModel):
    id: uuid.UUID
    workflow_id: uuid.UUID
    workflow_name: str
    version: int
    status: str
    current_node: str | None
    started_at: datetime
    completed_at: datetime | None
    graph: dict[str, Any] = Field(description="the pinned version's graph")
    steps: list[WorkflowStepOut]
    approvals: list[ApprovalOut]
    subtasks: list[SubtaskOut]


class TicketWorkflowOut(BaseModel):
    current: InstanceOut | None = Field(description="the running (or latest) run")
    history: list[uuid.UUID] = Field(description="ids of earlier runs on this ticket, newest first")
