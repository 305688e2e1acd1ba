"""Import routes under /api/v1/imports: upload a CSV/XLSX file (202, runs in the background), follow
its progress, download the row-level error report."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.imports import queries, service
from huiliu.imports.domain import percent
from huiliu.imports.models import ImportJob
from huiliu.imports.registry import importers
from huiliu.imports.runner import ImportRunner
from huiliu.imports.schemas import ImportJobDetail, ImportJobOut, ImportJobPage, RowErrorOut
from huiliu.imports.service import Limits
from huiliu.imports.upload import FILE_FIELD, KIND_FIELD, receive_import

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
ERRORS_PREVIEW = 50


def _runner(request: Request) -> ImportRunner:
    runner: ImportRunner = request.app.state.import_runner
    return runner


def _shape(job: ImportJob) -> dict[str, Any]:
    return {
        **{name: getattr(job, name) for name in ImportJobOut.model_fields if hasattr(job, name)},
        "percent": percent(job.processed_rows, job.total_rows),
        "errors_url": f"/api/v1/imports/{job.id}/errors.csv",
    }


def _visible_kinds(actor: Actor) -> list[str]:
    return [kind for kind in importers.kinds() if actor.can(importers.get(kind).permission)]


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [KIND_FIELD, FILE_FIELD],
                    "properties": {
                        KIND_FIELD: {"type": "string", "description": "what the rows are: customers, …"},
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": ".csv (UTF-8, UTF-8 with BOM, GBK) or .xlsx (first sheet)",
                        },
                    },
                }
            }
        },
    }
}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The file is larger than the size limit or has too many rows"},
    415: {"description": "Not a CSV or XLSX file (whatever its name says), or not multipart"},
    422: {"description": "Unknown kind, empty file, unreadable encoding or no recognisable header"},
}


@router.post(
    "",
    status_code=202,
    response_model=ImportJobOut,
    summary="Upload a CSV/XLSX file to import (the job runs in the background)",
    openapi_extra=UPLOAD_BODY,
    responses=PROBLEMS,
)
async def create_import(request: Request, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Multipart fields ``kind`` and ``file``. Answers 202 with the queued job; follow it at
    ``GET /api/v1/imports/{id}``. A bad file is refused here with a 4xx and nothing is written."""
    limits = Limits.from_settings(runtime.settings)
    upload = await receive_import(
        request.stream(),
        content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"),
        limit=limits.max_bytes,
    )
    async with runtime.db.uow(actor.tenant_id) as uow:
        job = await service.create_job(
            uow, actor, kind=upload.kind, file_name=upload.file_name, data=upload.data, limits=limits
        )
    _runner(request).kick(job.id)
    return _shape(job)


@router.get("", response_model=ImportJobPage, summary="The newest imports the caller may see")
async def list_imports(
    actor: ActorDep, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 20
) -> dict[str, Any]:
    async with runtime.db.read(actor.tenant_id) as session:
        jobs = await queries.list_jobs(session, kinds=_visible_kinds(actor), limit=limit)
    return {"items": [_shape(job) for job in jobs]}


async def _visible_job(runtime: Any, actor: Actor, job_id: uuid.UUID, session: Any) -> ImportJob:
    job = await queries.get_job(session, job_id)
    actor.require(importers.get(job.kind).permission)
    return job


@router.get(
    "/{job_id}", response_model=ImportJobDetail, summary="Progress of an import and its first row errors"
)
async def get_import(job_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.read(actor.tenant_id) as session:
        job = await _visible_job(runtime, actor, job_id, session)
        errors = await queries.row_errors(session, job.id, limit=ERRORS_PREVIEW)
    return {
        **_shape(job),
        "errors": [
            RowErrorOut(row_number=e.row_number, column=e.column_name, message=e.message) for e in errors
        ],
    }


@router.get(
    "/{job_id}/errors.csv",
    summary="The row-level error report (CSV, UTF-8 with BOM)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_error_report(job_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.read(actor.tenant_id) as session:
        job = await _visible_job(runtime, actor, job_id, session)
        errors = await queries.row_errors(session, job.id)
    body = queries.error_report_csv(job, errors)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'},
    )
