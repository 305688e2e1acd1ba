"""One run of a loader per key at a time, shared by every caller that asks for the key meanwhile.

The per-process caches (reactor configuration, actors) expire every few seconds; under load every
request in flight misses at the same moment, and each reading the value itself multiplied one query by
the number of requests in flight. A run is its own task, so one caller giving up does not fail the
others; ``forget`` makes later callers start a new run (the cached value changed while one was
running)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Task[V]] = {}

    async def run(self, key: K, loader: Callable[[], Awaitable[V]]) -> V:
        task = self._running.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._run(key, loader))
            self._running[key] = task
        return await asyncio.shield(task)

    async def _run(self, key: K, loader: Callable[[], Awaitable[V]]) -> V:
        try:
            return await loader()
        finally:
            if self._running.get(key) is asyncio.current_task():
                self._running.pop(key)

    def forget(self, matches: Callable[[K], bool] | None = None) -> None:
        """Later callers of the matching keys (all without ``matches``) start a new run."""
        for key in [k for k in self._running if matches is None or matches(k)]:
            self._running.pop(key)
