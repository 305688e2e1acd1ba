"""Properties of the time-rule schedule: the next instant is the earliest threshold still ahead, never
in the past, and a rule that fired for its anchor no longer counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from huiliu.automation.domain import TicketFacts, compile_rules
from huiliu.automation.domain.schedule import TIME_ANCHORS, next_instant

T0 = datetime(2026, 12, 1, tzinfo=UTC)
FIELDS = sorted(TIME_ANCHORS)

conditions = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.sampled_from(["gte", "gt", "lt"]), st.integers(0, 200)),
    min_size=1,
    max_size=4,
)


@given(
    rules=st.lists(conditions, min_size=1, max_size=5),
    offsets=st.tuples(*(st.integers(0, 100) for _ in FIELDS)),
    now_hours=st.integers(0, 300),
    fired=st.sets(st.integers(0, 4)),
)
def test_the_next_instant_is_the_earliest_threshold_ahead(
    rules: list[list[tuple[str, str, int]]], offsets: tuple[int, ...], now_hours: int, fired: set[int]
) -> None:
    definitions = [
        {
            "id": f"r{index}",
            "name": f"r{index}",
            "kind": "automation",
            "conditions": {"any": [{"field": f, "op": op, "value": v} for f, op, v in leaves]},
            "actions": [{"type": "add_tag", "tag": "x"}],
        }
        for index, leaves in enumerate(rules)
    ]
    anchors = {TIME_ANCHORS[f]: T0 + timedelta(hours=h) for f, h in zip(FIELDS, offsets, strict=True)}
    now = T0 + timedelta(hours=now_hours)
    fired_ids = frozenset(f"r{index}" for index in fired)
    facts = TicketFacts(now=now, automations_fired=fired_ids, **anchors)
    expected = [
        anchors[TIME_ANCHORS[f]] + timedelta(hours=v) + (timedelta(seconds=1) if op == "gt" else timedelta())
        for index, leaves in enumerate(rules)
        if f"r{index}" not in fired_ids
        for f, op, v in leaves
        if op != "lt"
    ]
    ahead = [at for at in expected if at > now]
    result = next_instant(compile_rules(definitions).rules, facts)
    assert result == (min(ahead) if ahead else None)
    assert result is None or result > now
