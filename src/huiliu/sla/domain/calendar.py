"""The business calendar: which periods each date has (weekly hours, holidays, extra working days,
China's statutory holidays and 调休 days) and deadline math over it. See the package docstring."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from huiliu.sla.domain.hours import (
    DEFAULT_WEEKLY_HOURS,
    MINUTES_PER_DAY,
    WEEKDAYS,
    CalendarError,
    Period,
    WeeklyHours,
    check_day_periods,
    parse_weekly_hours,
    standard_day_hours,
)

DEFAULT_TIMEZONE = "Asia/Shanghai"
# A walk that has to cross more than this many years is refused: it can only come from an absurd
# target on a sparse calendar, and it would cost a request seconds.
MAX_HORIZON_YEARS = 50
# Months kept per calendar before the cache is dropped and rebuilt on demand.
_MAX_CACHED_MONTHS = 1200

US_PER_MINUTE = 60_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)

# The package's own tables (date -> holiday name); read once, never changed.
_CN_HOLIDAYS: frozenset[date] = frozenset(chinese_calendar.holidays)
_CN_WORKDAYS: frozenset[date] = frozenset(chinese_calendar.workdays)
CN_CALENDAR_VERSION: str = str(chinese_calendar.__version__)


@cache
def cn_statutory_covers(year: int) -> bool:
    """Whether ``chinese-calendar`` has the State Council's holiday arrangement for ``year``. The
    package's own check decides: it raises NotImplementedError for years it has no data for."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


class DayKind(StrEnum):
    WORKING = "working"  # a normal working day by the weekly hours
    CLOSED = "closed"  # a weekday without hours (weekend)
    HOLIDAY = "holiday"  # an explicit holiday of this calendar
    EXTRA_WORKDAY = "extra_workday"  # an explicit extra working day of this calendar
    STATUTORY_HOLIDAY = "statutory_holiday"  # China's statutory holiday (chinese-calendar)
    ADJUSTED_WORKDAY = "adjusted_workday"  # 调休: a make-up working day (chinese-calendar)


@dataclass(frozen=True, slots=True)
class Day:
    date: date
    kind: DayKind
    periods: tuple[Period, ...]
    # cn_statutory was asked for but the package has no data for this year.
    weekly_only: bool = False


@dataclass(slots=True)
class _Month:
    """Working intervals of one local month as UTC microseconds, with the business time before
    each interval (``before[i]``; ``before[-1]`` is the month's total)."""

    begin: int
    end: int
    starts: list[int]
    ends: list[int]
    before: list[int]

    @property
    def total(self) -> int:
        return self.before[-1]

    def position(self, t: int) -> int:
        """Business time in this month before instant ``t``."""
        i = bisect_right(self.ends, t)
        if i == len(self.starts):
            return self.before[-1]
        return self.before[i] + max(0, t - self.starts[i])

    def instant(self, goal: int) -> int:
        """The earliest instant with ``goal`` business time before it; 0 < goal <= total."""
        j = bisect_left(self.before, goal, 1) - 1
        return self.starts[j] + goal - self.before[j]

    def next_opening(self, t: int) -> int | None:
        """``t`` if it is business time, else the next opening in this month, else None."""
        i = bisect_right(self.ends, t)
        if i == len(self.starts):
            return None
        return max(t, self.starts[i])


