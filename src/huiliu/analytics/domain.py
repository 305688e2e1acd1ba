"""Pure analytics logic: the per-ticket fact a dashboard aggregates, time buckets in Asia/Shanghai,
percentiles, period-over-period change and the keyword extraction behind "top recurring problems".
No I/O: ``rollups`` loads the rows, calls ``build_fact`` and stores the result."""

from __future__ import annotations

import math
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from huiliu.core.clock import ensure_utc

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

OPEN_STATUSES = frozenset({"new", "open", "pending", "on_hold"})
DONE_STATUSES = frozenset({"resolved", "closed"})

# Backlog aging buckets: (key, lower bound inclusive, upper bound exclusive) in days.
AGING_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("lt_1d", 0, 1),
    ("d1_3", 1, 3),
    ("d3_7", 3, 7),
    ("gt_7d", 7, math.inf),
)

# Event types the fact reads (wire names, see core.events).
CREATED = "ticket.created"
ASSIGNED = "ticket.assigned"
STATUS_CHANGED = "ticket.status_changed"
RATED = "ticket.rated"


@dataclass(frozen=True, slots=True)
class TicketRow:
    """What a fact needs from the ticket row."""

    id: uuid.UUID
    created_at: datetime
    status: str
    priority: str
    category: str | None
    scenario: str | None
    channel: str
    entry_point_id: uuid.UUID | None
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    reopen_count: int
    merged_into_id: uuid.UUID | None
    region: str | None  # the ticket's ``region`` field, else its customer's
    customer_level: str | None


@dataclass(frozen=True, slots=True)
class SlaOutcome:
    """The ticket's SLA outcomes in business minutes (``sla.models.TicketSla``)."""

    first_response_minutes: float | None
    first_response_met: bool | None
    resolution_minutes: float | None
    resolution_met: bool | None


@dataclass(frozen=True, slots=True)
class EventRow:
    type: str
    created_at: datetime
    changes: dict[str, Any]


def normalize_region(value: object) -> str | None:
    """Regions are paths from the widest area down (``广东/深圳``); blanks around parts are dropped."""
    if not isinstance(value, str):
        return None
    parts = [part.strip() for part in value.split("/")]
    parts = [part for part in parts if part]
    return "/".join(parts)[:200] or None


def hour_floor(moment: datetime) -> datetime:
    return ensure_utc(moment).replace(minute=0, second=0, microsecond=0)


def local_day(moment: datetime) -> date:
    """The Asia/Shanghai calendar day of an instant."""
    return ensure_utc(moment).astimezone(SHANGHAI).date()


