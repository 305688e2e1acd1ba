"""Notifications, the pure part: channels and severities, how a recipient's channels are chosen, quiet
hours, and the ids of deliveries. No I/O."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The channels a rule or an SLA tier can name (automation's NOTIFY_CHANNELS) and the provider kinds
# that serve each; ``in_app`` needs no provider, ``wechat`` (customer template messages) has none yet.
IN_APP = "in_app"
CHANNEL_PROVIDERS: dict[str, tuple[str, ...]] = {
    IN_APP: (),
    "email": ("email",),
    "sms": ("aliyun_sms", "tencent_sms"),
    "wecom": ("wecom",),
    # A WeCom app message (text card) to each recipient's bound WeCom UserID.
    "wecom_app": ("wecom_app",),
    "dingtalk": ("dingtalk",),
    "feishu": ("feishu",),
    "wechat": (),
}
CHANNELS: tuple[str, ...] = tuple(CHANNEL_PROVIDERS)
# Group robots post once into a group chat (mentioning the recipients) instead of once per person.
GROUP_CHANNELS = frozenset({"wecom", "dingtalk", "feishu"})
DEFAULT_CHANNELS: tuple[str, ...] = (IN_APP,)

SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
CRITICAL = "critical"

# Preference keys: what asked for the notification (automation origins), or ``*`` for everything.
ANY_EVENT = "*"
EVENTS: tuple[str, ...] = (ANY_EVENT, "rule", "sla_tier")

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DELIVERY_NAMESPACE = uuid.UUID("3b0a3f58-6a2c-4c4e-8f0e-0f8a51a1c0d7")
DEFAULT_TIMEZONE = "Asia/Shanghai"


def delivery_id(notification_id: uuid.UUID, recipient_id: uuid.UUID | None, channel: str) -> uuid.UUID:
    """The id of the delivery of one notification to one recipient on one channel: derived, so a
    fan-out that runs twice after a crash creates nothing new."""
    return uuid.uuid5(_DELIVERY_NAMESPACE, f"{notification_id}:{recipient_id or 'group'}:{channel}")


def parse_clock(value: str) -> time:
    """``HH:MM`` (24-hour) as a time; ``ValueError`` otherwise."""
    match = _CLOCK.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time of day (HH:MM)")
    return time(int(match.group(1)), int(match.group(2)))


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


def normalize_channels(channels: Iterable[str]) -> list[str]:
    result: list[str] = []
    for channel in channels:
        if channel not in CHANNEL_PROVIDERS:
            raise ValueError(f"unknown channel {channel!r}: use {', '.join(CHANNELS)}")
        if channel not in result:
            result.append(channel)
    return result


def normalize_event_channels(value: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """A preference's event → channels map, checked; ``ValueError`` names the first problem."""
    result: dict[str, list[str]] = {}
    for event, channels in value.items():
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}: use {', '.join(EVENTS)}")
        result[event] = normalize_channels(channels)
    return result


def channels_for(
    requested: Sequence[str], event_channels: Mapping[str, Sequence[str]] | None, event: str
) -> list[str]:
    """A recipient's channels: the ones the rule named, else the recipient's preference for the event
    (or for every event), else in-app."""
    if requested:
        return list(dict.fromkeys(requested))
    if event_channels:
        for key in (event, ANY_EVENT):
            chosen = event_channels.get(key)
            if chosen is not None:
                return list(dict.fromkeys(chosen))
    return list(DEFAULT_CHANNELS)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (local time of ``timezone``) in which only critical notifications go out; the
    others wait until it ends. ``start`` after ``end`` spans midnight (22:00–08:00)."""

    start: time
    end: time
    timezone: str = DEFAULT_TIMEZONE

    def release_at(self, now: datetime, severity: str) -> datetime | None:
        """When a notification of ``severity`` created at ``now`` (aware) may go out: None for at once
        (critical, or outside the window), else the window's end (aware, UTC-comparable)."""
        if severity == CRITICAL or self.start == self.end:
            return None
        local = now.astimezone(ZoneInfo(self.timezone))
        clock = local.timetz().replace(tzinfo=None)
        if self.start < self.end:
            inside = self.start <= clock < self.end
            end_day = local.date()
        else:
            inside = clock >= self.start or clock < self.end
            end_day = local.date() + timedelta(days=1) if clock >= self.start else local.date()
        if not inside:
            return None
        end = datetime.combine(end_day, self.end, tzinfo=ZoneInfo(self.timezone))
        return end.astimezone(now.tzinfo)


# Outbox row kinds: what automation writes (the same string as ``automation.apply.KIND_NOTIFICATION``)
# and the per-recipient rows the worker fans it out into.
KIND_NOTIFICATION = "notification"
KIND_NOTIFICATION_DELIVERY = "notification_delivery"


# Digests (常规进展聚合): info-severity notifications on a push channel wait for the end of the
# recipient's current N-minute window and go out together as one message per channel. In-app is never
# digested: the inbox keeps each item, and the bell is not a push.
DIGESTED = "digested"
DIGEST_SEVERITY = "info"
MIN_DIGEST_MINUTES = 5
MAX_DIGEST_MINUTES = 1440
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_digested(severity: str, channel: str, digest_minutes: int | None) -> bool:
    return bool(digest_minutes) and severity == DIGEST_SEVERITY and channel != IN_APP


