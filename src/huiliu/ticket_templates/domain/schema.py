"""A template's field schema: the field types, what each field may say, and the checks a schema passes
before it is saved (unique keys, conditions on earlier fields only, defaults that are valid values,
patterns RE2 compiles). Pure.

A field in JSON::

    {"key": "cake_size", "type": "select", "label": {"zh-CN": "蛋糕尺寸", "en": "Cake size"},
     "required": true, "default": "8inch", "help": {"zh-CN": "...", "en": "..."},
     "validation": {"min_length": 1, "max_length": 50, "min": 0, "max": 10, "pattern": "^[0-9]+$"},
     "options": [{"value": "6inch", "label": {"zh-CN": "6 寸"}, "children": [...]}],
     "visible_when": {"all": [{"field": "delivery", "op": "eq", "value": "yes"}]},
     "required_when": {"any": [...]},
     "channels": ["h5_form", "web"],            # empty: every channel
     "roles": {"agent": "read_only", "viewer": "hidden"}}

Conditions may only read fields listed earlier, which rules out cycles by construction and lets
validation run top to bottom in one pass."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import re2

from huiliu.ticket_templates.domain.conditions import Condition, ConditionError, parse_condition

FIELD_TYPES: tuple[str, ...] = (
    "text",
    "textarea",
    "number",
    "money",
    "select",
    "multi_select",
    "cascade",
    "date",
    "datetime",
    "phone",
    "email",
    "image",
    "file",
    "signature",
    "location",
    "customer_ref",
    "order_ref",
)
OPTION_TYPES: frozenset[str] = frozenset({"select", "multi_select", "cascade"})
ATTACHMENT_TYPES: frozenset[str] = frozenset({"image", "file", "signature"})
# Which validation keys each type takes.
LENGTH_TYPES: frozenset[str] = frozenset({"text", "textarea", "phone", "email", "order_ref"})
RANGE_TYPES: frozenset[str] = frozenset({"number", "money", "date", "datetime"})
COUNT_TYPES: frozenset[str] = frozenset({"multi_select", "image", "file"})
PATTERN_TYPES: frozenset[str] = frozenset({"text", "textarea", "order_ref"})

ROLE_RULES: frozenset[str] = frozenset({"read_only", "hidden"})
LOCALES: tuple[str, ...] = ("zh-CN", "en")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CHANNEL = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
ROLE = re.compile(r"^.{1,64}$")
MAX_FIELDS = 100
MAX_OPTIONS = 500
MAX_CASCADE_DEPTH = 4
MAX_LABEL = 100
MAX_HELP = 500
MAX_PATTERN = 300
PATTERN_MAX_MEM = 1 << 20
# Keys ticket intake writes into ``tickets.fields`` itself: a template may not use them.
RESERVED_KEYS: frozenset[str] = frozenset({"source", "source_name", "entities", "device_sn", "alarm_code"})


class SchemaInvalid(ValueError):
    """A schema that cannot be saved; ``problems`` lists every finding as (path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems[:5]))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: Mapping[str, str]
    children: tuple[Option, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    key: str
    type: str
    label: Mapping[str, str]
    required: bool = False
    default: Any = None
    help: Mapping[str, str] = field(default_factory=dict)
    validation: Mapping[str, Any] = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    visible_when: Condition | None = None
    required_when: Condition | None = None
    channels: frozenset[str] = frozenset()
    roles: Mapping[str, str] = field(default_factory=dict)
    pattern: Any = None  # the compiled RE2 pattern, when validation names one

    def shown_on(self, channel: str | None) -> bool:
        """Whether the field is asked on this channel (None: every channel, e.g. an agent's edit)."""
        return channel is None or not self.channels or channel in self.channels

    def rule_for(self, role: str | None) -> str | None:
        return self.roles.get(role) if role else None

    def option_values(self) -> set[str]:
        return {option.value for option in self.options}


@dataclass(frozen=True)
class TemplateSchema:
    fields: tuple[FieldSpec, ...]

    def by_key(self) -> dict[str, FieldSpec]:
        return {spec.key: spec for spec in self.fields}


def compile_pattern(source: str) -> Any:
    """An RE2 pattern (linear-time matching, so a customer's input cannot stall the server)."""
    if not source or len(source) > MAX_PATTERN:
        raise ValueError(f"a pattern has 1 to {MAX_PATTERN} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = PATTERN_MAX_MEM
    try:
        return re2.compile(source, options)
    except re2.error as exc:
        raise ValueError(f"not a valid pattern (RE2 syntax): {exc}") from exc


class _Problems:
    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.found.append((path, message))


def _texts(raw: Any, path: str, problems: _Problems, *, required: bool, limit: int) -> dict[str, str]:
    """A per-locale text: ``{"zh-CN": ..., "en": ...}`` (a plain string counts as zh-CN)."""
    if raw is None or raw == {}:
        if required:
            problems.add(path, "is required")
        return {}
    if isinstance(raw, str):
        raw = {"zh-CN": raw}
    if not isinstance(raw, Mapping) or set(raw) - set(LOCALES):
        problems.add(path, f"is an object with the locales {', '.join(LOCALES)}")
        return {}
    texts: dict[str, str] = {}
    for locale, text in raw.items():
        if not isinstance(text, str) or len(text.strip()) > limit:
            problems.add(f"{path}.{locale}", f"is text of at most {limit} characters")
        elif text.strip():
            texts[locale] = text.strip()
    if required and "zh-CN" not in texts and "en" not in texts:
        problems.add(path, "is required")
    return texts


def _options(
    raw: Any, path: str, problems: _Problems, *, depth: int, counter: list[int]
) -> tuple[Option, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(path, "lists at least one option")
        return ()
    options: list[Option] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        counter[0] += 1
        if counter[0] > MAX_OPTIONS:
            problems.add(path, f"a field has at most {MAX_OPTIONS} options")
            return tuple(options)
        if not isinstance(item, Mapping) or set(item) - {"value", "label", "children"}:
            problems.add(where, 'is {"value", "label", "children"?}')
            continue
        value = item.get("value")
        if not isinstance(value, str) or not value.strip() or len(value) > 100:
            problems.add(f"{where}.value", "is text of 1 to 100 characters")
            continue
        if value in seen:
            problems.add(f"{where}.value", f"{value!r} appears twice")
        seen.add(value)
        label = _texts(item.get("label") or value, f"{where}.label", problems, required=True, limit=MAX_LABEL)
        children: tuple[Option, ...] = ()
        if item.get("children"):
            if depth <= 1:
                problems.add(f"{where}.children", "only cascade options have children (up to 4 levels)")
            else:
                children = _options(
                    item["children"], f"{where}.children", problems, depth=depth - 1, counter=counter
                )
        options.append(Option(value, label, children))
    return tuple(options)


def _number(raw: Any) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool)


def _validation(kind: str, raw: Any, path: str, problems: _Problems) -> tuple[dict[str, Any], Any]:
    if raw is None:
        return {}, None
    if not isinstance(raw, Mapping):
        problems.add(path, "is an object")
        return {}, None
    allowed: set[str] = set()
    if kind in LENGTH_TYPES:
        allowed |= {"min_length", "max_length"}
    if kind in RANGE_TYPES or kind in COUNT_TYPES:
        allowed |= {"min", "max"}
    if kind in PATTERN_TYPES:
        allowed.add("pattern")
    clean: dict[str, Any] = {}
    pattern = None
    for name, value in raw.items():
        if value is None:
            continue
        if name not in allowed:
            problems.add(f"{path}.{name}", f"is not a check of {kind} fields")
            continue
        if name == "pattern":
            try:
                pattern = compile_pattern(value) if isinstance(value, str) else None
            except ValueError as exc:
                problems.add(f"{path}.pattern", str(exc))
                continue
            if pattern is None:
                problems.add(f"{path}.pattern", "is text")
                continue
        elif kind in {"date", "datetime"} and name in {"min", "max"}:
            if not isinstance(value, str):
                problems.add(f"{path}.{name}", "is an ISO date")
                continue
        elif not _number(value) or (name != "min" and name != "max" and value < 0):
            problems.add(
                f"{path}.{name}", "is a non-negative number" if name.endswith("length") else "is a number"
            )
            continue
        clean[name] = value
    for low, high in (("min_length", "max_length"), ("min", "max")):
        if (
            low in clean
            and high in clean
            and _comparable(clean[low], clean[high])
            and clean[low] > clean[high]
        ):
            problems.add(f"{path}.{low}", f"is greater than {high}")
    return clean, pattern


def _comparable(a: Any, b: Any) -> bool:
    return type(a) is type(b) or (_number(a) and _number(b))


def _condition(raw: Any, path: str, earlier: set[str], problems: _Problems, key: str) -> Condition | None:
    if raw is None or raw == {}:
        return None
    try:
        condition = parse_condition(raw)
    except ConditionError as exc:
        problems.add(path, str(exc))
        return None
    for name in condition.fields():
        if name == key:
            problems.add(path, "a field's condition cannot read the field itself")
        elif name not in earlier:
            problems.add(path, f"reads {name!r}, which is not a field above this one")
    return condition


def _channels(raw: Any, path: str, problems: _Problems) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(c, str) and CHANNEL.match(c) for c in raw):
        problems.add(path, "is a list of channel names")
        return frozenset()
    return frozenset(raw)


def _roles(raw: Any, path: str, problems: _Problems) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add(path, 'is an object {"<role name>": "read_only" | "hidden"}')
        return {}
    roles: dict[str, str] = {}
    for role, rule in raw.items():
        if not isinstance(role, str) or not ROLE.match(role) or rule not in ROLE_RULES:
            problems.add(f"{path}.{role}", 'is "read_only" or "hidden"')
        else:
            roles[role] = rule
    return roles


FIELD_KEYS: frozenset[str] = frozenset(
    {
        "key",
        "type",
        "label",
        "required",
        "default",
        "help",
        "validation",
        "options",
        "visible_when",
        "required_when",
        "channels",
        "roles",
    }
)


def _field(raw: Any, path: str, earlier: set[str], problems: _Problems) -> FieldSpec | None:
    if not isinstance(raw, Mapping):
        problems.add(path, "is an object")
        return None
    for unknown in sorted(set(raw) - FIELD_KEYS):
        problems.add(f"{path}.{unknown}", "is not a property of a field")
    key, kind = raw.get("key"), raw.get("type")
    if not isinstance(key, str) or not KEY.match(key):
        problems.add(f"{path}.key", "is 1-64 lower-case letters, digits or '_', starting with a letter")
        return None
    if key in RESERVED_KEYS:
        problems.add(f"{path}.key", f"{key!r} is reserved for intake")
        return None
    if kind not in FIELD_TYPES:
        problems.add(f"{path}.type", f"is one of {', '.join(FIELD_TYPES)}")
        return None
    required = raw.get("required", False)
    if not isinstance(required, bool):
        problems.add(f"{path}.required", "is true or false")
        required = False
    options: tuple[Option, ...] = ()
    if kind in OPTION_TYPES:
        depth = MAX_CASCADE_DEPTH if kind == "cascade" else 1
        options = _options(raw.get("options"), f"{path}.options", problems, depth=depth, counter=[0])
    elif raw.get("options"):
        problems.add(f"{path}.options", f"{kind} fields have no options")
    validation, pattern = _validation(kind, raw.get("validation"), f"{path}.validation", problems)
    return FieldSpec(
        key=key,
        type=kind,
        label=_texts(raw.get("label"), f"{path}.label", problems, required=True, limit=MAX_LABEL),
        required=required,
        default=raw.get("default"),
        help=_texts(raw.get("help"), f"{path}.help", problems, required=False, limit=MAX_HELP),
        validation=validation,
        options=options,
        visible_when=_condition(raw.get("visible_when"), f"{path}.visible_when", earlier, problems, key),
        required_when=_condition(raw.get("required_when"), f"{path}.required_when", earlier, problems, key),
        channels=_channels(raw.get("channels"), f"{path}.channels", problems),
        roles=_roles(raw.get("roles"), f"{path}.roles", problems),
        pattern=pattern,
    )


def parse_schema(raw: Any, *, check_default: Callable[[FieldSpec], str | None]) -> TemplateSchema:
    """The schema from its JSON list; SchemaInvalid lists every problem with its path.
    ``check_default`` says what is wrong with a field's default (``values.check_default``: the value
    rules live there), None when it is a valid value of its field."""
    problems = _Problems()
    if not isinstance(raw, list):
        raise SchemaInvalid([("fields", "is a list of fields")])
    if len(raw) > MAX_FIELDS:
        raise SchemaInvalid([("fields", f"a template has at most {MAX_FIELDS} fields")])
    specs: list[FieldSpec] = []
    earlier: set[str] = set()
    for index, item in enumerate(raw):
        path = f"fields[{index}]"
        spec = _field(item, path, earlier, problems)
        if spec is None:
            continue
        if spec.key in earlier:
            problems.add(f"{path}.key", f"{spec.key!r} is used by an earlier field")
            continue
        if spec.default is not None:
            message = check_default(spec)
            if message:
                problems.add(f"{path}.default", message)
        earlier.add(spec.key)
        specs.append(spec)
    if problems.found:
        raise SchemaInvalid(problems.found)
    return TemplateSchema(tuple(specs))
