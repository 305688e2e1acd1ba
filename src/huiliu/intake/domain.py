"""What every channel hands to intake, and what intake answers. Pure values, no I/O.

Channel adapters (H5 forms, signed webhooks, WeChat, WeCom, e-mail, the intake API) turn platform
input into an ``InboundMessage``; ``huiliu.intake.service.ingest`` turns it into a ticket change.
The decisions the pipeline takes (where a message goes, docs/intake.md) are made here, without I/O:
``choose_route`` picks reply reference, alarm, duplicate folding, window threading or a new ticket."""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from huiliu.core.errors import Conflict, ValidationFailed
from huiliu.customers.domain import IdentityClaim, identity_claims
from huiliu.tickets.domain import Priority, Status, normalize_tags


@dataclass(frozen=True)
class SenderIdentity:
    """One way the sender is known: ``phone``, ``email``, ``wechat_openid``, ``wechat_unionid``,
    ``wecom_external_userid``, ``douyin_openid``, ``device_sn``, ``web_visitor`` …"""

    kind: str
    value: str
    verified: bool = False


@dataclass(frozen=True)
class InboundMessage:
    # The channel it came on. Through an entry point, the entry point's channel is the one tickets and
    # messages carry (and the idempotency key uses); leave it empty to say "the entry point's".
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
    # The ticket template the fields were checked against, when the channel used one (the H5 form of
    # an entry point with a template): ``template_id``, ``template_version``, ``template_version_id``,
    # ``workflow_id``. A new ticket pins that version and its ``ticket.created`` event carries these.
    template: Mapping[str, Any] | None = None


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


class Deferred(Conflict):
    """The answer for a message ``ingest_many`` left for a later transaction (``defer_contended``):
    another transaction holds the lock of one of its sender's identities; nothing of it was written.
    The coalescer puts the message back in its queue (were it ever answered, it is a 409 to retry)."""

    title = "Another delivery of this sender is being written; retry"

    def __init__(self) -> None:
        super().__init__("another transaction holds this sender's identity")


# --- limits and defaults --------------------------------------------------------------------------------

MAX_TEXT_LENGTH = 20_000
MAX_TITLE_LENGTH = 300
TITLE_FROM_TEXT_LENGTH = 60
MAX_IDENTITIES = 20
MAX_ATTACHMENTS = 20
MAX_EXTERNAL_ID_LENGTH = 255
MAX_CHANNEL_LENGTH = 32
MAX_SOURCE_LENGTH = 64
MAX_ALARM_PART_LENGTH = 120
UNTITLED = "（无文字内容）"  # the title of a ticket opened by a message without text (photos only)


@dataclass(frozen=True)
class IntakeDefaults:
    """Windows used when an entry point does not set its own (settings ``HUILIU_INTAKE_*``)."""

    thread_window: timedelta = timedelta(hours=24)
    fold_window: timedelta = timedelta(minutes=10)
    # difflib ratio of the normalised texts at or above which two messages count as the same.
    fold_similarity: float = 0.9


