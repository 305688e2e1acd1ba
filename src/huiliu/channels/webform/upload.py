"""Reads a form submission sent as multipart/form-data straight from the request stream: one
``payload`` part (the submission as JSON, as the JSON route takes it) and up to N ``files`` parts
(photos). Each photo goes to a staging file that stops at the per-photo limit and the whole body is
bounded, so an oversized request costs no more than the limits; on any refusal nothing stays on disk."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from python_multipart.multipart import MultipartParser, parse_options_header

from huiliu.attachments.domain import clean_filename
from huiliu.attachments.storage import LocalStorage, StagedFile, StagingWriter
from huiliu.core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

PAYLOAD_FIELD = "payload"
FILES_FIELD = "files"
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
# Room for the multipart framing and part headers around the parts.
ENVELOPE_BYTES = 32 * 1024


@dataclass(frozen=True)
class StagedPhoto:
    staged: StagedFile
    filename: str
    declared_type: str | None


@dataclass
class ReceivedForm:
    payload: bytes
    photos: list[StagedPhoto] = field(default_factory=list)


@dataclass
class _Part:
    headers: dict[str, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    value: bytearray = field(default_factory=bytearray)
    writer: StagingWriter | None = None


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


def is_multipart(content_type: str | None) -> bool:
    media_type, _ = parse_options_header(content_type or "")
    return bool(media_type == b"multipart/form-data")


def _boundary(content_type: str | None) -> bytes:
    media_type, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("send the form as application/json or multipart/form-data")
    return boundary


def _describe(part: _Part) -> None:
    disposition = part.headers.get("content-disposition")
    if disposition is None:
        raise ValidationFailed("a multipart part has no Content-Disposition")
    _, options = parse_options_header(disposition.decode("latin-1"))
    part.name = options.get(b"name", b"").decode("utf-8", errors="replace")
    if b"filename" in options:
        part.filename = options[b"filename"].decode("utf-8", errors="replace")
    content_type = part.headers.get("content-type")
    part.content_type = content_type.decode("latin-1") if content_type is not None else None


async def receive_form(
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: str | None,
    storage: LocalStorage,
    tenant_id: uuid.UUID,
    max_files: int,
    file_limit: int,
) -> ReceivedForm:
    """Parse the body: the ``payload`` JSON and the staged photos. Raises (leaving nothing on disk)
    on a body that is too large, malformed, has too many photos or carries unknown parts."""
    boundary = _boundary(content_type)
    body_limit = max_files * file_limit + MAX_PAYLOAD_BYTES + ENVELOPE_BYTES
    if content_length is not None and content_length.isdigit() and int(content_length) > body_limit:
        raise PayloadTooLarge(f"the form is larger than {body_limit} bytes", limit=body_limit)
    collector = _Collector()
    parser = MultipartParser(boundary, cast("MultipartCallbacks", collector.callbacks()))
    received = 0
    part: _Part | None = None
    payload: bytes | None = None
    finished: list[StagedPhoto] = []
    open_writers: list[StagingWriter] = []
    try:
        async for chunk in body:
            received += len(chunk)
            if received > body_limit:
                raise PayloadTooLarge(f"the form is larger than {body_limit} bytes", limit=body_limit)
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
                    if part.name == FILES_FIELD:
                        if len(finished) + 1 > max_files:
                            raise ValidationFailed(f"at most {max_files} photos per submission")
                        part.writer = storage.writer(tenant_id, file_limit)
                        open_writers.append(part.writer)
                    elif part.name == PAYLOAD_FIELD:
                        if payload is not None:
                            raise ValidationFailed("send one payload part")
                    else:
                        raise ValidationFailed(f"unknown form part {part.name!r} (use payload and files)")
                elif kind == "data" and part is not None:
                    if part.writer is not None:
                        await part.writer.write(value)
                    else:
                        part.value.extend(value)
                        if len(part.value) > MAX_PAYLOAD_BYTES:
                            raise PayloadTooLarge("the payload part is too large", limit=MAX_PAYLOAD_BYTES)
                elif kind == "end" and part is not None:
                    if part.writer is not None:
                        if part.writer.size == 0:
                            raise ValidationFailed("a photo is empty")
                        staged = await part.writer.finish()
                        open_writers.remove(part.writer)
                        finished.append(StagedPhoto(staged, clean_filename(part.filename), part.content_type))
                    else:
                        payload = bytes(part.value)
                    part = None
        parser.finalize()
        if part is not None or open_writers:
            raise ValidationFailed("the multipart body ended inside a part")
        if payload is None:
            raise ValidationFailed("the form has no payload part")
    except BaseException:
        # Synchronous on purpose: it must also run when the request is being cancelled.
        for writer in open_writers:
            writer.discard()
        for photo in finished:
            LocalStorage.discard(photo.staged)
        raise
    return ReceivedForm(payload, finished)
