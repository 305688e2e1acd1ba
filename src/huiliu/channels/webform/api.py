"""Public routes of the H5 form and the progress page (no authentication: the public key of an entry
point, or a signed progress token, is the credential). Rate limited per client IP and, for
submissions, per entry point; a refused request writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from limits import RateLimitItem
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response

from huiliu.attachments.domain import content_disposition
from huiliu.attachments.storage import LocalStorage
from huiliu.auth.deps import RuntimeDep
from huiliu.channels.ratelimit import client_ip, limiter_for
from huiliu.channels.webform import domain, queries, service
from huiliu.channels.webform.schemas import (
    FormDefinition,
    Progress,
    ProgressMessage,
    ProgressMessageIn,
    SubmissionIn,
    SubmissionReceipt,
)
from huiliu.channels.webform.upload import FILES_FIELD, PAYLOAD_FIELD, is_multipart, receive_form
from huiliu.channels.wechat.identity_token import BadIdentityToken, read_identity_token
from huiliu.core.clock import utcnow
from huiliu.core.errors import PayloadTooLarge, RateLimited, UnsupportedMediaType
from huiliu.intake.domain import SenderIdentity
from huiliu.intake.service import defaults_from
from huiliu.orders.lookup import OrderLookupDep
from huiliu.runtime import Runtime

router = APIRouter(prefix="/api/v1/public", tags=["public forms"])
MAX_JSON_BYTES = 64 * 1024
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown or inactive form, or a progress link that is not genuine"},
    410: {"description": "A progress link whose ticket was closed too long ago"},
    413: {"description": "A photo or the whole request is too large"},
    415: {"description": "Neither JSON nor multipart, or a file that is not a photo (or a disguised one)"},
    422: {"description": "The submission is not valid"},
    429: {"description": "Too many requests from this address or to this form; see Retry-After"},
}


def _inline_schema(model: type[SubmissionIn]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place (the body is read by hand,
    so FastAPI does not list the model among the document's components)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


SUBMISSION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline_schema(SubmissionIn)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [PAYLOAD_FIELD],
                    "properties": {
                        PAYLOAD_FIELD: {"type": "string", "description": "the submission as JSON"},
                        FILES_FIELD: {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            },
        },
    }
}


async def _limit(
    request: Request, runtime: Runtime, items: list[RateLimitItem], scope: str, key: str
) -> None:
    try:
        await limiter_for(request, runtime.settings).hit(items, scope, key)
    except RateLimited as exc:
        retry_after = str(exc.extra.get("retry_after", 60))
        raise HTTPException(429, exc.detail, headers={"Retry-After": retry_after}) from exc


async def _limit_read(request: Request, runtime: Runtime) -> None:
    limiter = limiter_for(request, runtime.settings)
    await _limit(request, runtime, limiter.limits.read_per_ip, "public-read-ip", client_ip(request))


async def _limit_write(request: Request, runtime: Runtime) -> None:
    limiter = limiter_for(request, runtime.settings)
    await _limit(request, runtime, limiter.limits.write_per_ip, "public-write-ip", client_ip(request))


def _storage(runtime: Runtime) -> LocalStorage:
    return LocalStorage(runtime.settings.files_dir)


def _photo_limit(runtime: Runtime) -> int:
    return min(runtime.settings.public_max_photo_bytes, runtime.settings.max_upload_bytes)


@router.get(
    "/forms/{public_key}", response_model=FormDefinition, summary="A form's definition", responses=PROBLEMS
)
async def get_form(public_key: str, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """What the H5 page shows for an entry point's QR code: its name, texts and fields."""
    await _limit_read(request, runtime)
    entry_point = await service.open_form(runtime.db, public_key)
    definition = domain.form_definition(
        public_key=entry_point.public_key,
        name=entry_point.name,
        config=entry_point.config,
        max_photo_bytes=_photo_limit(runtime),
    )
    definition["template"] = await service.form_template(runtime.db, entry_point)
    return definition


async def _bounded(stream: AsyncIterator[bytes], limit: int) -> bytes:
    body = bytearray()
    async for chunk in stream:
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"the JSON body is larger than {limit} bytes", limit=limit)
    return bytes(body)


def _wechat_identities(
    runtime: Runtime, tenant_id: uuid.UUID, identity_token: str | None
) -> tuple[SenderIdentity, ...]:
    """The openid / unionid a mini-program login vouched for (401 for a forged, expired or foreign
    token: the customer should not silently become someone else)."""
    if not identity_token:
        return ()
    identity = read_identity_token(runtime.settings.secret_key, identity_token, utcnow())
    if identity.tenant_id != tenant_id:
        raise BadIdentityToken("this identity token belongs to another organisation")
    return tuple(SenderIdentity(kind, value) for kind, value in identity.identities)


def _submission(raw: bytes) -> SubmissionIn:
    try:
        return SubmissionIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


