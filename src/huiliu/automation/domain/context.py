"""The working facts of one evaluation and the explanations conditions give about them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from huiliu.automation.domain.facts import Values
from huiliu.automation.domain.problems import Loc
from huiliu.automation.domain.text import encode_for_pattern, fold_text

Getter = Callable[[Values], Any]


class Context:
    """The working facts of one evaluation, with per-evaluation caches of folded and encoded text."""

    __slots__ = ("_encoded", "_folded", "initial", "previous", "values")

    def __init__(self, values: Values, previous: Mapping[str, Any]) -> None:
        self.values = values
        self.initial: Values = dict(values)
        self.previous = previous
        self._folded: dict[str, tuple[str, str]] = {}
        self._encoded: dict[str, tuple[str, bytes]] = {}

    def folded(self, path: str, raw: str) -> str:
        hit = self._folded.get(path)
        if hit is not None and hit[0] is raw:
            return hit[1]
        folded = fold_text(raw)
        self._folded[path] = (raw, folded)
        return folded

    def encoded(self, path: str, raw: str) -> bytes:
        hit = self._encoded.get(path)
        if hit is not None and hit[0] is raw:
            return hit[1]
        data = encode_for_pattern(raw)
        self._encoded[path] = (raw, data)
        return data

    def snapshot(self) -> Context:
        """A copy of the working facts as they are now (to explain a firing later); the caches are
        shared, their entries check the text they were made from."""
        copy = Context.__new__(Context)
        copy.values = dict(self.values)
        copy.initial = self.initial
        copy.previous = self.previous
        copy._folded = self._folded
        copy._encoded = self._encoded
        return copy

    def before(self, path: str, get: Getter) -> Any:
        """The value before the triggering event (see the module docstring)."""
        if path in self.previous:
            return self.previous[path]
        return get(self.initial)


Predicate = Callable[[Context], bool]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether a node held and why. ``kind`` is ``all``, ``any``, ``not`` or ``condition``; ``loc``
    is the node's place in the rule definition (``("conditions", "all", 0)``)."""

    passed: bool
    kind: str
    loc: Loc
    text: str
    reason: str
    children: tuple[Explanation, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "passed": self.passed,
            "kind": self.kind,
            "loc": list(self.loc),
            "text": self.text,
            "reason": self.reason,
        }
        if self.children:
            out["children"] = [child.to_dict() for child in self.children]
        return out

    def deciding_reasons(self) -> list[str]:
        """The condition reasons that decided the outcome: for a node that held, the conditions that
        made it hold; for one that failed, the conditions that made it fail."""
        if self.kind == "condition":
            return [self.reason]
        if self.kind == "not":
            return [f"not ({reason})" for reason in self.children[0].deciding_reasons()]
        # In both kinds, the children that share the group's outcome decided it.
        deciding = [child for child in self.children if child.passed == self.passed]
        return [reason for child in deciding for reason in child.deciding_reasons()]

    def failed_conditions(self) -> list[Explanation]:
        """The conditions that made this node fail (what a dry run shows as "why not"): failed leaves,
        and a failed ``not`` as a whole (its inner condition held)."""
        if self.passed:
            return []
        if self.kind in ("condition", "not"):
            return [self]
        return [leaf for child in self.children for leaf in child.failed_conditions()]


def show(value: Any, limit: int = 60) -> str:
    """A value as short JSON for explanations (strings quoted, sets sorted, long text cut)."""
    if isinstance(value, str):
        cut = value if len(value) <= limit else value[:limit] + "…"
        return '"' + cut.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, frozenset | set):
        value = sorted(value, key=str)
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        return repr(value)
