"""Request and response models of the entry points API. Secrets are write-only: the create reply of a
webhook entry point carries ``secret`` once (when it was generated or given); every later reply shows
``secret_hint`` only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from huiliu.entry_points.domain import MAX_NAME_LENGTH


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EntryPointCreate(StrictModel):
    kind: str = Field(max_length=32, description="h5_form, webhook or api")
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    config: dict[str, Any] = Field(default_factory=dict, description="defaults and kind settings")
    is_active: bool = True


class EntryPointUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    config: dict[str, Any] | None = Field(
        default=None,
        description="keys to change; a key set to null is removed, keys left out are kept",
    )
    is_active: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> EntryPointUpdate:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"fields cannot be null: {', '.join(nulls)} (leave them out to keep them)")
        return self


class EntryPointOut(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    channel: str
    public_key: str
    is_active: bool
    config: dict[str, Any] = Field(description="the settings, secrets left out")
    secret_hint: str | None = Field(default=None, description="last characters of the webhook secret")
    form_url: str | None = Field(default=None, description="h5_form: the customer form's address")
    qr_url: str | None = Field(default=None, description="h5_form: the QR code (PNG) of form_url")
    hook_url: str | None = Field(default=None, description="webhook: where the signed events are POSTed")
    created_at: datetime


class EntryPointCreated(EntryPointOut):
    secret: str | None = Field(
        default=None, description="webhook: the signing secret, shown in this reply only"
    )


class EntryPointList(BaseModel):
    items: list[EntryPointOut]


class EntryPointDeleted(BaseModel):
    id: uuid.UUID
    outcome: Literal["deleted", "deactivated"] = Field(
        description="deactivated (kept for its tickets and reports) when tickets came through it"
    )


class SourceCount(BaseModel):
    source: str | None = Field(description="the source code, null for tickets without one")
    label: str | None = Field(description="the source's name from the entry point's source_labels")
    tickets: int


class EntryPointCount(BaseModel):
    entry_point_id: uuid.UUID
    name: str
    kind: str
    channel: str
    is_active: bool
    tickets: int
    sources: list[SourceCount]


class EntryPointStats(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    total: int
    items: list[EntryPointCount]

    model_config = ConfigDict(populate_by_name=True)
