"""Order and opportunity rules: number normalization, money, platforms, currencies, stages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huiliu.core.errors import ValidationFailed
from huiliu.orders.domain import (
    check_amount,
    is_closed_stage,
    normalize_currency,
    normalize_order_number,
    normalize_platform,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  so20261123001 ", "SO20261123001"),
        ("ＳＯ２０２６１１２３００１", "SO20261123001"),
        ("231123-123456789012345", "231123-123456789012345"),
        ("123456789012345678", "123456789012345678"),
        ("PO/2026/0001#2", "PO/2026/0001#2"),
    ],
)
def test_order_numbers_are_stored_folded_and_upper_case(raw: str, expected: str) -> None:
    assert normalize_order_number(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "SO 2026", "-123", "订单123", "x" * 65, "a;b"])
def test_bad_order_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed):
        normalize_order_number(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("199", Decimal("199.00")),
        ("1299.5", Decimal("1299.50")),
        (Decimal("0.10"), Decimal("0.10")),
        (0, Decimal("0.00")),
    ],
)
def test_amounts_are_kept_to_the_fen(raw: object, expected: Decimal) -> None:
    assert check_amount(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["-1", "1.234", "NaN", "Infinity", "abc", "1000000000000"])
def test_bad_amounts_are_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed):
        check_amount(raw)


def test_platform_and_currency_are_normalized() -> None:
    assert normalize_platform(" Taobao ") == "taobao"
    assert normalize_currency("cny") == "CNY"
    for bad in ("淘宝", "1shop", "a" * 33):
        with pytest.raises(ValidationFailed):
            normalize_platform(bad)
    for bad in ("RMB1", "元", "US"):
        with pytest.raises(ValidationFailed):
            normalize_currency(bad)


def test_won_and_lost_are_the_closed_stages() -> None:
    assert is_closed_stage("won") and is_closed_stage("lost")
    assert not is_closed_stage("proposal")
