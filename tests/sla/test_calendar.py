"""Business-calendar deadline math on hand-computed cases.

Unless a case says otherwise the calendar is the default one: Asia/Shanghai, Monday to Friday
09:00-12:00 and 13:00-18:00 (3 h + 5 h = 480 business minutes a day), weekends closed.

China's 2026 arrangement is the State Council General Office's notice on 2026 holidays
(国务院办公厅关于2026年部分节假日安排的通知, dated 4 November 2025):
  - 元旦 Jan 1 (Thu) - Jan 3 (Sat) off; Sunday Jan 4 is a working day;
  - 中秋节 Sep 25 (Fri) - Sep 27 (Sun) off;
  - 国庆节 Oct 1 (Thu) - Oct 7 (Wed) off; Sunday Sep 20 and Saturday Oct 10 are working days.
``test_chinese_calendar_has_the_2026_notice`` checks that the pinned package says the same.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from huiliu.sla.domain import (
    BusinessCalendar,
    CalendarError,
    DayKind,
    Period,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    cn_statutory_covers,
    compute_deadline,
    is_business_time,
    next_business_instant,
    parse_weekly_hours,
    standard_day_hours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")

OFFICE = BusinessCalendar()
CN = BusinessCalendar(cn_statutory=True)


def sh(text: str) -> datetime:
    """A Shanghai wall-clock time, e.g. ``sh("2026-09-30 17:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def test_chinese_calendar_has_the_2026_notice() -> None:
    national_day = [date(2026, 10, day) for day in range(1, 8)]
    mid_autumn = [date(2026, 9, 25), date(2026, 9, 26), date(2026, 9, 27)]
    for day in national_day + mid_autumn + [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]:
        assert chinese_calendar.is_holiday(day), day
    for make_up in (date(2026, 1, 4), date(2026, 9, 20), date(2026, 10, 10)):
        assert make_up.weekday() >= 5 and chinese_calendar.is_workday(make_up), make_up
    assert chinese_calendar.get_holiday_detail(date(2026, 10, 1)) == (True, "National Day")
    assert chinese_calendar.get_holiday_detail(date(2026, 9, 25)) == (True, "Mid-autumn Festival")


# (calendar, start in Shanghai, minutes, expected due in Shanghai, why)
CASES = [
    (
        OFFICE,
        "2026-11-23 11:00",
        120,
        "2026-11-23 14:00",
        "Mon: 11-12 is 60, lunch 12-13 is skipped, 13-14 is 60",
    ),
    (OFFICE, "2026-11-23 11:00", 60, "2026-11-23 12:00", "uses up the morning exactly: its closing instant"),
    (OFFICE, "2026-11-23 09:00", 480, "2026-11-23 18:00", "a whole day lands at 18:00, not Tue 09:00"),
    (OFFICE, "2026-11-23 09:00", 481, "2026-11-24 09:01", "one minute more spills into Tuesday"),
    (OFFICE, "2026-11-23 12:30", 30, "2026-11-23 13:30", "starts in lunch: the clock starts at 13:00"),
    (OFFICE, "2026-11-23 12:00", 180, "2026-11-23 16:00", "starts at the morning's closing instant"),
    (OFFICE, "2026-11-23 07:15", 15, "2026-11-23 09:15", "before opening: starts at 09:00"),
    (OFFICE, "2026-11-27 19:30", 60, "2026-11-30 10:00", "Friday evening: weekend skipped, Mon 09-10"),
    (OFFICE, "2026-11-27 17:00", 60, "2026-11-27 18:00", "Friday's last hour exactly: Friday 18:00"),
    (OFFICE, "2026-11-27 17:00", 61, "2026-11-30 09:01", "Fri 17-18 is 60, then Mon 09:00-09:01"),
    (OFFICE, "2026-11-28 10:00", 2400, "2026-12-04 18:00", "Saturday start, five whole days: Fri 18:00"),
    (OFFICE, "2026-11-23 10:00", 0, "2026-11-23 10:00", "zero minutes is the start itself"),
    # National Day 2026: Wed Sep 30 17-18 is 60; Oct 1-7 off; Thu Oct 8 09-12 is 180 -> 240 at 12:00.
    (CN, "2026-09-30 17:00", 240, "2026-10-08 12:00", "National Day holiday skipped, lands on closing"),
    (OFFICE, "2026-09-30 17:00", 240, "2026-10-01 12:00", "same without cn_statutory: Oct 1 is a Thursday"),
    # Sat Sep 19 is closed; Sun Sep 20 is the make-up working day with the Mon-Fri hours.
    (CN, "2026-09-19 10:00", 60, "2026-09-20 10:00", "make-up Sunday Sep 20 works 09-12/13-18"),
    (OFFICE, "2026-09-19 10:00", 60, "2026-09-21 10:00", "without cn_statutory Sunday stays closed"),
    # Fri Oct 9 17-18 is 60; Sat Oct 10 is the make-up Saturday: 09-10 is the other 60.
    (CN, "2026-10-09 17:00", 120, "2026-10-10 10:00", "make-up Saturday Oct 10"),
    # Thu Sep 24 17-18 is 60; Mid-Autumn Fri Sep 25 - Sun Sep 27 off; Mon Sep 28 09-10 is 60.
    (CN, "2026-09-24 17:00", 120, "2026-09-28 10:00", "Mid-Autumn Festival Friday skipped"),
    # A whole working week around the holiday: Sep 30 (480) + Oct 8 (480) + Oct 9 (480) + Oct 10 (480).
    (CN, "2026-09-30 09:00", 1920, "2026-10-10 18:00", "four working days across the holiday"),
    # Cross-year into a covered year: Wed Dec 31 2025 17-18 is 60; Jan 1-3 off; Sun Jan 4 works.
    (CN, "2025-12-31 17:00", 120, "2026-01-04 10:00", "New Year 2026 with its make-up Sunday"),
    (OFFICE, "2025-12-31 17:00", 120, "2026-01-01 10:00", "without cn_statutory Jan 1 2026 is a Thursday"),
    # Cross-year into 2027, which chinese-calendar 1.11.0 does not cover: Thu Dec 31 17-18 is 60,
    # Fri Jan 1 2027 counts as a plain Friday (480) -> 540; Mon Jan 4 09-10 is the last 60.
    (CN, "2026-12-31 17:00", 600, "2027-01-04 10:00", "2027 falls back to the weekly hours"),
]


@pytest.mark.parametrize(("calendar", "start", "minutes", "expected", "why"), CASES)
def test_deadline_table(
    calendar: BusinessCalendar, start: str, minutes: int, expected: str, why: str
) -> None:
    due = add_business_minutes(calendar, sh(start), minutes)
    assert due.tzinfo is UTC
    assert due == sh(expected), why
    assert business_minutes_between(calendar, sh(start), due) == minutes


def test_explicit_holidays_and_workdays_override_the_package() -> None:
    closed_make_up_day = BusinessCalendar(holidays=frozenset({date(2026, 9, 20)}), cn_statutory=True)
    assert add_business_minutes(closed_make_up_day, sh("2026-09-19 10:00"), 60) == sh("2026-09-21 10:00")
    assert closed_make_up_day.day(date(2026, 9, 20)).kind is DayKind.HOLIDAY
    # Oct 2 is a statutory holiday, but this company works it: Sep 30 17-18 (60) + Oct 2 09-12 (180).
    works_oct_2 = BusinessCalendar(workdays=frozenset({date(2026, 10, 2)}), cn_statutory=True)
    assert add_business_minutes(works_oct_2, sh("2026-09-30 17:00"), 240) == sh("2026-10-02 12:00")
    assert works_oct_2.day(date(2026, 10, 2)).kind is DayKind.EXTRA_WORKDAY


def test_day_kinds_for_a_month_view() -> None:
    assert CN.day(date(2026, 9, 20)).kind is DayKind.ADJUSTED_WORKDAY
    assert CN.day(date(2026, 10, 3)).kind is DayKind.STATUTORY_HOLIDAY
    assert CN.day(date(2026, 10, 17)).kind is DayKind.CLOSED
    assert CN.day(date(2026, 10, 16)).kind is DayKind.WORKING
    assert OFFICE.day(date(2026, 10, 1)).kind is DayKind.WORKING
    uncovered = CN.day(date(2027, 1, 1))
    assert uncovered.kind is DayKind.WORKING and uncovered.weekly_only


def test_years_without_statutory_data_are_reported() -> None:
    assert cn_statutory_covers(2026)
    assert not cn_statutory_covers(2027)
    deadline = compute_deadline(CN, sh("2026-12-31 17:00"), 600)
    assert deadline.weekly_only_years == (2027,)
    assert compute_deadline(CN, sh("2026-09-30 17:00"), 240).weekly_only_years == ()
    assert compute_deadline(OFFICE, sh("2026-12-31 17:00"), 600).weekly_only_years == ()


def test_extra_working_days_follow_the_most_common_weekday_hours() -> None:
    # Friday closes at 16:00; a make-up Saturday still follows the Mon-Thu hours.
    hours = {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu")}
    hours["fri"] = [["09:00", "12:00"], ["13:00", "16:00"]]
    calendar = BusinessCalendar.from_spec(hours=hours, workdays=[date(2026, 11, 28)])
    assert calendar.workday_hours == (Period(540, 720), Period(780, 1080))
    # Sat Nov 28: 13:00-18:00 is 300 after the full morning 180 -> 480 minutes end at 18:00.
    assert add_business_minutes(calendar, sh("2026-11-28 08:00"), 480) == sh("2026-11-28 18:00")
    weekend_only = parse_weekly_hours({"sat": [["10:00", "16:00"]], "sun": [["10:00", "14:00"]]})
    assert standard_day_hours(weekend_only) == (Period(600, 960),)


def test_clock_starts_at_the_next_opening() -> None:
    deadline = compute_deadline(OFFICE, sh("2026-11-27 19:30"), 60)
    assert deadline.clock_starts_at == sh("2026-11-30 09:00")
    assert next_business_instant(OFFICE, sh("2026-11-23 12:00")) == sh("2026-11-23 13:00")
    assert next_business_instant(OFFICE, sh("2026-11-23 10:00")) == sh("2026-11-23 10:00")
    assert next_business_instant(CN, sh("2026-09-30 18:00")) == sh("2026-10-08 09:00")


def test_opening_is_business_time_and_closing_is_not() -> None:
    assert is_business_time(OFFICE, sh("2026-11-23 09:00"))
    assert is_business_time(OFFICE, sh("2026-11-23 11:59:59"))
    assert not is_business_time(OFFICE, sh("2026-11-23 12:00"))
    assert not is_business_time(OFFICE, sh("2026-11-28 10:00"))
    assert not is_business_time(CN, sh("2026-10-05 10:00"))
    assert is_business_time(CN, sh("2026-09-20 10:00"))


def test_seconds_and_offsets_are_kept() -> None:
    # 10:00:30 Shanghai given as UTC; 90 minutes later is 11:30:30 Shanghai.
    start = datetime(2026, 11, 23, 2, 0, 30, tzinfo=UTC)
    assert add_business_minutes(OFFICE, start, 90) == sh("2026-11-23 11:30:30")
    assert business_minutes_between(OFFICE, start, sh("2026-11-23 10:01:00")) == 0.5
    assert business_minutes_between(OFFICE, sh("2026-11-23 11:00"), sh("2026-11-23 10:00")) == -60


def test_business_time_in_berlin_across_the_spring_dst_change() -> None:
    # EU summer time 2026 starts Sun Mar 29 at 02:00 CET -> 03:00 CEST.
    office = BusinessCalendar.from_spec(
        timezone="Europe/Berlin", hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    # Fri Mar 27 16:00 CET + 120: Fri 16-17 is 60; Mon Mar 30 09:00 CEST + 60 = 10:00 CEST = 08:00 UTC.
    due = add_business_minutes(office, berlin("2026-03-27 16:00"), 120)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    always = BusinessCalendar.from_spec(
        timezone="Europe/Berlin", hours={d: [["00:00", "24:00"]] for d in WEEK}
    )
    # 24 real hours from Sat 12:00 CET (11:00 UTC) is Sun 11:00 UTC, which the wall shows as 13:00.
    assert add_business_minutes(always, berlin("2026-03-28 12:00"), 24 * 60) == berlin("2026-03-29 13:00")
    # The spring-forward day has 23 hours, the fall-back day 25.
    assert business_minutes_between(always, berlin("2026-03-29 00:00"), berlin("2026-03-30 00:00")) == 23 * 60
    assert business_minutes_between(always, berlin("2026-10-25 00:00"), berlin("2026-10-26 00:00")) == 25 * 60


def test_business_time_in_berlin_across_the_autumn_dst_change() -> None:
    always = BusinessCalendar.from_spec(
        timezone="Europe/Berlin", hours={d: [["00:00", "24:00"]] for d in WEEK}
    )
    # Sat Oct 24 12:00 CEST (10:00 UTC) + 24 h = Sun Oct 25 10:00 UTC = 11:00 CET.
    assert add_business_minutes(always, berlin("2026-10-24 12:00"), 24 * 60) == berlin("2026-10-25 11:00")
    # A period from 02:00 to 03:00 on the fall-back day spans both passes of the repeated hour: 2 h.
    night = BusinessCalendar.from_spec(timezone="Europe/Berlin", hours={"sun": [["02:00", "03:00"]]})
    assert business_minutes_between(night, berlin("2026-10-25 00:00"), berlin("2026-10-25 12:00")) == 120
    # 90 minutes in is 02:30 on the second pass (CET), 01:30 UTC. (Compared in UTC: Python never
    # finds a fold=1 wall time equal to an instant in another zone.)
    due = add_business_minutes(night, berlin("2026-10-25 00:00"), 90)
    assert due == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert due.astimezone(BERLIN).fold == 1


def test_a_period_opening_inside_the_spring_gap_opens_when_the_gap_ends() -> None:
    # 02:30 does not exist on Sun Mar 29 2026 in Berlin: the period opens at 03:00 CEST (01:00 UTC).
    night = BusinessCalendar.from_spec(timezone="Europe/Berlin", hours={"sun": [["02:30", "04:00"]]})
    assert next_business_instant(night, berlin("2026-03-29 00:00")) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert business_minutes_between(night, berlin("2026-03-29 00:00"), berlin("2026-03-29 12:00")) == 60
    # A normal Sunday has the full 90 minutes.
    assert business_minutes_between(night, berlin("2026-04-05 00:00"), berlin("2026-04-05 12:00")) == 90


def test_new_york_deadline_keeps_wall_clock_hours_after_dst() -> None:
    # US DST 2026 starts Sun Mar 8. Mon-Fri 09:00-17:00 in New York.
    ny = BusinessCalendar.from_spec(
        timezone="America/New_York",
        hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    # Fri Mar 6 16:00 EST + 120: Fri 16-17 is 60; Mon Mar 9 09:00 EDT + 60 = 10:00 EDT = 14:00 UTC.
    start = datetime(2026, 3, 6, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    assert add_business_minutes(ny, start, 120) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_long_targets_cross_months_and_years() -> None:
    # 1 Jan 2030 is a Tuesday; 250 working days of 480 minutes later from Mon Dec 31 2029 09:00 ...
    start = sh("2029-12-31 09:00")
    due = add_business_minutes(OFFICE, start, 250 * 480)
    assert business_minutes_between(OFFICE, start, due) == 250 * 480
    # ... is the end of the 250th weekday counted from Dec 31 2029 (a Monday) inclusive.
    day, counted = date(2029, 12, 31), 0
    while True:
        if day.weekday() < 5:
            counted += 1
            if counted == 250:
                break
        day += timedelta(days=1)
    assert due == sh(f"{day.isoformat()} 18:00")


WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"timezone": "../etc/passwd"}, "unknown time zone"),
        ({"timezone": "Asia"}, "unknown time zone"),
        ({"hours": {"mon": [["18:00", "09:00"]]}}, "must end after it starts"),
        ({"hours": {"mon": [["09:00", "09:00"]]}}, "must end after it starts"),
        ({"hours": {"mon": [["09:00", "12:00"], ["11:00", "14:00"]]}}, "overlap"),
        ({"hours": {"mon": [["9:00", "12:00"]]}}, "HH:MM"),
        ({"hours": {"mon": [["09:00", "24:01"]]}}, "HH:MM"),
        ({"hours": {"mon": [["24:00", "24:00"]]}}, "HH:MM"),
        ({"hours": {"mon": [["09:00"]]}}, "working period"),
        ({"hours": {"monday": [["09:00", "12:00"]]}}, "unknown weekday"),
        ({"hours": {}}, "no working time"),
        ({"holidays": [date(2026, 10, 1)], "workdays": [date(2026, 10, 1)]}, "both"),
    ],
)
def test_bad_calendars_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar.from_spec(**kwargs)  # type: ignore[arg-type]


def test_bad_requests_are_refused() -> None:
    with pytest.raises(CalendarError, match="UTC offset"):
        add_business_minutes(OFFICE, datetime(2026, 11, 23, 9, 0), 60)
    with pytest.raises(CalendarError, match="negative"):
        add_business_minutes(OFFICE, sh("2026-11-23 09:00"), -1)
    sparse = BusinessCalendar.from_spec(hours={"mon": [["09:00", "09:01"]]})
    with pytest.raises(CalendarError, match="years away"):
        add_business_minutes(sparse, sh("2026-11-23 09:00"), 10_000_000)
    with pytest.raises(CalendarError, match="range"):
        add_business_minutes(OFFICE, datetime(9998, 12, 31, 9, 0, tzinfo=UTC), 100_000)


def test_add_business_time_accepts_sub_minute_amounts() -> None:
    due = add_business_time(OFFICE, sh("2026-11-23 11:59"), timedelta(seconds=90))
    assert due == sh("2026-11-23 13:00:30")