@dataclass(frozen=True)
class EntryPointRules:
    """What intake takes from an entry point: its channel, windows and ticket defaults."""

    id: uuid.UUID
    name: str
    channel: str
    is_active: bool
    thread_window: timedelta
    fold_window: timedelta
    team_id: uuid.UUID | None = None
    priority: str = Priority.NORMAL.value
    tags: tuple[str, ...] = ()
    category: str | None = None
    source_labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        *,
        entry_point_id: uuid.UUID,
        name: str,
        channel: str,
        is_active: bool,
        config: Mapping[str, Any],
        defaults: IntakeDefaults,
    ) -> EntryPointRules:
        """Read the keys intake uses. The entry points package validates config when it is written;
        a value that is unusable anyway (say, written by an older version) falls back to the default
        rather than failing every message of the entry point."""
        return cls(
            id=entry_point_id,
            name=name,
            channel=channel,
            is_active=is_active,
            thread_window=_hours(config.get("thread_window_hours"), defaults.thread_window),
            fold_window=_minutes(config.get("fold_window_minutes"), defaults.fold_window),
            team_id=_uuid_or_none(config.get("default_team_id")),
            priority=_priority_or_normal(config.get("default_priority")),
            tags=tuple(_tags_or_empty(config.get("default_tags"))),
            category=_text_or_none(config.get("default_category"), 100),
            source_labels=_labels(config.get("source_labels")),
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _hours(value: Any, default: timedelta) -> timedelta:
    number = _number(value)
    return default if number is None else timedelta(hours=number)


def _minutes(value: Any, default: timedelta) -> timedelta:
    number = _number(value)
    return default if number is None else timedelta(minutes=number)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _priority_or_normal(value: Any) -> str:
    try:
        return Priority(value).value
    except ValueError:
        return Priority.NORMAL.value


def _tags_or_empty(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        return []
    try:
        return normalize_tags(value)
    except ValidationFailed:
        return []


def _text_or_none(value: Any, max_length: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:max_length]


def _labels(value: Any) -> dict[str, str]:
    if not isinstance(value, list):
        return {}
    return {
        str(item["code"]): str(item.get("name") or item["code"])
        for item in value
        if isinstance(item, dict) and item.get("code")
    }


# --- validation -----------------------------------------------------------------------------------------


def normalized_identities(message: InboundMessage) -> list[IdentityClaim]:
    """The sender's identities normalised, first-seen order, duplicates dropped (verified wins).
    An unknown kind or a malformed value is a ValidationFailed (the message is refused)."""
    if len(message.identities) > MAX_IDENTITIES:
        raise ValidationFailed(f"a sender has at most {MAX_IDENTITIES} identities")
    return identity_claims(message.identities)


def check_message(message: InboundMessage) -> None:
    """Refuse what intake cannot take, before anything is written."""
    if len(message.channel) > MAX_CHANNEL_LENGTH or not (message.channel or message.entry_point_id):
        raise ValidationFailed(f"channel must be 1-{MAX_CHANNEL_LENGTH} characters")
    if message.external_id is not None and not 0 < len(message.external_id) <= MAX_EXTERNAL_ID_LENGTH:
        raise ValidationFailed(f"external_id must be 1-{MAX_EXTERNAL_ID_LENGTH} characters")
    if len(message.text) > MAX_TEXT_LENGTH:
        raise ValidationFailed(f"text is longer than {MAX_TEXT_LENGTH} characters")
    alarm = alarm_of(message)  # a malformed alarm is refused too
    if not message.text.strip() and not message.attachment_ids and alarm is None:
        raise ValidationFailed("a message needs text or attachments")
    if len(message.attachment_ids) > MAX_ATTACHMENTS:
        raise ValidationFailed(f"a message carries at most {MAX_ATTACHMENTS} attachments")
    if message.title is not None and not 0 < len(message.title.strip()) <= MAX_TITLE_LENGTH:
        raise ValidationFailed(f"title must be 1-{MAX_TITLE_LENGTH} characters")
    if message.source is not None and not 0 < len(message.source) <= MAX_SOURCE_LENGTH:
        raise ValidationFailed(f"source must be 1-{MAX_SOURCE_LENGTH} characters")
    if message.received_at.tzinfo is None:
        raise ValidationFailed("received_at needs a time zone")
    if message.sender_name is not None and len(message.sender_name) > 200:
        raise ValidationFailed("sender name is longer than 200 characters")


# --- text -----------------------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[\W_]+")
_DIGIT_RUN = re.compile(r"\d{4,}")
_SPACES = re.compile(r"\s+")


def fold_key(text: str) -> str:
    """The text as compared for duplicate folding: full-width folded (NFKC), case-folded, HTML
    entities decoded, whitespace, punctuation and symbols removed. ``"订单 没到！！"`` → ``"订单没到"``."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", html.unescape(text)).casefold())


def near_duplicate(first: str, second: str, threshold: float) -> bool:
    """Whether two fold keys say the same thing: identical, or a difflib ratio ≥ ``threshold`` with
    the same long numbers (order numbers, phones, amounts): ``订单1234567没到`` and ``订单1234568没到``
    are two requests however alike they look."""
    if not first or not second:
        return False
    if first == second:
        return True
    if _DIGIT_RUN.findall(first) != _DIGIT_RUN.findall(second):
        return False
    matcher = difflib.SequenceMatcher(None, first, second, autojunk=False)
    return (
        matcher.real_quick_ratio() >= threshold
        and matcher.quick_ratio() >= threshold
        and matcher.ratio() >= threshold
    )


def title_from_text(text: str) -> str:
    """A ticket title from a message: its first non-empty line, whitespace collapsed, at most
    ``TITLE_FROM_TEXT_LENGTH`` characters (an ellipsis marks the cut)."""
    for line in html.unescape(text).splitlines():
        line = _SPACES.sub(" ", line).strip()
        if line:
            return line if len(line) <= TITLE_FROM_TEXT_LENGTH else line[: TITLE_FROM_TEXT_LENGTH - 1] + "…"
    return UNTITLED


# --- device alarms ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alarm:
    device_sn: str
    code: str

    @property
    def key(self) -> str:
        return f"{self.device_sn}:{self.code}"

    @property
    def label(self) -> str:
        """How an alarm without text is titled and written in the conversation."""
        return f"设备告警 {self.device_sn} · {self.code}"


def alarm_of(message: InboundMessage) -> Alarm | None:
    """A device alarm: ``metadata`` carries ``alarm_code`` and the device's serial number, either as
    ``metadata.device_sn`` or as the sender's ``device_sn`` identity. None for other messages."""
    code = message.metadata.get("alarm_code")
    if code is None:
        return None
    device = message.metadata.get("device_sn")
    if device is None:
        device = next((i.value for i in message.identities if i.kind == "device_sn"), None)
    if device is None:
        return None
    if not isinstance(code, str | int) or isinstance(code, bool):
        raise ValidationFailed("metadata.alarm_code must be a string or a number")
    if not isinstance(device, str):
        raise ValidationFailed("metadata.device_sn must be a string")
    device, code = device.strip(), str(code).strip()
    if not device or not code or len(device) > MAX_ALARM_PART_LENGTH or len(code) > MAX_ALARM_PART_LENGTH:
        raise ValidationFailed(f"device_sn and alarm_code must be 1-{MAX_ALARM_PART_LENGTH} characters")
    return Alarm(device, code)


# --- routing ----------------------------------------------------------------------------------------------

OPEN_STATUSES: frozenset[str] = frozenset(
    {Status.NEW.value, Status.OPEN.value, Status.PENDING.value, Status.ON_HOLD.value}
)


@dataclass(frozen=True)
class TicketRef:
    """What routing needs to know of a ticket that a message might join."""

    id: uuid.UUID
    status: str
    entry_point_id: uuid.UUID | None
    last_activity_at: datetime


@dataclass(frozen=True)
class RecentMessage:
    """A customer message of the last fold window, on one of the customer's open tickets."""

    ticket_id: uuid.UUID
    fold_key: str
    at: datetime


@dataclass(frozen=True)
class Route:
    outcome: IngestOutcome
    ticket_id: uuid.UUID | None  # None: a new ticket
    reason: str


def choose_route(
    *,
    text: str,
    entry_point: EntryPointRules | None,
    reply_target: TicketRef | None,
    alarm: Alarm | None,
    alarm_ticket: TicketRef | None,
    open_tickets: Iterable[TicketRef],
    recent_messages: Iterable[RecentMessage],
    now: datetime,
    defaults: IntakeDefaults,
) -> Route:
    """Where a (new, not repeated) message goes, in this order:

    1. a reply to a known message joins that message's ticket (``reply_target``: the caller passes
       it only when that ticket is not closed);
    2. a device alarm joins the open ticket of the same device and alarm code, or opens one; alarms
       never thread or fold by text;
    3. near-identical text of the same customer within the fold window (any entry point) folds onto
       the ticket of the earlier message;
    4. an open ticket of the same customer on the same entry point, active within the thread window,
       takes the message;
    5. otherwise a new ticket."""
    if reply_target is not None:
        return Route(IngestOutcome.THREADED, reply_target.id, "reply to an earlier message")
    if alarm is not None:
        if alarm_ticket is not None:
            return Route(IngestOutcome.ALARM, alarm_ticket.id, f"alarm {alarm.key} repeated")
        return Route(IngestOutcome.CREATED, None, f"alarm {alarm.key}")
    fold_window = entry_point.fold_window if entry_point else defaults.fold_window
    key = fold_key(text)
    if key and fold_window > timedelta(0):
        since = now - fold_window
        for recent in sorted(recent_messages, key=lambda m: m.at, reverse=True):
            if recent.at >= since and near_duplicate(key, recent.fold_key, defaults.fold_similarity):
                return Route(IngestOutcome.FOLDED, recent.ticket_id, "same text as a recent message")
    if entry_point is not None and entry_point.thread_window > timedelta(0):
        since = now - entry_point.thread_window
        candidates = [
            t
            for t in open_tickets
            if t.entry_point_id == entry_point.id
            and t.status in OPEN_STATUSES
            and t.last_activity_at >= since
        ]
        if candidates:
            latest = max(candidates, key=lambda t: t.last_activity_at)
            return Route(IngestOutcome.THREADED, latest.id, "open ticket on the same entry point")
    return Route(IngestOutcome.CREATED, None, "new request")