def day_start(day: date) -> datetime:
    """The UTC instant a Shanghai calendar day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def hour_of_week(moment: datetime) -> int:
    """0..167: Monday 00:00–00:59 Asia/Shanghai is 0, Sunday 23:00 is 167."""
    local = ensure_utc(moment).astimezone(SHANGHAI)
    return local.weekday() * 24 + local.hour


def _minutes(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return max(0.0, (ensure_utc(end) - ensure_utc(start)).total_seconds() / 60)


def _change_to(changes: dict[str, Any], name: str) -> Any:
    change = changes.get(name)
    return change.get("to") if isinstance(change, dict) else None


def _change_from(changes: dict[str, Any], name: str) -> Any:
    change = changes.get(name)
    return change.get("from") if isinstance(change, dict) else None


def accepted_at(ticket: TicketRow, events: Sequence[EventRow]) -> datetime | None:
    """When the ticket was accepted: created with an agent, assigned to one, moved out of ``new`` or
    answered, whichever came first."""
    candidates: list[datetime] = []
    assignments = [e for e in events if e.type == ASSIGNED and "assignee_id" in e.changes]
    created_with_agent = (
        _change_from(assignments[0].changes, "assignee_id") is not None
        if assignments
        else ticket.assignee_id is not None
    )
    if created_with_agent:
        candidates.append(ensure_utc(ticket.created_at))
    given = next((e for e in assignments if _change_to(e.changes, "assignee_id")), None)
    if given is not None:
        candidates.append(ensure_utc(given.created_at))
    moved = next((e for e in events if _change_from(e.changes, "status") == "new"), None)
    if moved is not None:
        candidates.append(ensure_utc(moved.created_at))
    if ticket.first_response_at is not None:
        candidates.append(ensure_utc(ticket.first_response_at))
    return min(candidates) if candidates else None


def transfers(events: Sequence[EventRow]) -> int:
    """Hand-overs: assignment changes that move a ticket away from an agent or team it already had
    (the first assignment is routing, not a transfer)."""
    count = 0
    for event in events:
        if event.type != ASSIGNED:
            continue
        changes = event.changes
        moved_agent = _change_from(changes, "assignee_id") is not None and "assignee_id" in changes
        moved_team = _change_from(changes, "team_id") is not None and "team_id" in changes
        if moved_agent or moved_team:
            count += 1
    return count


def latest_rating(events: Sequence[EventRow]) -> tuple[int | None, datetime | None]:
    rating: int | None = None
    rated: datetime | None = None
    for event in events:
        if event.type != RATED:
            continue
        value = _change_to(event.changes, "rating")
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
            rating, rated = value, event.created_at
    return rating, rated


def build_fact(
    tenant_id: uuid.UUID,
    ticket: TicketRow,
    sla: SlaOutcome | None,
    events: Sequence[EventRow],
    agent_replies: int,
) -> dict[str, Any] | None:
    """The ``ticket_facts`` row of one ticket, or None when the ticket does not count (merged into
    another one). ``events`` are the ticket's audit events oldest first.

    Durations: business minutes from the ticket's SLA (its calendar) when an SLA covers it, else
    wall-clock minutes from the ticket's milestones."""
    if ticket.merged_into_id is not None:
        return None
    events = sorted(events, key=lambda e: ensure_utc(e.created_at))
    created = ensure_utc(ticket.created_at)
    done = ticket.status in DONE_STATUSES
    resolved = ensure_utc(ticket.resolved_at) if done and ticket.resolved_at is not None else None
    first_response_minutes = sla.first_response_minutes if sla is not None else None
    business_first = first_response_minutes is not None
    if first_response_minutes is None:
        first_response_minutes = _minutes(created, ticket.first_response_at)
    resolution_minutes = sla.resolution_minutes if sla is not None and resolved is not None else None
    business_resolution = resolution_minutes is not None
    if resolution_minutes is None:
        resolution_minutes = _minutes(created, resolved)
    rating, rated = latest_rating(events)
    accepted = accepted_at(ticket, events)
    ever_resolved = resolved is not None or ticket.reopen_count > 0
    return {
        "ticket_id": ticket.id,
        "tenant_id": tenant_id,
        "created_at": created,
        "created_hour": hour_floor(created),
        "created_day": local_day(created),
        "hour_of_week": hour_of_week(created),
        "status": ticket.status,
        "priority": ticket.priority,
        "category": ticket.category,
        "scenario": ticket.scenario,
        "channel": ticket.channel,
        "entry_point_id": ticket.entry_point_id,
        "team_id": ticket.team_id,
        "assignee_id": ticket.assignee_id,
        "customer_level": ticket.customer_level,
        "region": normalize_region(ticket.region),
        "accepted_at": accepted,
        "first_response_at": ensure_utc(ticket.first_response_at) if ticket.first_response_at else None,
        "resolved_at": resolved,
        "resolved_hour": hour_floor(resolved) if resolved is not None else None,
        "resolved_day": local_day(resolved) if resolved is not None else None,
        "first_response_minutes": first_response_minutes,
        "first_response_business": business_first,
        "resolution_minutes": resolution_minutes,
        "resolution_business": business_resolution,
        "first_response_met": sla.first_response_met if sla is not None else None,
        "resolution_met": sla.resolution_met if sla is not None and resolved is not None else None,
        "csat": rating,
        "rated_at": rated,
        "reopened": ticket.reopen_count > 0,
        "ever_resolved": ever_resolved,
        "fcr": (resolved is not None and ticket.reopen_count == 0 and agent_replies <= 1)
        if ever_resolved
        else None,
        "transfers": transfers(events),
        "agent_replies": agent_replies,
    }


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``)."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    weight = position - low
    return float(sorted_values[low]) * (1 - weight) + float(sorted_values[high]) * weight


def change(current: float | None, previous: float | None) -> float | None:
    """Relative period-over-period change (0.25 = +25 %); None when there is nothing to compare."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def buckets(start: datetime, end: datetime, granularity: str) -> list[datetime]:
    """Bucket starts covering [start, end): UTC hours, or Asia/Shanghai calendar days (as UTC)."""
    start, end = ensure_utc(start), ensure_utc(end)
    out: list[datetime] = []
    if granularity == "hour":
        cursor = hour_floor(start)
        while cursor < end:
            out.append(cursor)
            cursor += HOUR
        return out
    day = local_day(start)
    while day_start(day) < end:
        out.append(day_start(day))
        day += DAY
    return out


def aging_bucket(age: timedelta) -> str:
    days = age.total_seconds() / 86_400
    for key, low, high in AGING_BUCKETS:
        if low <= days < high:
            return key
    return AGING_BUCKETS[-1][0]


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+|[\u4e00-\u9fff]+")
STOPWORDS = frozenset(
    {
        "您好",
        "你好",
        "请问",
        "一下",
        "一个",
        "没有",
        "什么",
        "怎么",
        "为什么",
        "可以",
        "我们",
        "你们",
        "他们",
        "这个",
        "那个",
        "已经",
        "还是",
        "就是",
        "不是",
        "还没",
        "问题",
        "麻烦",
        "谢谢",
        "the",
        "and",
        "for",
        "with",
        "please",
        "help",
    }
)


def keywords(text: str) -> list[str]:
    """Terms of a short Chinese or English title: ASCII words, and CJK runs cut into overlapping
    two-character terms (Chinese has no spaces; bigrams are the usual cheap stand-in for words)."""
    terms: list[str] = []
    for match in _WORD.findall(text or ""):
        if match.isascii():
            word = match.lower()
            if len(word) >= 3 and word not in STOPWORDS:
                terms.append(word)
            continue
        if len(match) == 1:
            continue
        for i in range(len(match) - 1):
            bigram = match[i : i + 2]
            if bigram not in STOPWORDS:
                terms.append(bigram)
    return list(dict.fromkeys(terms))


def top_keywords(titles: Iterable[str], limit: int = 5, min_count: int = 2) -> list[tuple[str, int]]:
    """The most frequent terms across titles, each counted once per title."""
    counts: Counter[str] = Counter()
    for title in titles:
        counts.update(keywords(title))
    return [(term, n) for term, n in counts.most_common(limit * 3) if n >= min_count][:limit]
