"""Properties of deadline math that must hold on any calendar: adding business time never goes
backwards, adding then measuring round-trips, additions compose, pausing never makes a deadline
earlier; and a minute-by-minute reference walk agrees with the month index."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiliu.sla.domain import (
    BusinessCalendar,
    Period,
    WeeklyHours,
    add_business_minutes,
    business_minutes_between,
    business_time_between,
    due_at,
    is_business_time,
    next_business_instant,
    pause_clock,
    resume_clock,
    start_clock,
)

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIXED_CALENDARS = [
    BusinessCalendar(),
    BusinessCalendar(cn_statutory=True),
    BusinessCalendar(
        timezone="Europe/Berlin",
        weekly_hours=((Period(0, 1440),),) * 7,
    ),
    BusinessCalendar(
        timezone="America/New_York",
        weekly_hours=((Period(60, 180), Period(1380, 1440)),) * 5 + ((), (Period(150, 200),)),
    ),
]


@st.composite
def day_periods(draw: st.DrawFn) -> tuple[Period, ...]:
    marks = draw(st.lists(st.integers(0, 1440), min_size=0, max_size=6, unique=True))
    marks.sort()
    return tuple(Period(a, b) for a, b in zip(marks[::2], marks[1::2], strict=False) if b > a)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    if draw(st.booleans()):
        return draw(st.sampled_from(FIXED_CALENDARS))
    weekly: WeeklyHours = tuple(draw(day_periods()) for _ in range(7))
    if not any(weekly):
        weekly = ((Period(540, 1080),), *weekly[1:])
    days = st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 1))
    holidays = frozenset(draw(st.lists(days, max_size=8)))
    workdays = frozenset(draw(st.lists(days, max_size=8))) - holidays
    return BusinessCalendar(
        timezone=draw(st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"])),
        weekly_hours=weekly,
        holidays=holidays,
        workdays=workdays,
        cn_statutory=draw(st.booleans()),
    )


instants = st.datetimes(
    min_value=datetime(2025, 9, 1), max_value=datetime(2027, 3, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
minutes = st.integers(0, 20_000)


@PROPERTY_SETTINGS
@given(calendars(), instants, minutes, minutes)
def test_more_minutes_never_give_an_earlier_deadline(
    calendar: BusinessCalendar, start: datetime, a: int, b: int
) -> None:
    low, high = sorted((a, b))
    assert start <= add_business_minutes(calendar, start, low) <= add_business_minutes(calendar, start, high)


@PROPERTY_SETTINGS
@given(calendars(), instants, instants, minutes)
def test_a_later_start_never_gives_an_earlier_deadline(
    calendar: BusinessCalendar, a: datetime, b: datetime, amount: int
) -> None:
    early, late = sorted((a, b))
    assert add_business_minutes(calendar, early, amount) <= add_business_minutes(calendar, late, amount)


@PROPERTY_SETTINGS
@given(calendars(), instants, minutes)
def test_adding_then_measuring_round_trips(calendar: BusinessCalendar, start: datetime, amount: int) -> None:
    due = add_business_minutes(calendar, start, amount)
    assert business_minutes_between(calendar, start, due) == amount
    if amount > 0:
        # The deadline is the earliest such instant: just before it, the target is not yet used up,
        # and it is either inside a working period or on a closing instant.
        assert business_time_between(calendar, start, due - timedelta(microseconds=1)) < timedelta(
            minutes=amount
        )
        assert is_business_time(calendar, due - timedelta(microseconds=1))


@PROPERTY_SETTINGS
@given(calendars(), instants, minutes, minutes)
def test_additions_compose(calendar: BusinessCalendar, start: datetime, a: int, b: int) -> None:
    stepwise = add_business_minutes(calendar, add_business_minutes(calendar, start, a), b)
    assert stepwise == add_business_minutes(calendar, start, a + b)


@PROPERTY_SETTINGS
@given(calendars(), instants, instants, instants)
def test_business_time_is_additive_over_intervals(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    first, middle, last = sorted((a, b, c))
    whole = business_time_between(calendar, first, last)
    assert whole == business_time_between(calendar, first, middle) + business_time_between(
        calendar, middle, last
    )
    assert timedelta(0) <= whole <= last - first


@PROPERTY_SETTINGS
@given(calendars(), instants)
def test_next_business_instant_is_the_first_business_time(calendar: BusinessCalendar, t: datetime) -> None:
    found = next_business_instant(calendar, t)
    assert found >= t
    assert is_business_time(calendar, found)
    assert business_time_between(calendar, t, found) == timedelta(0)


@PROPERTY_SETTINGS
@given(
    calendars(),
    instants,
    st.integers(1, 10_000),
    st.timedeltas(timedelta(0), timedelta(days=20)),
    st.timedeltas(timedelta(0), timedelta(days=20)),
)
def test_pausing_never_makes_a_deadline_earlier(
    calendar: BusinessCalendar, start: datetime, target: int, until_pause: timedelta, paused_for: timedelta
) -> None:
    clock = start_clock(target, start)
    original = due_at(calendar, clock)
    assert original is not None
    paused = pause_clock(calendar, clock, start + until_pause)
    resumed = resume_clock(paused, start + until_pause + paused_for)
    after = due_at(calendar, resumed)
    assert after is not None and after >= original
    # A pause with no business time in it changes nothing.
    if business_time_between(calendar, start + until_pause, start + until_pause + paused_for) == timedelta(0):
        assert after == original


SHANGHAI = ZoneInfo("Asia/Shanghai")


def reference_add(calendar: BusinessCalendar, start: datetime, amount: int) -> datetime:
    """Minute by minute on the local wall clock (valid for zones without DST, like Shanghai)."""
    local = start.astimezone(SHANGHAI)
    t = local.replace(second=0, microsecond=0)
    if amount == 0:
        return start
    assert t == local, "the reference walks whole minutes"
    while True:
        minute = t.hour * 60 + t.minute
        if any(p.start <= minute < p.end for p in calendar.day(t.date()).periods):
            amount -= 1
            if amount == 0:
                return (t + timedelta(minutes=1)).astimezone(UTC)
        t += timedelta(minutes=1)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([FIXED_CALENDARS[0], FIXED_CALENDARS[1]]),
    st.datetimes(min_value=datetime(2025, 9, 1), max_value=datetime(2026, 12, 20)).map(
        lambda moment: moment.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
    ),
    st.integers(0, 2_500),
)
def test_month_index_agrees_with_a_minute_by_minute_walk(
    calendar: BusinessCalendar, start: datetime, amount: int
) -> None:
    assert add_business_minutes(calendar, start, amount) == reference_add(calendar, start, amount)
