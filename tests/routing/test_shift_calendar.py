"""Shifts that follow a business calendar: off on holidays (the calendar's own and China's statutory
ones), the normal weekday shift on extra and 调休 make-up working days; the calendar named by the
agent's profile or, for agents without one, by the policy."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import time_machine

from huiliu.core.errors import ValidationFailed
from huiliu.routing.domain import RoutingError, Shift, decide, parse_policy
from huiliu.routing.domain.decision import Filter
from huiliu.runtime import Runtime
from huiliu.sla import service as sla
from huiliu.sla.domain import BusinessCalendar
from tests.routing.builders import OFFICE_SHIFT, agent, assigned_to, policy, sh, ticket
from tests.routing.helpers import make_desk

CN = BusinessCalendar(cn_statutory=True)
OWN = BusinessCalendar(holidays=frozenset({date(2026, 5, 6)}), workdays=frozenset({date(2026, 5, 9)}))


def on_shift(shift: Shift, moment: str) -> bool:
    return assigned_to(decide(policy("least_loaded"), ticket(), [agent(1, shift=shift)], sh(moment))) == 1


@pytest.mark.parametrize(
    ("moment", "expected", "why"),
    [
        ("2026-09-30 10:00", True, "a normal Wednesday"),
        ("2026-10-01 10:00", False, "National Day (statutory holiday)"),
        ("2026-10-07 17:59", False, "the last day of the Golden Week"),
        ("2026-10-08 10:00", True, "back to work on Thursday"),
        ("2026-09-20 10:00", True, "Sunday 2026-09-20 is a 调休 make-up working day"),
        ("2026-09-20 12:30", False, "the make-up day keeps the weekday lunch break"),
        ("2026-10-10 09:00", True, "Saturday 2026-10-10 is a make-up working day too"),
        ("2026-10-11 10:00", False, "an ordinary Sunday"),
    ],
)
def test_a_shift_with_chinas_calendar_takes_holidays_off_and_works_make_up_days(
    moment: str, expected: bool, why: str
) -> None:
    assert on_shift(OFFICE_SHIFT.with_calendar(CN), moment) is expected, why


def test_without_a_calendar_the_shift_ignores_holidays() -> None:
    assert on_shift(OFFICE_SHIFT, "2026-10-01 10:00")
    assert not on_shift(OFFICE_SHIFT, "2026-09-20 10:00")


def test_a_calendars_own_holidays_and_working_days_apply() -> None:
    shift = OFFICE_SHIFT.with_calendar(OWN)
    assert not on_shift(shift, "2026-05-06 10:00")  # Wednesday, a holiday of this calendar
    assert on_shift(shift, "2026-05-09 10:00")  # Saturday, an extra working day
    assert not on_shift(shift, "2026-05-10 10:00")  # Sunday


def test_an_always_on_agent_with_a_calendar_is_off_on_holidays_only() -> None:
    calendar_only = Shift.from_spec({"calendar": str(uuid.UUID(int=7))})
    assert calendar_only.spec() == {"timezone": "Asia/Shanghai", "calendar": str(uuid.UUID(int=7))}
    shift = calendar_only.with_calendar(CN)
    assert on_shift(shift, "2026-10-11 03:00")  # a Sunday night
    assert not on_shift(shift, "2026-10-02 15:00")


def test_the_reason_counts_agents_off_for_a_holiday_as_off_shift() -> None:
    decision = decide(
        policy("least_loaded"),
        ticket(),
        [agent(1, shift=OFFICE_SHIFT.with_calendar(CN))],
        sh("2026-10-02 10:00"),
    )
    assert assigned_to(decision) is None
    assert dict(decision.reason.steps[0].excluded) == {Filter.OFF_SHIFT: 1}


def test_shift_and_policy_calendars_must_be_ids() -> None:
    with pytest.raises(RoutingError):
        Shift.from_spec({"hours": {"mon": [["09:00", "18:00"]]}, "calendar": "not an id"})
    with pytest.raises(RoutingError):
        parse_policy({"strategy": "least_loaded", "calendar": 5})
    with pytest.raises(RoutingError):
        parse_policy({"strategy": "least_loaded", "note_on_failure": "yes"})
    parsed = parse_policy({"strategy": "least_loaded", "calendar": str(uuid.UUID(int=9))})
    assert parsed.calendar_id == uuid.UUID(int=9)


OFFICE = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


async def test_routing_follows_the_profile_calendar_and_else_the_policy_calendar(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    async with runtime.db.uow(desk.tenant.id) as uow:
        calendar = await sla.create_calendar(
            uow, desk.admin.actor, {"name": "中国工作日", "timezone": "Asia/Shanghai", "cn_statutory": True}
        )
    await desk.agent("日历", shift={"hours": OFFICE, "calendar": str(calendar.id)})
    await desk.agent("无日历", shift={"hours": OFFICE})
    plain = await desk.policy({"strategy": "least_loaded", "team_only": False})
    with_calendar = await desk.policy(
        {"strategy": "least_loaded", "team_only": False, "calendar": str(calendar.id)}
    )
    holiday = sh("2026-10-02 10:00")  # a Friday in the Golden Week
    with time_machine.travel(holiday, tick=False):
        first = await desk.route(await desk.ticket(), plain.id)
        second = await desk.route(await desk.ticket(), with_calendar.id)
    assert desk.name_of(first.agent_id) == "无日历"  # the profile's calendar takes 日历 off
    assert second.kind == "team_queue"  # the policy's calendar takes the other one off too
    assert second.steps[0]["excluded"] == {"off_shift": 2}


async def test_a_calendar_that_does_not_exist_is_refused(runtime: Runtime) -> None:
    desk = await make_desk(runtime)
    missing = str(uuid.uuid4())
    with pytest.raises(ValidationFailed):
        await desk.agent("甲", shift={"hours": OFFICE, "calendar": missing})
    with pytest.raises(ValidationFailed):
        await desk.policy({"strategy": "least_loaded", "calendar": missing})
    with pytest.raises(ValidationFailed):
        await desk.policy({"strategy": "least_loaded", "final_team": missing})