def digest_window_end(now: datetime, minutes: int) -> datetime:
    """The end of the ``minutes``-long window (aligned on the Unix epoch, in UTC) that ``now`` falls in;
    always after ``now``."""
    size = minutes * 60
    elapsed = (now - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=(int(elapsed // size) + 1) * size)


def digest_id(recipient_id: uuid.UUID, channel: str, window_end: datetime) -> uuid.UUID:
    """The digest delivery of one recipient, channel and window: every notification of that window
    finds the same one."""
    return uuid.uuid5(_DELIVERY_NAMESPACE, f"digest:{recipient_id}:{channel}:{window_end.isoformat()}")


# Nobody is told the same thing twice in a row, nor flooded: an identical message (same ticket, text
# and severity) to the same recipient on the same channel within DEDUPE_WINDOW is dropped (recorded
# as ``duplicate``), and past RATE_LIMIT_PER_HOUR non-critical messages on a push channel the rest of
# the hour's go into a digest (RATE_LIMIT_DIGEST_MINUTES) instead of one message each.
DUPLICATE = "duplicate"
DEDUPE_WINDOW = timedelta(minutes=10)
RATE_LIMIT_PER_HOUR = 30
RATE_LIMIT_DIGEST_MINUTES = 15


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """The flood guards a deployment chose (settings ``notification_dedupe_minutes``,
    ``notification_hourly_limit``, ``notification_rate_limit_digest_minutes``)."""

    dedupe_window: timedelta = DEDUPE_WINDOW
    per_hour: int = RATE_LIMIT_PER_HOUR
    digest_minutes: int = RATE_LIMIT_DIGEST_MINUTES

    def __post_init__(self) -> None:
        if self.dedupe_window < timedelta(0) or self.per_hour < 1:
            raise ValueError("the dedupe window may not be negative and the hourly limit must be at least 1")
        if not MIN_DIGEST_MINUTES <= self.digest_minutes <= MAX_DIGEST_MINUTES:
            raise ValueError(
                f"the rate-limit digest must be {MIN_DIGEST_MINUTES}-{MAX_DIGEST_MINUTES} minutes"
            )


def release_after(windows: Sequence[QuietHours], now: datetime, severity: str) -> datetime | None:
    """When a notification may go out under several quiet-hour windows at once (the recipient's and
    the tenant's): the first instant inside none of them, None for at once. Each window's end is
    checked against the others, so a tenant window that starts as the user's ends still holds it."""
    release: datetime | None = None
    moment = now
    # Each round moves past one window's end; more rounds than windows cannot find a new one unless
    # the windows cover the whole day together, where the last end found is the best answer.
    for _ in range(2 * len(windows) + 1):
        ends = [end for window in windows if (end := window.release_at(moment, severity)) is not None]
        if not ends:
            return release
        moment = max(ends)
        release = moment
    return release


def fingerprint(ticket_id: str, message: str, severity: str) -> str:
    """What makes two notifications identical for one recipient and channel."""
    return hashlib.sha256(f"{ticket_id}\x1f{severity}\x1f{message}".encode()).hexdigest()


# Customer notices (客户通知): at key moments the ticket's customer hears back on their own channel —
# 受理 accepted (the ticket was created or assigned), 处理中 in progress (it moved to open), 已解决
# resolved (with the rating link). Each moment is told once per ticket: the notice's id derives from
# the ticket and the moment.
KIND_CUSTOMER_NOTICE = "customer_notice"
ACCEPTED = "accepted"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
CUSTOMER_MOMENTS: tuple[str, ...] = (ACCEPTED, IN_PROGRESS, RESOLVED)
# How a notice reaches the customer, by the channel the ticket came from and what the customer left.
TENCENT_TICKET_CHANNELS = frozenset({"wechat_mp", "wecom_app", "wecom_kf"})
WEB_FORM_TICKET_CHANNELS = frozenset({"h5_form", "wechat_miniprogram"})
PROGRESS_PAGE = "progress_page"
_NOTICE_NAMESPACE = uuid.UUID("8e1f7d2a-35c4-4a8e-9b61-2f0d6c9a4e13")


def customer_moment(event_type: str, ticket: Mapping[str, object]) -> str | None:
    """The moment a ticket event is for its customer, if any (a pure reading of the event)."""
    if event_type in ("ticket.created", "ticket.assigned"):
        return ACCEPTED
    if event_type == "ticket.status_changed":
        status = ticket.get("status")
        if status == "open":
            return IN_PROGRESS
        if status == "resolved":
            return RESOLVED
    return None


def customer_notice_id(ticket_id: uuid.UUID, moment: str) -> uuid.UUID:
    return uuid.uuid5(_NOTICE_NAMESPACE, f"{ticket_id}:{moment}")


def customer_channel(ticket_channel: str, *, email: str | None, phone: str | None) -> str:
    """The customer's own channel: a WeChat / WeCom ticket answers there (``wechat``), a web-form
    customer reads it on the progress page their link opens, anyone else by e-mail, else SMS when
    they left only a mobile number, else the progress page."""
    if ticket_channel in TENCENT_TICKET_CHANNELS:
        return "wechat"
    if ticket_channel in WEB_FORM_TICKET_CHANNELS:
        return PROGRESS_PAGE
    if email:
        return "email"
    if phone:
        return "sms"
    return PROGRESS_PAGE


def notices_switched_on(switches: Mapping[str, object]) -> dict[str, bool]:
    """The tenant's customer notice switches, every moment present (a moment not named is on)."""
    return {moment: bool(switches.get(moment, True)) for moment in CUSTOMER_MOMENTS}
