"""Rate limits for the public routes: sliding-window counters from the ``limits`` library, kept in
Redis when ``HUILIU_REDIS_URL`` is set (shared by every API process) and in process memory otherwise.

One limiter lives per application (on ``app.state``), created on first use from the settings."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from huiliu.core.errors import RateLimited, ValidationFailed
from huiliu.settings import Settings

KEY_PREFIX = "huiliu-ratelimit"


def parse_limits(text: str) -> list[RateLimitItem]:
    """``"10/minute;100/hour"`` as limit items; a setting that does not parse is a start-up error."""
    try:
        return list(parse_many(text))
    except ValueError as exc:
        raise ValidationFailed(f"not a rate limit: {text!r}") from exc


@dataclass(frozen=True)
class PublicLimits:
    write_per_ip: list[RateLimitItem]
    write_per_entry_point: list[RateLimitItem]
    read_per_ip: list[RateLimitItem]


class RateLimiter:
    """Counts hits per (scope, key) and refuses past a limit with 429 and ``retry_after``."""

    def __init__(self, settings: Settings) -> None:
        storage: Storage
        if settings.redis_url:
            storage = RedisStorage(
                "async+" + settings.redis_url, implementation="redispy", key_prefix=KEY_PREFIX
            )
        else:
            storage = MemoryStorage()
        self.storage = storage
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self.limits = PublicLimits(
            write_per_ip=parse_limits(settings.public_rate_limit_per_ip),
            write_per_entry_point=parse_limits(settings.public_rate_limit_per_entry_point),
            read_per_ip=parse_limits(settings.public_read_rate_limit_per_ip),
        )

    async def hit(self, items: list[RateLimitItem], scope: str, key: str) -> None:
        """Count one request against every limit in ``items``; RateLimited when one is exhausted."""
        for item in items:
            if await self._strategy.hit(item, scope, key):
                continue
            stats = await self._strategy.get_window_stats(item, scope, key)
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimited(f"too many requests; try again in {retry_after} s", retry_after=retry_after)


def limiter_for(request: Request, settings: Settings) -> RateLimiter:
    """The application's limiter, made on first use."""
    limiter: RateLimiter | None = getattr(request.app.state, "public_rate_limiter", None)
    if limiter is None:
        limiter = RateLimiter(settings)
        request.app.state.public_rate_limiter = limiter
    return limiter


def client_ip(request: Request) -> str:
    """The peer address (behind a proxy, run uvicorn with ``--forwarded-allow-ips`` so that this is
    the customer's address from X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"
