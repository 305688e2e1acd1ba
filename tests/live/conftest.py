from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from tests.factories import Member, make_member, make_tenant

# A guard against a hung test, not a timing assertion: every awaited frame is already due.
FRAME_TIMEOUT = 10.0


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


def parse_frame(frame: str) -> dict[str, Any]:
    """One SSE frame as {"id", "event", "data", "comment"} (absent fields are None)."""
    parsed: dict[str, Any] = {"id": None, "event": None, "data": None, "comment": None, "retry": None}
    for line in frame.strip("\n").split("\n"):
        if line.startswith(":"):
            parsed["comment"] = line[1:].strip()
            continue
        name, _, value = line.partition(": ")
        if name == "data":
            parsed["data"] = orjson.loads(value)
        else:
            parsed[name] = value
    return parsed


async def next_frame(stream: AsyncIterator[str]) -> dict[str, Any]:
    return parse_frame(await asyncio.wait_for(anext(stream), FRAME_TIMEOUT))


async def open_stream(stream: AsyncIterator[str]) -> None:
    """Consume the opening retry hint; from then on the stream's subscription is live."""
    first = await next_frame(stream)
    assert first["retry"] is not None
