"""A tenant's category taxonomy (分类体系): the categories its tickets are sorted into, each with a key
(what ``tickets.category``, rules and the model use) and display names in zh-CN and English.

The classifier predicts the shipped dataset's categories plus any a tenant taught it through
corrections (learning mode); only categories in the tenant's taxonomy are ever offered or filled. A
prediction outside it falls to the best-scoring category inside it, with that category's own
probability as the confidence (not renormalised: the mass the model put outside the taxonomy is
uncertainty, and a low confidence sends the ticket to 待分类); when no category of the taxonomy is
known to the model there is no category and the ticket goes to triage (decision 0045).

Stored in ``tenants.settings["classification"]["categories"]``; a tenant that never set it has the
shipped dataset's twelve categories (:data:`DEFAULT_CATEGORIES`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from huiliu.core.errors import ValidationFailed

LOCALES = ("zh-CN", "en")
MAX_CATEGORIES = 100
MAX_KEY_CHARS = 100  # tickets.category is a String(100)
MAX_NAME_CHARS = 40


@dataclass(frozen=True)
class Category:
    key: str
    names: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "names": dict(self.names)}


def _shipped(key: str, zh: str, en: str) -> Category:
    return Category(key, {"zh-CN": zh, "en": en})


# The shipped dataset's categories (data/classifier/README.md), in the console's order.
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    _shipped("consultation", "咨询", "Consultation"),
    _shipped("logistics", "物流", "Logistics"),
    _shipped("refund_return", "退换货", "Refund / return"),
    _shipped("product_quality", "产品质量", "Product quality"),
    _shipped("installation_repair", "安装维修", "Installation / repair"),
    _shipped("billing", "账单费用", "Billing"),
    _shipped("account", "账户", "Account"),
    _shipped("course", "课程", "Course"),
    _shipped("insurance_claim", "保险理赔", "Insurance claim"),
    _shipped("card_service", "卡片业务", "Card service"),
    _shipped("booking", "预约", "Booking"),
    _shipped("other", "其他", "Other"),
)


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string.")
    if not value.strip() or value != value.strip():
        raise ValidationFailed(f"{name} must not be blank or start or end with spaces.")
    if len(value) > limit:
        raise ValidationFailed(f"{name} must be at most {limit} characters.")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValidationFailed(f"{name} must not contain control characters.")
    return value


def parse_categories(raw: Any) -> tuple[Category, ...]:
    """The taxonomy from its stored or requested form: 1–100 entries ``{"key", "names": {"zh-CN",
    "en"}}``, keys unique (ignoring case). Anything else is a 422 that changes nothing."""
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("categories must be a non-empty list.")
    if len(raw) > MAX_CATEGORIES:
        raise ValidationFailed(f"categories: at most {MAX_CATEGORIES}.")
    categories: list[Category] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"categories[{index}]"
        if not isinstance(item, dict) or set(item) - {"key", "names"}:
            raise ValidationFailed(f"{where} must be an object with key and names.")
        key = _text(item.get("key"), f"{where}.key", MAX_KEY_CHARS)
        if key.casefold() in seen:
            raise ValidationFailed(f"{where}.key: {key!r} is listed twice.")
        seen.add(key.casefold())
        names = item.get("names")
        if not isinstance(names, dict) or set(names) != set(LOCALES):
            raise ValidationFailed(f"{where}.names must name the category in {' and '.join(LOCALES)}.")
        categories.append(
            Category(
                key,
                {
                    locale: _text(names[locale], f"{where}.names.{locale}", MAX_NAME_CHARS)
                    for locale in LOCALES
                },
            )
        )
    return tuple(categories)


def restrict(ranked: Sequence[tuple[str, float]], allowed: frozenset[str]) -> list[tuple[str, float]]:
    """The model's ranked category guesses (best first) inside the taxonomy, in the same order."""
    return [(label, probability) for label, probability in ranked if label in allowed]
