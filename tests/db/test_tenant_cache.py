"""``TenantCache.load``: one load per tenant at a time, shared by the callers that miss together; an
invalidation while loading is not overwritten by the value it raced with."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from huiliu.db.session import TenantCache


async def test_callers_that_miss_together_share_one_load() -> None:
    cache: TenantCache[int] = TenantCache(ttl=60)
    tenant = uuid.uuid4()
    loads = 0
    release = asyncio.Event()

    async def loader() -> int:
        nonlocal loads
        loads += 1
        await release.wait()
        return 7

    waiting = [asyncio.create_task(cache.load(tenant, loader)) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [7] * 50
    assert loads == 1
    assert await cache.load(tenant, loader) == 7 and loads == 1  # fresh: answered from memory


async def test_other_tenants_load_on_their_own() -> None:
    cache: TenantCache[str] = TenantCache(ttl=60)
    first, second = uuid.uuid4(), uuid.uuid4()

    async def load_first() -> str:
        return "first"

    async def load_second() -> str:
        return "second"

    assert await asyncio.gather(cache.load(first, load_first), cache.load(second, load_second)) == [
        "first",
        "second",
    ]


async def test_an_expired_entry_is_loaded_again() -> None:
    cache: TenantCache[int] = TenantCache(ttl=0)
    tenant = uuid.uuid4()
    values = iter([1, 2])

    async def loader() -> int:
        return next(values)

    assert await cache.load(tenant, loader) == 1
    assert await cache.load(tenant, loader) == 2


async def test_a_load_that_raced_an_invalidation_is_not_kept() -> None:
    cache: TenantCache[str] = TenantCache(ttl=60)
    tenant = uuid.uuid4()
    release = asyncio.Event()

    async def old_value() -> str:
        await release.wait()
        return "before the change"

    async def new_value() -> str:
        return "after the change"

    loading = asyncio.create_task(cache.load(tenant, old_value))
    await asyncio.sleep(0)
    cache.invalidate(tenant)  # the configuration changed while the old value was being read
    # A caller after the change does not join the old load.
    assert await cache.load(tenant, new_value) == "after the change"
    release.set()
    assert await loading == "before the change"
    assert cache.get(tenant) == "after the change"


async def test_a_caller_giving_up_does_not_fail_the_others() -> None:
    cache: TenantCache[int] = TenantCache(ttl=60)
    tenant = uuid.uuid4()
    release = asyncio.Event()

    async def loader() -> int:
        await release.wait()
        return 3

    first = asyncio.create_task(cache.load(tenant, loader))
    second = asyncio.create_task(cache.load(tenant, loader))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == 3


async def test_a_failed_load_is_raised_to_every_caller_and_not_kept() -> None:
    cache: TenantCache[int] = TenantCache(ttl=60)
    tenant = uuid.uuid4()

    async def broken() -> int:
        raise RuntimeError("database unavailable")

    results = await asyncio.gather(
        cache.load(tenant, broken), cache.load(tenant, broken), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)

    async def working() -> int:
        return 1

    assert await cache.load(tenant, working) == 1
