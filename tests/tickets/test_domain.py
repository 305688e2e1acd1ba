"""The ticket status machine, tags and audit diffs: pure rules, tested by properties."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from huiliu.core.errors import InvalidTransition, ValidationFailed
from huiliu.tickets.domain import (
    DONE,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    TRANSITIONS,
    WORKING,
    Milestones,
    Status,
    apply_transition,
    can_transition,
    diff,
    is_reopen,
    normalize_tags,
)

statuses = st.sampled_from(list(Status))
START = datetime(2024, 1, 1, tzinfo=UTC)


def test_working_and_done_partition_the_statuses():
    assert set(Status) == WORKING | DONE
    assert not WORKING & DONE


def test_every_status_is_reachable_from_new():
    seen, queue = {Status.NEW}, deque([Status.NEW])
    while queue:
        for target in TRANSITIONS[queue.popleft()]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    assert seen == set(Status)


def test_every_status_can_get_back_to_open_and_nothing_returns_to_new():
    assert all(Status.OPEN in TRANSITIONS[s] for s in Status if s is not Status.OPEN and s is not Status.NEW)
    assert Status.OPEN in TRANSITIONS[Status.NEW]
    assert all(Status.NEW not in targets for targets in TRANSITIONS.values())
    assert all(s not in TRANSITIONS[s] for s in Status)


def test_done_tickets_only_reopen_or_close():
    assert TRANSITIONS[Status.RESOLVED] == {Status.OPEN, Status.CLOSED}
    assert TRANSITIONS[Status.CLOSED] == {Status.OPEN}


@given(statuses, statuses)
def test_a_disallowed_move_raises_invalid_transition(current, target):
    milestones = Milestones(None, None, None, 0)
    if can_transition(current, target):
        assert apply_transition(current, target, milestones, START)["status"] == target.value
    else:
        with pytest.raises(InvalidTransition):
            apply_transition(current, target, milestones, START)


@given(statuses, statuses)
def test_reopen_means_leaving_done_for_a_working_status(current, target):
    assert is_reopen(current, target) == (current in DONE and target in WORKING)


class TicketLifecycle(RuleBasedStateMachine):
    """Random walks over the machine; the milestone columns follow ``apply_transition`` exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.status = Status.NEW
        self.milestones = Milestones(None, None, None, 0)
        self.now = START
        self.visited = {Status.NEW}

    def _columns(self) -> dict:
        return {
            "status": self.status.value,
            "resolved_at": self.milestones.resolved_at,
            "closed_at": self.milestones.closed_at,
            "reopened_at": self.milestones.reopened_at,
            "reopen_count": self.milestones.reopen_count,
        }

    @rule(to=statuses, minutes=st.integers(min_value=1, max_value=10_000))
    def move(self, to: Status, minutes: int) -> None:
        target = to
        self.now += timedelta(minutes=minutes)
        before = self._columns()
        if not can_transition(self.status, target):
            with pytest.raises(InvalidTransition):
                apply_transition(self.status, target, self.milestones, self.now)
            assert self._columns() == before
            return
        changes = apply_transition(self.status, target, self.milestones, self.now)
        assert changes["status"] == target.value
        assert set(changes) <= set(before)
        reopening = self.status in DONE and target in WORKING
        if reopening:
            assert changes["reopened_at"] == self.now
            assert changes["reopen_count"] == before["reopen_count"] + 1
            assert changes["resolved_at"] is None and changes["closed_at"] is None
        else:
            assert "reopened_at" not in changes and "reopen_count" not in changes
        if target is Status.RESOLVED:
            assert changes["resolved_at"] == self.now
        if target is Status.CLOSED:
            assert changes["closed_at"] == self.now
            # Closing an unresolved ticket also resolves it; an earlier resolution is kept.
            expected_resolved = before["resolved_at"] or self.now
            assert changes.get("resolved_at", before["resolved_at"]) == expected_resolved
        after = {**before, **changes}
        self.status = Status(after["status"])
        self.milestones = Milestones(
            after["resolved_at"], after["closed_at"], after["reopened_at"], after["reopen_count"]
        )
        self.visited.add(self.status)

    @invariant()
    def milestones_match_the_status(self) -> None:
        m = self.milestones
        if self.status is Status.CLOSED:
            assert m.closed_at is not None and m.resolved_at is not None
            assert m.resolved_at <= m.closed_at
        if self.status is Status.RESOLVED:
            assert m.resolved_at is not None and m.closed_at is None
        if m.reopen_count == 0:
            assert m.reopened_at is None
        else:
            assert m.reopened_at is not None and m.reopened_at <= self.now
        if m.resolved_at is not None and m.reopened_at is not None:
            assert m.resolved_at >= m.reopened_at
        if self.status in WORKING and m.reopened_at is not None:
            assert m.closed_at is None

    @invariant()
    def status_is_a_known_status(self) -> None:
        assert self.status in set(Status)


