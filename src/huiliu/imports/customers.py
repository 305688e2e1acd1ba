"""The ``customers`` importer: header names in Chinese and English, row validation, and an upsert
through ``customers.service.upsert_customer`` — a row whose identities match an existing customer
updates it (the identity-graph rules apply, strong-key merges included) instead of duplicating it.
Columns no field claims are kept as customer attributes under their header."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from huiliu.auth.domain import Actor
from huiliu.core.errors import ValidationFailed
from huiliu.customers.domain import normalize_identity
from huiliu.customers.service import upsert_customer
from huiliu.db.session import UnitOfWork
from huiliu.imports.domain import ColumnSpec, MappedRow, RowInvalid
from huiliu.imports.registry import ImportContext, Importer, RowOutcome

# Imported here so the tickets' customer-record mover is registered wherever imports run (a row can
# merge two customers, and their tickets must move along).
from huiliu.tickets import service as _tickets_service  # noqa: F401

KIND = "customers"

COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "name",
        ("姓名", "客户姓名", "客户名称", "名称", "客户", "联系人", "customer", "customer name", "full name"),
        "姓名 / name",
    ),
    ColumnSpec(
        "phone",
        (
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "移动电话",
            "mobile",
            "mobile phone",
            "phone number",
            "tel",
            "telephone",
            "cellphone",
        ),
        "手机号 / phone",
    ),
    ColumnSpec(
        "email", ("邮箱", "电子邮箱", "邮件", "电子邮件", "e-mail", "mail", "email address"), "邮箱 / e-mail"
    ),
    ColumnSpec("level", ("等级", "客户等级", "级别", "会员等级", "tier", "customer level"), "等级 / level"),
    ColumnSpec("wechat_unionid", ("微信unionid", "unionid", "wechat unionid"), "微信 UnionID"),
    ColumnSpec("wechat_openid", ("微信openid", "openid", "wechat openid"), "微信 OpenID"),
    ColumnSpec(
        "wecom_external_userid",
        (
            "企业微信外部联系人id",
            "企微外部联系人id",
            "企业微信id",
            "external userid",
            "wecom external userid",
        ),
        "企业微信外部联系人 ID",
    ),
    ColumnSpec("douyin_openid", ("抖音openid", "douyin openid"), "抖音 OpenID"),
    ColumnSpec(
        "device_sn", ("设备序列号", "序列号", "设备sn", "sn", "serial number", "device sn"), "设备序列号 / SN"
    ),
)
IDENTITY_FIELDS = (
    "phone",
    "email",
    "wechat_unionid",
    "wechat_openid",
    "wecom_external_userid",
    "douyin_openid",
    "device_sn",
)
# A file without any identity column could only create duplicates on every import: refused.
NEEDS_ONE_OF = IDENTITY_FIELDS
# Several phone numbers or addresses in one cell: "13800138000/13900139000", "a@x.cn; b@y.cn".
_MULTI = re.compile(r"[;；,，、/|\n]+")
_LEVELS = {"普通": "normal", "普通客户": "normal", "vip": "vip", "vip客户": "vip", "svip": "svip"}
_FIELD_LABELS = {
    "phone": "手机号无效",
    "email": "邮箱无效",
    "device_sn": "设备序列号无效",
}
NO_IDENTITY = "缺少手机号、邮箱等身份信息 (no phone, e-mail or other identity to match the customer by)"
MAX_ATTRIBUTE_KEY = 100
MAX_ATTRIBUTE_VALUE = 1000


@dataclass(frozen=True)
class CustomerRow:
    name: str | None
    level: str | None
    identities: list[tuple[str, str]]
    attributes: dict[str, Any]


def _values(field: str, raw: str) -> list[str]:
    if field in {"phone", "email"}:
        return [part.strip() for part in _MULTI.split(raw) if part.strip()]
    return [raw]


def parse_customer_row(row: MappedRow) -> CustomerRow:
    """Validate one row: every identity must be well-formed (a bad phone or e-mail is a row error),
    and a row needs at least one identity to be matched on a later import."""
    problems: list[tuple[str | None, str]] = []
    identities: list[tuple[str, str]] = []
    for field in IDENTITY_FIELDS:
        raw = row.fields.get(field)
        if not raw:
            continue
        for value in _values(field, raw):
            try:
                identities.append((field, normalize_identity(field, value)))
            except ValidationFailed as exc:
                label = _FIELD_LABELS.get(field, f"{field} 无效")
                problems.append((row.header_of(field), f"{label} ({exc.detail})"))
    name = row.fields.get("name")
    if name is not None and len(name) > 200:
        problems.append((row.header_of("name"), "姓名过长 (name longer than 200 characters)"))
    level = row.fields.get("level")
    if level is not None:
        level = _LEVELS.get(level.lower(), level.lower() if level.isascii() else level)
        if len(level) > 32:
            problems.append((row.header_of("level"), "等级过长 (level longer than 32 characters)"))
    if not identities and not problems:
        problems.append((None, NO_IDENTITY))
    attributes: dict[str, Any] = {}
    for header, value in row.extras.items():
        if len(header) > MAX_ATTRIBUTE_KEY or len(value) > MAX_ATTRIBUTE_VALUE:
            problems.append((header, f"内容过长 (longer than {MAX_ATTRIBUTE_VALUE} characters)"))
            continue
        attributes[header] = value
    if problems:
        raise RowInvalid(problems)
    return CustomerRow(name=name, level=level, identities=identities, attributes=attributes)


async def apply_customer_row(
    uow: UnitOfWork, actor: Actor, row: CustomerRow, context: ImportContext
) -> RowOutcome:
    _, created = await upsert_customer(
        uow,
        actor,
        name=row.name,
        level=row.level,
        attributes=row.attributes,
        identities=row.identities,
        source={"import_job_id": context.job_id, "file": context.file_name, "row": context.row_number},
    )
    return "created" if created else "updated"


CUSTOMER_IMPORTER = Importer(
    columns=COLUMNS,
    needs_one_of=NEEDS_ONE_OF,
    parse=parse_customer_row,
    apply=apply_customer_row,
    permission="customer.write",
    permissions=frozenset({"customer.read", "customer.write"}),
    label={"zh-CN": "客户", "en": "Customers"},
)
