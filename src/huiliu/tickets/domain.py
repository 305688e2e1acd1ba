"""Pure ticket rules: the status machine, priorities, milestones, tags. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from huiliu.core.errors import InvalidTransition, ValidationFailed


class Status(StrEnum):
    NEW = "new"  # 待受理
    OPEN = "open"  # 处理中
    PENDING = "pending"  # 待客户反馈 (SLA clock paused)
    ON_HOLD = "on_hold"  # 挂起
    RESOLVED = "resolved"  # 已解决
    CLOSED = "closed"  # 已关闭


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITY_RANK: dict[Priority, int] = {
    Priority.URGENT: 0,
    Priority.HIGH: 1,
    Priority.NORMAL: 2,
    Priority.LOW: 3,
}

WORKING = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD})
DONE = frozenset({Status.RESOLVED, Status.CLOSED})

# Allowed moves. Reopening (resolved/closed -> open) is its own use case but the same edge.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.OPEN}),
}


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def is_reopen(current: Status, target: Status) -> bool:
    return current in DONE and target not in DONE


@dataclass(frozen=True, slots=True)
class Milestones:
    """The timestamp fields a ticket row carries; a transition returns the ones it changes."""

    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_at: datetime | None
    reopen_count: int


def apply_transition(
    current: Status, target: Status, milestones: Milestones, now: datetime
) -> dict[str, Any]:
    """Validate a status move and return the column changes it makes (status and milestones)."""
    if not can_transition(current, target):
        raise InvalidTransition(f"cannot move a ticket from {current.value} to {target.value}")
    changes: dict[str, Any] = {"status": target.value}
    if is_reopen(current, target):
        changes.update(
            reopened_at=now, reopen_count=milestones.reopen_count + 1, resolved_at=None, closed_at=None
        )
        return changes
    if target is Status.RESOLVED:
        changes["resolved_at"] = now
    if target is Status.CLOSED:
        changes["closed_at"] = now
        if milestones.resolved_at is None:
            changes["resolved_at"] = now
    return changes


MAX_TAGS = 30
MAX_TAG_LENGTH = 64


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Trim, drop blanks and duplicates, keep the first-seen order."""
    seen: dict[str, None] = {}
    for raw in tags:
        tag = raw.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ValidationFailed(f"tag longer than {MAX_TAG_LENGTH} characters: {tag[:20]}…")
        seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        raise ValidationFailed(f"a ticket carries at most {MAX_TAGS} tags")
    return list(seen)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``{"field": {"from": old, "to": new}}`` map an audit event records."""
    return {
        key: {"from": before.get(key), "to": value}
        for key, value in after.items()
        if before.get(key) != value
    }