TestTicketLifecycle = TicketLifecycle.TestCase


@given(st.lists(statuses, max_size=40))
def test_reopen_count_is_the_number_of_reopening_moves(path):
    status, milestones, now, reopens = Status.NEW, Milestones(None, None, None, 0), START, 0
    for target in path:
        if not can_transition(status, target):
            continue
        now += timedelta(hours=1)
        changes = apply_transition(status, target, milestones, now)
        reopens += is_reopen(status, target)
        merged = {
            "resolved_at": milestones.resolved_at,
            "closed_at": milestones.closed_at,
            "reopened_at": milestones.reopened_at,
            "reopen_count": milestones.reopen_count,
            **changes,
        }
        status = Status(merged.pop("status"))
        milestones = Milestones(**merged)
    assert milestones.reopen_count == reopens


def test_closing_a_resolved_ticket_keeps_its_resolution_time():
    resolved_at = START
    changes = apply_transition(
        Status.RESOLVED, Status.CLOSED, Milestones(resolved_at, None, None, 0), START + timedelta(days=3)
    )
    assert changes == {"status": "closed", "closed_at": START + timedelta(days=3)}


def test_reopening_clears_resolution_and_closure():
    now = START + timedelta(days=5)
    changes = apply_transition(Status.CLOSED, Status.OPEN, Milestones(START, START, None, 2), now)
    assert changes == {
        "status": "open",
        "reopened_at": now,
        "reopen_count": 3,
        "resolved_at": None,
        "closed_at": None,
    }


tag_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=MAX_TAG_LENGTH)


@given(st.lists(tag_text, max_size=60))
def test_normalize_tags_trims_dedupes_and_keeps_first_seen_order(raw):
    expected = list(dict.fromkeys(t.strip() for t in raw if t.strip()))
    if len(expected) > MAX_TAGS:
        with pytest.raises(ValidationFailed):
            normalize_tags(raw)
        return
    tags = normalize_tags(raw)
    assert tags == expected
    assert all(tag == tag.strip() and tag for tag in tags)
    assert len(set(tags)) == len(tags)
    assert normalize_tags(tags) == tags  # idempotent


@given(st.lists(st.text(min_size=1, max_size=10).filter(str.strip), min_size=1, max_size=10))
def test_normalize_tags_is_stable_under_padding_and_repetition(raw):
    padded = [f"  {tag}\t" for tag in raw] + raw
    assert normalize_tags(padded) == normalize_tags(raw)


def test_normalize_tags_limits():
    assert normalize_tags(["x" * MAX_TAG_LENGTH]) == ["x" * MAX_TAG_LENGTH]
    with pytest.raises(ValidationFailed):
        normalize_tags(["x" * (MAX_TAG_LENGTH + 1)])
    assert len(normalize_tags([f"t{i}" for i in range(MAX_TAGS)] * 2)) == MAX_TAGS
    with pytest.raises(ValidationFailed):
        normalize_tags([f"t{i}" for i in range(MAX_TAGS + 1)])
    assert normalize_tags(["", "  ", "\n"]) == []


values = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans())
records = st.dictionaries(st.sampled_from(["title", "priority", "status", "team_id", "tags"]), values)


@given(records, records)
def test_diff_lists_exactly_the_changed_keys_of_after(before, after):
    changes = diff(before, after)
    assert set(changes) == {k for k, v in after.items() if before.get(k) != v}
    for key, change in changes.items():
        assert change == {"from": before.get(key), "to": after[key]}


@given(records)
def test_diff_of_a_record_with_itself_is_empty(record):
    assert diff(record, dict(record)) == {}
