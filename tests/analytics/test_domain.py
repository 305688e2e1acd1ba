"""Pure analytics rules: percentiles, Shanghai buckets, hand-overs, acceptance, keywords."""

from __future__ import annotations

import statistics
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from huiliu.analytics.domain import (
    EventRow,
    TicketRow,
    accepted_at,
    aging_bucket,
    buckets,
    change,
    hour_of_week,
    keywords,
    normalize_region,
    percentile,
    top_keywords,
    transfers,
)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 Asia/Shanghai


def _ticket(**changes: object) -> TicketRow:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "created_at": T0,
        "status": "new",
        "priority": "normal",
        "category": None,
        "scenario": None,
        "channel": "web",
        "entry_point_id": None,
        "team_id": None,
        "assignee_id": None,
        "first_response_at": None,
        "resolved_at": None,
        "reopen_count": 0,
        "merged_into_id": None,
        "region": None,
        "customer_level": None,
    }
    values.update(changes)
    return TicketRow(**values)  # type: ignore[arg-type]


def test_percentile_interpolates_like_percentile_cont() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    assert percentile([10, 20, 30, 75], 0.5) == 25
    assert abs(percentile([10, 20, 30, 75], 0.9) - (30 + 0.7 * 45)) < 1e-9  # type: ignore[operator]


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=2, max_size=50))
def test_percentile_matches_inclusive_quantiles(values: list[float]) -> None:
    ordered = sorted(values)
    assert abs(percentile(ordered, 0.5) - statistics.median(ordered)) < 1e-6  # type: ignore[operator]
    quartiles = statistics.quantiles(ordered, n=4, method="inclusive")
    assert abs(percentile(ordered, 0.25) - quartiles[0]) < 1e-6  # type: ignore[operator]


def test_hour_of_week_and_day_buckets_follow_shanghai() -> None:
    assert hour_of_week(T0) == 10
    assert hour_of_week(datetime(2026, 3, 8, 15, 30, tzinfo=UTC)) == 6 * 24 + 23  # Sunday 23:30
    days = buckets(datetime(2026, 3, 1, 16, 0, tzinfo=UTC), datetime(2026, 3, 3, 16, 0, tzinfo=UTC), "day")
    assert days == [datetime(2026, 3, 1, 16, 0, tzinfo=UTC), datetime(2026, 3, 2, 16, 0, tzinfo=UTC)]
    assert len(buckets(T0, T0 + timedelta(hours=5, minutes=1), "hour")) == 6


def test_transfers_count_moves_away_from_an_owner() -> None:
    agent, other = str(uuid.uuid4()), str(uuid.uuid4())
    events = [
        EventRow("ticket.assigned", T0, {"assignee_id": {"from": None, "to": agent}}),  # routing
        EventRow("ticket.assigned", T0, {"assignee_id": {"from": agent, "to": other}}),  # transfer
        EventRow("ticket.status_changed", T0, {"status": {"from": "new", "to": "open"}}),
    ]
    assert transfers(events) == 1


def test_accepted_at_is_the_first_sign_of_an_owner() -> None:
    agent = uuid.uuid4()
    assert accepted_at(_ticket(assignee_id=agent), []) == T0
    later = T0 + timedelta(minutes=30)
    moved = [EventRow("ticket.status_changed", later, {"status": {"from": "new", "to": "open"}})]
    assert accepted_at(_ticket(), moved) == later
    assert accepted_at(_ticket(), []) is None


def test_keywords_and_helpers() -> None:
    assert keywords("打印机卡纸") == ["打印", "印机", "机卡", "卡纸"]
    assert keywords("Printer jam, please help") == ["printer", "jam"]
    assert top_keywords(["打印机卡纸", "3号打印机卡纸", "发票"], limit=2) == [("打印", 2), ("印机", 2)]
    assert normalize_region(" 广东 / 深圳 ") == "广东/深圳" and normalize_region(5) is None
    assert change(120, 100) == 0.2 and change(1, 0) is None
    assert aging_bucket(timedelta(hours=30)) == "d1_3" and aging_bucket(timedelta(days=30)) == "gt_7d"
