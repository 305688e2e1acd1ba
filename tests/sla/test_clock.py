"""The SLA clock: pause and resume, target changes mid-way, breaches and warning tiers, on the
default calendar (Asia/Shanghai, Mon-Fri 09:00-12:00 and 13:00-18:00). Mon 2026-11-23 starts a
normal working week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from huiliu.sla.domain import (
    BusinessCalendar,
    CalendarError,
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

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessCalendar()


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_a_running_clock_is_due_when_its_target_is_used_up() -> None:
    clock = start_clock(480, sh("2026-11-23 09:00"))
    assert due_at(OFFICE, clock) == sh("2026-11-23 18:00")
    assert elapsed_at(OFFICE, clock, sh("2026-11-23 14:00")) == timedelta(hours=4)
    assert not is_breached(OFFICE, clock, sh("2026-11-23 17:59"))
    assert is_breached(OFFICE, clock, sh("2026-11-23 18:00"))
    # The whole week Mon-Fri is 5 x 8 h; over the weekend nothing more accrues.
    assert elapsed_at(OFFICE, clock, sh("2026-11-27 18:00")) == timedelta(hours=40)
    assert elapsed_at(OFFICE, clock, sh("2026-11-30 08:59")) == timedelta(hours=40)


def test_pause_and_resume_push_the_deadline_by_the_paused_business_time() -> None:
    # Mon 09:00-11:00 uses 120 of 480; paused until Tue 14:00; the remaining 360 are
    # Tue 14-18 (240) and Wed 09-11 (120): due Wed 11:00 instead of Mon 18:00.
    clock = start_clock(480, sh("2026-11-23 09:00"))
    paused = pause_clock(OFFICE, clock, sh("2026-11-23 11:00"))
    assert not paused.running
    assert paused.elapsed == timedelta(minutes=120)
    assert due_at(OFFICE, paused) is None
    assert elapsed_at(OFFICE, paused, sh("2026-11-24 10:00")) == timedelta(minutes=120)
    resumed = resume_clock(paused, sh("2026-11-24 14:00"))
    assert due_at(OFFICE, resumed) == sh("2026-11-25 11:00")


def test_pausing_outside_business_hours_costs_nothing() -> None:
    # Paused Fri 19:00, resumed Mon 08:30: no business time was lost, the deadline is unchanged.
    clock = start_clock(120, sh("2026-11-27 17:00"))
    assert due_at(OFFICE, clock) == sh("2026-11-30 10:00")
    paused = pause_clock(OFFICE, clock, sh("2026-11-27 19:00"))
    resumed = resume_clock(paused, sh("2026-11-30 08:30"))
    assert due_at(OFFICE, resumed) == sh("2026-11-30 10:00")


def test_pause_and_resume_are_idempotent() -> None:
    clock = start_clock(480, sh("2026-11-23 09:00"))
    assert resume_clock(clock, sh("2026-11-23 10:00")) == clock
    paused = pause_clock(OFFICE, clock, sh("2026-11-23 10:00"))
    assert pause_clock(OFFICE, paused, sh("2026-11-23 15:00")) == paused


def test_a_clock_paused_after_its_deadline_keeps_the_breach_instant() -> None:
    # Target 60 from Mon 09:00 is used up at 10:00; paused at 11:00.
    clock = start_clock(60, sh("2026-11-23 09:00"))
    paused = pause_clock(OFFICE, clock, sh("2026-11-23 11:00"))
    assert paused.breached_at == sh("2026-11-23 10:00")
    assert due_at(OFFICE, paused) == sh("2026-11-23 10:00")
    assert is_breached(OFFICE, paused, sh("2026-11-23 11:30"))
    resumed = resume_clock(paused, sh("2026-11-24 09:00"))
    assert due_at(OFFICE, resumed) == sh("2026-11-23 10:00")


def test_priority_raised_mid_way_shortens_the_remaining_time() -> None:
    # Normal: 960 (two days). At Mon 14:00, 240 are used; urgent now means 480 in total, so the
    # remaining 240 are Mon 14-18: due Mon 18:00, the closing instant.
    clock = start_clock(960, sh("2026-11-23 09:00"))
    assert due_at(OFFICE, clock) == sh("2026-11-24 18:00")
    urgent = change_target(OFFICE, clock, 480, sh("2026-11-23 14:00"))
    assert urgent.elapsed == timedelta(minutes=240)
    assert due_at(OFFICE, urgent) == sh("2026-11-23 18:00")


def test_a_target_already_used_up_counts_as_breached_at_the_change() -> None:
    clock = start_clock(960, sh("2026-11-23 09:00"))
    critical = change_target(OFFICE, clock, 120, sh("2026-11-23 14:00"))
    assert critical.breached_at == sh("2026-11-23 14:00")
    assert due_at(OFFICE, critical) == sh("2026-11-23 14:00")
    assert is_breached(OFFICE, critical, sh("2026-11-23 14:00"))


def test_a_longer_target_clears_a_breach() -> None:
    # 120 from Mon 09:00 breached at 11:00; at 14:00 (240 used) the target becomes 960: the
    # remaining 720 are Mon 14-18 (240) and all of Tuesday (480): due Tue 18:00.
    clock = start_clock(120, sh("2026-11-23 09:00"))
    relaxed = change_target(OFFICE, clock, 960, sh("2026-11-23 14:00"))
    assert relaxed.breached_at is None
    assert due_at(OFFICE, relaxed) == sh("2026-11-24 18:00")


def test_target_change_while_paused_recomputes_on_resume() -> None:
    clock = pause_clock(OFFICE, start_clock(960, sh("2026-11-23 09:00")), sh("2026-11-23 10:00"))
    shorter = change_target(OFFICE, clock, 240, sh("2026-11-24 09:00"))
    assert not shorter.running and due_at(OFFICE, shorter) is None
    # 60 used, 180 remain from Tue 15:00: Tue 15-18.
    assert due_at(OFFICE, resume_clock(shorter, sh("2026-11-24 15:00"))) == sh("2026-11-24 18:00")


def test_warning_tiers_are_instants_of_used_time() -> None:
    clock = start_clock(480, sh("2026-11-23 09:00"))
    # 75 % of 480 is 360: Mon 09-12 (180) and 13-16 (180).
    assert reached_at(OFFICE, clock, clock.target * 3 / 4) == sh("2026-11-23 16:00")
    # 150 % is 720: Mon (480) and Tue 09-12, 13-14 (240).
    assert reached_at(OFFICE, clock, clock.target * 3 / 2) == sh("2026-11-24 14:00")
    paused = pause_clock(OFFICE, clock, sh("2026-11-23 17:00"))
    assert reached_at(OFFICE, paused, clock.target * 3 / 4) is None
    resumed = resume_clock(paused, sh("2026-11-24 09:00"))
    assert reached_at(OFFICE, resumed, clock.target * 3 / 4) is None  # already passed
    assert due_at(OFFICE, resumed) == sh("2026-11-24 10:00")


def test_due_at_is_utc() -> None:
    due = due_at(OFFICE, start_clock(60, sh("2026-11-23 09:00")))
    assert due is not None and due.tzinfo is UTC


def test_bad_clocks_are_refused() -> None:
    with pytest.raises(CalendarError):
        SlaClock(0)
    with pytest.raises(CalendarError):
        start_clock(60, datetime(2026, 11, 23, 9, 0))
    clock = start_clock(60, sh("2026-11-23 09:00"))
    with pytest.raises(CalendarError, match="before"):
        pause_clock(OFFICE, clock, sh("2026-11-23 08:00"))
