"""``ActorCache.load``: requests that miss together read the user (or API key) once; a change to the
user while loading is not overwritten by the old actor; a token of another version loads on its own."""

from __future__ import annotations

import asyncio
import uuid

from huiliu.auth.domain import Actor, ActorKind, DataScope
from huiliu.auth.service import ActorCache


def _actor(name: str) -> Actor:
    return Actor(ActorKind.USER, uuid.uuid4(), uuid.uuid4(), name, frozenset(), DataScope.ALL)


async def test_requests_that_miss_together_load_once() -> None:
    cache = ActorCache(ttl=60)
    user = uuid.uuid4()
    loads = 0
    release = asyncio.Event()
    actor = _actor("客服小王")

    async def loader() -> tuple[Actor, int]:
        nonlocal loads
        loads += 1
        await release.wait()
        return actor, 3

    waiting = [asyncio.create_task(cache.load(user, 3, loader)) for _ in range(64)]
    await asyncio.sleep(0)
    release.set()
    assert all(found is actor for found in await asyncio.gather(*waiting))
    assert loads == 1
    assert cache.get(user, 3) is actor and cache.get(user, 2) is None


async def test_another_token_version_loads_on_its_own() -> None:
    cache = ActorCache(ttl=60)
    user = uuid.uuid4()
    seen: list[int | None] = []

    async def loader_for(version: int | None) -> tuple[Actor, int]:
        seen.append(version)
        return _actor("x"), 2

    await asyncio.gather(
        cache.load(user, 1, lambda: loader_for(1)), cache.load(user, 2, lambda: loader_for(2))
    )
    assert sorted(v for v in seen if v is not None) == [1, 2]


async def test_a_change_while_loading_is_not_overwritten() -> None:
    cache = ActorCache(ttl=60)
    user = uuid.uuid4()
    release = asyncio.Event()

    async def before_the_change() -> tuple[Actor, int]:
        await release.wait()
        return _actor("old role"), 1

    loading = asyncio.create_task(cache.load(user, 1, before_the_change))
    await asyncio.sleep(0)
    cache.discard(user)  # e.g. the user's role changed in this process meanwhile
    release.set()
    assert (await loading).name == "old role"
    assert cache.get(user, 1) is None


async def test_a_refusal_reaches_every_caller_and_nothing_is_kept() -> None:
    cache = ActorCache(ttl=60)
    user = uuid.uuid4()

    async def inactive() -> tuple[Actor, int]:
        raise PermissionError("user is unknown or inactive")

    results = await asyncio.gather(*(cache.load(user, 1, inactive) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, PermissionError) for r in results)
    assert cache.get(user, 1) is None
