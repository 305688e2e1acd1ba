"""Request and response models of the auth API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator


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


# --- administration -------------------------------------------------------------------------------

Locale = Literal["zh-CN", "en"]
DataScopeName = Literal["own", "team", "department", "all"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserCreate(StrictModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=256)
    role_id: uuid.UUID | None = None
    role: str | None = Field(default=None, min_length=1, max_length=100, description="role name")
    team_id: uuid.UUID | None = None
    locale: Locale = "zh-CN"

    @model_validator(mode="after")
    def _one_role(self) -> UserCreate:
        if (self.role_id is None) == (self.role is None):
            raise ValueError("give exactly one of role_id and role")
        return self


class UserUpdate(StrictModel):
    """Only the fields sent change; ``team_id: null`` takes the user out of their team."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    role_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    is_active: bool | None = None
    locale: Locale | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> UserUpdate:
        for name in ("name", "role_id", "is_active", "locale"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PasswordReset(StrictModel):
    password: str = Field(min_length=8, max_length=256)


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role_id: uuid.UUID
    role: str
    team_id: uuid.UUID | None
    is_active: bool
    locale: str
    last_login_at: datetime | None
    created_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


class TeamCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    parent_id: uuid.UUID | None = None


class TeamUpdate(StrictModel):
    """Only the fields sent change; ``parent_id: null`` makes the team a root of the tree."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _no_null_name(self) -> TeamUpdate:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        return self


class TeamOut(BaseModel):
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    member_count: int
    active_member_count: int
    child_count: int
    created_at: datetime


class TeamList(BaseModel):
    items: list[TeamOut]


class RoleCreate(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    permissions: list[str] = Field(max_length=100)
    data_scope: DataScopeName = "own"


class RoleUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    permissions: list[str] | None = Field(default=None, max_length=100)
    data_scope: DataScopeName | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> RoleUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RoleOut(BaseModel):
    id: uuid.UUID
    name: str
    permissions: list[str]
    data_scope: str
    builtin: bool
    user_count: int
    created_at: datetime


class RoleList(BaseModel):
    items: list[RoleOut]


class PermissionOut(BaseModel):
    name: str
    labels: dict[str, str] = Field(description='display names by locale: {"zh-CN": ..., "en": ...}')


class PermissionList(BaseModel):
    items: list[PermissionOut]
    api_key_scopes: dict[str, list[str]] = Field(description="API key scope -> the permissions it grants")


class ApiKeyCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=20)


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_by_id: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the secret, shown this once; only its SHA-256 is stored")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


class ProfileUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    locale: Locale | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> ProfileUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PasswordChange(StrictModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=8, max_length=256)
