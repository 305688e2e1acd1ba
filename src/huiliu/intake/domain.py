"""What every channel hands to intake, and what intake answers. Pure values, no I/O.

Channel adapters (H5 forms, signed webhooks, WeChat, WeCom, e-mail, the intake API) turn platform
input into an ``InboundMessage``; ``huiliu.intake.service.ingest`` turns it into a ticket change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class SenderIdentity:
    """One way the sender is known: ``phone``, ``email``, ``wechat_openid``, ``wechat_unionid``,
    ``wecom_external_userid``, ``douyin_openid``, ``device_sn``, ``web_visitor`` …"""

    kind: str
    value: str
    verified: bool = False


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    text: str
    received_at: datetime
    entry_point_id: uuid.UUID | None = None
    external_id: str | None = None
    sender_name: str | None = None
    identities: tuple[SenderIdentity, ...] = ()
    title: str | None = None
    # Attachments already stored through huiliu.attachments (ids of unclaimed uploads).
    attachment_ids: tuple[uuid.UUID, ...] = ()
    # External id of the message this one answers (threading by reply reference).
    reply_to_external_id: str | None = None
    # Where the customer came from (store, receipt, live room, campaign), e.g. from a QR code URL.
    source: str | None = None
    # Structured form fields (template fields once templates exist).
    fields: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


class IngestOutcome(StrEnum):
    CREATED = "created"  # a new ticket
    THREADED = "threaded"  # appended to an open ticket (reply reference or same customer + entry point)
    FOLDED = "folded"  # near-identical text from the same customer within the window
    ALARM = "alarm"  # a repeat of a device alarm: occurrence count raised on its ticket
    REPEAT = "repeat"  # the same external message again: nothing changed


@dataclass(frozen=True)
class IngestResult:
    ticket_id: uuid.UUID
    ticket_number: int
    outcome: IngestOutcome
    message_id: uuid.UUID | None

    @property
    def created(self) -> bool:
        return self.outcome is IngestOutcome.CREATED
