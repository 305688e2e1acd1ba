"""A ticket's SLA state as a value (sla.domain.ticket) and policies as values (sla.domain.policy):
thresholds and their instants, crossings in order, pause/resume/stop/restart/retarget, the stored
form round-tripping, policy parsing with every problem's path; and properties (pausing a ticket
never makes any of its deadlines earlier; the next check is never before the clock started)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiliu.sla.domain import BusinessCalendar
from huiliu.sla.domain.policy import PolicyError, choose_policy, parse_policy_rules
from huiliu.sla.domain.ticket import (
    FIRST_RESPONSE,
    NEXT_RESPONSE,
    RESOLUTION,
    crossings,
    from_json,
    mark_fired,
    metric_due_at,
    next_check,
    pause,
    reopen,
    restart,
    resume,
    retarget,
    start_state,
    stop,
    to_json,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = BusinessCalendar(cn_statutory=True)
TARGETS = {FIRST_RESPONSE: 60, RESOLUTION: 480}


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def test_thresholds_and_their_instants():
    state = start_state(TARGETS, sh("2026-11-23 10:00"))
    assert next_check(CN, state, (75, 100)) == sh("2026-11-23 10:45")
    found = crossings(CN, state, (75, 100, 150), sh("2026-11-23 11:35"))
    assert [(c.metric, c.percent, c.at) for c in found] == [
        (FIRST_RESPONSE, 75, sh("2026-11-23 10:45")),
        (FIRST_RESPONSE, 100, sh("2026-11-23 11:00")),
        (FIRST_RESPONSE, 150, sh("2026-11-23 11:30")),
    ]
    for crossing in found:
        state = mark_fired(state, crossing)
    assert state.metrics[FIRST_RESPONSE].breached_at == sh("2026-11-23 11:00")
    assert crossings(CN, state, (75, 100, 150), sh("2026-11-23 11:35")) == []
    # Next: the resolution's 75 % (360 business minutes from 10:00 -> 17:00).
    assert next_check(CN, state, (75, 100, 150)) == sh("2026-11-23 17:00")


def test_pause_resume_and_stop():
    state = start_state(TARGETS, sh("2026-11-23 09:00"))
    state = pause(CN, state, sh("2026-11-23 10:00"))
    assert state.paused and next_check(CN, state, (100,)) is None
    assert metric_due_at(CN, state.metrics[RESOLUTION]) is None
    state = resume(state, sh("2026-11-24 09:00"))
    assert metric_due_at(CN, state.metrics[RESOLUTION]) == sh("2026-11-24 17:00")
    state = stop(CN, state, RESOLUTION, sh("2026-11-24 10:00"))
    resolution = state.metrics[RESOLUTION]
    assert not resolution.active and resolution.stopped_at == sh("2026-11-24 10:00")
    assert resolution.clock.elapsed == timedelta(minutes=120)
    state = reopen(state, RESOLUTION, sh("2026-11-25 09:00"))
    assert metric_due_at(CN, state.metrics[RESOLUTION]) == sh("2026-11-25 16:00")  # 360 left


def test_a_paused_ticket_starts_a_next_response_paused():
    state = pause(CN, start_state(TARGETS, sh("2026-11-23 09:00")), sh("2026-11-23 09:30"))
    state = restart(state, NEXT_RESPONSE, 30, sh("2026-11-23 10:00"))
    assert not state.metrics[NEXT_RESPONSE].running
    state = resume(state, sh("2026-11-23 11:00"))
    assert metric_due_at(CN, state.metrics[NEXT_RESPONSE]) == sh("2026-11-23 11:30")


def test_retarget_keeps_time_used_and_refires_thresholds_no_longer_reached():
    state = start_state(TARGETS, sh("2026-11-23 09:00"))
    # 09:50: first response at 83 % -> its 75 % fired.
    [warning] = crossings(CN, state, (75,), sh("2026-11-23 09:50"))
    state = mark_fired(state, warning)
    # A longer target (240): 50 of 240 is below 75 %, so the 75 % tier fires again later.
    longer = retarget(CN, state, {FIRST_RESPONSE: 240, RESOLUTION: 480}, sh("2026-11-23 09:50"))
    assert longer.metrics[FIRST_RESPONSE].fired == ()
    assert metric_due_at(CN, longer.metrics[FIRST_RESPONSE]) == sh("2026-11-23 14:00")
    # A shorter one (30): already used up -> due at the change.
    shorter = retarget(CN, state, {FIRST_RESPONSE: 30, RESOLUTION: 480}, sh("2026-11-23 09:50"))
    assert metric_due_at(CN, shorter.metrics[FIRST_RESPONSE]) == sh("2026-11-23 09:50")
    assert shorter.metrics[FIRST_RESPONSE].fired == (75,)
    # A metric without a target is dropped; start_missing adds one.
    dropped = retarget(CN, state, {RESOLUTION: 480}, sh("2026-11-23 09:50"), start_missing=[NEXT_RESPONSE])
    assert set(dropped.metrics) == {RESOLUTION}


def test_the_stored_form_round_trips():
    state = start_state(TARGETS, sh("2026-11-23 09:00"))
    state = mark_fired(state, crossings(CN, state, (75,), sh("2026-11-23 10:00"))[0])
    state = pause(CN, state, sh("2026-11-23 10:07"))
    assert from_json(to_json(state), paused=True) == state


def test_policy_parsing_reports_every_problem_with_its_path():
    with pytest.raises(PolicyError) as caught:
        parse_policy_rules(
            [
                {"field": "mood", "op": "is", "value": "x"},
                {"field": "priority", "op": "in", "value": ["asap"]},
            ],
            {"urgent": {"first_response": 0, "answer": 5}, "someday": {}},
            [{"percent": 75}, {"percent": 75}, {"percent": 0}],
        )
    locs = [error["loc"] for error in caught.value.errors]
    assert ["conditions", 0, "field"] in locs
    assert ["conditions", 1, "value", 0] in locs
    assert ["targets", "urgent", "first_response"] in locs
    assert ["targets", "urgent", "answer"] in locs
    assert ["targets", "someday"] in locs
    assert ["tiers", 1, "percent"] in locs
    assert ["tiers", 2, "percent"] in locs


def test_choose_policy_takes_the_first_match_in_order():
    vip = parse_policy_rules([{"field": "customer_level", "op": "is", "value": "vip"}], {"normal": {}}, [])
    anyone = parse_policy_rules([], {"normal": {}}, [])
    candidates = [("vip", vip), ("anyone", anyone)]
    assert choose_policy(candidates, {"customer_level": "vip"})[0] == "vip"
    assert choose_policy(candidates, {"customer_level": None})[0] == "anyone"
    assert choose_policy([("vip", vip)], {"customer_level": "normal"}) is None


START = datetime(2026, 9, 14, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=60 * 24 * 50).map(lambda m: START + timedelta(minutes=m))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    created=instants,
    pause_after=st.integers(min_value=0, max_value=60 * 24 * 10),
    pause_for=st.integers(min_value=0, max_value=60 * 24 * 10),
    first=st.integers(min_value=1, max_value=2000),
    resolution=st.integers(min_value=1, max_value=5000),
)
def test_pausing_never_makes_a_deadline_earlier(created, pause_after, pause_for, first, resolution):
    state = start_state({FIRST_RESPONSE: first, RESOLUTION: resolution}, created)
    paused_at = created + timedelta(minutes=pause_after)
    resumed_at = paused_at + timedelta(minutes=pause_for)
    after = resume(pause(CN, state, paused_at), resumed_at)
    for name in (FIRST_RESPONSE, RESOLUTION):
        before_due = metric_due_at(CN, state.metrics[name])
        after_due = metric_due_at(CN, after.metrics[name])
        assert before_due is not None and after_due is not None
        assert after_due >= before_due
    check = next_check(CN, after, (75, 100))
    assert check is not None and check >= created
