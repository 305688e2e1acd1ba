"""Reads a multipart/form-data upload straight from the request stream into a staging file.

FastAPI's ``UploadFile`` would first spool the whole body (of any size) to a temporary file; here the
body is parsed as it arrives, the file part goes to a ``StagingWriter`` that stops at the size limit,
and the whole body is bounded too, so an oversized upload costs no more than the limit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from python_multipart.multipart import MultipartParser, parse_options_header

from huiliu.attachments.domain import clean_filename
from huiliu.attachments.storage import LocalStorage, StagedFile, StagingWriter
from huiliu.core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = "file"
TICKET_FIELD = "ticket_id"
# Room for the multipart framing, part headers and the small form fields around the file.
ENVELOPE_BYTES = 64 * 1024
MAX_FIELD_BYTES = 128
MAX_HEADER_BYTES = 8 * 1024


@dataclass(frozen=True)
class ReceivedUpload:
    staged: StagedFile
    filename: str
    declared_type: str | None
    ticket_id: uuid.UUID | None


class _Part:
    def __init__(self) -> None:
        self.headers: dict[str, bytes] = {}
        self.name: str | None = None
        self.filename: str | None = None
        self.content_type: str | None = None
        self.value = bytearray()


class _Collector:
    """Parser callbacks run synchronously inside ``parser.write``; they only record what happened,
    and the async side (writing to disk) replays it afterwards."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._field = bytearray()
        self._value = bytearray()
        self._header_bytes = 0

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
        if self._header_bytes > MAX_HEADER_BYTES:
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


def _boundary(content_type: str | None) -> bytes:
    media_type, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("upload the file as multipart/form-data")
    return boundary


def _describe(part: _Part) -> None:
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


async def receive_upload(
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: str | None,
    storage: LocalStorage,
    tenant_id: uuid.UUID,
    limit: int,
) -> ReceivedUpload:
    """Parse the request body, staging the ``file`` part. Raises (leaving nothing on disk) on a body
    that is too large, malformed, missing the file or carrying unknown fields."""
    boundary = _boundary(content_type)
    body_limit = limit + ENVELOPE_BYTES
    if content_length is not None and content_length.isdigit() and int(content_length) > body_limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes", limit=limit)
    collector = _Collector()
    parser = MultipartParser(boundary, cast("MultipartCallbacks", collector.callbacks()))
    writer: StagingWriter | None = None
    received = 0
    part: _Part | None = None
    file_part: _Part | None = None
    ticket_field: bytes | None = None
    finished_file = False
    try:
        async for chunk in body:
            received += len(chunk)
            if received > body_limit:
                raise PayloadTooLarge(f"the file is larger than {limit} bytes", limit=limit)
            try:
                parser.write(chunk)
            except ValidationFailed:
                raise
            except Exception as exc:
                raise ValidationFailed("the multipart body is malformed") from exc
            for kind, value in collector.take():
                if kind == "begin":
                    part = _Part()
                elif kind == "header" and part is not None:
                    part.headers[value[0]] = value[1]
                elif kind == "headers" and part is not None:
                    _describe(part)
                    if part.name == FILE_FIELD:
                        if file_part is not None:
                            raise ValidationFailed("upload one file per request")
                        file_part = part
                        writer = storage.writer(tenant_id, limit)
                    elif part.name != TICKET_FIELD:
                        raise ValidationFailed(f"unknown form field {part.name!r}")
                elif kind == "data" and part is not None:
                    if part is file_part and writer is not None:
                        await writer.write(value)
                    else:
                        part.value.extend(value)
                        if len(part.value) > MAX_FIELD_BYTES:
                            raise ValidationFailed(f"form field {part.name!r} is too long")
                elif kind == "end" and part is not None:
                    if part is file_part:
                        finished_file = True
                    else:
                        ticket_field = bytes(part.value)
                    part = None
        parser.finalize()
        if file_part is None or writer is None or not finished_file:
            raise ValidationFailed("the form has no complete 'file' part")
        if writer.size == 0:
            raise ValidationFailed("the uploaded file is empty")
        ticket_id = _ticket_id(ticket_field)
        filename = clean_filename(file_part.filename)
        staged = await writer.finish()
    except BaseException:
        # Synchronous on purpose: it must also run when the request is being cancelled.
        if writer is not None:
            writer.discard()
        raise
    return ReceivedUpload(staged, filename, file_part.content_type, ticket_id)


def _ticket_id(raw: bytes | None) -> uuid.UUID | None:
    if raw is None or not raw.strip():
        return None
    try:
        return uuid.UUID(raw.decode("ascii").strip())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("ticket_id must be a UUID") from exc
