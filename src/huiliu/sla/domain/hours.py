"""Working periods of a day and weekly hours: parsing ``"HH:MM"`` pairs, checking them, and the
standard working-day hours that extra and make-up working days follow."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MAX_PERIODS_PER_DAY = 12
_CLOCK_TEXT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class CalendarError(ValueError):
    """A calendar definition or a request on it that cannot be honoured (answered with a 422)."""


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """One working period of a day, in minutes after local midnight; ``end`` 1440 means 24:00."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise CalendarError(
                f"a working period must end after it starts, within one day: {format_period(self)}"
            )


WeeklyHours = tuple[tuple[Period, ...], ...]


def parse_clock(text: str, *, closing: bool = False) -> int:
    """``"HH:MM"`` (24-hour clock) to minutes after midnight; ``"24:00"`` only as a closing time."""
    if closing and text == "24:00":
        return MINUTES_PER_DAY
    match = _CLOCK_TEXT.match(text)
    if match is None:
        raise CalendarError(f'times are "HH:MM" on a 24-hour clock, got {text!r}')
    return int(match.group(1)) * 60 + int(match.group(2))


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_period(period: Period) -> str:
    return f"{format_clock(period.start)}-{format_clock(period.end)}"


def check_day_periods(periods: Iterable[Period], day: str = "a day") -> tuple[Period, ...]:
    """Sorted periods of one day; overlapping periods and too many periods are errors. Periods that
    touch (12:00-13:00 then 13:00-18:00) are allowed."""
    ordered = tuple(sorted(periods))
    if len(ordered) > MAX_PERIODS_PER_DAY:
        raise CalendarError(f"{day} has more than {MAX_PERIODS_PER_DAY} working periods")
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise CalendarError(
                f"working periods of {day} overlap: {format_period(before)} and {format_period(after)}"
            )
    return ordered


def parse_day_periods(pairs: Sequence[Sequence[str]], day: str = "a day") -> tuple[Period, ...]:
    periods = []
    for pair in pairs:
        if len(pair) != 2:
            raise CalendarError(f'a working period of {day} is ["HH:MM", "HH:MM"], got {list(pair)!r}')
        periods.append(Period(parse_clock(pair[0]), parse_clock(pair[1], closing=True)))
    return check_day_periods(periods, day)


def parse_weekly_hours(hours: Mapping[str, Sequence[Sequence[str]]]) -> WeeklyHours:
    """``{"mon": [["09:00", "12:00"], ["13:00", "18:00"]], ...}``; a weekday left out is closed."""
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise CalendarError(f"unknown weekday {unknown[0]!r}: use {', '.join(WEEKDAYS)}")
    return tuple(parse_day_periods(hours.get(name, ()), name) for name in WEEKDAYS)


def format_weekly_hours(weekly: WeeklyHours) -> dict[str, list[list[str]]]:
    return {
        name: [[format_clock(p.start), format_clock(p.end)] for p in periods]
        for name, periods in zip(WEEKDAYS, weekly, strict=True)
        if periods
    }


_OFFICE_DAY = (Period(9 * 60, 12 * 60), Period(13 * 60, 18 * 60))
DEFAULT_WEEKLY_HOURS: WeeklyHours = (_OFFICE_DAY,) * 5 + ((), ())


def standard_day_hours(weekly: WeeklyHours) -> tuple[Period, ...]:
    """The hours an extra or 调休 working day follows: the most common non-empty hours among Monday to
    Friday (a tie goes to the earlier weekday), or among all seven days if Monday to Friday are all
    closed. A Friday that closes early does not shorten a make-up Saturday."""
    for candidates in (weekly[:5], weekly):
        open_days = [periods for periods in candidates if periods]
        if open_days:
            counts = Counter(open_days)
            best = max(counts.values())
            return next(periods for periods in open_days if counts[periods] == best)
    return ()
