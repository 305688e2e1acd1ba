"""Request models of the live routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class PresenceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["viewing", "typing", "left"]