@dataclass(frozen=True)
class BusinessCalendar:
    """A calendar value. Equal definitions compare and hash equal; each instance keeps its own cache
    of computed months, so build one per stored calendar and reuse it."""

    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: WeeklyHours = DEFAULT_WEEKLY_HOURS
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    cn_statutory: bool = False
    tz: ZoneInfo = field(init=False, repr=False, compare=False)
    workday_hours: tuple[Period, ...] = field(init=False, repr=False, compare=False)
    _months: dict[tuple[int, int], _Month] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", load_timezone(self.timezone))
        if len(self.weekly_hours) != 7:
            raise CalendarError("weekly hours need an entry for each of the seven weekdays")
        for name, periods in zip(WEEKDAYS, self.weekly_hours, strict=True):
            check_day_periods(periods, name)
        both = sorted(self.holidays & self.workdays)
        if both:
            raise CalendarError(f"{both[0].isoformat()} is listed both as a holiday and as a working day")
        if not any(self.weekly_hours):
            raise CalendarError("the calendar has no working time: give at least one weekday hours")
        object.__setattr__(self, "workday_hours", standard_day_hours(self.weekly_hours))
        object.__setattr__(self, "_months", {})

    @classmethod
    def from_spec(
        cls,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        hours: Mapping[str, Sequence[Sequence[str]]] | None = None,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        cn_statutory: bool = False,
    ) -> BusinessCalendar:
        """Build from the JSON shape of the API (``hours`` as ``"HH:MM"`` pairs per weekday)."""
        weekly = DEFAULT_WEEKLY_HOURS if hours is None else parse_weekly_hours(hours)
        return cls(timezone, weekly, frozenset(holidays), frozenset(workdays), cn_statutory)

    # -- dates --

    def day(self, day: date) -> Day:
        """What kind of day ``day`` is on this calendar and its working periods."""
        if day in self.holidays:
            return Day(day, DayKind.HOLIDAY, ())
        if day in self.workdays:
            return Day(day, DayKind.EXTRA_WORKDAY, self.workday_hours)
        weekly_only = False
        if self.cn_statutory:
            if cn_statutory_covers(day.year):
                if day in _CN_HOLIDAYS:
                    return Day(day, DayKind.STATUTORY_HOLIDAY, ())
                if day in _CN_WORKDAYS:
                    return Day(day, DayKind.ADJUSTED_WORKDAY, self.workday_hours)
            else:
                weekly_only = True
        periods = self.weekly_hours[day.weekday()]
        return Day(day, DayKind.WORKING if periods else DayKind.CLOSED, periods, weekly_only)

    def weekly_only_years(self, first: int, last: int) -> tuple[int, ...]:
        """Years in ``first..last`` for which cn_statutory was asked but no data exists, so only
        the weekly hours and this calendar's own holidays and working days apply."""
        if not self.cn_statutory:
            return ()
        return tuple(year for year in range(first, last + 1) if not cn_statutory_covers(year))

    # -- instants --

    def _wall_instant(self, day: date, minute: int) -> int:
        """UTC microseconds of the first instant at which the local clock shows ``minute`` on ``day``
        or later: an ambiguous time (clocks going back) is its first occurrence, a time that does
        not exist (clocks going forward) is the end of the gap."""
        if minute == MINUTES_PER_DAY:
            day, minute = day + _ONE_DAY, 0
        try:
            local = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
        except (ValueError, OverflowError) as exc:
            raise CalendarError("the date is outside the supported range (years 1-9999)") from exc
        aware = local.replace(tzinfo=self.tz)
        instant = _to_us(aware)
        if _from_us(instant).astimezone(self.tz).replace(tzinfo=None) == local:
            return instant
        # In a gap: the wall clock jumps past ``local`` somewhere between these two readings.
        low, high = _to_us(local.replace(tzinfo=self.tz, fold=1)), instant
        low, high = min(low, high), max(low, high)
        while high - low > 1:
            middle = (low + high) // 2
            if _from_us(middle).astimezone(self.tz).replace(tzinfo=None) >= local:
                high = middle
            else:
                low = middle
        return high

    def _month(self, key: tuple[int, int]) -> _Month:
        month = self._months.get(key)
        if month is None:
            month = self._build_month(key)
            if len(self._months) >= _MAX_CACHED_MONTHS:
                self._months.clear()
            self._months[key] = month
        return month

    def _build_month(self, key: tuple[int, int]) -> _Month:
        year, number = key
        if not 1 <= year <= 9998:
            raise CalendarError("the date is outside the supported range (years 1-9998)")
        first = date(year, number, 1)
        following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
        starts: list[int] = []
        ends: list[int] = []
        before = [0]
        day = first
        while day < following:
            for period in self.day(day).periods:
                start = self._wall_instant(day, period.start)
                end = self._wall_instant(day, period.end)
                if ends and start < ends[-1]:
                    start = ends[-1]  # a repeated hour must not count twice
                if end > start:
                    starts.append(start)
                    ends.append(end)
                    before.append(before[-1] + end - start)
            day += _ONE_DAY
        return _Month(self._wall_instant(first, 0), self._wall_instant(following, 0), starts, ends, before)

    def _locate(self, t: int, hint: datetime) -> tuple[tuple[int, int], _Month]:
        local = hint.astimezone(self.tz)
        key = (local.year, local.month)
        month = self._month(key)
        # Where DST ends at midnight a local date can repeat past its month's end: settle by instant.
        while t >= month.end:
            key = _next_month(key)
            month = self._month(key)
        while t < month.begin:
            key = _previous_month(key)
            month = self._month(key)
        return key, month


