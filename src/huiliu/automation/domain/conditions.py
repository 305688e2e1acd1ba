"""Condition trees: validated from JSON, compiled once into closures, explained on demand.

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

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from huiliu.automation.domain.facts import (
    FIELDS,
    PRIORITY_RANK,
    FieldSpec,
    FieldType,
    RuleKind,
    Values,
    field_spec,
    is_number,
    is_set,
    read_value,
)
from huiliu.automation.domain.problems import Loc, Problems, check_keys
from huiliu.automation.domain.text import (
    KeywordMatcher,
    Pattern,
    PatternError,
    encode_for_pattern,
    fold_text,
)

MAX_DEPTH = 8
MAX_CONDITIONS = 100  # leaves in one rule
MAX_GROUP_SIZE = 50
MAX_LIST_ITEMS = 500
MAX_KEYWORD_CHARS = 200
MAX_VALUE_CHARS = 500

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

Getter = Callable[[Values], Any]
# Relative prices of a condition's fast predicate: lookups and comparisons are cheap, text search
# and patterns are not.
_LEAF_COST = {"contains": 3, "not_contains": 3, "regex": 6, "changed": 2, "changed_to": 2, "changed_from": 2}


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


class Condition:
    """A compiled node: ``test`` is the fast predicate, ``explain`` the same answer with reasons."""

    __slots__ = ("cost", "loc", "reads", "test")

    def __init__(self, loc: Loc, test: Predicate, reads: frozenset[str], cost: int) -> None:
        self.loc = loc
        self.test = test
        self.reads = reads  # the fact paths this node looks at
        self.cost = cost  # a rough relative price of ``test``

    def explain(self, ctx: Context) -> Explanation:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


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


# --- reading definitions ------------------------------------------------------------------------

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
