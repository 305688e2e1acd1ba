"""Text matching and templates for rules: Chinese-aware keyword folding, linear-time patterns, and a
tiny renderer of template variables.

Keywords are matched as substrings after NFKC normalisation and case folding: Chinese needs no word
splitting (``退款`` is found in ``我要退款``), full-width letters and digits match their ASCII forms,
and ``Refund`` matches ``refund``. Patterns run on RE2 (google-re2), whose matching time is linear in
the input, so no pattern can hang the engine the way backtracking engines can (``(a+)+$``,
``.*a.*b.*c`` on Python's ``re``); RE2 rejects backreferences and lookaround, which we report as
definition errors. Both see at most the first ``MAX_MATCH_CHARS`` characters of a text.

Templates know one construct, ``{{ path }}``, replaced by a fact's value: no expressions, no calls,
no attribute access, so a template cannot run code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import re2

from huiliu.automation.domain.facts import CUSTOM_FIELD_PREFIX, CUSTOMER_PREFIX, field_spec, read_value

MAX_MATCH_CHARS = 10_000
MAX_PATTERN_CHARS = 500
MAX_TEMPLATE_CHARS = 5_000
MAX_RENDERED_CHARS = 10_000
# RE2's memory budget per pattern (program and DFA cache); past it RE2 falls back to slower, still
# linear, matching instead of growing.
PATTERN_MAX_MEM = 1 << 20


def normalize_text(text: str) -> str:
    """The form patterns see: capped, NFKC-normalised (full-width ``１２３`` becomes ``123``)."""
    return unicodedata.normalize("NFKC", text[:MAX_MATCH_CHARS])


def fold_text(text: str) -> str:
    """The form keywords are matched in: normalised and case-folded."""
    return normalize_text(text).casefold()


def fold_keyword(keyword: str) -> str:
    return unicodedata.normalize("NFKC", keyword).casefold()


class KeywordMatcher:
    """Finds the first of several keywords in a folded text (a literal alternation on ``re``: literals
    cannot backtrack badly)."""

    __slots__ = ("_pattern", "_single", "keywords")

    def __init__(self, keywords: Collection[str]) -> None:
        self.keywords: tuple[str, ...] = tuple(dict.fromkeys(fold_keyword(k) for k in keywords))
        self._single = self.keywords[0] if len(self.keywords) == 1 else None
        # Longest first, so the explanation names the most specific keyword found at a position.
        ordered = sorted(self.keywords, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(k) for k in ordered))

    def found_in(self, folded: str) -> bool:
        if self._single is not None:
            return self._single in folded
        return self._pattern.search(folded) is not None

    def first_in(self, folded: str) -> str | None:
        match = self._pattern.search(folded)
        return match.group(0) if match else None


class PatternError(ValueError):
    """A pattern RE2 cannot compile, or one too long."""


class Pattern:
    """A compiled RE2 pattern matched against UTF-8 bytes of normalised text."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        if not source:
            raise PatternError("a pattern cannot be empty")
        if len(source) > MAX_PATTERN_CHARS:
            raise PatternError(f"a pattern has at most {MAX_PATTERN_CHARS} characters")
        options = re2.Options()
        options.log_errors = False
        options.max_mem = PATTERN_MAX_MEM
        try:
            self._compiled: Any = re2.compile(source.encode("utf-8"), options)
        except re2.error as exc:
            detail = exc.args[0] if exc.args else exc
            if isinstance(detail, bytes):
                detail = detail.decode("utf-8", "replace")
            raise PatternError(f"not a valid pattern (RE2 syntax): {detail}") from exc
        self.source = source

    def search(self, data: bytes) -> bool:
        return self._compiled.search(data) is not None

    def matched_text(self, data: bytes) -> str | None:
        match = self._compiled.search(data)
        if match is None:
            return None
        found: bytes = match.group(0)
        return found.decode("utf-8", "replace")


def encode_for_pattern(text: str) -> bytes:
    return normalize_text(text).encode("utf-8")


# --- templates ---------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
# ``{{ ticket.<key> }}``: the ticket's own facts a message may quote.
TICKET_VARIABLES: frozenset[str] = frozenset(
    {
        "id",
        "number",
        "title",
        "description",
        "status",
        "priority",
        "category",
        "scenario",
        "channel",
        "entry_point",
        "team",
        "assignee",
        "tags",
        "last_message",
        "rating",
        "rating_comment",
        "reopen_count",
        "alarm_occurrences",
    }
)
RULE_VARIABLES: frozenset[str] = frozenset({"id", "name"})
Lookup = Callable[[Mapping[str, Any], Mapping[str, str]], Any]


class TemplateError(ValueError):
    """A template with an unknown template variable or too long."""


def _lookup(path: str) -> Lookup:
    """How to find a template variable's value: ticket facts, customer, custom fields, or the rule."""
    namespace, _, key = path.partition(".")
    if namespace == "ticket" and key in TICKET_VARIABLES:
        return lambda values, rule: values.get(key)
    if namespace == "rule" and key in RULE_VARIABLES:
        return lambda values, rule: rule.get(key)
    if path.startswith((CUSTOMER_PREFIX, CUSTOM_FIELD_PREFIX)) and field_spec(path) is not None:
        return lambda values, rule: read_value(values, path)
    raise TemplateError(
        f"unknown template variable {{{{{path}}}}}: use ticket.<{'|'.join(sorted(TICKET_VARIABLES))}>, "
        "customer.name, customer.level, customer.<attribute>, fields.<key>, rule.id or rule.name"
    )


def format_value(value: Any) -> str:
    """A fact as text in a message: nothing for unset, lists joined, numbers without noise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, frozenset | set):
        return ", ".join(sorted(str(item) for item in value))
    if isinstance(value, list | tuple):
        return ", ".join(format_value(item) for item in value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Template:
    """Text with ``{{ path }}`` template variables, parsed once."""

    source: str
    parts: tuple[str | Lookup, ...]

    def render(self, values: Mapping[str, Any], rule: Mapping[str, str]) -> str:
        out = "".join(
            part if isinstance(part, str) else format_value(part(values, rule)) for part in self.parts
        )
        return out[:MAX_RENDERED_CHARS]


def compile_template(source: str) -> Template:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"a template has at most {MAX_TEMPLATE_CHARS} characters")
    parts: list[str | Lookup] = []
    position = 0
    for match in _VARIABLE.finditer(source):
        if match.start() > position:
            parts.append(source[position : match.start()])
        parts.append(_lookup(match.group(1)))
        position = match.end()
    if position < len(source):
        parts.append(source[position:])
    return Template(source, tuple(parts))
