"""Request and response models of the public form and progress routes. Nothing here reveals another
customer, an internal note or an agent's account."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from huiliu.channels.webform.domain import (
    MAX_DESCRIPTION_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_TITLE_LENGTH,
    check_form_fields,
)
from huiliu.core.errors import ValidationFailed
from huiliu.customers.domain import normalize_phone
from huiliu.entry_points.domain import check_source_code


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(StrictModel):
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = Field(default=None, max_length=200)

    @field_validator("name", "phone", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("email", mode="before")
    @classmethod
    def _blank_email_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_phone(value)
        except ValidationFailed as exc:
            raise ValueError(exc.detail) from exc


class SubmissionIn(StrictModel):
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION_LENGTH)
    title: str | None = Field(default=None, max_length=MAX_TITLE_LENGTH)
    contact: ContactIn = Field(default_factory=ContactIn)
    fields: dict[str, Any] = Field(default_factory=dict, max_length=50)
    source: str | None = Field(default=None, max_length=64, description="source code, e.g. from ?src=")
    identity_token: str | None = Field(
        default=None,
        max_length=1000,
        description="the customer's WeChat identity from mini-program login (POST /api/v1/public/miniprogram/"
        "{id}/session), e.g. when the mini-program opens this form in a web-view",
    )

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            return check_form_fields(value)
        except ValidationFailed as exc:
            raise ValueError(exc.detail) from exc

    @field_validator("title", "source", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_source_code(value)
        except ValidationFailed as exc:
            raise ValueError(exc.detail) from exc


class SubmissionReceipt(BaseModel):
    ticket_number: int
    progress_url: str = Field(description="the customer's private progress page")


class FormField(BaseModel):
    name: str
    type: str
    required: bool
    max_length: int | None = None
    max_count: int | None = None
    max_bytes: int | None = None
    accept: list[str] | None = None


class FormDefinition(BaseModel):
    public_key: str
    name: str
    title: str
    intro: str
    contact_required: str = Field(description="none, phone or phone_or_email")
    max_photos: int
    max_photo_bytes: int
    fields: list[FormField]
    template: dict[str, Any] | None = Field(
        default=None,
        description="the entry point's published ticket template as this form shows it: "
        "{id, version, name, fields} (fields are sent in the submission's ``fields``)",
    )


class ProgressMessageIn(StrictModel):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_LENGTH)


class ProgressAttachment(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    url: str


class ProgressMessage(BaseModel):
    id: uuid.UUID
    author_kind: str = Field(description="customer, agent or system")
    body: str
    created_at: datetime
    attachments: list[ProgressAttachment] = Field(default_factory=list)


class Progress(BaseModel):
    ticket_number: int
    title: str
    status: str
    created_at: datetime
    updated_at: datetime
    messages: list[ProgressMessage] = Field(description="public messages only, oldest first")
