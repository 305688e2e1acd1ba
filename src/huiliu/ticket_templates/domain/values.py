"""Field values checked against a template: each type's rules, conditional visibility and
required-ness, per-channel visibility and per-role read-only/hidden. Pure.

``validate_values`` walks the fields top to bottom (conditions read only earlier fields), so a field
whose condition does not hold is hidden: it is not required and its value is dropped. The result
holds the clean values (normalised: money as a string with two decimals, datetimes in UTC, phones
without spaces) and every problem as a per-field error in Chinese and English."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from huiliu.ticket_templates.domain.conditions import evaluate, is_empty
from huiliu.ticket_templates.domain.schema import FieldSpec, Option, TemplateSchema, parse_schema

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_MAX_LENGTH = {"text": 500, "textarea": 5000, "order_ref": 64}
DEFAULT_MAX_COUNT = {"image": 9, "file": 10, "multi_select": 100}
MAX_MONEY = Decimal("1e12")
CENT = Decimal("0.01")

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(0\d{2,3})-?(\d{7,8})(?:-(\d{1,6}))?$")
SERVICE_LINE = re.compile(r"^([48]00)-?(\d{3})-?(\d{4})$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
ORDER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    zh: str
    en: str

    def as_problem(self) -> dict[str, Any]:
        """The entry of a problem's ``errors`` list."""
        return {
            "field": self.field,
            "code": self.code,
            "message": self.en,
            "messages": {"zh-CN": self.zh, "en": self.en},
        }


@dataclass(frozen=True)
class Checked:
    """What validation found: the clean values, the errors, and the ids the service must look up
    (attachments and customers have to exist in the tenant)."""

    values: dict[str, Any]
    errors: list[FieldError]
    visible: list[str] = field(default_factory=list)
    attachment_ids: dict[str, list[str]] = field(default_factory=dict)
    customer_ids: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class Invalid(ValueError):
    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


def _text(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str):
        raise Invalid("type", "应为文本", "must be text")
    value = raw.strip()
    _length(spec, value)
    if spec.pattern is not None and spec.pattern.fullmatch(value) is None:
        raise Invalid("pattern", "格式不正确", "does not have the required format")
    return value


def _length(spec: FieldSpec, value: str) -> None:
    longest = spec.validation.get("max_length", DEFAULT_MAX_LENGTH.get(spec.type))
    shortest = spec.validation.get("min_length")
    if shortest is not None and len(value) < shortest:
        raise Invalid("min_length", f"至少 {shortest} 个字符", f"must be at least {shortest} characters")
    if longest is not None and len(value) > longest:
        raise Invalid("max_length", f"最多 {longest} 个字符", f"must be at most {longest} characters")


def _range(spec: FieldSpec, value: Any, low: Any, high: Any) -> None:
    if low is not None and value < low:
        raise Invalid(
            "min", f"不能小于 {spec.validation['min']}", f"must be at least {spec.validation['min']}"
        )
    if high is not None and value > high:
        raise Invalid(
            "max", f"不能大于 {spec.validation['max']}", f"must be at most {spec.validation['max']}"
        )


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise Invalid("type", "应为数字", "must be a number")
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise Invalid("type", "应为数字", "must be a number") from exc
    if not value.is_finite():
        raise Invalid("type", "应为数字", "must be a number")
    return value


def _bound(spec: FieldSpec, name: str) -> Decimal | None:
    bound = spec.validation.get(name)
    return None if bound is None else Decimal(str(bound))


def _number(spec: FieldSpec, raw: Any) -> int | float:
    value = _decimal(raw)
    _range(spec, value, _bound(spec, "min"), _bound(spec, "max"))
    if value == value.to_integral_value() and abs(value) < 2**53:
        return int(value)
    as_float = float(value)
    if math.isinf(as_float):
        raise Invalid("type", "数字过大", "is too large")
    return as_float


