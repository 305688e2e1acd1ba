"""The ``orders`` and ``opportunities`` importers for the import framework (``huiliu.imports``):
header names in Chinese and English, row validation, and writes through ``orders.service``.

Orders: one row per order, matched on the order number — a row with a known number updates that
order (only the columns present), otherwise it creates one. The customer is found (or created) from
the buyer's phone / e-mail with the identity-graph rules, or named by ``customer_id``; a row without
either is stored without a customer. Opportunities: matched on (customer, title); the customer is
required. Columns no field claims are kept as attributes under their header."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from huiliu.auth import queries as auth_queries
from huiliu.auth.domain import Actor
from huiliu.core.errors import ValidationFailed
from huiliu.customers.domain import normalize_identity
from huiliu.customers.service import resolve_customer
from huiliu.db.session import UnitOfWork
from huiliu.imports.domain import ColumnSpec, MappedRow, RowInvalid
from huiliu.imports.registry import ImportContext, Importer, RowOutcome, register_importer
from huiliu.orders import service
from huiliu.orders.domain import (
    OpportunityStage,
    OrderStatus,
    check_amount,
    normalize_currency,
    normalize_order_number,
    normalize_platform,
)
from huiliu.orders.schemas import OpportunityCreate, OrderCreate, OrderItem

ORDERS = "orders"
OPPORTUNITIES = "opportunities"
# Spreadsheet times without a zone are Beijing time (the exports' convention).
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
MAX_ATTRIBUTE_KEY = 100
MAX_ATTRIBUTE_VALUE = 1000

CUSTOMER_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("customer_id", ("客户id", "客户编号id", "customer id"), "客户 ID / customer_id"),
    ColumnSpec(
        "customer_name",
        (
            "客户姓名",
            "客户名称",
            "客户",
            "买家",
            "买家姓名",
            "收货人",
            "收货人姓名",
            "customer",
            "customer name",
            "buyer",
        ),
        "客户姓名 / customer name",
    ),
    ColumnSpec(
        "phone",
        (
            "手机",
            "手机号",
            "手机号码",
            "联系电话",
            "客户手机",
            "客户手机号",
            "客户电话",
            "买家手机",
            "收货人手机",
            "收货人电话",
            "mobile",
            "phone number",
            "tel",
        ),
        "手机号 / phone",
    ),
    ColumnSpec(
        "email",
        ("邮箱", "电子邮箱", "买家邮箱", "客户邮箱", "e-mail", "mail", "email address"),
        "邮箱 / e-mail",
    ),
)
ORDER_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "number",
        (
            "订单号",
            "订单编号",
            "订单号码",
            "单号",
            "主订单编号",
            "order number",
            "order no",
            "order id",
            "order",
        ),
        "订单号 / order number",
    ),
    ColumnSpec("platform", ("平台", "来源平台", "销售平台", "渠道", "source"), "平台 / platform"),
    ColumnSpec("status", ("状态", "订单状态", "order status"), "订单状态 / status"),
    ColumnSpec(
        "amount",
        (
            "金额",
            "订单金额",
            "实付金额",
            "实付款",
            "买家实付",
            "总金额",
            "total",
            "order amount",
            "paid amount",
        ),
        "金额 / amount",
    ),
    ColumnSpec("currency", ("币种", "货币"), "币种 / currency"),
    ColumnSpec(
        "placed_at",
        (
            "下单时间",
            "订单创建时间",
            "创建时间",
            "订单时间",
            "付款时间",
            "placed at",
            "order time",
            "order date",
        ),
        "下单时间 / placed_at",
    ),
    ColumnSpec(
        "item", ("商品", "商品名称", "宝贝标题", "商品标题", "产品", "item", "product"), "商品 / item"
    ),
    ColumnSpec("sku", ("sku", "商品编码", "商家编码", "货号"), "SKU"),
    ColumnSpec("quantity", ("数量", "购买数量", "件数", "qty"), "数量 / quantity"),
    *CUSTOMER_COLUMNS,
)
OPPORTUNITY_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("title", ("商机名称", "商机", "标题", "名称", "opportunity", "name"), "商机名称 / title"),
    ColumnSpec("stage", ("阶段", "商机阶段", "销售阶段"), "阶段 / stage"),
    ColumnSpec(
        "amount", ("金额", "预计金额", "商机金额", "预计成交金额", "expected amount"), "金额 / amount"
    ),
    ColumnSpec("currency", ("币种", "货币"), "币种 / currency"),
    ColumnSpec(
        "expected_close_at",
        ("预计成交日期", "预计成交时间", "预计签单日期", "预计结单日期", "expected close", "close date"),
        "预计成交日期 / expected close",
    ),
    ColumnSpec(
        "owner_email", ("负责人邮箱", "销售邮箱", "owner", "owner email"), "负责人邮箱 / owner e-mail"
    ),
    *CUSTOMER_COLUMNS,
)

# Platforms' status words (淘宝/天猫, 京东, 拼多多, 抖店 exports) on the normalized vocabulary.
_STATUS_WORDS: dict[str, str] = {
    "待付款": "pending",
    "等待买家付款": "pending",
    "未付款": "pending",
    "已付款": "paid",
    "待发货": "paid",
    "买家已付款": "paid",
    "等待卖家发货": "paid",
    "已发货": "shipped",
    "卖家已发货": "shipped",
    "等待买家确认收货": "shipped",
    "待收货": "shipped",
    "已完成": "completed",
    "交易成功": "completed",
    "已签收": "completed",
    "已收货": "completed",
    "已取消": "cancelled",
    "交易关闭": "cancelled",
    "已关闭": "cancelled",
    "退款中": "refunding",
    "售后中": "refunding",
    "已退款": "refunded",
    "退款成功": "refunded",
}
_STAGE_WORDS: dict[str, str] = {
    "初步接洽": "qualification",
    "线索": "qualification",
    "需求确认": "needs_analysis",
    "需求分析": "needs_analysis",
    "方案报价": "proposal",
    "报价": "proposal",
    "谈判审核": "negotiation",
    "商务谈判": "negotiation",
    "赢单": "won",
    "成交": "won",
    "输单": "lost",
    "丢单": "lost",
}
_MONEY_NOISE = re.compile(r"[¥￥,，\s]|元$|^RMB|^CNY", re.IGNORECASE)
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)


def _money(text: str) -> Decimal:
    return check_amount(_MONEY_NOISE.sub("", text))


def _moment(text: str) -> datetime:
    """ISO 8601 (with or without a zone) or the usual spreadsheet layouts; naive is Beijing time."""
    value = text.strip().replace("年", "-").replace("月", "-").replace("日", "")
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        for layout in _TIME_FORMATS:
            try:
                parsed = datetime.strptime(value, layout)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValidationFailed(f"not a date or time: {text}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_ZONE)
    return parsed.astimezone(UTC)


def _vocabulary(text: str, words: dict[str, str], allowed: type[OrderStatus] | type[OpportunityStage]) -> str:
    value = words.get(text.strip(), text.strip().lower().replace(" ", "_"))
    if value not in {member.value for member in allowed}:
        raise ValidationFailed(f"unknown value {text}")
    return value


@dataclass(frozen=True)
class CustomerRef:
    customer_id: uuid.UUID | None
    name: str | None
    identities: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class OrderRow:
    order: OrderCreate
    customer: CustomerRef


@dataclass(frozen=True)
class OpportunityRow:
    fields: dict[str, Any]
    owner_email: str | None
    customer: CustomerRef


class _Problems:
    """Collects a row's problems as (column header, message)."""

    def __init__(self, row: MappedRow) -> None:
        self.row = row
        self.items: list[tuple[str | None, str]] = []

    def check(self, field: str, label: str, convert: Any) -> Any:
        raw = self.row.fields.get(field)
        if raw is None:
            return None
        try:
            return convert(raw)
        except (ValidationFailed, ValueError) as exc:
            detail = exc.detail if isinstance(exc, ValidationFailed) else str(exc)
            self.items.append((self.row.header_of(field), f"{label}无效 ({detail})"))
            return None

    def add(self, field: str | None, message: str) -> None:
        self.items.append((self.row.header_of(field) if field else None, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise RowInvalid(self.items)


def _customer(row: MappedRow, problems: _Problems) -> CustomerRef:
    identities: list[tuple[str, str]] = []
    for kind, label in (("phone", "手机号"), ("email", "邮箱")):
        value = problems.check(kind, label, lambda raw, kind=kind: normalize_identity(kind, raw))
        if value is not None:
            identities.append((kind, value))
    customer_id = problems.check("customer_id", "客户 ID", uuid.UUID)
    name = row.fields.get("customer_name")
    if name is not None and len(name) > 200:
        problems.add("customer_name", "客户姓名过长 (longer than 200 characters)")
    return CustomerRef(customer_id, name, tuple(identities))


def _attributes(row: MappedRow, problems: _Problems) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for header, value in row.extras.items():
        if len(header) > MAX_ATTRIBUTE_KEY or len(value) > MAX_ATTRIBUTE_VALUE:
            problems.items.append((header, f"内容过长 (longer than {MAX_ATTRIBUTE_VALUE} characters)"))
            continue
        attributes[header] = value
    return attributes


def parse_order_row(row: MappedRow) -> OrderRow:
    """Validate one order row; every bad cell is reported, in Chinese with the English reason."""
    problems = _Problems(row)
    number = problems.check("number", "订单号", normalize_order_number)
    if number is None and "number" not in row.fields:
        problems.add(None, "缺少订单号 (no order number)")
    fields: dict[str, Any] = {
        "platform": problems.check("platform", "平台", lambda raw: normalize_platform(_platform_slug(raw))),
        "status": problems.check(
            "status", "订单状态", lambda raw: _vocabulary(raw, _STATUS_WORDS, OrderStatus)
        ),
        "amount": problems.check("amount", "金额", _money),
        "currency": problems.check("currency", "币种", normalize_currency),
        "placed_at": problems.check("placed_at", "下单时间", _moment),
    }
    quantity = problems.check("quantity", "数量", lambda raw: Decimal(raw.replace(",", "")))
    customer = _customer(row, problems)
    attributes = _attributes(row, problems)
    item_name = row.fields.get("item")
    items: list[OrderItem] = []
    if item_name:
        try:
            items.append(
                OrderItem(name=item_name[:200], sku=row.fields.get("sku"), quantity=quantity or Decimal(1))
            )
        except ValueError as exc:
            problems.add("item", f"商品无效 ({exc})")
    problems.raise_if_any()
    # Only the columns the file has are sent: an update leaves the others as they are.
    sent: dict[str, Any] = {name: value for name, value in fields.items() if value is not None}
    if items:
        sent["items"] = items
    if attributes:
        sent["attributes"] = attributes
    return OrderRow(OrderCreate(number=number, **sent), customer)


_PLATFORM_WORDS = {
    "淘宝": "taobao",
    "天猫": "tmall",
    "京东": "jd",
    "拼多多": "pinduoduo",
    "抖音": "douyin",
    "抖店": "douyin",
    "快手": "kuaishou",
    "微信小店": "wechat",
    "有赞": "youzan",
    "线下": "offline",
    "门店": "offline",
}


def _platform_slug(raw: str) -> str:
    return _PLATFORM_WORDS.get(raw.strip(), raw)


async def _resolve(uow: UnitOfWork, actor: Actor, customer: CustomerRef) -> uuid.UUID | None:
    if customer.customer_id is not None:
        return customer.customer_id
    if not customer.identities:
        return None
    return await resolve_customer(uow, customer.name, list(customer.identities), actor=actor)


async def apply_order_row(uow: UnitOfWork, actor: Actor, row: OrderRow, context: ImportContext) -> RowOutcome:
    customer_id = await _resolve(uow, actor, row.customer)
    order = row.order
    if customer_id is not None:
        order = order.model_copy(update={"customer_id": customer_id})
    _, created = await service.upsert_order(uow, actor, order)
    return "created" if created else "updated"


def parse_opportunity_row(row: MappedRow) -> OpportunityRow:
    problems = _Problems(row)
    title = row.fields.get("title")
    if title is None:
        problems.add(None, "缺少商机名称 (no title)")
    elif len(title) > 200:
        problems.add("title", "商机名称过长 (longer than 200 characters)")
    fields: dict[str, Any] = {
        "title": title,
        "stage": problems.check(
            "stage", "阶段", lambda raw: _vocabulary(raw, _STAGE_WORDS, OpportunityStage)
        ),
        "amount": problems.check("amount", "金额", _money),
        "currency": problems.check("currency", "币种", normalize_currency),
        "expected_close_at": problems.check("expected_close_at", "预计成交日期", _moment),
    }
    owner_email = problems.check("owner_email", "负责人邮箱", lambda raw: normalize_identity("email", raw))
    customer = _customer(row, problems)
    if customer.customer_id is None and not customer.identities and not problems.items:
        problems.add(None, "缺少客户手机号、邮箱或客户 ID (no phone, e-mail or customer_id for the customer)")
    attributes = _attributes(row, problems)
    problems.raise_if_any()
    if attributes:
        fields["attributes"] = attributes
    return OpportunityRow({k: v for k, v in fields.items() if v is not None}, owner_email, customer)


async def _owner(uow: UnitOfWork, email: str | None) -> uuid.UUID | None:
    if email is None:
        return None
    users, _ = await auth_queries.list_users(uow.session, auth_queries.UserFilters(text=email, active=True))
    match = next((user for user in users if user.email.lower() == email), None)
    if match is None:
        raise ValidationFailed(f"负责人不存在 (no active user with the e-mail {email})")
    return uuid.UUID(str(match.id))


async def apply_opportunity_row(
    uow: UnitOfWork, actor: Actor, row: OpportunityRow, context: ImportContext
) -> RowOutcome:
    customer_id = await _resolve(uow, actor, row.customer)
    assert customer_id is not None  # parse refused rows without a customer
    fields = dict(row.fields)
    if row.owner_email is not None:
        fields["owner_id"] = await _owner(uow, row.owner_email)
    request = OpportunityCreate(customer_id=customer_id, **fields)
    _, created = await service.upsert_opportunity(uow, actor, request)
    return "created" if created else "updated"


ORDER_IMPORTER = Importer(
    columns=ORDER_COLUMNS,
    needs_one_of=("number",),
    parse=parse_order_row,
    apply=apply_order_row,
    permission="order.write",
    permissions=frozenset({"order.read", "order.write", "customer.read", "customer.write"}),
    label={"zh-CN": "订单", "en": "Orders"},
)
OPPORTUNITY_IMPORTER = Importer(
    columns=OPPORTUNITY_COLUMNS,
    needs_one_of=("title",),
    parse=parse_opportunity_row,
    apply=apply_opportunity_row,
    permission="opportunity.write",
    permissions=frozenset({"opportunity.read", "opportunity.write", "customer.read", "customer.write"}),
    label={"zh-CN": "商机", "en": "Opportunities"},
)

register_importer(ORDERS, ORDER_IMPORTER)
register_importer(OPPORTUNITIES, OPPORTUNITY_IMPORTER)
