"""Fan-out across API processes through Redis: two runtimes, as two replicas would have."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from huiliu.core.pubsub import RedisHub
from huiliu.live import service
from huiliu.runtime import Runtime
from tests.factories import make_member, make_tenant, make_ticket
from tests.live.conftest import next_frame, open_stream

REDIS_URL = os.environ.get("HUILIU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def redis_reachable() -> bool:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except (OSError, redis.RedisError):
        return False
    finally:
        await client.aclose()


@pytest.fixture
async def replicas(settings: Any) -> AsyncIterator[tuple[Runtime, Runtime]]:
    if not await redis_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    replica_settings = settings.model_copy(update={"redis_url": REDIS_URL, "db_pool_size": 2})
    first, second = Runtime.build(replica_settings), Runtime.build(replica_settings)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def wait_until_relaying(sender: Runtime, receiver: Runtime) -> None:
    """The receiver's Redis subscription starts in the background: probe until a message sent by the
    other replica comes through (bounded; fails the test if it never does)."""
    probe_tenant = uuid.uuid4()
    async with receiver.hub.subscribe(probe_tenant) as messages:
        for _ in range(100):
            sender.hub.publish(probe_tenant, {"id": "probe", "type": "probe"})
            try:
                await asyncio.wait_for(anext(messages), 0.1)
                return
            except TimeoutError:
                continue
    pytest.fail("the second replica never received a message over Redis")


async def test_event_published_on_one_replica_reaches_subscribers_of_another_per_tenant(
    replicas: tuple[Runtime, Runtime],
) -> None:
    first, second = replicas
    assert isinstance(first.hub, RedisHub) and isinstance(second.hub, RedisHub)
    tenant, other_tenant = await make_tenant(first), await make_tenant(first)
    admin = await make_member(first, tenant, "admin")
    outsider = await make_member(first, other_tenant, "admin")
    await wait_until_relaying(first, second)

    on_second = service.event_stream(second.db, second.hub, admin.actor)
    outsider_on_second = service.event_stream(second.db, second.hub, outsider.actor)
    try:
        await open_stream(on_second)
        await open_stream(outsider_on_second)
        ticket = await make_ticket(first, admin, title="跨实例推送")
        frame = await next_frame(on_second)
        own = await make_ticket(first, outsider, title="另一企业")
        outsider_frame = await next_frame(outsider_on_second)
    finally:
        await on_second.aclose()
        await outsider_on_second.aclose()

    assert frame["event"] == "ticket.created"
    assert frame["data"]["data"]["ticket"]["id"] == str(ticket["id"])
    assert "audience" not in frame["data"]
    # The other tenant's subscriber saw its own ticket first: the first tenant's event never reached it.
    assert outsider_frame["data"]["data"]["ticket"]["id"] == str(own["id"])