def _money(spec: FieldSpec, raw: Any) -> str:
    if isinstance(raw, float):
        raw = repr(raw)
    value = _decimal(raw)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(CENT):
        raise Invalid("money", "金额最多两位小数", "must have at most two decimal places")
    if abs(value) >= MAX_MONEY:
        raise Invalid("max", "金额过大", "is too large")
    _range(spec, value, _bound(spec, "min"), _bound(spec, "max"))
    return str(value.quantize(CENT))


def _label(option: Option) -> str:
    return option.label.get("zh-CN") or option.label.get("en") or option.value


def _select(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str) or raw not in spec.option_values():
        raise Invalid("option", "不是可选的选项", "is not one of the options")
    return raw


def _count(spec: FieldSpec, items: list[Any]) -> None:
    most = spec.validation.get("max", DEFAULT_MAX_COUNT.get(spec.type))
    least = spec.validation.get("min")
    if least is not None and len(items) < least:
        raise Invalid("min", f"至少选择 {least} 项", f"needs at least {least:g} items")
    if most is not None and len(items) > most:
        raise Invalid("max", f"最多 {most} 项", f"takes at most {most:g} items")


def _multi_select(spec: FieldSpec, raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise Invalid("type", "应为选项列表", "must be a list of options")
    if len(set(raw)) != len(raw):
        raise Invalid("duplicate", "同一选项选了两次", "lists an option twice")
    allowed = spec.option_values()
    if any(item not in allowed for item in raw):
        raise Invalid("option", "包含不可选的选项", "holds a value that is not one of the options")
    _count(spec, raw)
    return list(raw)


def _cascade(spec: FieldSpec, raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(item, str) for item in raw):
        raise Invalid("type", "应为逐级选择的路径", "must be the list of chosen values, level by level")
    level: tuple[Option, ...] = spec.options
    for depth, value in enumerate(raw):
        chosen = next((option for option in level if option.value == value), None)
        if chosen is None:
            raise Invalid(
                "option", f"第 {depth + 1} 级不是可选的选项", f"level {depth + 1} is not one of the options"
            )
        level = chosen.children
    if level:
        raise Invalid("incomplete", "请选择到最后一级", "must be chosen down to the last level")
    return list(raw)


def _date(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str) or not ISO_DATE.match(raw.strip()):
        raise Invalid("date", "应为日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)")
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise Invalid("date", "不是有效日期", "is not a valid date") from exc
    low, high = spec.validation.get("min"), spec.validation.get("max")
    _range(spec, value.isoformat(), low, high)
    return value.isoformat()


def parse_datetime(raw: str) -> datetime:
    """An ISO 8601 date and time; without an offset it is Beijing time (what the forms show)."""
    value = datetime.fromisoformat(raw.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(ZoneInfo("UTC"))


def _datetime(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str) or len(raw) > 40:
        raise Invalid("datetime", "应为日期时间", "must be a date and time (ISO 8601)")
    try:
        value = parse_datetime(raw)
    except ValueError as exc:
        raise Invalid("datetime", "不是有效的日期时间", "is not a valid date and time") from exc
    low, high = spec.validation.get("min"), spec.validation.get("max")
    _range(
        spec,
        value,
        parse_datetime(low) if isinstance(low, str) else None,
        parse_datetime(high) if isinstance(high, str) else None,
    )
    return value.isoformat().replace("+00:00", "Z")


def normalize_cn_phone(raw: str) -> str | None:
    """A Chinese mobile number as 11 digits, a landline as ``0AA-NNNNNNN[-ext]``, a 400/800 service
    line as ``400-NNN-NNNN``; None when it is neither."""
    text = raw.strip().replace(" ", "").replace("(", "").replace(")", "")
    if text.startswith("+86"):
        text = text[3:].lstrip("-")
    elif text.startswith("0086"):
        text = text[4:].lstrip("-")
    mobile = text.replace("-", "")
    if MOBILE.match(mobile):
        return mobile
    if match := SERVICE_LINE.match(text):
        return "-".join(match.groups())
    if match := LANDLINE.match(text):
        area, number, extension = match.groups()
        return f"{area}-{number}" + (f"-{extension}" if extension else "")
    return None


def _phone(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise Invalid("phone", "应为电话号码", "must be a phone number")
    value = normalize_cn_phone(str(raw))
    if value is None:
        raise Invalid(
            "phone", "不是有效的手机号或固话号码", "is not a valid Chinese mobile or landline number"
        )
    return value


def _email(spec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str) or len(raw.strip()) > 254 or not EMAIL.match(raw.strip()):
        raise Invalid("email", "不是有效的邮箱地址", "is not a valid e-mail address")
    local, _, domain = raw.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def _uuid(raw: Any, zh: str, en: str) -> str:
    if not isinstance(raw, str):
        raise Invalid("reference", zh, en)
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise Invalid("reference", zh, en) from exc


def _attachments(spec: FieldSpec, raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise Invalid("type", "应为附件列表", "must be a list of attachment ids")
    ids = [_uuid(item, "不是有效的附件", "is not an attachment id") for item in raw]
    if len(set(ids)) != len(ids):
        raise Invalid("duplicate", "同一附件出现两次", "lists an attachment twice")
    _count(spec, ids)
    return ids


def _signature(spec: FieldSpec, raw: Any) -> str:
    return _uuid(raw, "签名应为一张图片", "must be the attachment id of the signature image")


def _location(spec: FieldSpec, raw: Any) -> dict[str, Any]:
    """An address, a point (latitude and longitude together) or both: a customer typing an address
    on a phone has no coordinates, a map pick or the phone's position has them."""
    if not isinstance(raw, Mapping) or set(raw) - {"lat", "lng", "address"}:
        raise Invalid("location", "应为位置（地址或经纬度）", 'must be {"address"?, "lat"?, "lng"?}')
    location: dict[str, Any] = {}
    address = raw.get("address")
    if address is not None and (not isinstance(address, str) or len(address.strip()) > 200):
        raise Invalid("location", "地址最多 200 个字符", "the address is text of at most 200 characters")
    if address and address.strip():
        location["address"] = address.strip()
    lat, lng = raw.get("lat"), raw.get("lng")
    if (lat is None) != (lng is None):
        raise Invalid("location", "经度和纬度需同时填写", "needs both latitude and longitude")
    if lat is not None and lng is not None:
        for value, limit in ((lat, 90), (lng, 180)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not -limit <= value <= limit:
                raise Invalid("location", "经纬度超出范围", "latitude or longitude is out of range")
        location.update(lat=float(lat), lng=float(lng))
    if not location:
        raise Invalid("location", "请填写地址或选择位置", "needs an address or a position")
    return location


def _customer_ref(spec: FieldSpec, raw: Any) -> str:
    return _uuid(raw, "不是有效的客户", "is not a customer id")


def _order_ref(spec: FieldSpec, raw: Any) -> str:
    value = _text(spec, raw)
    if not ORDER_NUMBER.match(value):
        raise Invalid("order", "不是有效的订单号", "is not an order number")
    return value


COERCE = {
    "text": _text,
    "textarea": _text,
    "number": _number,
    "money": _money,
    "select": _select,
    "multi_select": _multi_select,
    "cascade": _cascade,
    "date": _date,
    "datetime": _datetime,
    "phone": _phone,
    "email": _email,
    "image": _attachments,
    "file": _attachments,
    "signature": _signature,
    "location": _location,
    "customer_ref": _customer_ref,
    "order_ref": _order_ref,
}


def coerce(spec: FieldSpec, raw: Any) -> Any:
    """One field's value, normalised; Invalid says why it cannot be taken."""
    return COERCE[spec.type](spec, raw)


def check_default(spec: FieldSpec) -> str | None:
    """What is wrong with a field's default (None: nothing). References and uploads have none."""
    if spec.type in {"image", "file", "signature", "customer_ref"}:
        return f"{spec.type} fields take no default"
    try:
        coerce(spec, spec.default)
    except Invalid as exc:
        return f"the default {exc.en}"
    return None


def load_schema(raw: Any) -> TemplateSchema:
    """A stored or submitted field list as a schema; SchemaInvalid lists what is wrong."""
    return parse_schema(raw, check_default=check_default)


def _required(spec: FieldSpec, clean: Mapping[str, Any]) -> bool:
    return spec.required or (spec.required_when is not None and evaluate(spec.required_when, clean))


def _error(spec: FieldSpec, code: str, zh: str, en: str) -> FieldError:
    label = spec.label.get("zh-CN") or spec.key
    label_en = spec.label.get("en") or label
    return FieldError(spec.key, code, f"{label}：{zh}", f"{label_en} {en}")


def validate_values(
    schema: TemplateSchema,
    values: Mapping[str, Any],
    *,
    channel: str | None,
    role: str | None,
    current: Mapping[str, Any] | None = None,
) -> Checked:
    """Check ``values`` against the schema as ``role`` sees it on ``channel``.

    Creating (``current`` is None): defaults fill fields left out. Updating: ``values`` are the
    changed fields; fields left out keep their current value and are checked again (a condition may
    have changed), read-only fields may not change, hidden ones keep their value untouched.
    ``channel`` None means every field is shown (an agent's edit in the console)."""
    specs = schema.by_key()
    errors: list[FieldError] = [
        FieldError(key, "unknown", "不是该模板的字段", "is not a field of this template")
        for key in values
        if key not in specs
    ]
    creating = current is None
    before: Mapping[str, Any] = current or {}
    clean: dict[str, Any] = {}
    visible: list[str] = []
    for spec in schema.fields:
        key = spec.key
        rule = spec.rule_for(role)
        if rule == "hidden" or not spec.shown_on(channel):
            # Not asked here: nothing is taken from this caller; what the field holds stays.
            kept = spec.default if creating else before.get(key)
            if rule == "hidden" and key in values and not is_empty(values[key]) and values[key] != kept:
                errors.append(_error(spec, "hidden", "无权填写", "cannot be set by your role"))
            if not is_empty(kept):
                clean[key] = kept
            continue
        if spec.visible_when is not None and not evaluate(spec.visible_when, clean):
            continue
        visible.append(key)
        provided = key in values
        raw = values[key] if provided else (spec.default if creating else before.get(key))
        if rule == "read_only":
            kept = spec.default if creating else before.get(key)
            if provided and not is_empty(raw) and raw != kept:
                errors.append(_error(spec, "read_only", "只读，不能修改", "is read-only for your role"))
            raw = kept
        if is_empty(raw):
            if _required(spec, clean):
                errors.append(_error(spec, "required", "必填", "is required"))
            continue
        try:
            clean[key] = coerce(spec, raw)
        except Invalid as exc:
            errors.append(_error(spec, exc.code, exc.zh, exc.en))
    return Checked(clean, errors, visible, *_references(schema, clean))


def _references(
    schema: TemplateSchema, clean: Mapping[str, Any]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    attachments: dict[str, list[str]] = {}
    customers: dict[str, str] = {}
    for spec in schema.fields:
        value = clean.get(spec.key)
        if value is None:
            continue
        if spec.type in {"image", "file"}:
            attachments[spec.key] = list(value)
        elif spec.type == "signature":
            attachments[spec.key] = [value]
        elif spec.type == "customer_ref":
            customers[spec.key] = value
    return attachments, customers


def display_value(spec: FieldSpec, value: Any) -> Any:
    """A value as people read it: option labels instead of option values (cascade joined by '/')."""
    if spec.type == "select":
        chosen = next((o for o in spec.options if o.value == value), None)
        return _label(chosen) if chosen else value
    if spec.type == "multi_select" and isinstance(value, list):
        labels = {o.value: _label(o) for o in spec.options}
        return [labels.get(item, item) for item in value]
    if spec.type == "cascade" and isinstance(value, list):
        names, level = [], spec.options
        for item in value:
            chosen = next((o for o in level if o.value == item), None)
            names.append(_label(chosen) if chosen else item)
            level = chosen.children if chosen else ()
        return " / ".join(names)
    return value