def load_timezone(name: str) -> ZoneInfo:
    """An IANA time zone such as ``Asia/Shanghai``; anything else is a CalendarError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise CalendarError(f"unknown time zone {name!r}: use an IANA name such as Asia/Shanghai") from exc


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _next_month(key: tuple[int, int]) -> tuple[int, int]:
    return (key[0] + 1, 1) if key[1] == 12 else (key[0], key[1] + 1)


def _previous_month(key: tuple[int, int]) -> tuple[int, int]:
    return (key[0] - 1, 12) if key[1] == 1 else (key[0], key[1] - 1)


def require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError(f"{name} needs a UTC offset (an aware datetime)")
    return moment


_MAX_MONTHS_WALKED = MAX_HORIZON_YEARS * 12


def _add_us(calendar: BusinessCalendar, start: datetime, amount: int) -> int:
    t = _to_us(start)
    if amount < 0:
        raise CalendarError("business time to add cannot be negative")
    if amount == 0:
        return t
    key, month = calendar._locate(t, start)
    position = month.position(t)
    for _ in range(_MAX_MONTHS_WALKED):
        available = month.total - position
        if amount <= available:
            return month.instant(position + amount)
        amount -= available
        key = _next_month(key)
        month, position = calendar._month(key), 0
    raise CalendarError(f"the deadline is more than {MAX_HORIZON_YEARS} years away on this calendar")


def _between_us(calendar: BusinessCalendar, a: datetime, b: datetime) -> int:
    if b < a:
        return -_between_us(calendar, b, a)
    ta, tb = _to_us(a), _to_us(b)
    key_a, month_a = calendar._locate(ta, a)
    key_b, month_b = calendar._locate(tb, b)
    if key_a == key_b:
        return month_b.position(tb) - month_a.position(ta)
    total = month_a.total - month_a.position(ta)
    key = _next_month(key_a)
    for _ in range(_MAX_MONTHS_WALKED):
        if key == key_b:
            return total + month_b.position(tb)
        total += calendar._month(key).total
        key = _next_month(key)
    raise CalendarError(f"the instants are more than {MAX_HORIZON_YEARS} years apart")


# --- public calendar functions -------------------------------------------------------------------


def add_business_time(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """The earliest instant ``D >= start`` with exactly ``amount`` business time between them (UTC).

    So a clock started outside working hours starts at the next opening, and a deadline that uses up
    exactly the rest of a working period lands on that period's closing instant, not on the next
    opening. Zero time is ``start`` itself."""
    start = require_aware(start, "start")
    return _from_us(_add_us(calendar, start, amount // _ONE_US))


def add_business_minutes(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """``add_business_time`` for whole minutes: the deadline of a ``minutes`` target from ``start``."""
    start = require_aware(start, "start")
    return _from_us(_add_us(calendar, start, minutes * US_PER_MINUTE))


def business_time_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Business time from ``a`` to ``b``; negative when ``b`` is before ``a``."""
    return timedelta(microseconds=_between_us(calendar, require_aware(a, "a"), require_aware(b, "b")))


def business_minutes_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> float:
    """Business minutes from ``a`` to ``b`` (fractional below a minute); negative when ``b < a``."""
    return _between_us(calendar, require_aware(a, "a"), require_aware(b, "b")) / US_PER_MINUTE


def is_business_time(calendar: BusinessCalendar, t: datetime) -> bool:
    """Whether ``t`` lies inside a working period (an opening instant does, a closing one does not)."""
    instant = _to_us(require_aware(t, "t"))
    _, month = calendar._locate(instant, t)
    return month.next_opening(instant) == instant


def next_business_instant(calendar: BusinessCalendar, t: datetime) -> datetime:
    """``t`` itself during working time, otherwise the next opening instant (UTC)."""
    instant = _to_us(require_aware(t, "t"))
    key, month = calendar._locate(instant, t)
    for _ in range(_MAX_MONTHS_WALKED):
        found = month.next_opening(instant)
        if found is not None:
            return _from_us(found)
        key = _next_month(key)
        month = calendar._month(key)
    raise CalendarError(f"no working time within {MAX_HORIZON_YEARS} years")


@dataclass(frozen=True, slots=True)
class Deadline:
    """A computed deadline with what the caller should tell the user about it."""

    due_at: datetime
    clock_starts_at: datetime
    # Years crossed where cn_statutory was asked for but chinese-calendar has no data (weekly only).
    weekly_only_years: tuple[int, ...]


def compute_deadline(calendar: BusinessCalendar, start: datetime, minutes: int) -> Deadline:
    """The deadline of ``minutes`` business minutes from ``start``, with when the clock starts
    running and which years were computed without statutory data."""
    due_at = add_business_minutes(calendar, start, minutes)
    starts_at = min(next_business_instant(calendar, start), due_at)
    first = start.astimezone(calendar.tz).year
    last = due_at.astimezone(calendar.tz).year
    return Deadline(due_at, starts_at, calendar.weekly_only_years(first, last))
