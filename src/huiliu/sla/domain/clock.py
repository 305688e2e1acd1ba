"""The SLA clock as a value: a target in business minutes, the business time used, and whether it is
running. Pausing, resuming and changing the target are pure functions returning a new clock."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from huiliu.sla.domain.calendar import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    require_aware,
)
from huiliu.sla.domain.hours import CalendarError


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One SLA target's clock: business time used so far, and since when it has been running
    (``None`` while paused, e.g. in ``pending`` / ``on_hold``). ``elapsed`` counts up to
    ``running_since``; ``breached_at`` is kept once the target has been used up at a checkpoint."""

    target_minutes: int
    elapsed: timedelta = timedelta(0)
    running_since: datetime | None = None
    breached_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.target_minutes <= 0:
            raise CalendarError("an SLA target must be at least one business minute")
        if self.elapsed < timedelta(0):
            raise CalendarError("elapsed business time cannot be negative")
        if self.running_since is not None:
            require_aware(self.running_since, "running_since")

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def target(self) -> timedelta:
        return timedelta(minutes=self.target_minutes)


def start_clock(target_minutes: int, at: datetime) -> SlaClock:
    """A clock that starts running at ``at`` (outside working hours it accrues nothing until the
    next opening)."""
    return SlaClock(target_minutes, timedelta(0), require_aware(at, "at"))


def elapsed_at(calendar: BusinessCalendar, clock: SlaClock, now: datetime) -> timedelta:
    """Business time the clock has used by ``now``."""
    if clock.running_since is None:
        return clock.elapsed
    if now < clock.running_since:
        raise CalendarError("now is before the clock was last started")
    return clock.elapsed + business_time_between(calendar, clock.running_since, now)


def _checkpoint(calendar: BusinessCalendar, clock: SlaClock, at: datetime) -> SlaClock:
    """Fold the running stretch up to ``at`` into ``elapsed``, noting the breach if it fell in it."""
    if clock.running_since is None:
        return clock
    elapsed = elapsed_at(calendar, clock, at)
    breached_at = clock.breached_at
    if breached_at is None and clock.elapsed < clock.target <= elapsed:
        breached_at = add_business_time(calendar, clock.running_since, clock.target - clock.elapsed)
    return replace(clock, elapsed=elapsed, running_since=at, breached_at=breached_at)


def pause_clock(calendar: BusinessCalendar, clock: SlaClock, at: datetime) -> SlaClock:
    """Stop the clock at ``at``; pausing a paused clock changes nothing."""
    if clock.running_since is None:
        return clock
    return replace(_checkpoint(calendar, clock, require_aware(at, "at")), running_since=None)


def resume_clock(clock: SlaClock, at: datetime) -> SlaClock:
    """Start a paused clock again at ``at``; resuming a running clock changes nothing."""
    if clock.running_since is not None:
        return clock
    return replace(clock, running_since=require_aware(at, "at"))


def change_target(calendar: BusinessCalendar, clock: SlaClock, target_minutes: int, at: datetime) -> SlaClock:
    """A new target from ``at`` on (priority or policy changed): time already used still counts.
    A target that is already used up counts as breached at ``at`` unless it was breached before."""
    clock = _checkpoint(calendar, clock, require_aware(at, "at"))
    changed = replace(clock, target_minutes=target_minutes)
    if changed.elapsed < changed.target:
        return replace(changed, breached_at=None)
    return replace(changed, breached_at=clock.breached_at or at)


def reached_at(calendar: BusinessCalendar, clock: SlaClock, elapsed: timedelta) -> datetime | None:
    """When the running clock's used time reaches ``elapsed`` (e.g. 75 % of the target for a warning
    tier). None while paused or when it was already reached before the clock last started."""
    if clock.running_since is None or elapsed <= clock.elapsed:
        return None
    return add_business_time(calendar, clock.running_since, elapsed - clock.elapsed)


def due_at(calendar: BusinessCalendar, clock: SlaClock) -> datetime | None:
    """The deadline (UTC): the breach instant once known, else when the running clock uses up its
    target; None while a clock that has not breached is paused (no deadline while it is stopped)."""
    if clock.breached_at is not None:
        return clock.breached_at.astimezone(UTC)
    if clock.running_since is not None and clock.elapsed >= clock.target:
        return clock.running_since.astimezone(UTC)  # used up before it last started: late since then
    return reached_at(calendar, clock, clock.target)


def is_breached(calendar: BusinessCalendar, clock: SlaClock, now: datetime) -> bool:
    return elapsed_at(calendar, clock, now) >= clock.target