@router.post(
    "/forms/{public_key}/submissions",
    status_code=201,
    response_model=SubmissionReceipt,
    summary="Submit a form (JSON, or multipart with photos)",
    openapi_extra=SUBMISSION_BODY,
    responses=PROBLEMS,
)
async def submit_form(
    public_key: str,
    request: Request,
    runtime: RuntimeDep,
    order_lookup: OrderLookupDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """JSON ``{"description", "title"?, "contact": {"name"?, "phone"?, "email"?}, "fields"?, "source"?}``,
    or multipart with that JSON in ``payload`` and photos in ``files`` (repeated). Answers 201 with the
    ticket number and the private progress page (the message may have joined an open ticket of the
    same customer: the number is then that ticket's). Resending with the same ``Idempotency-Key``
    gives the same answer and writes nothing new."""
    await _limit_write(request, runtime)
    entry_point = await service.open_form(runtime.db, public_key)
    limiter = limiter_for(request, runtime.settings)
    await _limit(
        request, runtime, limiter.limits.write_per_entry_point, "public-write-ep", str(entry_point.id)
    )
    content_type = request.headers.get("content-type")
    storage = _storage(runtime)
    photos: list[Any] = []
    try:
        if is_multipart(content_type):
            received = await receive_form(
                request.stream(),
                content_type=content_type,
                content_length=request.headers.get("content-length"),
                storage=storage,
                tenant_id=entry_point.tenant_id,
                max_files=domain.max_photos(entry_point.config),
                file_limit=_photo_limit(runtime),
            )
            photos = received.photos
            submission = _submission(received.payload)
        elif (content_type or "").split(";")[0].strip().lower() == "application/json":
            submission = _submission(await _bounded(request.stream(), MAX_JSON_BYTES))
        else:
            raise UnsupportedMediaType("send the form as application/json or multipart/form-data")
        accepted = await service.submit(
            runtime.db,
            entry_point,
            submission,
            photos,
            storage,
            submission_key=idempotency_key,
            defaults=defaults_from(runtime.settings),
            order_lookup=order_lookup,
            identities=_wechat_identities(runtime, entry_point.tenant_id, submission.identity_token),
        )
    finally:
        for photo in photos:
            storage.discard(photo.staged)
    token = domain.progress_token(runtime.settings.secret_key, accepted.tenant_id, accepted.result.ticket_id)
    return {
        "ticket_number": accepted.result.ticket_number,
        "progress_url": domain.progress_url(runtime.settings.public_url, token),
    }


@router.get(
    "/progress/{token}", response_model=Progress, summary="A customer's progress page", responses=PROBLEMS
)
async def get_progress(
    token: str, request: Request, runtime: RuntimeDep, response: Response
) -> dict[str, Any]:
    """Status, number, title and the public conversation of the ticket behind a signed link."""
    await _limit_read(request, runtime)
    tenant_id, ticket_id = domain.read_progress_token(runtime.settings.secret_key, token)
    async with runtime.db.read(tenant_id) as session:
        view = await queries.progress_view(
            session,
            tenant_id,
            ticket_id,
            token,
            days_after_close=runtime.settings.progress_link_days_after_close,
        )
    response.headers.update(PRIVATE)
    return view


@router.post(
    "/progress/{token}/messages",
    status_code=201,
    response_model=ProgressMessage,
    summary="Add a customer message on the progress page",
    responses=PROBLEMS,
)
async def post_progress_message(
    token: str, body: ProgressMessageIn, request: Request, runtime: RuntimeDep, response: Response
) -> dict[str, Any]:
    await _limit_write(request, runtime)
    tenant_id, ticket_id = domain.read_progress_token(runtime.settings.secret_key, token)
    message = await service.add_customer_message(
        runtime.db,
        tenant_id,
        ticket_id,
        body.text,
        days_after_close=runtime.settings.progress_link_days_after_close,
    )
    response.headers.update(PRIVATE)
    return {
        "id": message.id,
        "author_kind": message.author_kind,
        "body": message.body,
        "created_at": message.created_at,
        "attachments": [],
    }


@router.get(
    "/progress/{token}/attachments/{attachment_id}",
    summary="A photo or file of a public message on the progress page",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **PROBLEMS},
)
async def get_progress_attachment(
    token: str, attachment_id: uuid.UUID, request: Request, runtime: RuntimeDep
) -> Response:
    await _limit_read(request, runtime)
    tenant_id, ticket_id = domain.read_progress_token(runtime.settings.secret_key, token)
    async with runtime.db.read(tenant_id) as session:
        attachment = await queries.progress_attachment(
            session,
            tenant_id,
            ticket_id,
            attachment_id,
            days_after_close=runtime.settings.progress_link_days_after_close,
        )
    path = _storage(runtime).path_of(attachment.storage_path)
    inline = attachment.content_type in domain.PHOTO_TYPES
    disposition = content_disposition(attachment.filename)
    return FileResponse(
        path,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": disposition.replace("attachment", "inline", 1) if inline else disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=86400",
            "Referrer-Policy": "no-referrer",
        },
    )
