"""Live-update fan-out after commit. In-process when embedded; Redis pub/sub across processes when
HUILIU_REDIS_URL is set. Messages are event envelopes plus the audience used for scope filtering."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson

QUEUE_LIMIT = 1000


class Hub(Protocol):
    def publish(self, tenant_id: uuid.UUID, message: dict[str, Any]) -> None: ...

    def subscribe(
        self, tenant_id: uuid.UUID
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessHub:
    """Fan-out to subscribers of this process. A slow subscriber loses its oldest messages rather
    than blocking writers; clients re-fetch on reconnect."""

    def __init__(self) -> None:
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[dict[str, Any]]]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._subscribers.clear()

    def listening(self) -> bool:
        """Whether anybody is subscribed in this process (to any tenant)."""
        return bool(self._subscribers)

    def publish(self, tenant_id: uuid.UUID, message: dict[str, Any]) -> None:
        for queue in tuple(self._subscribers.get(tenant_id, ())):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant_id: uuid.UUID) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.setdefault(tenant_id, set()).add(queue)

        async def messages() -> AsyncIterator[dict[str, Any]]:
            while True:
                yield await queue.get()

        try:
            yield messages()
        finally:
            subscribers = self._subscribers.get(tenant_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    self._subscribers.pop(tenant_id, None)


class RedisHub:
    """Publishes to ``huiliu:live:<tenant>``; each process relays that channel to its local subscribers."""

    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._local = InProcessHub()
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[Any]] = set()

    @staticmethod
    def channel(tenant_id: uuid.UUID) -> str:
        return f"huiliu:live:{tenant_id}"

    async def start(self) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(self._url)
        self._listener = asyncio.create_task(self._relay())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()
        await self._local.stop()

    async def _relay(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.psubscribe("huiliu:live:*")
        try:
            async for raw in pubsub.listen():
                if raw.get("type") != "pmessage":
                    continue
                channel = raw["channel"].decode() if isinstance(raw["channel"], bytes) else raw["channel"]
                tenant_id = uuid.UUID(channel.rsplit(":", 1)[1])
                self._local.publish(tenant_id, orjson.loads(raw["data"]))
        finally:
            await pubsub.aclose()

    def publish(self, tenant_id: uuid.UUID, message: dict[str, Any]) -> None:
        if self._redis is None:
            self._local.publish(tenant_id, message)
            return
        task = asyncio.get_running_loop().create_task(
            self._redis.publish(self.channel(tenant_id), orjson.dumps(message, default=str))
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def subscribe(
        self, tenant_id: uuid.UUID
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        return self._local.subscribe(tenant_id)


def make_hub(redis_url: str | None) -> Hub:
    return RedisHub(redis_url) if redis_url else InProcessHub()
