"""Reads a form submission sent as multipart/form-data straight from the request stream: one
``payload`` part (the submission as JSON, as the JSON route takes it) and up to N ``files`` parts
(photos). Each photo goes to a staging file that stops at the per-photo limit and the whole body is
bounded, so an oversized request costs no more than the limits; on any refusal nothing stays on disk."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from python_multipart.multipart import MultipartParser

from huiliu.attachments import multipart
from huiliu.attachments.domain import clean_filename
from huiliu.attachments.storage import LocalStorage, StagedFile, StagingWriter
from huiliu.core.errors import PayloadTooLarge, ValidationFailed

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
class _Part(multipart.Part):
    writer: StagingWriter | None = None


def is_multipart(content_type: str | None) -> bool:
    return multipart.is_multipart(content_type)


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
    boundary = multipart.boundary(content_type, "send the form as application/json or multipart/form-data")
    body_limit = max_files * file_limit + MAX_PAYLOAD_BYTES + ENVELOPE_BYTES
    if content_length is not None and content_length.isdigit() and int(content_length) > body_limit:
        raise PayloadTooLarge(f"the form is larger than {body_limit} bytes", limit=body_limit)
    collector = multipart.Collector(MAX_HEADER_BYTES)
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
                    multipart.describe(part)
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
