"""Request and response models of the customer API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IdentityIn(StrictModel):
    kind: str = Field(min_length=1, max_length=32, description="phone, email, wechat_openid, …")
    value: str = Field(min_length=1, max_length=320)
    verified: bool = Field(default=False, description="the channel proved it (e.g. an SMS code)")


class CustomerCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    level: str = Field(default="normal", min_length=1, max_length=32)
    identities: list[IdentityIn] = Field(default_factory=list, max_length=20)
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=100)


class CustomerUpdate(StrictModel):
    """Only the fields sent change. ``attributes`` is merged key by key; a key sent as null is removed."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    level: str | None = Field(default=None, min_length=1, max_length=32)
    attributes: dict[str, Any] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _no_nulls(self) -> CustomerUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class IdentityOut(BaseModel):
    id: uuid.UUID
    kind: str
    value: str = Field(description="phone numbers are masked (138****1234) without customer.write")
    verified: bool
    created_at: datetime


class CustomerOut(BaseModel):
    id: uuid.UUID
    name: str
    level: str
    attributes: dict[str, Any]
    merged_into_id: uuid.UUID | None
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerTicket(BaseModel):
    id: uuid.UUID
    number: int
    title: str
    status: str
    priority: str
    channel: str
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class CustomerDetail(CustomerOut):
    tickets: list[CustomerTicket] = Field(
        description="the newest tickets of this customer that the caller may see (at most 20)"
    )


class MergeRequest(StrictModel):
    other_id: uuid.UUID = Field(description="the customer merged into this one (this one survives)")
    reason: str | None = Field(default=None, max_length=500)


class MergeOut(BaseModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    mode: str = Field(description="auto (a strong identity matched two customers) or manual")
    reason: str | None
    actor_kind: str
    actor_id: uuid.UUID | None
    actor_name: str
    moved: dict[str, Any] = Field(
        description="what moved to the survivor: ids per record kind (identities, tickets, orders …), "
        "profile values copied into the survivor's gaps, and for automatic merges the matching keys"
    )
    created_at: datetime
    undone_at: datetime | None
    undone_by_name: str | None


class MergeHistory(BaseModel):
    items: list[MergeOut]


class TicketCounts(BaseModel):
    total: int
    by_status: dict[str, int]


class Customer360Tickets(BaseModel):
    counts: TicketCounts
    recent: list[CustomerTicket]


class TimelineEntry(BaseModel):
    at: datetime
    type: str = Field(
        description="ticket.created, ticket.resolved, ticket.closed, order.placed, or a customer event "
        "(customer.created, customer.updated, customer.identities_added, customer.merged, "
        "customer.merged_into, customer.unmerged)"
    )
    ticket_id: uuid.UUID | None = None
    ticket_number: int | None = None
    title: str | None = None
    message_count: int | None = None
    actor_name: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Customer360(BaseModel):
    customer: CustomerOut
    tickets: Customer360Tickets = Field(description="only the tickets inside the caller's data scope")
    merges: list[MergeOut]
    timeline: list[TimelineEntry] = Field(description="newest first, at most 100 entries")
