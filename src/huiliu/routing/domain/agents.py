"""Agents as routing sees them: presence, shift, skills, regions, seniority, capacity and open load."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from operator import mul
from types import MappingProxyType
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from huiliu.sla.domain import (
    DEFAULT_TIMEZONE,
    BusinessCalendar,
    CalendarError,
    DayKind,
    WeeklyHours,
    format_weekly_hours,
    load_timezone,
    parse_weekly_hours,
)
from huiliu.sla.domain.hours import check_day_periods

# Ticket priorities, in the order the tickets package defines them (a test keeps them equal). Load
# vectors are indexed by this order.
PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")
PRIORITY_INDEX: Mapping[str, int] = MappingProxyType({name: i for i, name in enumerate(PRIORITIES)})
MIN_SKILL_LEVEL = 1
MAX_SKILL_LEVEL = 5
# Never assigned sorts before any real instant in round-robin order.
NEVER_US = -(2**63)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class RoutingError(ValueError):
    """A routing input that cannot be honoured (answered with a 422)."""


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"  # 离开: counts only when a policy allows it
    OFFLINE = "offline"


def require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RoutingError(f"{name} needs a UTC offset (an aware datetime)")
    return moment


def to_us(moment: datetime) -> int:
    """An aware instant as integer UTC microseconds (cheap to compare and store)."""
    return (moment - _EPOCH) // _ONE_US


def skill_key(name: str) -> str:
    """Skills match by name without surrounding spaces and case: ``" English "`` is ``english``."""
    key = name.strip().casefold()
    if not key:
        raise RoutingError("a skill needs a name")
    return key


def region_key(name: str) -> str:
    """Regions are paths from the widest area down, ``华南/广东/深圳``; spaces around parts are dropped."""
    parts = [part.strip().casefold() for part in name.split("/")]
    if not all(parts):
        raise RoutingError(f"a region is names separated by '/', got {name!r}")
    return "/".join(parts)


def region_and_ancestors(key: str) -> frozenset[str]:
    """``华南/广东/深圳`` -> itself, ``华南/广东`` and ``华南``: an agent covering any of them covers it."""
    parts = key.split("/")
    return frozenset("/".join(parts[:n]) for n in range(1, len(parts) + 1))


def check_level(level: object, what: str) -> int:
    if isinstance(level, bool) or not isinstance(level, int):
        raise RoutingError(f"{what} must be a whole number from {MIN_SKILL_LEVEL} to {MAX_SKILL_LEVEL}")
    if not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
        raise RoutingError(f"{what} must be from {MIN_SKILL_LEVEL} to {MAX_SKILL_LEVEL}, got {level}")
    return level


@dataclass(frozen=True, slots=True)
class Shift:
    """When an agent works: weekly periods on the wall clock of a time zone (the SLA calendar's
    ``"HH:MM"`` hours, half-open, a period cannot cross midnight: write a night shift as
    ``22:00-24:00`` on one day and ``00:00-06:00`` on the next), or always (``weekly_hours`` None).

    With a business ``calendar`` (an SLA calendar, named by ``calendar_id``) the shift follows its
    dates: on a holiday (the calendar's own or China's statutory one) the agent is off shift; on an
    extra or 调休 make-up working day the normal weekday shift applies (the hours of the first of
    Monday–Friday that has any, as the SLA calendar does for such days). ``calendar_id`` comes from
    the stored spec; the calendar itself is attached by whoever loads it (``with_calendar``)."""

    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: WeeklyHours | None = None
    calendar_id: UUID | None = None
    calendar: BusinessCalendar | None = None
    tz: ZoneInfo = field(init=False, repr=False, compare=False)
    # (start, end) minutes per weekday as plain ints: cheap to check, hash and compare.
    windows: tuple[tuple[tuple[int, int], ...], ...] | None = field(init=False, repr=False, compare=False)
    # The windows of a make-up working day: the first Monday–Friday with hours (all day if always).
    workday_windows: tuple[tuple[int, int], ...] | None = field(init=False, repr=False, compare=False)
    key: tuple[object, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "tz", load_timezone(self.timezone))
            if self.weekly_hours is not None:
                if len(self.weekly_hours) != 7:
                    raise RoutingError("a shift needs hours for each of the seven weekdays")
                for periods in self.weekly_hours:
                    check_day_periods(periods)
        except CalendarError as exc:
            raise RoutingError(f"shift: {exc}") from exc
        windows = None
        workday = None
        if self.weekly_hours is not None:
            windows = tuple(tuple((p.start, p.end) for p in day) for day in self.weekly_hours)
            workday = next((day for day in windows[:5] if day), ())
        object.__setattr__(self, "windows", windows)
        object.__setattr__(self, "workday_windows", workday)
        object.__setattr__(self, "key", (self.timezone, windows, self.calendar_id, self.calendar))

    @property
    def always(self) -> bool:
        """On shift at every moment: no weekly hours and no calendar to take holidays off."""
        return self.weekly_hours is None and self.calendar is None

    def covers(self, weekday: int, minute: int) -> bool:
        """Whether local ``weekday`` (0 = Monday) at ``minute`` after midnight is on shift, by the
        weekly hours alone."""
        if self.windows is None:
            return True
        return any(start <= minute < end for start, end in self.windows[weekday])

    def covers_local(self, moment: datetime) -> bool:
        """Whether ``moment`` (on this shift's wall clock) is on shift, holidays and make-up working
        days of the calendar included."""
        minute = moment.hour * 60 + moment.minute
        if self.calendar is None:
            return self.covers(moment.weekday(), minute)
        kind = self.calendar.day(moment.date()).kind
        if kind in OFF_DAYS:
            return False
        if kind in MAKE_UP_DAYS and self.workday_windows is not None:
            return any(start <= minute < end for start, end in self.workday_windows)
        return self.covers(moment.weekday(), minute)

    def with_calendar(self, calendar: BusinessCalendar | None) -> Shift:
        """This shift following ``calendar`` (None: the weekly hours only)."""
        return Shift(self.timezone, self.weekly_hours, self.calendar_id, calendar)

    @classmethod
    def from_spec(cls, spec: object) -> Shift:
        """``"always"`` or ``{"timezone": "Asia/Shanghai", "hours": {"mon": [["09:00","18:00"]], …},
        "calendar": "<SLA calendar id>"}`` (a weekday left out is off; ``hours`` may be left out
        when a calendar is named: always on shift except on its holidays)."""
        if spec == "always":
            return ALWAYS
        if not isinstance(spec, Mapping):
            raise RoutingError('a shift is "always" or {"timezone": …, "hours": {…}}')
        unknown = sorted(set(spec) - {"timezone", "hours", "calendar"})
        if unknown:
            raise RoutingError(f"unknown shift field {unknown[0]!r}")
        timezone = spec.get("timezone", DEFAULT_TIMEZONE)
        hours = spec.get("hours")
        calendar_id = _calendar_id(spec.get("calendar"))
        if hours is None and calendar_id is not None and isinstance(timezone, str):
            return cls(timezone, None, calendar_id)
        if not isinstance(timezone, str) or not isinstance(hours, Mapping):
            raise RoutingError('a shift needs "hours" by weekday and, optionally, a "timezone" name')
        try:
            weekly = parse_weekly_hours(hours)
        except (CalendarError, TypeError) as exc:
            raise RoutingError(f"shift: {exc}") from exc
        return cls(timezone, weekly, calendar_id)

    def spec(self) -> str | dict[str, Any]:
        if self.weekly_hours is None and self.calendar_id is None:
            return "always"
        out: dict[str, Any] = {"timezone": self.timezone}
        if self.weekly_hours is not None:
            out["hours"] = format_weekly_hours(self.weekly_hours)
        if self.calendar_id is not None:
            out["calendar"] = str(self.calendar_id)
        return out


def _calendar_id(value: object) -> UUID | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise RoutingError(f"a shift's calendar is an SLA calendar id, got {value!r}")


# Calendar days on which a shift is off, and those on which the normal weekday shift applies.
OFF_DAYS = frozenset({DayKind.HOLIDAY, DayKind.STATUTORY_HOLIDAY})
MAKE_UP_DAYS = frozenset({DayKind.EXTRA_WORKDAY, DayKind.ADJUSTED_WORKDAY})


ALWAYS = Shift()


@dataclass(frozen=True, slots=True)
class AgentState:
    """One agent at the moment of a decision. Build it once per snapshot: the derived fields
    (normalized skills and regions, team set, load vector) are computed here, not per decision."""

    id: UUID
    team_ids: Sequence[UUID] = ()  # the first is the agent's home team
    skills: Mapping[str, int] = field(default_factory=dict)  # name -> level 1..5
    regions: Iterable[str] = ()
    senior: bool = False
    presence: Presence = Presence.ONLINE
    shift: Shift = ALWAYS
    capacity: int | None = None  # most open tickets at once; None: no cap
    open_load: Mapping[str, int] = field(default_factory=dict)  # open tickets by priority
    last_assigned_at: datetime | None = None
    teams: frozenset[UUID] = field(init=False, repr=False, compare=False)
    skill_levels: Mapping[str, int] = field(init=False, repr=False, compare=False)
    region_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    load_vector: tuple[int, ...] = field(init=False, repr=False, compare=False)
    open_total: int = field(init=False, repr=False, compare=False)
    last_assigned_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "team_ids", tuple(self.team_ids))
        set_(self, "teams", frozenset(self.team_ids))
        try:
            set_(self, "presence", Presence(self.presence))
        except ValueError as exc:
            raise RoutingError(f"presence is online, away or offline, got {self.presence!r}") from exc
        levels: dict[str, int] = {}
        for name, level in self.skills.items():
            levels[skill_key(name)] = check_level(level, f"skill {name!r} level")
        set_(self, "skill_levels", MappingProxyType(levels))
        set_(self, "regions", tuple(self.regions))
        set_(self, "region_keys", frozenset(region_key(r) for r in self.regions))
        if self.capacity is not None and (
            isinstance(self.capacity, bool) or not isinstance(self.capacity, int) or self.capacity < 0
        ):
            raise RoutingError(
                f"capacity is a number of open tickets (0 or more) or none, got {self.capacity!r}"
            )
        vector = [0] * len(PRIORITIES)
        for priority, count in self.open_load.items():
            if priority not in PRIORITY_INDEX:
                raise RoutingError(f"unknown priority {priority!r} in open load: use {', '.join(PRIORITIES)}")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise RoutingError(f"open tickets of priority {priority} must be 0 or more, got {count!r}")
            vector[PRIORITY_INDEX[priority]] = count
        set_(self, "load_vector", tuple(vector))
        set_(self, "open_total", sum(vector))
        if self.last_assigned_at is None:
            set_(self, "last_assigned_us", NEVER_US)
        else:
            set_(self, "last_assigned_us", to_us(require_aware(self.last_assigned_at, "last_assigned_at")))

    def weighted_load(self, weights: Sequence[float], added: Sequence[int] | None = None) -> float:
        """Open tickets weighted by priority (``weights`` in ``PRIORITIES`` order), plus ``added``
        assignments decided since the snapshot."""
        load = float(sum(map(mul, weights, self.load_vector)))
        if added is not None:
            load += sum(map(mul, weights, added))
        return load
