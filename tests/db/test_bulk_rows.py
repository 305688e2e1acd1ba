"""The JSON document of ``db.bulk.rows`` (decision 0041, encoded by orjson since decision 0044): ids as
their canonical text, timestamps in UTC (naive ones taken as UTC), nested JSON and text unchanged."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from huiliu.db import bulk


def test_rows_are_one_json_array_with_ids_and_utc_timestamps_as_text() -> None:
    ticket_id = uuid.uuid4()
    shanghai = timezone(timedelta(hours=8))
    rows = [
        {
            "id": ticket_id,
            "created_at": datetime(2026, 11, 23, 14, 0, 1, 5, tzinfo=shanghai),
            "updated_at": datetime(2026, 11, 23, 6, 0),
            "payload": {"title": "打印机卡纸 \u2028", "nested": {"ids": [str(ticket_id)], 3: None}},
            "count": 2,
            "ratio": 0.1,
            "flag": True,
            "missing": None,
        }
    ]
    [decoded] = json.loads(bulk.rows(rows))
    assert decoded["id"] == str(ticket_id)
    assert decoded["created_at"] == "2026-11-23T06:00:01.000005+00:00"
    assert decoded["updated_at"] == "2026-11-23T06:00:00+00:00"
    nested = {"ids": [str(ticket_id)], "3": None}
    assert decoded["payload"] == {"title": "打印机卡纸 \u2028", "nested": nested}
    assert (decoded["count"], decoded["ratio"], decoded["flag"], decoded["missing"]) == (2, 0.1, True, None)
    assert bulk.rows([]) == "[]"
    assert datetime.fromisoformat(decoded["created_at"]) == rows[0]["created_at"].astimezone(UTC)


def test_a_value_json_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError):
        bulk.rows([{"amounts": {1, 2}}])
