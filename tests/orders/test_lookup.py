"""The ERP order lookup against a fake ERP that checks the protocol: bearer token, the number
parameter, 200/404/5xx, timeouts, the positive and negative cache, the failure back-off and
single-flight requests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from huiliu.core.errors import ValidationFailed
from huiliu.orders.lookup import LookupOutcome, OrderLookup, parse_erp_order
from huiliu.settings import Settings
from tests.orders.conftest import ERP_TOKEN, ERP_URL, FakeErp

TENANT = uuid.uuid4()
ORDER = {
    "number": "SO20261123001",
    "platform": "erp",
    "status": "paid",
    "amount": "1299.00",
    "currency": "CNY",
    "items": [{"name": "扫地机器人 X1", "sku": "X1-W", "quantity": 1, "unit_price": "1299.00"}],
    "placed_at": "2026-11-11T00:05:00+08:00",
    "warehouse": "上海仓",  # unknown fields are ignored
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_lookup(erp: FakeErp, clock: Clock | None = None, **options: float) -> OrderLookup:
    return OrderLookup(
        ERP_URL,
        token=ERP_TOKEN,
        transport=erp.transport(),
        clock=clock or Clock(),
        **options,  # type: ignore[arg-type]
    )


async def test_found_order_is_parsed_and_normalized() -> None:
    erp = FakeErp(orders={"SO20261123001": ORDER})
    result = await make_lookup(erp).find(TENANT, "SO20261123001")
    assert result.outcome is LookupOutcome.FOUND
    order = result.order
    assert order is not None
    assert order.number == "SO20261123001"
    assert order.amount == Decimal("1299.00")
    assert order.status == "paid"
    assert order.placed_at == datetime(2026, 11, 10, 16, 5, tzinfo=UTC)
    assert order.items[0]["sku"] == "X1-W"
    assert erp.numbers_asked() == ["SO20261123001"]
    assert erp.requests[0].headers["authorization"] == f"Bearer {ERP_TOKEN}"


async def test_unknown_number_is_not_found_and_cached_negatively() -> None:
    erp = FakeErp()
    clock = Clock()
    lookup = make_lookup(erp, clock, negative_cache_seconds=60)
    assert (await lookup.find(TENANT, "123456789012345678")).outcome is LookupOutcome.NOT_FOUND
    assert (await lookup.find(TENANT, "123456789012345678")).outcome is LookupOutcome.NOT_FOUND
    assert len(erp.requests) == 1
    clock.now += 61
    assert (await lookup.find(TENANT, "123456789012345678")).outcome is LookupOutcome.NOT_FOUND
    assert len(erp.requests) == 2


async def test_found_orders_are_cached_until_they_expire() -> None:
    erp = FakeErp(orders={"SO20261123001": ORDER})
    clock = Clock()
    lookup = make_lookup(erp, clock, cache_seconds=300)
    for _ in range(3):
        assert (await lookup.find(TENANT, "SO20261123001")).outcome is LookupOutcome.FOUND
    assert len(erp.requests) == 1
    clock.now += 301
    await lookup.find(TENANT, "SO20261123001")
    assert len(erp.requests) == 2


async def test_cache_is_per_tenant() -> None:
    erp = FakeErp(orders={"SO20261123001": ORDER})
    lookup = make_lookup(erp)
    await lookup.find(TENANT, "SO20261123001")
    await lookup.find(uuid.uuid4(), "SO20261123001")
    assert len(erp.requests) == 2


async def test_timeout_is_unavailable_and_backs_off() -> None:
    erp = FakeErp(orders={"SO20261123001": ORDER}, delay=5)
    clock = Clock()
    lookup = make_lookup(erp, clock, timeout_seconds=0.05, failure_backoff_seconds=30)
    assert (await lookup.find(TENANT, "SO20261123001")).outcome is LookupOutcome.UNAVAILABLE
    # During the back-off nobody waits for the ERP again, for any number.
    assert (await lookup.find(TENANT, "SO20261123002")).outcome is LookupOutcome.UNAVAILABLE
    assert len(erp.requests) == 1
    clock.now += 31
    erp.delay = 0
    assert (await lookup.find(TENANT, "SO20261123001")).outcome is LookupOutcome.FOUND


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_unavailable_and_not_cached_as_missing(status: int) -> None:
    erp = FakeErp(orders={"SO20261123001": ORDER}, fail_with=status)
    clock = Clock()
    lookup = make_lookup(erp, clock, failure_backoff_seconds=10)
    assert (await lookup.find(TENANT, "SO20261123001")).outcome is LookupOutcome.UNAVAILABLE
    clock.now += 11
    erp.fail_with = None
    assert (await lookup.find(TENANT, "SO20261123001")).outcome is LookupOutcome.FOUND


async def test_wrong_token_is_unavailable() -> None:
    erp = FakeErp(orders={"SO20261123001": ORDER}, token="the-real-token")
    result = await make_lookup(erp).find(TENANT, "SO20261123001")
    assert result.outcome is LookupOutcome.UNAVAILABLE


async def test_no_token_configured_sends_no_authorization_header() -> None:
    erp = FakeErp(orders={"SO20261123001": ORDER}, token=None)
    lookup = OrderLookup(ERP_URL, transport=erp.transport(), clock=Clock())
    assert (await lookup.find(TENANT, "SO20261123001")).outcome is LookupOutcome.FOUND
    assert "authorization" not in erp.requests[0].headers


async def test_connection_error_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    lookup = OrderLookup(ERP_URL, transport=httpx.MockTransport(refuse), clock=Clock())
    assert (await lookup.find(TENANT, "SO1")).outcome is LookupOutcome.UNAVAILABLE


@pytest.mark.parametrize(
    "body",
    [
        {"number": "SO20261123001", "amount": "-5"},
        {"number": "SO20261123001", "amount": "1.999"},
        {"number": "SO20261123001", "placed_at": "yesterday"},
        {"number": "SO99999999999"},  # describes another order
        {"amount": "1.00"},
    ],
)
async def test_malformed_replies_are_not_stored(body: dict[str, object]) -> None:
    erp = FakeErp(orders={"SO20261123001": body})
    lookup = make_lookup(erp)
    result = await lookup.find(TENANT, "SO20261123001")
    assert result.outcome is LookupOutcome.UNAVAILABLE
    assert result.order is None
    # The ERP itself answered: other numbers are still looked up.
    assert (await lookup.find(TENANT, "SO20261123002")).outcome is LookupOutcome.NOT_FOUND


async def test_concurrent_lookups_of_one_number_share_one_request() -> None:
    erp = FakeErp(orders={"SO20261123001": ORDER}, delay=0.05)
    lookup = make_lookup(erp)
    results = await asyncio.gather(*(lookup.find(TENANT, "SO20261123001") for _ in range(10)))
    assert {r.outcome for r in results} == {LookupOutcome.FOUND}
    assert len(erp.requests) == 1


async def test_prefetch_warms_the_cache() -> None:
    erp = FakeErp(orders={"SO20261123001": ORDER})
    lookup = make_lookup(erp)
    await lookup.prefetch(TENANT, ["SO20261123001", "SO20261123002", "SO20261123001"])
    assert sorted(erp.numbers_asked()) == ["SO20261123001", "SO20261123002"]
    await lookup.find(TENANT, "SO20261123001")
    await lookup.find(TENANT, "SO20261123002")
    assert len(erp.requests) == 2
    await lookup.close()


def test_unknown_erp_status_is_kept_as_an_attribute() -> None:
    order = parse_erp_order(
        {"number": "so1", "status": "WAIT_SELLER_SEND_GOODS", "placed_at": "2026-11-11 10:00:00"}
    )
    assert order.number == "SO1"
    assert order.status is None
    assert order.attributes["erp_status"] == "WAIT_SELLER_SEND_GOODS"
    assert order.placed_at == datetime(2026, 11, 11, 2, 0, tzinfo=UTC)  # naive ERP time is Beijing time


def test_parse_refuses_non_objects() -> None:
    with pytest.raises(ValidationFailed):
        parse_erp_order(["SO1"])


def test_from_settings_needs_a_url() -> None:
    assert OrderLookup.from_settings(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    lookup = OrderLookup.from_settings(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            order_lookup_url=ERP_URL,
            order_lookup_token="t",
            order_lookup_timeout_seconds=1.5,
        )
    )
    assert lookup is not None
    assert (lookup.url, lookup.token, lookup.timeout_seconds) == (ERP_URL, "t", 1.5)
