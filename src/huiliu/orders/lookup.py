"""Order lookup in an external system (an ERP or an OMS) over HTTP, for order numbers intake finds in
a message that are not known locally yet.

Protocol (docs/orders.md): ``GET {HUILIU_ORDER_LOOKUP_URL}?number=<order number>`` with
``Accept: application/json`` and, when ``HUILIU_ORDER_LOOKUP_TOKEN`` is set,
``Authorization: Bearer <token>``. 200 with a JSON order object: found; 404: no such order; anything
else, a timeout or a connection error: the ERP is unavailable. Lookups never raise: intake must not
fail because an ERP is slow or down.

Results are cached in the process (a TTL cache from cachetools): found orders for
``cache_seconds``, "no such order" for ``negative_cache_seconds``. After a failure the ERP is not
asked again for ``failure_backoff_seconds`` (a burst of messages must not each wait for the timeout),
and concurrent lookups of one number share one request."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import httpx
from cachetools import TLRUCache
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from huiliu.core.clock import ensure_utc
from huiliu.core.errors import ValidationFailed
from huiliu.orders.domain import (
    DEFAULT_CURRENCY,
    ORDER_STATUSES,
    check_amount,
    normalize_currency,
    normalize_order_number,
    normalize_platform,
)
from huiliu.settings import Settings

log = logging.getLogger(__name__)

ERP_ZONE = ZoneInfo("Asia/Shanghai")  # naive timestamps from an ERP are taken as Beijing time
MAX_ITEMS = 500


class LookupOutcome(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"  # timeout, connection error, 5xx, bad credentials, malformed reply


@dataclass(frozen=True)
class ErpOrder:
    """An order as the ERP describes it, validated and normalized."""

    number: str
    platform: str | None = None
    status: str | None = None
    amount: Decimal | None = None
    currency: str = DEFAULT_CURRENCY
    items: list[dict[str, Any]] = field(default_factory=list)
    placed_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LookupResult:
    outcome: LookupOutcome
    order: ErpOrder | None = None


class _ErpPayload(BaseModel):
    """What we read from the ERP's reply; other fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    number: str = Field(min_length=1, max_length=64)
    platform: str | None = None
    status: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    items: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_ITEMS)
    placed_at: datetime | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=100)


def parse_erp_order(payload: Any) -> ErpOrder:
    """Validate an ERP reply body; ValidationFailed when it is not an order we can store."""
    try:
        data = _ErpPayload.model_validate(payload)
    except ValidationError as exc:
        raise ValidationFailed(f"not an order: {exc.errors()[0]['msg']}") from None
    attributes = dict(data.attributes)
    status = None
    if data.status is not None:
        if data.status in ORDER_STATUSES:
            status = data.status
        else:
            attributes["erp_status"] = data.status  # kept for agents, outside the normalized vocabulary
    placed_at = None
    if data.placed_at is not None:
        placed_at = data.placed_at if data.placed_at.tzinfo else data.placed_at.replace(tzinfo=ERP_ZONE)
        placed_at = ensure_utc(placed_at)
    return ErpOrder(
        number=normalize_order_number(data.number),
        platform=normalize_platform(data.platform) if data.platform else None,
        status=status,
        amount=check_amount(data.amount) if data.amount is not None else None,
        currency=normalize_currency(data.currency) if data.currency else DEFAULT_CURRENCY,
        items=data.items,
        placed_at=placed_at,
        attributes=attributes,
    )


_MISS = object()
CacheKey = tuple[uuid.UUID, str]


