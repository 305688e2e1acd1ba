"""Request and response models of the webhooks API. The secret is write-only: responses carry
``secret_hint`` (its last four characters) instead."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from huiliu.webhooks.domain import (
    MAX_SECRET_LENGTH,
    MAX_URL_LENGTH,
    check_secret,
    check_url,
    normalize_events,
)

DeliveryState = Literal["pending", "delivered", "dead"]

EVENTS_DESCRIPTION = 'event types to receive (see docs/events.md), or ["*"] for every event'


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WebhookCreate(StrictModel):
    url: str = Field(max_length=MAX_URL_LENGTH, description="http(s) endpoint that receives the POSTs")
    secret: str = Field(max_length=MAX_SECRET_LENGTH, description="HMAC key, at least 16 characters")
    events: list[str] = Field(min_length=1, max_length=100, description=EVENTS_DESCRIPTION)
    description: str = Field(default="", max_length=500)
    is_active: bool = True

    _url = field_validator("url")(check_url)
    _secret = field_validator("secret")(check_secret)
    _events = field_validator("events")(normalize_events)


class WebhookUpdate(StrictModel):
    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)
    secret: str | None = Field(default=None, max_length=MAX_SECRET_LENGTH)
    events: list[str] | None = Field(
        default=None, min_length=1, max_length=100, description=EVENTS_DESCRIPTION
    )
    description: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else check_secret(value)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else normalize_events(value)

    @model_validator(mode="after")
    def _no_nulls(self) -> WebhookUpdate:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"fields cannot be null: {', '.join(nulls)} (leave them out to keep them)")
        return self


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str
    is_active: bool
    secret_hint: str
    created_at: datetime


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryAttemptOut(BaseModel):
    attempt: int
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float
    created_at: datetime


class DeliveryOut(BaseModel):
    id: uuid.UUID = Field(description="delivery id, sent as X-Huiliu-Delivery")
    event_id: uuid.UUID = Field(description="the event's id (the envelope's id): the deduplication key")
    event_type: str
    state: DeliveryState
    attempts: int = Field(description="attempts in the current retry schedule")
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    created_at: datetime
    payload: dict[str, Any] = Field(description="the event envelope, the body of every attempt")
    attempt_log: list[DeliveryAttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
