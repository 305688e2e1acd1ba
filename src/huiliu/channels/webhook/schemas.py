"""Response models of the webhook intake routes."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field


class HookResult(BaseModel):
    ticket_id: uuid.UUID | None = None
    ticket_number: int | None = None
    created: bool = False
    outcome: str | None = Field(default=None, description="created, threaded, folded, alarm or repeat")
    message_id: uuid.UUID | None = None
    ignored: bool = False
    reason: str | None = Field(default=None, description="why an ignored event was left out")


class PresetOut(BaseModel):
    name: str
    label: dict[str, str]
    description: str
    channel: str
    mapping: dict[str, Any]
    example: dict[str, Any]


class PresetList(BaseModel):
    items: list[PresetOut]
