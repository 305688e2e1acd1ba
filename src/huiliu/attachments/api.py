"""Attachment routes under /api/v1/attachments: upload, download, metadata."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from starlette.responses import FileResponse, Response

from huiliu.attachments import queries, service
from huiliu.attachments.domain import content_disposition
from huiliu.attachments.models import Attachment
from huiliu.attachments.schemas import AttachmentCreated, AttachmentMeta
from huiliu.attachments.storage import LocalStorage
from huiliu.attachments.upload import FILE_FIELD, TICKET_FIELD, receive_upload
from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor, ActorKind
from huiliu.core.errors import NotFound
from huiliu.runtime import Runtime
from huiliu.tickets.queries import get_visible_ticket

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {"type": "string", "format": "binary"},
                        TICKET_FIELD: {"type": "string", "format": "uuid"},
                    },
                }
            }
        },
    }
}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The file is larger than the upload limit"},
    415: {"description": "The file's kind is not accepted, or it is disguised as another kind"},
}


def storage_for(runtime: Runtime) -> LocalStorage:
    return LocalStorage(runtime.settings.files_dir)


@router.post(
    "",
    status_code=201,
    response_model=AttachmentCreated,
    summary="Upload a file",
    openapi_extra=UPLOAD_BODY,
    responses=PROBLEMS,
)
async def upload(request: Request, actor: ActorDep, runtime: RuntimeDep) -> Any:
    """Multipart field ``file`` (one file) and optionally ``ticket_id``. The type is taken from the
    file's bytes and must be on the allowlist and agree with the declared type and extension. Use the
    returned id in ``attachment_ids`` of a message; until then only the uploader sees the file (or, with
    ``ticket_id``, whoever sees that ticket)."""
    service.require_upload_permission(actor)
    storage = storage_for(runtime)
    received = await receive_upload(
        request.stream(),
        content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"),
        storage=storage,
        tenant_id=actor.tenant_id,
        limit=runtime.settings.max_upload_bytes,
    )
    try:
        if received.ticket_id is not None:
            async with runtime.db.read(actor.tenant_id) as session:
                await get_visible_ticket(session, actor, received.ticket_id)
        async with runtime.db.uow(actor.tenant_id) as uow:
            return await service.store_upload(uow, actor, received, storage)
    finally:
        storage.discard(received.staged)


async def _visible(runtime: Runtime, actor: Actor, attachment_id: uuid.UUID) -> Attachment:
    """The attachment if the actor may see it: through its ticket's scope, or as its uploader while it
    belongs to no ticket. Anything else is indistinguishable from a missing attachment."""
    async with runtime.db.read(actor.tenant_id) as session:
        attachment = await queries.get_attachment(session, attachment_id)
        if attachment.ticket_id is not None:
            actor.require("ticket.read")
            await get_visible_ticket(session, actor, attachment.ticket_id)
        elif actor.kind is not ActorKind.USER or attachment.uploaded_by_id != actor.id:
            raise NotFound("attachment not found")
    return attachment


@router.get("/{attachment_id}/meta", response_model=AttachmentMeta, summary="An attachment's metadata")
async def meta(attachment_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Any:
    return await _visible(runtime, actor, attachment_id)


@router.get(
    "/{attachment_id}",
    summary="Download an attachment",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
async def download(
    attachment_id: uuid.UUID,
    actor: ActorDep,
    runtime: RuntimeDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """The file, always as a download (``attachment``), with its stored type and ``nosniff``, so a
    browser never renders an upload as a page. Range requests are supported (audio and video)."""
    attachment = await _visible(runtime, actor, attachment_id)
    etag = f'"{attachment.sha256}"'
    headers = {
        "Content-Disposition": content_disposition(attachment.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=86400",
        "ETag": etag,
    }
    if if_none_match is not None and etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    path = storage_for(runtime).path_of(attachment.storage_path)
    media_type = attachment.content_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    return FileResponse(path, media_type=media_type, headers=headers)
