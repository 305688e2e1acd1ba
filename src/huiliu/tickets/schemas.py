"""Request and response models of the ticket API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from huiliu.tickets.domain import Priority, Status


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerRef(StrictModel):
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = None


class TicketCreate(StrictModel):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=100_000)
    priority: Priority = Priority.NORMAL
    customer: CustomerRef | None = None
    category: str | None = Field(default=None, max_length=100)
    scenario: Literal["presales", "sales", "aftersales", "complaint"] | None = None
    channel: str = Field(default="api", max_length=32)
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    tags: list[str] = Field(default_factory=list, max_length=30)
    fields: dict[str, Any] = Field(default_factory=dict)
    parent_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = Field(
        default=None,
        description="a published ticket template: fields are checked against it, its defaults fill "
        "priority, team, tags, category and scenario when the request leaves them out",
    )


class TicketUpdate(StrictModel):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=100_000)
    priority: Priority | None = None
    category: str | None = Field(default=None, max_length=100)
    scenario: Literal["presales", "sales", "aftersales", "complaint"] | None = None
    fields: dict[str, Any] | None = None


class StatusChange(StrictModel):
    status: Status
    reason: str | None = Field(default=None, max_length=500)


class Assignment(StrictModel):
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    reason: str | None = Field(default=None, max_length=500)


class MessageCreate(StrictModel):
    body: str = Field(min_length=1, max_length=100_000)
    public: bool = True
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class TagsChange(StrictModel):
    add: list[str] = Field(default_factory=list, max_length=30)
    remove: list[str] = Field(default_factory=list, max_length=30)


class MergeRequest(StrictModel):
    target_id: uuid.UUID


class LinkCreate(StrictModel):
    target_id: uuid.UUID
    kind: Literal["related", "parent", "child"]


class ReopenRequest(StrictModel):
    reason: str | None = Field(default=None, max_length=500)


class TicketSummary(BaseModel):
    id: uuid.UUID
    number: int
    title: str
    status: Status
    priority: Priority
    category: str | None
    scenario: str | None
    channel: str
    entry_point_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class TicketOut(TicketSummary):
    description: str
    fields: dict[str, Any]
    parent_id: uuid.UUID | None
    merged_into_id: uuid.UUID | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_at: datetime | None
    reopen_count: int
    last_message_at: datetime | None
    template_version_id: uuid.UUID | None = None


class AttachmentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    message_id: uuid.UUID | None
    created_at: datetime


class MessageOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    author_kind: str
    author_user_id: uuid.UUID | None
    author_customer_id: uuid.UUID | None
    public: bool
    channel: str
    body: str
    created_at: datetime
    attachments: list[AttachmentOut] = Field(default_factory=list)


class EventOut(BaseModel):
    id: uuid.UUID
    type: str
    actor_kind: str
    actor_id: uuid.UUID | None
    actor_name: str
    changes: dict[str, Any]
    reason: str | None
    created_at: datetime


class TimelineEntry(BaseModel):
    kind: Literal["message", "event"]
    at: datetime
    message: MessageOut | None = None
    event: EventOut | None = None


class LinkOut(BaseModel):
    id: uuid.UUID
    kind: str
    ticket_id: uuid.UUID
    number: int
    title: str
    status: Status


class TicketDetail(TicketOut):
    messages: list[MessageOut]
    events: list[EventOut]
    timeline: list[TimelineEntry]
    links: list[LinkOut]
    children: list[LinkOut]


class TicketPage(BaseModel):
    items: list[TicketSummary]
    next_cursor: str | None


class TicketCount(BaseModel):
    count: int
    exact: bool  # false: at least ``count`` match (counting stopped at the cap)


class BulkAction(StrictModel):
    ticket_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)
    status: Status | None = None
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    add_tags: list[str] = Field(default_factory=list)


class BulkResult(BaseModel):
    updated: list[uuid.UUID]
    failed: list[dict[str, Any]]
