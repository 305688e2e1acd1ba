"""Streaming multipart/form-data parsing shared by every route that receives files (attachment
uploads, public form submissions): the parser callbacks, the boundary check and part headers.

Callers feed the request body to ``python_multipart``'s ``MultipartParser`` with a ``Collector``'s
callbacks and replay the collected events on the async side (where they write to disk), so a body
is never spooled whole and every limit is enforced while it arrives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import parse_options_header

from huiliu.core.errors import UnsupportedMediaType, ValidationFailed


@dataclass
class Part:
    """One part of the body as far as it has been read."""

    headers: dict[str, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    value: bytearray = field(default_factory=bytearray)


class Collector:
    """Parser callbacks run synchronously inside ``parser.write``; they only record what happened,
    and the async side (writing to disk) replays it afterwards."""

    def __init__(self, max_header_bytes: int) -> None:
        self.events: list[tuple[str, Any]] = []
        self._field = bytearray()
        self._value = bytearray()
        self._header_bytes = 0
        self._max_header_bytes = max_header_bytes

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": lambda: self.events.append(("begin", None)),
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": lambda: self.events.append(("headers", None)),
            "on_part_data": lambda data, start, end: self.events.append(("data", bytes(data[start:end]))),
            "on_part_end": lambda: self.events.append(("end", None)),
        }

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self._max_header_bytes:
            raise ValidationFailed("multipart part headers are too large")

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self._field.extend(data[start:end])

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self._value.extend(data[start:end])

    def _on_header_end(self) -> None:
        name = bytes(self._field).decode("latin-1").strip().lower()
        self.events.append(("header", (name, bytes(self._value))))
        self._field, self._value = bytearray(), bytearray()

    def take(self) -> list[tuple[str, Any]]:
        events, self.events = self.events, []
        return events


def is_multipart(content_type: str | None) -> bool:
    media_type, _ = parse_options_header(content_type or "")
    return bool(media_type == b"multipart/form-data")


def boundary(content_type: str | None, refusal: str) -> bytes:
    """The body's boundary; ``refusal`` is the 415 detail when the body is not multipart/form-data."""
    media_type, options = parse_options_header(content_type or "")
    found = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not found:
        raise UnsupportedMediaType(refusal)
    return bytes(found)


def describe(part: Part) -> None:
    """Fill in the part's name, filename and content type from its headers."""
    disposition = part.headers.get("content-disposition")
    if disposition is None:
        raise ValidationFailed("a multipart part has no Content-Disposition")
    _, options = parse_options_header(disposition.decode("latin-1"))
    # Browsers send the name as raw UTF-8 bytes; latin-1 above kept them intact.
    part.name = options.get(b"name", b"").decode("utf-8", errors="replace")
    if b"filename" in options:
        part.filename = options[b"filename"].decode("utf-8", errors="replace")
    content_type = part.headers.get("content-type")
    part.content_type = content_type.decode("latin-1") if content_type is not None else None
