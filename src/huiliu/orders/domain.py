"""Orders and opportunities (商机): the vocabulary and the rules. Pure, no I/O.

An order number is unique per tenant and compared without regard to case or full-width forms: the
stored form is NFKC-folded, trimmed and upper-cased, the same form entity extraction produces for
letter-prefixed ERP ids."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from huiliu.core.errors import ValidationFailed

MAX_NUMBER_LENGTH = 64
MAX_AMOUNT = Decimal("1000000000000")  # 10^12 yuan: beyond any real order, inside Numeric(16, 2)
AMOUNT_PLACES = 2
DEFAULT_CURRENCY = "CNY"

_NUMBER = re.compile(r"[0-9A-Z][0-9A-Z_./#-]*")
_PLATFORM = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CURRENCY = re.compile(r"[A-Z]{3}")


class OrderStatus(StrEnum):
    """The normalized order lifecycle; platforms' own statuses are mapped onto it by integrations."""

    PENDING = "pending"  # 待付款
    PAID = "paid"  # 已付款 / 待发货
    SHIPPED = "shipped"  # 已发货
    COMPLETED = "completed"  # 已完成 / 已签收
    CANCELLED = "cancelled"  # 已取消
    REFUNDING = "refunding"  # 退款中 / 售后中
    REFUNDED = "refunded"  # 已退款


class OpportunityStage(StrEnum):
    QUALIFICATION = "qualification"  # 初步接洽
    NEEDS_ANALYSIS = "needs_analysis"  # 需求确认
    PROPOSAL = "proposal"  # 方案报价
    NEGOTIATION = "negotiation"  # 谈判审核
    WON = "won"  # 赢单
    LOST = "lost"  # 输单


ORDER_STATUSES: frozenset[str] = frozenset(status.value for status in OrderStatus)
OPPORTUNITY_STAGES: frozenset[str] = frozenset(stage.value for stage in OpportunityStage)
CLOSED_STAGES = frozenset({OpportunityStage.WON, OpportunityStage.LOST})


class LinkSource(StrEnum):
    """How an order came to be linked to a ticket."""

    EXTRACTED = "extracted"  # intake found its number in the customer's message
    MANUAL = "manual"  # an agent or an integrator linked it


# Labels for the console, zh-CN first (the default UI language), then English.
ORDER_STATUS_LABELS: dict[str, dict[str, str]] = {
    OrderStatus.PENDING: {"zh-CN": "待付款", "en": "Awaiting payment"},
    OrderStatus.PAID: {"zh-CN": "已付款", "en": "Paid"},
    OrderStatus.SHIPPED: {"zh-CN": "已发货", "en": "Shipped"},
    OrderStatus.COMPLETED: {"zh-CN": "已完成", "en": "Completed"},
    OrderStatus.CANCELLED: {"zh-CN": "已取消", "en": "Cancelled"},
    OrderStatus.REFUNDING: {"zh-CN": "退款中", "en": "Refund in progress"},
    OrderStatus.REFUNDED: {"zh-CN": "已退款", "en": "Refunded"},
}
OPPORTUNITY_STAGE_LABELS: dict[str, dict[str, str]] = {
    OpportunityStage.QUALIFICATION: {"zh-CN": "初步接洽", "en": "Qualification"},
    OpportunityStage.NEEDS_ANALYSIS: {"zh-CN": "需求确认", "en": "Needs analysis"},
    OpportunityStage.PROPOSAL: {"zh-CN": "方案报价", "en": "Proposal"},
    OpportunityStage.NEGOTIATION: {"zh-CN": "谈判审核", "en": "Negotiation"},
    OpportunityStage.WON: {"zh-CN": "赢单", "en": "Won"},
    OpportunityStage.LOST: {"zh-CN": "输单", "en": "Lost"},
}


def normalize_order_number(raw: str) -> str:
    """The stored form of an order number: NFKC, trimmed, upper case; letters, digits and - _ . / #."""
    number = unicodedata.normalize("NFKC", raw).strip().upper()
    if not number:
        raise ValidationFailed("an order number cannot be empty")
    if len(number) > MAX_NUMBER_LENGTH:
        raise ValidationFailed(f"an order number has at most {MAX_NUMBER_LENGTH} characters")
    if not _NUMBER.fullmatch(number):
        raise ValidationFailed(
            "an order number starts with a letter or digit and holds only letters, digits and - _ . / #"
        )
    return number


def normalize_platform(raw: str) -> str:
    """Where an order was placed: a short lowercase slug (taobao, jd, pinduoduo, douyin, erp …)."""
    platform = raw.strip().lower()
    if not _PLATFORM.fullmatch(platform):
        raise ValidationFailed("platform is a lowercase slug: a letter, then letters, digits or _ (≤ 32)")
    return platform


def normalize_currency(raw: str) -> str:
    currency = raw.strip().upper()
    if not _CURRENCY.fullmatch(currency):
        raise ValidationFailed("currency is a three-letter ISO 4217 code such as CNY")
    return currency


def check_amount(value: Decimal | int | str | float, *, field: str = "amount") -> Decimal:
    """A non-negative amount of money with at most two decimal places (fen)."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed(f"{field} is not a number") from None
    if not amount.is_finite():
        raise ValidationFailed(f"{field} is not a number")
    if amount < 0:
        raise ValidationFailed(f"{field} cannot be negative")
    if amount >= MAX_AMOUNT:
        raise ValidationFailed(f"{field} is too large")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_PLACES and amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(f"{field} has at most {AMOUNT_PLACES} decimal places")
    return amount.quantize(Decimal("0.01"))


def is_closed_stage(stage: str) -> bool:
    return stage in CLOSED_STAGES
