"""The small condition language of template fields: ``visible_when`` and ``required_when``.

A condition is ``{"all": [...]}`` or ``{"any": [...]}`` over tests ``{"field", "op", "value"}`` on the
values of other fields (groups nest one level deep at most, which is all a form needs). Fields that
are hidden count as empty, so a chain "B shows when A is set, C when B is set" collapses when A is
cleared. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

OPERATORS: frozenset[str] = frozenset(
    {"eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "empty", "not_empty"}
)
# Operators that take no value.
UNARY: frozenset[str] = frozenset({"empty", "not_empty"})
MAX_TESTS = 20


class ConditionError(ValueError):
    """A condition that is not well formed (the message says where)."""


@dataclass(frozen=True, slots=True)
class Test:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Condition:
    mode: str  # "all" or "any"
    items: tuple[Test | Condition, ...]

    def fields(self) -> Iterator[str]:
        """Every field key the condition reads."""
        for item in self.items:
            if isinstance(item, Test):
                yield item.field
            else:
                yield from item.fields()


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def parse_condition(raw: Any, *, depth: int = 0) -> Condition:
    """A condition from its JSON form; ConditionError names what is wrong."""
    if not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) not in {"all", "any"}:
        raise ConditionError('a condition is {"all": [...]} or {"any": [...]}')
    mode = next(iter(raw))
    entries = raw[mode]
    if not isinstance(entries, list) or not entries:
        raise ConditionError(f"{mode} needs a non-empty list of tests")
    if len(entries) > MAX_TESTS:
        raise ConditionError(f"a condition has at most {MAX_TESTS} tests")
    items: list[Test | Condition] = []
    for entry in entries:
        if isinstance(entry, Mapping) and ("all" in entry or "any" in entry):
            if depth >= 1:
                raise ConditionError("condition groups nest one level deep at most")
            items.append(parse_condition(entry, depth=depth + 1))
        else:
            items.append(_parse_test(entry))
    return Condition(mode, tuple(items))


def _parse_test(raw: Any) -> Test:
    if not isinstance(raw, Mapping) or set(raw) - {"field", "op", "value"} or "field" not in raw:
        raise ConditionError('a test is {"field", "op", "value"}')
    field, op = raw["field"], raw.get("op", "eq")
    if not isinstance(field, str) or not field:
        raise ConditionError("a test names a field")
    if op not in OPERATORS:
        raise ConditionError(f"unknown operator {op!r}; one of {', '.join(sorted(OPERATORS))}")
    value = raw.get("value")
    if op in {"in", "not_in"} and not isinstance(value, list):
        raise ConditionError(f"{op} compares with a list of values")
    if op not in UNARY and op not in {"in", "not_in"} and value is None:
        raise ConditionError(f"{op} needs a value")
    return Test(field, op, value)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(left: Any, right: Any) -> int | None:
    """-1, 0, 1 between numbers (money strings included) or between texts (ISO dates); None otherwise."""
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    return None


def _equal(left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    return bool(left == right)


def _holds(test: Test, values: Mapping[str, Any]) -> bool:
    value = values.get(test.field)
    if test.op == "empty":
        return is_empty(value)
    if test.op == "not_empty":
        return not is_empty(value)
    if is_empty(value):
        # Nothing to compare: only "ne" and "not_in" hold for a field left empty.
        return test.op in {"ne", "not_in"}
    if test.op in {"eq", "ne"}:
        equal = (
            any(_equal(v, test.value) for v in value)
            if isinstance(value, list)
            else _equal(value, test.value)
        )
        return equal if test.op == "eq" else not equal
    if test.op in {"in", "not_in"}:
        members = value if isinstance(value, list) else [value]
        found = any(_equal(member, wanted) for member in members for wanted in test.value)
        return found if test.op == "in" else not found
    if test.op == "contains":
        if isinstance(value, list):
            return any(_equal(member, test.value) for member in value)
        return isinstance(value, str) and str(test.value) in value
    order = _compare(value, test.value)
    if order is None:
        return False
    return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[test.op]


def evaluate(condition: Condition, values: Mapping[str, Any]) -> bool:
    """Whether the condition holds for these field values (missing fields are empty)."""
    results = (
        _holds(item, values) if isinstance(item, Test) else evaluate(item, values) for item in condition.items
    )
    return all(results) if condition.mode == "all" else any(results)
