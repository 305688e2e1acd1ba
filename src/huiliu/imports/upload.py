"""Reads the import upload (multipart/form-data with ``kind`` and ``file``) from the request stream
into memory, stopping as soon as the body passes the size limit: FastAPI's ``UploadFile`` would spool
a body of any size to disk first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from python_multipart.multipart import MultipartParser, parse_options_header

from huiliu.core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = "file"
KIND_FIELD = "kind"
ENVELOPE_BYTES = 64 * 1024
MAX_FIELD_BYTES = 64
MAX_HEADER_BYTES = 8 * 1024


@dataclass(frozen=True)
class ImportUpload:
    kind: str
    file_name: str
    data: bytes


class _Parts:
    """Collects parts as the parser reports them (callbacks run inside ``parser.write``)."""

    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.parts: list[dict[str, Any]] = []
        self._field = bytearray()
        self._value = bytearray()
        self._header_bytes = 0

    @property
    def current(self) -> dict[str, Any]:
        return self.parts[-1]

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": lambda: self.parts.append({"headers": {}, "data": bytearray(), "done": False}),
            "on_header_field": lambda data, start, end: self._header(self._field, data[start:end]),
            "on_header_value": lambda data, start, end: self._header(self._value, data[start:end]),
            "on_header_end": self._on_header_end,
            "on_part_data": self._on_data,
            "on_part_end": lambda: self.current.update(done=True),
        }

    def _header(self, target: bytearray, chunk: bytes) -> None:
        self._header_bytes += len(chunk)
        if self._header_bytes > MAX_HEADER_BYTES:
            raise ValidationFailed("multipart part headers are too large")
        target.extend(chunk)

    def _on_header_end(self) -> None:
        name = bytes(self._field).decode("latin-1").strip().lower()
        self.current["headers"][name] = bytes(self._value)
        self._field, self._value = bytearray(), bytearray()

    def _on_data(self, data: bytes, start: int, end: int) -> None:
        buffer: bytearray = self.current["data"]
        buffer.extend(data[start:end])
        if len(buffer) > self.max_file_bytes:
            raise PayloadTooLarge(f"the file is larger than {self.max_file_bytes} bytes")


def _disposition(part: dict[str, Any]) -> tuple[str, str | None]:
    raw = part["headers"].get("content-disposition")
    if raw is None:
        raise ValidationFailed("a multipart part has no Content-Disposition")
    _, options = parse_options_header(raw.decode("latin-1"))
    name = options.get(b"name", b"").decode("utf-8", errors="replace")
    filename = options[b"filename"].decode("utf-8", errors="replace") if b"filename" in options else None
    return name, filename


async def receive_import(
    body: AsyncIterator[bytes], *, content_type: str | None, content_length: str | None, limit: int
) -> ImportUpload:
    """The ``kind`` field and the ``file`` part; 413 past ``limit``, 415 when not multipart, 422 for
    a malformed body, a missing or repeated part, or an unknown field."""
    media_type, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("upload the file as multipart/form-data (fields kind and file)")
    body_limit = limit + ENVELOPE_BYTES
    if content_length is not None and content_length.isdigit() and int(content_length) > body_limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes")
    parts = _Parts(limit)
    parser = MultipartParser(boundary, cast("MultipartCallbacks", parts.callbacks()))
    received = 0
    async for chunk in body:
        received += len(chunk)
        if received > body_limit:
            raise PayloadTooLarge(f"the file is larger than {limit} bytes")
        try:
            parser.write(chunk)
        except (ValidationFailed, PayloadTooLarge):
            raise
        except Exception as exc:
            raise ValidationFailed("the multipart body is malformed") from exc
    parser.finalize()
    kind: str | None = None
    file: tuple[str, bytes] | None = None
    for part in parts.parts:
        if not part["done"]:
            raise ValidationFailed("the multipart body is incomplete")
        name, filename = _disposition(part)
        if name == FILE_FIELD:
            if file is not None:
                raise ValidationFailed("upload one file per import")
            file = (filename or "", bytes(part["data"]))
        elif name == KIND_FIELD:
            if len(part["data"]) > MAX_FIELD_BYTES:
                raise ValidationFailed("kind is too long")
            kind = bytes(part["data"]).decode("utf-8", errors="replace").strip()
        else:
            raise ValidationFailed(f"unknown form field {name!r}")
    if not kind:
        raise ValidationFailed("the form has no 'kind' field (e.g. customers)")
    if file is None:
        raise ValidationFailed("the form has no 'file' part")
    if not file[0]:
        raise ValidationFailed("the uploaded file has no name (.csv or .xlsx)")
    return ImportUpload(kind=kind, file_name=file[0], data=file[1])
