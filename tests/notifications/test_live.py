"""Live push of in-app notifications without Redis: the API process's inbox relay publishes each new
inbox row once, to its recipient alone."""

from __future__ import annotations

import asyncio
from typing import Any

from huiliu.core.pubsub import InProcessHub
from huiliu.live.service import sse_frame, visible_to
from huiliu.notifications.relay import InboxRelay
from huiliu.worker.processor import OutboxProcessor
from tests.factories import Member
from tests.notifications.helpers import notify
from tests.worker.helpers import drain


async def test_the_relay_pushes_a_new_inbox_item_once_to_its_recipient_alone(
    runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor
) -> None:
    hub = InProcessHub()
    relay = InboxRelay(runtime.db, hub)
    async with hub.subscribe(tenant.id) as messages:
        await relay.relay_once()
        await notify(runtime, tenant.id, [agent], severity="critical", message="VIP 客户投诉升级")
        await drain(processor, tenant.id)
        # Other tests' tenants may have fresh inbox rows too: the count is not this tenant's alone.
        assert await relay.relay_once() >= 1
        message = await asyncio.wait_for(anext(messages), 1)
        assert message["type"] == "notification.created"
        notification = message["data"]["notification"]
        assert (notification["recipient_id"], notification["severity"]) == (str(agent.user.id), "critical")
        assert notification["body"] == "VIP 客户投诉升级"
        # The admin sees every ticket of the tenant, yet another user's notification is not theirs.
        assert visible_to(agent.actor, message)
        assert not visible_to(admin.actor, message)
        frame = sse_frame(message)
        assert "audience" not in frame
        # Not an outbox event: no ``id:`` line, so a reconnect still resumes from the last ticket event.
        assert frame.startswith("event: notification.created\n")
        # Read again within the look-back window: nothing is published twice.
        await relay.relay_once()
        assert messages_waiting(hub, tenant.id) == 0


def messages_waiting(hub: InProcessHub, tenant_id: Any) -> int:
    return sum(queue.qsize() for queue in hub._subscribers.get(tenant_id, ()))


async def test_the_relay_reads_only_while_somebody_listens(
    runtime: Any, tenant: Any, monkeypatch: Any
) -> None:
    hub = InProcessHub()
    relay = InboxRelay(runtime.db, hub, poll_seconds=0.01)
    reads = 0

    async def counted() -> int:
        nonlocal reads
        reads += 1
        return 0

    monkeypatch.setattr(relay, "relay_once", counted)
    await relay.start()
    try:
        await asyncio.sleep(0.1)
        assert reads == 0  # nobody connected: no reads
        async with hub.subscribe(tenant.id):
            await asyncio.sleep(0.1)
            assert reads > 0
    finally:
        await relay.stop()
