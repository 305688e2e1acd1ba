"""Reading condition trees from JSON: every problem reported with its path, then compiled by
:mod:`.conditions`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huiliu.automation.domain.conditions import (
    CHANGE_OPERATORS,
    COMPARISONS,
    NO_VALUE_OPERATORS,
    OPERATORS,
    OPERATORS_BY_TYPE,
    Condition,
    Group,
    Leaf,
    Negation,
    same,
)
from huiliu.automation.domain.facts import FIELDS, FieldSpec, FieldType, RuleKind, field_spec, is_number
from huiliu.automation.domain.problems import Loc, Problems, check_keys
from huiliu.automation.domain.text import PatternError

MAX_DEPTH = 8
MAX_CONDITIONS = 100  # leaves in one rule
MAX_GROUP_SIZE = 50
MAX_LIST_ITEMS = 500
MAX_KEYWORD_CHARS = 200
MAX_VALUE_CHARS = 500

_INVALID = object()


def _scalar(spec: FieldSpec, value: Any) -> tuple[Any, str]:
    """A single comparison value checked against the field's type: ``(value, "")`` or
    ``(_INVALID, message)``."""
    kind = spec.type
    if value is None:
        return _INVALID, "a value is required here; to test for a missing value use is_not_set"
    if kind is FieldType.ENUM:
        if value in spec.choices:
            return value, ""
        return _INVALID, f"must be one of {', '.join(spec.choices)}"
    if kind is FieldType.NUMBER:
        return (value, "") if is_number(value) else (_INVALID, "must be a number")
    if kind is FieldType.BOOL:
        return (value, "") if isinstance(value, bool) else (_INVALID, "must be true or false")
    if kind is FieldType.ANY and (is_number(value) or isinstance(value, bool)):
        return value, ""
    if not isinstance(value, str):
        return (
            _INVALID,
            "must be a string" if kind is not FieldType.ANY else "must be a string, number or boolean",
        )
    if len(value) > MAX_VALUE_CHARS:
        return _INVALID, f"at most {MAX_VALUE_CHARS} characters"
    return value, ""


def _keywords(value: Any, spec: FieldSpec) -> tuple[Any, str]:
    """A keyword or a list of keywords (any of them matches)."""
    limit = 64 if spec.type is FieldType.TAGS else MAX_KEYWORD_CHARS
    items = value if isinstance(value, list) else [value]
    if not items:
        return _INVALID, "give at least one keyword"
    if len(items) > MAX_LIST_ITEMS:
        return _INVALID, f"at most {MAX_LIST_ITEMS} keywords"
    cleaned: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str) or not item.strip():
            return _INVALID, "keywords are non-blank strings"
        if len(item.strip()) > limit:
            return _INVALID, f"a keyword has at most {limit} characters"
        cleaned[item.strip()] = None
    keywords = list(cleaned)
    return (keywords if isinstance(value, list) else keywords[0]), ""


def _read_value(spec: FieldSpec, op: str, data: Mapping[str, Any]) -> tuple[Any, str]:
    value = data.get("value")
    if op in NO_VALUE_OPERATORS:
        return (None, "") if value is None else (_INVALID, f"{op} takes no value")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return _INVALID, "must be a non-empty list"
        if len(value) > MAX_LIST_ITEMS:
            return _INVALID, f"at most {MAX_LIST_ITEMS} items"
        items: list[Any] = []
        for item in value:
            checked, message = _scalar(spec, item)
            if checked is _INVALID:
                return _INVALID, f"every item {message}"
            if not any(same(checked, seen) for seen in items):
                items.append(checked)
        return items, ""
    if op in ("contains", "not_contains"):
        return _keywords(value, spec)
    if op == "regex":
        if not isinstance(value, str):
            return _INVALID, "must be a pattern string"
        return value, ""
    if op in COMPARISONS and spec.type is FieldType.ANY and isinstance(value, bool):
        return _INVALID, "must be a number or a string"
    return _scalar(spec, value)


class _Budget:
    __slots__ = ("conditions",)

    def __init__(self) -> None:
        self.conditions = 0


def _leaf(data: Mapping[str, Any], loc: Loc, problems: Problems, kind: RuleKind) -> Condition | None:
    if not check_keys(data, loc, problems, allowed={"field", "op", "value"}, required={"field", "op"}):
        return None
    path, op = data["field"], data["op"]
    spec = field_spec(path) if isinstance(path, str) else None
    if spec is None:
        problems.add(
            (*loc, "field"),
            f"unknown field {path!r}: use one of {', '.join(FIELDS)}, fields.<key> or customer.<attribute>",
            "unknown_field",
        )
        return None
    if op not in OPERATORS:
        problems.add(
            (*loc, "op"), f"unknown operator {op!r}: use one of {', '.join(OPERATORS)}", "unknown_operator"
        )
        return None
    allowed = OPERATORS_BY_TYPE[spec.type] | (COMPARISONS.keys() if spec.ordered else frozenset())
    if op not in allowed:
        problems.add(
            (*loc, "op"),
            f"{path} ({spec.type.value}) does not support {op}: "
            f"use {', '.join(o for o in OPERATORS if o in allowed)}",
            "operator_not_allowed",
        )
        return None
    if op in CHANGE_OPERATORS and (kind is RuleKind.AUTOMATION or not spec.changeable):
        why = (
            "automations run on the clock, not on a change"
            if kind is RuleKind.AUTOMATION
            else f"{path} has no previous value"
        )
        problems.add((*loc, "op"), f"{op} is not available here: {why}", "operator_not_allowed")
        return None
    value, message = _read_value(spec, op, data)
    if value is _INVALID:
        problems.add((*loc, "value"), message, "invalid_value")
        return None
    try:
        return Leaf(loc, spec, op, value)
    except PatternError as exc:
        problems.add((*loc, "value"), str(exc), "invalid_pattern")
        return None


def _node(
    data: Any, loc: Loc, problems: Problems, kind: RuleKind, depth: int, budget: _Budget
) -> Condition | None:
    if not isinstance(data, Mapping):
        problems.add(
            loc,
            'a condition is an object: {"all": [...]}, {"any": [...]}, {"not": {...}} or '
            '{"field": ..., "op": ..., "value": ...}',
            "invalid_type",
        )
        return None
    if depth > MAX_DEPTH:
        problems.add(loc, f"conditions nest at most {MAX_DEPTH} levels deep", "too_deep")
        return None
    groups = [key for key in ("all", "any", "not") if key in data]
    if not groups:
        budget.conditions += 1
        if budget.conditions > MAX_CONDITIONS:
            if budget.conditions == MAX_CONDITIONS + 1:
                problems.add(loc, f"a rule has at most {MAX_CONDITIONS} conditions", "too_many")
            return None
        return _leaf(data, loc, problems, kind)
    if len(data) != 1:
        problems.add(loc, f"a {groups[0]!r} group has no other keys", "extra_forbidden")
        return None
    key = groups[0]
    inner = data[key]
    if key == "not":
        child = _node(inner, (*loc, "not"), problems, kind, depth + 1, budget)
        return Negation(loc, child) if child is not None else None
    if not isinstance(inner, list):
        problems.add((*loc, key), "must be a list of conditions", "list_type")
        return None
    if key == "any" and not inner:
        problems.add((*loc, key), "an any group needs at least one condition", "too_short")
        return None
    if len(inner) > MAX_GROUP_SIZE:
        problems.add((*loc, key), f"a group has at most {MAX_GROUP_SIZE} conditions", "too_long")
        return None
    children = [
        _node(item, (*loc, key, index), problems, kind, depth + 1, budget) for index, item in enumerate(inner)
    ]
    if any(child is None for child in children):
        return None
    return Group(loc, key, [child for child in children if child is not None])


def compile_conditions(data: Any, loc: Loc, problems: Problems, kind: RuleKind) -> Condition | None:
    """Validate and compile a condition tree; problems are added with their paths under ``loc``."""
    return _node(data, loc, problems, kind, 1, _Budget())
