"""Condition trees compiled into closures, explained on demand (definitions are read in
:mod:`.condition_schema`).

A tree is ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}`` or a condition
``{"field": "priority", "op": "in", "value": ["high", "urgent"]}``. Compiling turns each node into
a predicate over a :class:`Context` (the working facts), so evaluating a rule is a few calls with
no parsing or lookups by name; :meth:`Condition.explain` re-evaluates with the same predicates and
says, for every node, whether it held and why, so the fast answer and the explained one never
disagree.

Operators on a fact that is not set: ``ne``, ``not_in``, ``not_contains`` and ``is_not_set`` hold;
the others do not. ``changed`` operators compare the current value with the value before the
triggering event (``TriggeringEvent.previous``), or, for a field the caller did not list there, with
its value when evaluation started, so a change an earlier rule made counts as a change.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from huiliu.automation.domain.context import Context, Explanation, Getter, Predicate, show
from huiliu.automation.domain.facts import (
    FIELDS,
    PRIORITY_RANK,
    FieldSpec,
    FieldType,
    is_number,
    is_set,
    read_value,
)
from huiliu.automation.domain.problems import Loc
from huiliu.automation.domain.text import KeywordMatcher, Pattern

CHANGE_OPERATORS = frozenset({"changed", "changed_to", "changed_from"})
NO_VALUE_OPERATORS = frozenset({"is_set", "is_not_set", "changed"})
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_SET_OPS = frozenset({"is_set", "is_not_set"})
_EQUALITY = frozenset({"eq", "ne", "in", "not_in"})
OPERATORS_BY_TYPE: dict[FieldType, frozenset[str]] = {
    FieldType.ENUM: _EQUALITY | _SET_OPS | CHANGE_OPERATORS,
    FieldType.STRING: _EQUALITY | _SET_OPS | CHANGE_OPERATORS,
    FieldType.TEXT: frozenset({"eq", "ne", "contains", "not_contains", "regex", "changed"}) | _SET_OPS,
    FieldType.TAGS: frozenset({"contains", "not_contains", "changed"}) | _SET_OPS,
    FieldType.NUMBER: _EQUALITY | COMPARISONS.keys() | _SET_OPS | CHANGE_OPERATORS,
    FieldType.BOOL: frozenset({"eq", "ne"}) | _SET_OPS | CHANGE_OPERATORS,
    FieldType.ANY: _EQUALITY
    | COMPARISONS.keys()
    | frozenset({"contains", "not_contains", "regex"})
    | _SET_OPS
    | CHANGE_OPERATORS,
}
OPERATORS: tuple[str, ...] = (
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "not_contains",
    "regex",
    "is_set",
    "is_not_set",
    "changed",
    "changed_to",
    "changed_from",
)
_OP_TEXT = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "contains": "contains",
    "not_contains": "does not contain",
    "regex": "matches",
    "is_set": "is set",
    "is_not_set": "is not set",
    "changed": "changed",
    "changed_to": "changed to",
    "changed_from": "changed from",
}

# Relative prices of a condition's fast predicate: lookups and comparisons are cheap, text search
# and patterns are not.
_LEAF_COST = {"contains": 3, "not_contains": 3, "regex": 6, "changed": 2, "changed_to": 2, "changed_from": 2}


class Condition(ABC):
    """A compiled node: ``test`` is the fast predicate, ``explain`` the same answer with reasons."""

    __slots__ = ("cost", "loc", "reads", "test")

    def __init__(self, loc: Loc, test: Predicate, reads: frozenset[str], cost: int) -> None:
        self.loc = loc
        self.test = test
        self.reads = reads  # the fact paths this node looks at
        self.cost = cost  # a rough relative price of ``test``

    @abstractmethod
    def explain(self, ctx: Context) -> Explanation: ...

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...


def _all(tests: list[Predicate]) -> Predicate:
    if not tests:
        return lambda ctx: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda ctx: first(ctx) and second(ctx)
    frozen = tuple(tests)

    # Plain loops: measurably faster than all()/any() over a generator on the hot path.
    def every(ctx: Context) -> bool:
        for test in frozen:  # noqa: SIM110
            if not test(ctx):
                return False
        return True

    return every


def _any(tests: list[Predicate]) -> Predicate:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda ctx: first(ctx) or second(ctx)
    frozen = tuple(tests)

    def some(ctx: Context) -> bool:
        for test in frozen:  # noqa: SIM110
            if test(ctx):
                return True
        return False

    return some


class Group(Condition):
    __slots__ = ("children", "kind")

    def __init__(self, loc: Loc, kind: str, children: list[Condition]) -> None:
        # The fast predicate tries cheap children first (tests are pure, so the order cannot change
        # the answer); explanations keep the definition's order.
        tests = [child.test for child in sorted(children, key=lambda child: child.cost)]
        reads = frozenset().union(*(child.reads for child in children))
        cost = sum(child.cost for child in children)
        super().__init__(loc, _all(tests) if kind == "all" else _any(tests), reads, cost)
        self.kind = kind
        self.children = tuple(children)

    def explain(self, ctx: Context) -> Explanation:
        kids = tuple(child.explain(ctx) for child in self.children)
        held = sum(1 for kid in kids if kid.passed)
        passed = held == len(kids) if self.kind == "all" else held > 0
        total = len(kids)
        if self.kind == "all":
            text = f"all of {total} conditions"
            reason = (
                "every condition holds" if passed else f"{total - held} of {total} conditions do not hold"
            )
        else:
            text = f"any of {total} conditions"
            reason = f"{held} of {total} conditions hold" if passed else "no condition holds"
        if not kids:
            reason = "no conditions: always holds"
        return Explanation(passed, self.kind, self.loc, text, reason, kids)

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: [child.to_dict() for child in self.children]}


class Negation(Condition):
    __slots__ = ("child",)

    def __init__(self, loc: Loc, child: Condition) -> None:
        inner = child.test
        super().__init__(loc, lambda ctx: not inner(ctx), child.reads, child.cost)
        self.child = child

    def explain(self, ctx: Context) -> Explanation:
        kid = self.child.explain(ctx)
        verdict = "the inner condition holds" if kid.passed else "the inner condition does not hold"
        reason = f"{verdict}: {'; '.join(kid.deciding_reasons())}"
        return Explanation(not kid.passed, "not", self.loc, f"not ({kid.text})", reason, (kid,))

    def to_dict(self) -> dict[str, Any]:
        return {"not": self.child.to_dict()}


def same(a: Any, b: Any) -> bool:
    """Equality that keeps booleans apart from numbers (``True`` is not ``1`` in a rule)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _getter(path: str) -> Getter:
    if path in FIELDS:
        return operator.itemgetter(path)
    return lambda values: read_value(values, path)


