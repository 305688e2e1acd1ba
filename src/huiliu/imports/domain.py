"""Pure parts of imports: header recognition (zh and en names), rows mapped to fields, row errors,
progress. No I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from huiliu.core.errors import ValidationFailed

# Punctuation and spacing people put in headers: "手机号：", "E-mail", "微信 UnionID", "name*".
_HEADER_NOISE = re.compile(r"[\s_\-:：()（）\[\]【】*#./、]+")


def normalize_header(text: str) -> str:
    """ "微信 UnionID：" and "微信unionid" are the same header."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text or "").strip().lower())


@dataclass(frozen=True)
class ColumnSpec:
    """One field an importer understands and the header names (any language) that mean it."""

    field: str
    aliases: tuple[str, ...]
    description: str = ""

    def matches(self, normalized_header: str) -> bool:
        return normalized_header == normalize_header(self.field) or normalized_header in {
            normalize_header(alias) for alias in self.aliases
        }


class RowInvalid(Exception):
    """A row that cannot be imported; ``problems`` lists (column header or None, message)."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


@dataclass(frozen=True)
class MappedRow:
    """One data row: ``fields`` by field name (non-empty values only), ``extras`` for columns no
    field claimed (by their header), ``raw`` every cell by header (for the error report), and the
    header each field came from (for error messages)."""

    number: int
    fields: dict[str, str]
    extras: dict[str, str]
    raw: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict)

    def header_of(self, field_name: str) -> str:
        return self.sources.get(field_name, field_name)


@dataclass(frozen=True)
class HeaderMap:
    headers: tuple[str, ...]
    # Column index -> field name.
    fields: dict[int, str]
    # Column index -> header, for non-empty headers no field claimed.
    extras: dict[int, str]

    def describe(self) -> list[dict[str, str | None]]:
        """The header row in order, each header with the field it was read as (None: kept as an
        extra column)."""
        return [
            {"header": header, "field": self.fields.get(index)}
            for index, header in enumerate(self.headers)
            if header.strip()
        ]

    def row(self, number: int, cells: Sequence[str]) -> MappedRow:
        fields: dict[str, str] = {}
        sources: dict[str, str] = {}
        extras: dict[str, str] = {}
        raw: dict[str, str] = {}
        for index, header in enumerate(self.headers):
            value = cells[index].strip() if index < len(cells) and cells[index] is not None else ""
            if header.strip():
                raw[header] = value
            if not value:
                continue
            if index in self.fields:
                fields[self.fields[index]] = value
                sources[self.fields[index]] = header
            elif index in self.extras:
                extras[self.extras[index]] = value
        return MappedRow(number=number, fields=fields, extras=extras, raw=raw, sources=sources)


def map_header(
    headers: Sequence[str], columns: Sequence[ColumnSpec], *, needs_one_of: Sequence[str]
) -> HeaderMap:
    """Recognise the header row. 422 when two columns mean the same field, or when none of the
    fields in ``needs_one_of`` is present (a file without a header row lands here too)."""
    fields: dict[int, str] = {}
    extras: dict[int, str] = {}
    seen: dict[str, str] = {}
    for index, header in enumerate(headers):
        normalized = normalize_header(header)
        if not normalized:
            continue
        spec = next((c for c in columns if c.matches(normalized)), None)
        if spec is None:
            extras[index] = header.strip()
            continue
        if spec.field in seen:
            raise ValidationFailed(
                f"columns “{seen[spec.field]}” and “{header.strip()}” both mean {spec.field}",
            )
        seen[spec.field] = header.strip()
        fields[index] = spec.field
    if not any(name in seen for name in needs_one_of):
        expected = [alias for c in columns if c.field in needs_one_of for alias in (c.field, *c.aliases)]
        raise ValidationFailed(
            "no recognisable header row: the first row must name the columns",
            expected_any_of=expected,
            found=[h for h in headers if h.strip()][:50],
        )
    return HeaderMap(headers=tuple(h.strip() for h in headers), fields=fields, extras=extras)


def percent(processed: int, total: int) -> float:
    return 100.0 if total <= 0 else round(100.0 * min(processed, total) / total, 1)
