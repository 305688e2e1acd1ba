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
