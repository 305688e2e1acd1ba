"""The public rate limiter in process memory and in Redis (shared by API processes)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from huiliu.channels.ratelimit import RateLimiter, parse_limits
from huiliu.core.errors import RateLimited, ValidationFailed

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


def limited(settings: Any, **changes: Any) -> Any:
    return settings.model_copy(update={"public_rate_limit_per_ip": "3/minute", **changes})


async def exhaust(limiter: RateLimiter, key: str) -> RateLimited:
    for _ in range(3):
        await limiter.hit(limiter.limits.write_per_ip, "test", key)
    with pytest.raises(RateLimited) as refused:
        await limiter.hit(limiter.limits.write_per_ip, "test", key)
    return refused.value


async def test_memory_limiter_counts_per_key(settings: Any) -> None:
    limiter = RateLimiter(limited(settings))
    refused = await exhaust(limiter, "10.0.0.1")
    assert 1 <= refused.extra["retry_after"] <= 60
    await limiter.hit(limiter.limits.write_per_ip, "test", "10.0.0.2")


async def test_redis_limiter_is_shared_between_processes(settings: Any) -> None:
    if not await redis_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    first = RateLimiter(limited(settings, redis_url=REDIS_URL))
    second = RateLimiter(limited(settings, redis_url=REDIS_URL))
    key = f"10.1.{uuid.uuid4().int % 250}.{uuid.uuid4().hex[:6]}"
    for limiter in (first, first, second):
        await limiter.hit(limiter.limits.write_per_ip, "test", key)
    with pytest.raises(RateLimited):
        await second.hit(second.limits.write_per_ip, "test", key)


def test_limits_notation() -> None:
    assert [str(item) for item in parse_limits("10/minute;100/hour")] == ["10 per 1 minute", "100 per 1 hour"]
    with pytest.raises(ValidationFailed):
        parse_limits("lots")
