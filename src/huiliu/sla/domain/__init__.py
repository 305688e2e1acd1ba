"""Business calendars and SLA clock math. Pure: no database, no HTTP.

Time on a business calendar is *real elapsed time* inside working periods. A working period is a
pair of wall-clock times on a local date (``09:00``-``12:00``); its opening and closing instants are
found in the calendar's time zone, so a period that spans a DST change lasts what the clock on the
wall says it lasts. Periods are half-open: the opening instant is business time, the closing instant
is not (but a deadline may land on it, see ``add_business_minutes``).

Which periods a date has, first rule that matches wins:

1. an explicit holiday: closed;
2. an explicit extra working day: the standard working-day hours (``standard_day_hours``);
3. with ``cn_statutory`` and a year the ``chinese-calendar`` package covers: a statutory holiday
   (including the weekend days inside a holiday block) is closed, and a 调休 make-up working day has
   the standard working-day hours;
4. the weekly hours of its weekday.

Years the package does not cover yet fall back to rule 4 alone; ``weekly_only_years`` names them so
callers can warn. Deadline math walks a per-calendar cache of months: each month holds its working
intervals as UTC microseconds with a running sum, so a deadline is two binary searches per month
crossed instead of a walk over days.
"""

from huiliu.sla.domain.calendar import (
    CN_CALENDAR_VERSION,
    DEFAULT_TIMEZONE,
    MAX_HORIZON_YEARS,
    BusinessCalendar,
    Day,
    DayKind,
    Deadline,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    business_time_between,
    cn_statutory_covers,
    compute_deadline,
    is_business_time,
    load_timezone,
    next_business_instant,
)
from huiliu.sla.domain.clock import (
    SlaClock,
    change_target,
    due_at,
    elapsed_at,
    is_breached,
    pause_clock,
    reached_at,
    resume_clock,
    start_clock,
)
from huiliu.sla.domain.hours import (
    DEFAULT_WEEKLY_HOURS,
    MAX_PERIODS_PER_DAY,
    WEEKDAYS,
    CalendarError,
    Period,
    WeeklyHours,
    format_weekly_hours,
    parse_clock,
    parse_day_periods,
    parse_weekly_hours,
    standard_day_hours,
)

__all__ = [
    "CN_CALENDAR_VERSION",
    "DEFAULT_TIMEZONE",
    "DEFAULT_WEEKLY_HOURS",
    "MAX_HORIZON_YEARS",
    "MAX_PERIODS_PER_DAY",
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarError",
    "Day",
    "DayKind",
    "Deadline",
    "Period",
    "SlaClock",
    "WeeklyHours",
    "add_business_minutes",
    "add_business_time",
    "business_minutes_between",
    "business_time_between",
    "change_target",
    "cn_statutory_covers",
    "compute_deadline",
    "due_at",
    "elapsed_at",
    "format_weekly_hours",
    "is_breached",
    "is_business_time",
    "load_timezone",
    "next_business_instant",
    "parse_clock",
    "parse_day_periods",
    "parse_weekly_hours",
    "pause_clock",
    "reached_at",
    "resume_clock",
    "standard_day_hours",
    "start_clock",
]
