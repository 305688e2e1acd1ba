"""Request and response models of the auth API."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    id: uuid.UUID | None
    tenant_id: uuid.UUID
    name: str
    kind: str
    email: str | None = None
    locale: str | None = None
    team_id: uuid.UUID | None
    data_scope: str
    permissions: list[str]
