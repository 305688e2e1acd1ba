"""The in-process live hub: per-tenant fan-out, unsubscribe on exit, a slow reader loses the oldest."""

from __future__ import annotations

import asyncio
import uuid

from huiliu.core import pubsub
from huiliu.core.pubsub import InProcessHub, make_hub


async def drain(messages, count):
    return [await asyncio.wait_for(anext(messages), 1) for _ in range(count)]


async def test_publish_reaches_every_subscriber_of_the_tenant_only():
    hub = InProcessHub()
    tenant, other = uuid.uuid4(), uuid.uuid4()
    async with hub.subscribe(tenant) as first, hub.subscribe(tenant) as second, hub.subscribe(other) as third:
        hub.publish(tenant, {"n": 1})
        hub.publish(tenant, {"n": 2})
        assert await drain(first, 2) == [{"n": 1}, {"n": 2}]
        assert await drain(second, 2) == [{"n": 1}, {"n": 2}]
        hub.publish(other, {"n": 3})
        assert await drain(third, 1) == [{"n": 3}]
        # The first tenant's subscribers got nothing of the other tenant.
        hub.publish(tenant, {"n": 4})
        assert await drain(first, 1) == [{"n": 4}]


async def test_publish_without_subscribers_is_a_no_op():
    hub = InProcessHub()
    hub.publish(uuid.uuid4(), {"n": 1})
    assert hub._subscribers == {}


async def test_leaving_the_block_unsubscribes():
    hub = InProcessHub()
    tenant = uuid.uuid4()
    async with hub.subscribe(tenant) as kept:
        async with hub.subscribe(tenant):
            assert len(hub._subscribers[tenant]) == 2
        assert len(hub._subscribers[tenant]) == 1
        hub.publish(tenant, {"n": 1})
        assert await drain(kept, 1) == [{"n": 1}]
    assert tenant not in hub._subscribers


async def test_a_full_queue_drops_its_oldest_messages(monkeypatch):
    monkeypatch.setattr(pubsub, "QUEUE_LIMIT", 3)
    hub = InProcessHub()
    tenant = uuid.uuid4()
    async with hub.subscribe(tenant) as messages:
        for n in range(1, 8):
            hub.publish(tenant, {"n": n})
        assert await drain(messages, 3) == [{"n": 5}, {"n": 6}, {"n": 7}]
        hub.publish(tenant, {"n": 8})
        assert await drain(messages, 1) == [{"n": 8}]


async def test_stop_forgets_subscribers():
    hub = InProcessHub()
    async with hub.subscribe(uuid.uuid4()):
        await hub.stop()
        assert hub._subscribers == {}


def test_make_hub_chooses_redis_only_with_a_url():
    assert isinstance(make_hub(None), InProcessHub)
    assert isinstance(make_hub("redis://127.0.0.1:6379/0"), pubsub.RedisHub)
