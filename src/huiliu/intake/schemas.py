"""Request and response models of the intake API (``/api/v1/intake``) for integrators."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from huiliu.customers.domain import IDENTITY_KINDS
from huiliu.intake.domain import (
    MAX_ATTACHMENTS,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_IDENTITIES,
    MAX_SOURCE_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    IngestOutcome,
)

MAX_BATCH = 1000
MAX_METADATA_BYTES = 16 * 1024


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IdentityIn(StrictModel):
    kind: str = Field(
        max_length=32,
        description="phone, email, wechat_openid, wechat_unionid, wecom_external_userid, douyin_openid, "
        "device_sn, web_visitor or external",
        examples=["phone"],
    )
    value: str = Field(min_length=1, max_length=320, examples=["13800138000"])
    verified: bool = Field(
        default=False, description="the integrator verified it (e.g. a phone confirmed by SMS code)"
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in IDENTITY_KINDS:
            raise ValueError(f"unknown identity kind {kind!r}; one of {', '.join(sorted(IDENTITY_KINDS))}")
        return kind


class SenderIn(StrictModel):
    name: str | None = Field(default=None, max_length=200)
    identities: list[IdentityIn] = Field(default_factory=list, max_length=MAX_IDENTITIES)


class IntakeMessage(StrictModel):
    """One inbound message. ``external_id`` is the platform's id of the message: delivering the same
    one again (same entry point channel) answers what the first delivery made and writes nothing."""

    entry_point_id: uuid.UUID
    external_id: str = Field(min_length=1, max_length=MAX_EXTERNAL_ID_LENGTH)
    sender: SenderIn
    text: str = Field(max_length=MAX_TEXT_LENGTH, description="plain text; may be empty with attachments")
    attachments: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS,
        description="ids of files uploaded earlier through POST /api/v1/attachments by the same user",
    )
    received_at: AwareDatetime | None = Field(default=None, description="when the platform received it")
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description='platform data, kept on the ticket event; {"device_sn", "alarm_code"} marks a device '
        "alarm (repeats fold onto one ticket with a count)",
    )
    reply_to_external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_EXTERNAL_ID_LENGTH,
        description="external id of the message this one answers: it joins that message's ticket",
    )
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE_LENGTH)
    source: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SOURCE_LENGTH,
        description="where the customer came from (store, receipt, live room, campaign code)",
    )

    @model_validator(mode="after")
    def _small_metadata(self) -> IntakeMessage:
        if len(orjson.dumps(self.metadata, default=str)) > MAX_METADATA_BYTES:
            raise ValueError(f"metadata is larger than {MAX_METADATA_BYTES // 1024} KiB")
        return self


class IntakeResultOut(BaseModel):
    ticket_id: uuid.UUID
    ticket_number: int
    created: bool = Field(description="true when this message opened a new ticket")
    message_id: uuid.UUID | None
    outcome: IngestOutcome = Field(description="created, threaded, folded, alarm or repeat")


class IntakeBatch(StrictModel):
    messages: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="1 to 1000 messages, each an IntakeMessage (validated one by one: a malformed "
        "message fails alone)",
        json_schema_extra={"items": {"$ref": "#/components/schemas/IntakeMessage"}},
    )


class BatchResultOut(IntakeResultOut):
    status: Literal[200, 201] = Field(description="201 created a ticket, 200 joined one or repeated")


class BatchProblemOut(BaseModel):
    """An RFC 9457 problem object for one message of the batch (nothing of it was written)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


class IntakeBatchOut(BaseModel):
    results: list[BatchResultOut | BatchProblemOut] = Field(description="one per message, in order")