class OrderLookup:
    """One configured ERP endpoint with its cache. Built once per process (see ``from_settings``)
    and closed at shutdown."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout_seconds: float = 2.0,
        cache_seconds: float = 300.0,
        negative_cache_seconds: float = 60.0,
        failure_backoff_seconds: float = 30.0,
        max_entries: int = 10_000,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.token = token
        self.timeout_seconds = timeout_seconds
        self.cache_seconds = cache_seconds
        self.negative_cache_seconds = negative_cache_seconds
        self.failure_backoff_seconds = failure_backoff_seconds
        self._transport = transport
        self._clock = clock
        self._cache: TLRUCache[CacheKey, ErpOrder | None] = TLRUCache(
            maxsize=max_entries, ttu=self._expires, timer=clock
        )
        self._inflight: dict[CacheKey, asyncio.Future[LookupResult]] = {}
        self._unavailable_until = 0.0
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OrderLookup | None:
        """The configured lookup, or None when ``HUILIU_ORDER_LOOKUP_URL`` is not set."""
        if not settings.order_lookup_url:
            return None
        return cls(
            settings.order_lookup_url,
            token=settings.order_lookup_token or None,
            timeout_seconds=settings.order_lookup_timeout_seconds,
            cache_seconds=settings.order_lookup_cache_seconds,
            negative_cache_seconds=settings.order_lookup_negative_cache_seconds,
            failure_backoff_seconds=settings.order_lookup_failure_backoff_seconds,
        )

    def _expires(self, _key: CacheKey, value: ErpOrder | None, now: float) -> float:
        return now + (self.cache_seconds if value is not None else self.negative_cache_seconds)

    async def find(self, tenant_id: uuid.UUID, number: str) -> LookupResult:
        """Look ``number`` (normalized) up, from the cache when it can. Never raises."""
        key = (tenant_id, number)
        cached = self._cache.get(key, _MISS)
        if isinstance(cached, ErpOrder):
            return LookupResult(LookupOutcome.FOUND, cached)
        if cached is None:
            return LookupResult(LookupOutcome.NOT_FOUND)
        if self._clock() < self._unavailable_until:
            return LookupResult(LookupOutcome.UNAVAILABLE)
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(key))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _done: self._inflight.pop(key, None))
        # Shielded: a caller that gives up does not cancel the request others are waiting on.
        return await asyncio.shield(pending)

    async def prefetch(self, tenant_id: uuid.UUID, numbers: list[str]) -> None:
        """Warm the cache for ``numbers`` concurrently, e.g. before opening a transaction."""
        await asyncio.gather(*(self.find(tenant_id, number) for number in dict.fromkeys(numbers)))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Accept": "application/json", "User-Agent": "Huiliu order lookup"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            self._client = httpx.AsyncClient(
                transport=self._transport,
                headers=headers,
                timeout=httpx.Timeout(self.timeout_seconds),
                follow_redirects=False,
            )
        return self._client

    async def _fetch(self, key: CacheKey) -> LookupResult:
        number = key[1]
        try:
            async with asyncio.timeout(self.timeout_seconds):
                response = await self._http().get(self.url, params={"number": number})
        except (TimeoutError, httpx.HTTPError) as exc:
            return self._unavailable(f"{type(exc).__name__} looking up order {number}")
        if response.status_code == 404:
            self._cache[key] = None
            return LookupResult(LookupOutcome.NOT_FOUND)
        if response.status_code != 200:
            return self._unavailable(f"HTTP {response.status_code} looking up order {number}")
        try:
            order = parse_erp_order(response.json())
        except (ValueError, ValidationFailed) as exc:
            # This number's reply is unusable; the ERP itself answered, so other numbers still go.
            log.warning("order lookup: malformed reply for %s: %s", number, exc)
            self._cache[key] = None
            return LookupResult(LookupOutcome.UNAVAILABLE)
        if order.number != number:
            log.warning("order lookup: asked for %s, the reply describes %s", number, order.number)
            self._cache[key] = None
            return LookupResult(LookupOutcome.UNAVAILABLE)
        self._cache[key] = order
        return LookupResult(LookupOutcome.FOUND, order)

    def _unavailable(self, reason: str) -> LookupResult:
        log.warning(
            "order lookup unavailable (%s); not asking again for %ss", reason, self.failure_backoff_seconds
        )
        self._unavailable_until = self._clock() + self.failure_backoff_seconds
        return LookupResult(LookupOutcome.UNAVAILABLE)


async def get_order_lookup(request: Request) -> OrderLookup | None:
    """FastAPI dependency: the process's order lookup (built in the app's lifespan), if configured."""
    lookup: OrderLookup | None = getattr(request.app.state, "order_lookup", None)
    return lookup


OrderLookupDep = Annotated[OrderLookup | None, Depends(get_order_lookup)]