class Leaf(Condition):
    """One ``field op value`` test."""

    __slots__ = ("field", "get", "matcher", "members", "op", "pattern", "spec", "text", "value")

    def __init__(self, loc: Loc, spec: FieldSpec, op: str, value: Any) -> None:
        self.field = spec.path
        self.spec = spec
        self.op = op
        self.value = value
        self.get: Getter = _getter(spec.path)
        self.matcher: KeywordMatcher | None = None
        self.pattern: Pattern | None = None
        self.members: frozenset[Any] | None = None
        if op in ("contains", "not_contains"):
            keywords = value if isinstance(value, list) else [value]
            self.members = frozenset(keywords)
            self.matcher = KeywordMatcher(keywords)
        elif op == "regex":
            self.pattern = Pattern(value)
        super().__init__(loc, self._compile(), frozenset({spec.path}), _LEAF_COST.get(op, 1))
        self.text = self._text()

    # -- compiling -------------------------------------------------------------------------------

    def _compile(self) -> Predicate:
        op = self.op
        if op.startswith("not_") or op in ("ne", "is_not_set"):
            positive = self._positive({"ne": "eq", "is_not_set": "is_set"}.get(op, op.removeprefix("not_")))
            return lambda ctx: not positive(ctx)
        return self._positive(op)

    def _positive(self, op: str) -> Predicate:
        get, value, path, spec = self.get, self.value, self.field, self.spec
        if op == "eq":
            return self._equals(value)
        if op == "in":
            if spec.type is FieldType.ANY:
                options = tuple(value)
                return lambda ctx: any(same(get(ctx.values), option) for option in options)
            members = frozenset(value)
            return lambda ctx: get(ctx.values) in members
        if op in COMPARISONS:
            return self._compare(COMPARISONS[op], value)
        if op == "contains":
            return self._contains()
        if op == "regex":
            pattern = self.pattern
            assert pattern is not None
            return lambda ctx: (
                isinstance(raw := get(ctx.values), str)
                and bool(raw)
                and pattern.search(ctx.encoded(path, raw))
            )
        if op == "is_set":
            return lambda ctx: is_set(get(ctx.values))
        if op == "changed":
            return lambda ctx: ctx.before(path, get) != get(ctx.values)
        if op == "changed_to":
            equals = self._equals(value)
            return lambda ctx: ctx.before(path, get) != get(ctx.values) and equals(ctx)
        if op == "changed_from":
            return lambda ctx: (before := ctx.before(path, get)) != get(ctx.values) and same(before, value)
        raise AssertionError(f"operator {op} has no predicate")

    def _equals(self, value: Any) -> Predicate:
        get = self.get
        if self.spec.type in (FieldType.BOOL, FieldType.ANY):
            return lambda ctx: same(get(ctx.values), value)
        return lambda ctx: get(ctx.values) == value

    def _compare(self, compare: Callable[[Any, Any], bool], value: Any) -> Predicate:
        get = self.get
        if self.spec.ordered:
            rank = PRIORITY_RANK[value]
            ranks = PRIORITY_RANK
            return lambda ctx: (mine := ranks.get(get(ctx.values))) is not None and compare(mine, rank)
        if self.spec.type is FieldType.NUMBER:
            return lambda ctx: (mine := get(ctx.values)) is not None and compare(mine, value)
        value_is_number = is_number(value)

        def comparable(ctx: Context) -> bool:
            mine = get(ctx.values)
            if value_is_number:
                return is_number(mine) and compare(mine, value)
            return isinstance(mine, str) and compare(mine, value)

        return comparable

    def _contains(self) -> Predicate:
        get, path = self.get, self.field
        matcher, members = self.matcher, self.members
        assert matcher is not None and members is not None
        if self.spec.type is FieldType.TAGS:
            return lambda ctx: not members.isdisjoint(get(ctx.values))
        if self.spec.type is FieldType.TEXT:
            return lambda ctx: bool(raw := get(ctx.values)) and matcher.found_in(ctx.folded(path, raw))

        def dynamic(ctx: Context) -> bool:
            raw = get(ctx.values)
            if isinstance(raw, str):
                return bool(raw) and matcher.found_in(ctx.folded(path, raw))
            if isinstance(raw, list | tuple | set | frozenset):
                return any(isinstance(item, str) and item in members for item in raw)
            return False

        return dynamic

    # -- explaining ------------------------------------------------------------------------------

    def _text(self) -> str:
        if self.op in NO_VALUE_OPERATORS:
            return f"{self.field} {_OP_TEXT[self.op]}"
        verb = _OP_TEXT[self.op]
        if self.op in ("contains", "not_contains") and isinstance(self.value, list):
            verb = "contains any of" if self.op == "contains" else "contains none of"
        return f"{self.field} {verb} {show(self.value)}"

    def explain(self, ctx: Context) -> Explanation:
        return Explanation(self.test(ctx), "condition", self.loc, self.text, self._reason(ctx))

    def _reason(self, ctx: Context) -> str:
        actual = self.get(ctx.values)
        name = self.field
        if self.op in CHANGE_OPERATORS:
            before = ctx.before(name, self.get)
            if before == actual:
                return f"{name} did not change (still {show(actual)})"
            return f"{name} changed from {show(before)} to {show(actual)}"
        if not is_set(actual):
            return f"{name} is not set"
        if self.matcher is not None and self.members is not None:
            if isinstance(actual, str):
                found = self.matcher.first_in(ctx.folded(name, actual))
                return f"{name} contains {show(found)}" if found else f"{name} contains none of them"
            if isinstance(actual, list | tuple | set | frozenset):
                has = sorted(item for item in actual if item in self.members)
                return f"{name} has {show(has)}" if has else f"{name} is {show(actual)}: none of them"
        if self.pattern is not None and isinstance(actual, str):
            found = self.pattern.matched_text(ctx.encoded(name, actual))
            return f"{name} matches at {show(found)}" if found is not None else f"{name} does not match"
        return f"{name} is {show(actual)}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op not in NO_VALUE_OPERATORS:
            out["value"] = self.value
        return out
