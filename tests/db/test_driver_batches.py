"""How the driver pool's group commit turns queued jobs into statements (``db.driver._statements``):
the items of one ``RowBatch`` share a statement unless their conflict keys are equal, plain statements
run one each, and every job is answered with its own row (decision 0059)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from huiliu.db.driver import RowBatch, _Job, _statements
from tests.conftest import is_postgres


def _batch() -> RowBatch:
    return RowBatch(
        statement="INSERT …",
        params=lambda items: {"items": [item["id"] for item in items]},
        item_key=lambda item: item["id"],
        row_key=lambda row: row[0],
        conflict_key=lambda item: item.get("phone"),
    )


async def test_items_with_the_same_conflict_key_go_to_successive_statements() -> None:
    batch = _batch()
    loop = asyncio.get_running_loop()
    items: list[dict[str, Any]] = [
        {"id": 1, "phone": "a"},
        {"id": 2, "phone": "b"},
        {"id": 3, "phone": "a"},
        {"id": 4},
        {"id": 5, "phone": "a"},
        {"id": 6},
    ]
    jobs = [_Job(batch.statement, {}, loop.create_future(), batch, item) for item in items]
    plain = _Job("SELECT 1", {"x": 1}, loop.create_future())
    statements = _statements([jobs[0], plain, *jobs[1:]])
    assert [s.params for s in statements] == [
        {"items": [1, 2, 4, 6]},
        {"items": [3]},
        {"items": [5]},
        {"x": 1},
    ]
    assert statements[-1].batch is None and statements[-1].jobs == [plain]


async def test_two_batches_never_share_a_statement() -> None:
    first, second = _batch(), _batch()
    loop = asyncio.get_running_loop()
    jobs = [
        _Job("INSERT …", {}, loop.create_future(), batch, {"id": n})
        for n, batch in enumerate([first, second])
    ]
    statements = _statements(jobs)
    assert [(s.batch, s.params) for s in statements] == [(first, {"items": [0]}), (second, {"items": [1]})]


async def test_batched_callers_get_their_own_rows(runtime, database_url) -> None:
    if not is_postgres(database_url):
        pytest.skip("the driver pool exists on PostgreSQL only")
    pool = runtime.db.driver_pool
    batch = RowBatch(
        statement="SELECT n, n::int * 10 FROM jsonb_array_elements_text(%(items)s::jsonb) AS n(n)",
        params=lambda items: {"items": json.dumps([str(item) for item in items])},
        item_key=str,
        row_key=lambda row: row[0],
        conflict_key=lambda item: item % 3,
    )
    group = pool._group
    statements, transactions = group.statements, group.transactions
    # Fill every slot so the next callers queue and share statements.
    busy = [pool.fetchone_grouped("SELECT pg_sleep(0.2)", {}) for _ in range(group.concurrency)]
    answers = await asyncio.gather(*busy, *(pool.fetchone_batched(batch, n) for n in range(10)))
    assert answers[group.concurrency :] == [(str(n), n * 10) for n in range(10)]
    assert group.statements - statements == group.concurrency + 10
    assert group.transactions - transactions < group.concurrency + 10  # the batched callers shared
