"""The read side of imports: one job, recent jobs, a job's row errors and its error report."""

from __future__ import annotations

import csv
import io
import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.core.errors import NotFound
from huiliu.imports.models import ImportJob, ImportRowError

MAX_LIMIT = 100
_PHONE_LIKE = re.compile(r"^[+\-][\d\s\-()]*$")


def _safe_cell(value: object) -> str:
    """Keep spreadsheet apps from running uploaded text as a formula (=, @, +, - at the start),
    except for number-like text such as "+86 138 0013 8000"."""
    text = "" if value is None else str(value)
    if text[:1] in {"=", "@", "\t", "\r"} or (text[:1] in {"+", "-"} and not _PHONE_LIKE.match(text)):
        return "'" + text
    return text


async def get_job(session: AsyncSession, job_id: uuid.UUID) -> ImportJob:
    job = await session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("import not found")
    return job


async def list_jobs(session: AsyncSession, *, kinds: list[str], limit: int) -> list[ImportJob]:
    """The newest jobs of ``kinds`` (the kinds the caller may see)."""
    if not kinds:
        return []
    rows = await session.execute(
        select(ImportJob)
        .where(ImportJob.kind.in_(kinds))
        .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    return list(rows.scalars())


async def row_errors(
    session: AsyncSession, job_id: uuid.UUID, *, limit: int | None = None
) -> list[ImportRowError]:
    query = (
        select(ImportRowError)
        .where(ImportRowError.job_id == job_id)
        .order_by(ImportRowError.row_number, ImportRowError.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


def error_report_csv(job: ImportJob, errors: list[ImportRowError]) -> bytes:
    """The row-level error report: row number, column, message, then the row as uploaded, so the
    rows can be fixed in place and uploaded again. UTF-8 with a BOM so Excel shows Chinese right."""
    headers = [column["header"] for column in job.columns or []]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["行号 row", "列 column", "错误 error", *headers])
    for error in errors:
        values = error.row_values or {}
        writer.writerow(
            [
                error.row_number,
                _safe_cell(error.column_name or ""),
                _safe_cell(error.message),
                *(_safe_cell(values.get(h, "")) for h in headers),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
