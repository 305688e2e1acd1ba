"""The clock override and time-ordered ids."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from huiliu.core import clock
from huiliu.core.ids import new_id, new_id_at


def id_millis(value) -> int:
    return value.int >> 80


def test_utcnow_is_aware_utc_without_override():
    now = clock.utcnow()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert clock.override() is None


def test_at_overrides_utcnow_and_restores_it():
    moment = datetime(2024, 11, 11, 0, 0, 1, tzinfo=UTC)
    with clock.at(moment):
        assert clock.utcnow() == moment
        assert clock.override() == moment
        inner = moment + timedelta(days=1)
        with clock.at(inner):
            assert clock.utcnow() == inner
        assert clock.utcnow() == moment
    assert clock.override() is None


def test_at_converts_other_zones_and_naive_values_to_utc():
    shanghai = timezone(timedelta(hours=8))
    with clock.at(datetime(2024, 1, 1, 8, 0, tzinfo=shanghai)):
        assert clock.utcnow() == datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
        assert clock.utcnow().utcoffset() == timedelta(0)
    with clock.at(datetime(2024, 1, 1, 8, 0)):
        assert clock.utcnow() == datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


async def test_at_reaches_tasks_started_inside_and_not_outside():
    moment = datetime(2023, 6, 18, 12, 0, tzinfo=UTC)

    async def read() -> datetime | None:
        return clock.override()

    outside = asyncio.create_task(read())
    with clock.at(moment):
        inside = asyncio.create_task(read())
    assert await inside == moment
    assert await outside is None


def test_new_ids_are_version_7_and_increase():
    ids = [new_id() for _ in range(2000)]
    assert all(value.version == 7 and value.variant == "specified in RFC 4122" for value in ids)
    assert len(set(ids)) == len(ids)
    # Ids from different milliseconds sort by time; within one millisecond uuid7 keeps them monotonic.
    assert ids == sorted(ids)


@given(st.integers(min_value=0, max_value=(1 << 48) - 1))
def test_new_id_at_carries_the_given_milliseconds(moment_ms):
    value = new_id_at(moment_ms)
    assert id_millis(value) == moment_ms
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"


@given(
    st.integers(min_value=0, max_value=(1 << 48) - 2),
    st.integers(min_value=1, max_value=10_000_000),
)
def test_ids_of_later_moments_sort_after_earlier_ones(earlier_ms, gap):
    later_ms = min(earlier_ms + gap, (1 << 48) - 1)
    assert new_id_at(earlier_ms) < new_id_at(later_ms)


def test_new_id_inside_clock_at_follows_the_overridden_time():
    moment = datetime(2022, 2, 2, 2, 2, 2, 222000, tzinfo=UTC)
    with clock.at(moment):
        value = new_id()
    assert id_millis(value) == int(moment.timestamp() * 1000)
    assert value.version == 7
    assert value < new_id()


def test_new_ids_keep_the_real_clock_under_a_burst():
    # 20,000 ids as fast as possible: strictly increasing, and their time part is the wall clock's (a
    # generator that adds a millisecond per id within one millisecond would run seconds ahead).
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(20_000)]
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(v.version == 7 and v.variant == uuid.RFC_4122 for v in ids[::997])
    assert before <= id_millis(ids[0]) and id_millis(ids[-1]) <= after + 2


def test_a_forked_child_does_not_repeat_the_parent_ids():
    read, write = os.pipe()
    new_id()  # the parent's random buffer is filled
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, b"".join(new_id().bytes for _ in range(64)))
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    child = {data[i : i + 16] for i in range(0, len(data), 16)}
    parent = {new_id().bytes for _ in range(64)}
    assert len(child) == 64
    assert {value[8:] for value in child}.isdisjoint({value[8:] for value in parent})
