"""Branch conditions of a ``condition`` node: tests on the ticket's facts. Pure.

A condition is one test ``{"field", "op", "value"}`` or ``{"all": [tests]}`` / ``{"any": [tests]}``
(nested). Fields name what the designer offers:

- ``priority``, ``channel``, ``category``, ``scenario``, ``status``, ``title``, ``tags`` — the ticket;
- ``fields.<name>`` — a template field value stored on the ticket (``tickets.fields``);
- ``customer.level`` and ``customer.attributes.<name>`` — the ticket's customer.

A field that is not there is ``None``: only ``exists`` / ``not_exists`` / ``ne`` / ``not_in`` hold for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

TICKET_FIELDS: tuple[str, ...] = ("priority", "channel", "category", "scenario", "status", "title", "tags")
OPERATORS: tuple[str, ...] = (
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "gt",
    "gte",
    "lt",
    "lte",
    "exists",
    "not_exists",
)
_UNARY = frozenset({"exists", "not_exists"})
_LIST_VALUE = frozenset({"in", "not_in"})
_ORDERED = frozenset({"gt", "gte", "lt", "lte"})
_PATH = re.compile(r"^(fields|customer\.attributes)\.[^\s]{1,100}$")
MAX_DEPTH = 5
MAX_TESTS = 50


class ConditionError(ValueError):
    """A condition the engine cannot evaluate (unknown field or operator, wrong value shape)."""


@dataclass(frozen=True, slots=True)
class Test:
    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Group:
    combinator: str  # "all" or "any"
    parts: tuple[Condition, ...]


Condition = Test | Group


def check_field(name: Any) -> str:
    if not isinstance(name, str):
        raise ConditionError("a condition's field must be text")
    if name in TICKET_FIELDS or name == "customer.level" or _PATH.match(name):
        return name
    raise ConditionError(
        f"unknown field {name!r}: use {', '.join(TICKET_FIELDS)}, customer.level, "
        "customer.attributes.<name> or fields.<name>"
    )


def _parse(raw: Any, depth: int, count: list[int]) -> Condition:
    if depth > MAX_DEPTH:
        raise ConditionError(f"conditions nest at most {MAX_DEPTH} levels")
    if not isinstance(raw, Mapping):
        raise ConditionError("a condition is an object")
    count[0] += 1
    if count[0] > MAX_TESTS:
        raise ConditionError(f"a branch has at most {MAX_TESTS} tests")
    for combinator in ("all", "any"):
        if combinator in raw:
            if set(raw) != {combinator}:
                raise ConditionError(f"a {combinator!r} group takes only its list of conditions")
            parts = raw[combinator]
            if not isinstance(parts, list) or not parts:
                raise ConditionError(f"{combinator!r} needs a non-empty list")
            return Group(combinator, tuple(_parse(part, depth + 1, count) for part in parts))
    if set(raw) - {"field", "op", "value"}:
        raise ConditionError("a test takes field, op and value")
    field = check_field(raw.get("field"))
    op = raw.get("op")
    if op not in OPERATORS:
        raise ConditionError(f"unknown operator {op!r}: use one of {', '.join(OPERATORS)}")
    value = raw.get("value")
    if op in _UNARY:
        return Test(field, op, None)
    if op in _LIST_VALUE:
        if not isinstance(value, list) or not value:
            raise ConditionError(f"{op} needs a non-empty list of values")
        return Test(field, op, tuple(value))
    if op in _ORDERED and _number(value) is None:
        raise ConditionError(f"{op} compares with a number, got {value!r}")
    if value is None or isinstance(value, dict | list):
        raise ConditionError(f"{op} needs a single value")
    return Test(field, op, value)


def parse_condition(raw: Any) -> Condition:
    """Check a condition's JSON and return it compiled; ``ConditionError`` says what is wrong."""
    return _parse(raw, 1, [0])


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def lookup(facts: Mapping[str, Any], name: str) -> Any:
    """The value of a field in ``facts`` (``{"ticket": {...}, "fields": {...}, "customer": {...}}``)."""
    if name in TICKET_FIELDS:
        return (facts.get("ticket") or {}).get(name)
    if name == "customer.level":
        return (facts.get("customer") or {}).get("level")
    if name.startswith("fields."):
        return (facts.get("fields") or {}).get(name.removeprefix("fields."))
    attributes = (facts.get("customer") or {}).get("attributes") or {}
    return attributes.get(name.removeprefix("customer.attributes."))


def _same(left: Any, right: Any) -> bool:
    """Equality as people mean it in a form: ``"2"`` equals ``2``, ``"A"`` does not equal ``"a"``."""
    if left is None or right is None:
        return left is right
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        return bool(left == right)
    if left == right:
        return True
    if isinstance(left, bool) or isinstance(right, bool):
        return False
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    return str(left) == str(right)


def _test(test: Test, value: Any) -> bool:
    op = test.op
    if op == "exists":
        return value not in (None, "", [])
    if op == "not_exists":
        return value in (None, "", [])
    if op == "eq":
        return _same(value, test.value)
    if op == "ne":
        return not _same(value, test.value)
    if op == "in":
        return any(_same(value, option) for option in test.value)
    if op == "not_in":
        return not any(_same(value, option) for option in test.value)
    if op == "contains":
        if isinstance(value, list):
            return any(_same(item, test.value) for item in value)
        return isinstance(value, str) and str(test.value) in value
    left, right = _number(value), _number(test.value)
    if left is None or right is None:
        return False
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }[op]


def holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    """Whether ``condition`` holds for the ticket described by ``facts``."""
    if isinstance(condition, Group):
        results = (holds(part, facts) for part in condition.parts)
        return all(results) if condition.combinator == "all" else any(results)
    return _test(condition, lookup(facts, condition.field))


def describe(condition: Condition) -> str:
    """A short text of the condition for reasons ("priority eq urgent")."""
    if isinstance(condition, Group):
        joined = f" {condition.combinator} ".join(describe(part) for part in condition.parts)
        return f"({joined})"
    if condition.op in _UNARY:
        return f"{condition.field} {condition.op}"
    value: Sequence[Any] | Any = (
        list(condition.value) if isinstance(condition.value, tuple) else condition.value
    )
    return f"{condition.field} {condition.op} {value}"
