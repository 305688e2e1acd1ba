"""Reads a multipart/form-data upload straight from the request stream into a staging file.

FastAPI's ``UploadFile`` would first spool the whole body (of any size) to a temporary file; here the
body is parsed as it arrives, the file part goes to a ``StagingWriter`` that stops at the size limit,
and the whole body is bounded too, so an oversized upload costs no more than the limit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from python_multipart.multipart import MultipartParser

from huiliu.attachments import multipart
from huiliu.attachments.domain import clean_filename
from huiliu.attachments.storage import LocalStorage, StagedFile, StagingWriter
from huiliu.core.errors import PayloadTooLarge, ValidationFailed

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
    boundary = multipart.boundary(content_type, "upload the file as multipart/form-data")
    body_limit = limit + ENVELOPE_BYTES
    if content_length is not None and content_length.isdigit() and int(content_length) > body_limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes", limit=limit)
    collector = multipart.Collector(MAX_HEADER_BYTES)
    parser = MultipartParser(boundary, cast("MultipartCallbacks", collector.callbacks()))
    writer: StagingWriter | None = None
    received = 0
    part: multipart.Part | None = None
    file_part: multipart.Part | None = None
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
                    part = multipart.Part()
                elif kind == "header" and part is not None:
                    part.headers[value[0]] = value[1]
                elif kind == "headers" and part is not None:
                    multipart.describe(part)
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
