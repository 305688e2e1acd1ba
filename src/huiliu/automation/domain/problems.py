"""Validation of rule definitions: problems are collected with the path to the offending value, the
way request validation reports them, so an API can answer one 422 that lists every mistake."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huiliu.core.errors import ValidationFailed

Loc = tuple[str | int, ...]


class Problems:
    """Problems found so far while reading one definition (``loc`` relative to the rule set)."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, loc: Loc, msg: str, type_: str) -> None:
        self.items.append({"loc": list(loc), "msg": msg, "type": type_})

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise RuleDefinitionError(self.items)


class RuleDefinitionError(ValidationFailed):
    """A rule definition that cannot be compiled; ``errors`` lists ``{"loc", "msg", "type"}`` items
    (``loc`` inside the submitted definition, e.g. ``["conditions", "all", 1, "op"]``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "the definition"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{where}: {first['msg']}{more}", errors=errors)
        self.errors = errors


def check_keys(
    data: Mapping[str, Any], loc: Loc, problems: Problems, *, allowed: set[str], required: set[str]
) -> bool:
    """Report unknown and missing keys; ``True`` when the object has every required key."""
    for key in data:
        if key not in allowed:
            problems.add(
                (*loc, key), f"unknown key {key!r}; allowed: {', '.join(sorted(allowed))}", "extra_forbidden"
            )
    complete = True
    for key in sorted(required):
        if key not in data:
            problems.add((*loc, key), "required", "missing")
            complete = False
    return complete


def read_text(
    data: Mapping[str, Any],
    key: str,
    loc: Loc,
    problems: Problems,
    *,
    max_length: int,
    required: bool = True,
    allow_blank: bool = False,
) -> str | None:
    """A string value, stripped; problems for a wrong type, a blank or an over-long value."""
    if key not in data or data[key] is None:
        if required:
            problems.add((*loc, key), "required", "missing")
        return None
    value = data[key]
    if not isinstance(value, str):
        problems.add((*loc, key), "must be a string", "string_type")
        return None
    value = value.strip()
    if not value and not allow_blank:
        problems.add((*loc, key), "cannot be blank", "string_too_short")
        return None
    if len(value) > max_length:
        problems.add((*loc, key), f"at most {max_length} characters", "string_too_long")
        return None
    return value


def read_bool(data: Mapping[str, Any], key: str, loc: Loc, problems: Problems, *, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        problems.add((*loc, key), "must be true or false", "bool_type")
        return default
    return value


def read_refs(
    data: Mapping[str, Any], key: str, loc: Loc, problems: Problems, *, max_items: int = 50
) -> tuple[str, ...]:
    """A list of references (user ids, role keys): non-blank strings, duplicates dropped."""
    value = data.get(key, [])
    if not isinstance(value, list):
        problems.add((*loc, key), "must be a list of strings", "list_type")
        return ()
    if len(value) > max_items:
        problems.add((*loc, key), f"at most {max_items} items", "too_long")
        return ()
    refs: dict[str, None] = {}
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > 100:
            problems.add(
                (*loc, key, index), "must be a non-blank string of at most 100 characters", "string_type"
            )
            continue
        refs[item.strip()] = None
    return tuple(refs)
