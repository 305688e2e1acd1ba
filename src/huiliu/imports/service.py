"""Import jobs: create (validate the file, store it, queue), claim with a lease, run in chunks, finish;
the sweep that resumes jobs a crash left behind. Decision record: docs/decisions/0009-import-jobs.md.

Each chunk is one transaction holding its rows' writes, their row errors and the job's counters, and
it starts by renewing the job's lease (a compare-and-set on the lease token): a job is never run by
two runners at once, and after a crash ``processed_rows`` says exactly where to resume."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from huiliu.auth.domain import Actor, ActorKind, DataScope
from huiliu.core.clock import utcnow
from huiliu.core.errors import HuiliuError
from huiliu.core.ids import new_id
from huiliu.db.session import Database, UnitOfWork
from huiliu.imports.customers import CUSTOMER_IMPORTER
from huiliu.imports.customers import KIND as CUSTOMERS
from huiliu.imports.domain import HeaderMap, MappedRow, RowInvalid, map_header
from huiliu.imports.files import read_table
from huiliu.imports.models import DONE, FAILED, QUEUED, RUNNING, ImportFile, ImportJob, ImportRowError
from huiliu.imports.registry import ImportContext, Importer, importers, register_importer
from huiliu.settings import Settings

log = logging.getLogger("huiliu.imports")

register_importer(CUSTOMERS, CUSTOMER_IMPORTER)

# Beyond this many stored row errors a job only counts failures (the report would be useless anyway).
MAX_STORED_ERRORS = 10_000
SWEEP_BATCH = 50


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_rows: int = 50_000
    chunk_rows: int = 200
    lease_seconds: float = 60.0
    max_attempts: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_bytes=settings.import_max_bytes,
            max_rows=settings.import_max_rows,
            chunk_rows=max(1, settings.import_chunk_rows),
            lease_seconds=settings.import_lease_seconds,
            max_attempts=max(1, settings.import_max_attempts),
        )


@dataclass(frozen=True)
class Lease:
    job_id: uuid.UUID
    tenant_id: uuid.UUID
    token: uuid.UUID


class LeaseLost(Exception):
    """Another runner took the job over (this one stalled past its lease): stop without writing."""


ProgressCallback = Callable[[int, int], None]


# --- create -----------------------------------------------------------------------------------------


async def create_job(
    uow: UnitOfWork, actor: Actor, *, kind: str, file_name: str, data: bytes, limits: Limits
) -> ImportJob:
    """Check the file (type, size, encoding, header row) and queue a job for it; commits. Every
    problem with the file as a whole is a 4xx here, before anything is written."""
    importer = importers.get(kind)
    actor.require(importer.permission)
    table = read_table(file_name, data, max_bytes=limits.max_bytes, max_rows=limits.max_rows)
    header = map_header(table.headers, importer.columns, needs_one_of=importer.needs_one_of)
    assert uow.tenant_id is not None
    now = utcnow()
    job = ImportJob(
        id=new_id(),
        tenant_id=uow.tenant_id,
        kind=kind,
        file_name=(file_name or "upload")[-255:],
        file_format=table.format,
        status=QUEUED,
        total_rows=len(table.rows),
        processed_rows=0,
        succeeded_rows=0,
        failed_rows=0,
        created_rows=0,
        updated_rows=0,
        columns=header.describe(),
        created_by_kind=actor.kind.value,
        created_by_id=actor.id,
        created_by_name=actor.name,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(job)
    await uow.session.flush()
    uow.session.add(ImportFile(job_id=job.id, tenant_id=uow.tenant_id, content=data, size=len(data)))
    await uow.commit()
    return job


# --- claim, sweep, release --------------------------------------------------------------------------


async def claim(db: Database, job_id: uuid.UUID, *, limits: Limits) -> Lease | None:
    """Take a job that is queued, or running under a lease that ran out, if attempts remain."""
    now = utcnow()
    token = new_id()
    async with db.uow(None, system=True) as uow:
        result = await uow.session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == job_id,
                ImportJob.attempts < limits.max_attempts,
                or_(
                    ImportJob.status == QUEUED,
                    and_(ImportJob.status == RUNNING, ImportJob.lease_expires_at < now),
                ),
            )
            .values(
                status=RUNNING,
                lease_token=token,
                lease_expires_at=now + timedelta(seconds=limits.lease_seconds),
                attempts=ImportJob.attempts + 1,
                started_at=now,
                updated_at=now,
            )
            .returning(ImportJob.tenant_id)
            .execution_options(synchronize_session=False)
        )
        tenant_id = result.scalar_one_or_none()
        await uow.commit()
    return None if tenant_id is None else Lease(job_id, tenant_id, token)


async def sweep(db: Database, *, limits: Limits) -> list[uuid.UUID]:
    """Fail jobs that ran out of attempts (each crash or restart mid-job costs one), and return the
    ids of jobs ready to be claimed: queued ones and running ones whose lease ran out."""
    now = utcnow()
    stale = or_(
        ImportJob.status == QUEUED, and_(ImportJob.status == RUNNING, ImportJob.lease_expires_at < now)
    )
    async with db.uow(None, system=True) as uow:
        exhausted = list(
            (
                await uow.session.execute(
                    select(ImportJob.id).where(stale, ImportJob.attempts >= limits.max_attempts)
                )
            ).scalars()
        )
        if exhausted:
            await uow.session.execute(
                update(ImportJob)
                .where(ImportJob.id.in_(exhausted))
                .values(
                    status=FAILED,
                    error=f"the import stopped {limits.max_attempts} times before finishing (server "
                    "restarts or crashes); the rows counted as processed were imported",
                    finished_at=now,
                    lease_token=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            await uow.session.execute(delete(ImportFile).where(ImportFile.job_id.in_(exhausted)))
            log.warning("import jobs failed after %d attempts: %s", limits.max_attempts, exhausted)
        ready = list(
            (
                await uow.session.execute(
                    select(ImportJob.id)
                    .where(stale, ImportJob.attempts < limits.max_attempts)
                    .order_by(ImportJob.created_at)
                    .limit(SWEEP_BATCH)
                )
            ).scalars()
        )
        await uow.commit()
    return ready


async def release(db: Database, lease: Lease) -> None:
    """A graceful stop: hand the job back to the queue at once, without counting an attempt."""
    async with db.uow(lease.tenant_id) as uow:
        await uow.session.execute(
            update(ImportJob)
            .where(ImportJob.id == lease.job_id, ImportJob.lease_token == lease.token)
            .values(status=QUEUED, lease_token=None, lease_expires_at=None, attempts=ImportJob.attempts - 1)
            .execution_options(synchronize_session=False)
        )
        await uow.commit()


# --- run --------------------------------------------------------------------------------------------


@dataclass
class _Item:
    number: int
    row: MappedRow
    parsed: Any = None
    problems: list[tuple[str | None, str]] = field(default_factory=list)


@dataclass
class _Tally:
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    created: int = 0
    updated: int = 0


def job_actor(job: ImportJob, importer: Importer) -> Actor:
    """Who the rows are written as: the uploader, with exactly the permissions this kind needs (they
    were checked against the uploader when the file was accepted)."""
    return Actor(
        ActorKind(job.created_by_kind),
        job.tenant_id,
        job.created_by_id,
        job.created_by_name or "import",
        importer.permissions or frozenset({importer.permission}),
        DataScope.ALL,
    )


async def run_job(
    db: Database, lease: Lease, limits: Limits, *, on_progress: ProgressCallback | None = None
) -> str | None:
    """Run a claimed job to the end from where it stopped. Returns the final status, or None when
    the lease was lost to another runner. An unexpected error fails the job with its message."""
    try:
        return await _run(db, lease, limits, on_progress)
    except LeaseLost:
        log.warning("import job %s: lease lost; another runner continues it", lease.job_id)
        return None
    except Exception as exc:
        log.exception("import job %s failed", lease.job_id)
        try:
            return await _finish(db, lease, FAILED, error=f"internal error: {exc.__class__.__name__}")
        except (LeaseLost, SQLAlchemyError):
            return None


async def _run(db: Database, lease: Lease, limits: Limits, on_progress: ProgressCallback | None) -> str:
    async with db.read(lease.tenant_id) as session:
        job = await session.get(ImportJob, lease.job_id)
        stored = await session.get(ImportFile, lease.job_id)
    assert job is not None
    if stored is None:
        return await _finish(db, lease, FAILED, error="the uploaded file is no longer stored")
    try:
        importer = importers.get(job.kind)
        table = read_table(job.file_name, stored.content, max_bytes=stored.size + 1, max_rows=10**9)
        header = map_header(table.headers, importer.columns, needs_one_of=importer.needs_one_of)
    except HuiliuError as exc:
        return await _finish(db, lease, FAILED, error=exc.detail)
    actor = job_actor(job, importer)
    done = _Tally(
        processed=job.processed_rows,
        succeeded=job.succeeded_rows,
        failed=job.failed_rows,
        created=job.created_rows,
        updated=job.updated_rows,
    )
    pending = table.rows[job.processed_rows :]
    for start in range(0, len(pending), limits.chunk_rows):
        items = [
            _prepare(importer, header, n, cells) for n, cells in pending[start : start + limits.chunk_rows]
        ]
        await _commit_chunk(db, lease, limits, job, importer, actor, items, done)
        if on_progress is not None:
            on_progress(done.processed, job.total_rows)
    return await _finish(db, lease, DONE)


def _prepare(importer: Importer, header: HeaderMap, number: int, cells: list[str]) -> _Item:
    row = header.row(number, cells)
    try:
        return _Item(number, row, parsed=importer.parse(row))
    except RowInvalid as exc:
        return _Item(number, row, problems=exc.problems)


async def _commit_chunk(
    db: Database,
    lease: Lease,
    limits: Limits,
    job: ImportJob,
    importer: Importer,
    actor: Actor,
    items: list[_Item],
    done: _Tally,
) -> None:
    """Write a chunk in one transaction. If a row fails while writing, the chunk is rolled back and
    written again one row per transaction, so only the failing row becomes a row error."""
    try:
        tally = await _write(db, lease, limits, job, importer, actor, items, done)
    except LeaseLost:
        raise
    except (HuiliuError, SQLAlchemyError) as exc:
        if len(items) > 1:
            for item in items:
                await _commit_chunk(db, lease, limits, job, importer, actor, [item], done)
            return
        [item] = items
        message = exc.detail if isinstance(exc, HuiliuError) else f"database error: {exc.__class__.__name__}"
        failed = _Item(item.number, item.row, problems=[(None, message[:500])])
        tally = await _write(db, lease, limits, job, importer, actor, [failed], done)
    for name in ("processed", "succeeded", "failed", "created", "updated"):
        setattr(done, name, getattr(done, name) + getattr(tally, name))


async def _write(
    db: Database,
    lease: Lease,
    limits: Limits,
    job: ImportJob,
    importer: Importer,
    actor: Actor,
    items: list[_Item],
    done: _Tally,
) -> _Tally:
    tally = _Tally(processed=len(items))
    async with db.uow(lease.tenant_id) as uow:
        # The lease renewal comes first: it is the transaction's first write (SQLite takes its write
        # lock up front) and it stops a runner that lost the job before it writes anything.
        await _renew(uow, lease, limits)
        for item in items:
            if item.problems:
                tally.failed += 1
                if done.failed + tally.failed <= MAX_STORED_ERRORS:
                    _add_errors(uow, job, item)
                continue
            context = ImportContext(job_id=str(job.id), file_name=job.file_name, row_number=item.number)
            outcome = await importer.apply(uow, actor, item.parsed, context)
            tally.succeeded += 1
            if outcome == "created":
                tally.created += 1
            else:
                tally.updated += 1
        await uow.session.execute(
            update(ImportJob)
            .where(ImportJob.id == lease.job_id, ImportJob.lease_token == lease.token)
            .values(
                processed_rows=ImportJob.processed_rows + tally.processed,
                succeeded_rows=ImportJob.succeeded_rows + tally.succeeded,
                failed_rows=ImportJob.failed_rows + tally.failed,
                created_rows=ImportJob.created_rows + tally.created,
                updated_rows=ImportJob.updated_rows + tally.updated,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return tally


def _add_errors(uow: UnitOfWork, job: ImportJob, item: _Item) -> None:
    for column, message in item.problems:
        uow.session.add(
            ImportRowError(
                id=new_id(),
                tenant_id=job.tenant_id,
                job_id=job.id,
                row_number=item.number,
                column_name=column[:200] if column else None,
                message=message[:500],
                row_values=item.row.raw,
            )
        )


async def _renew(uow: UnitOfWork, lease: Lease, limits: Limits) -> None:
    now = utcnow()
    result = await uow.session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == lease.job_id,
            ImportJob.lease_token == lease.token,
            ImportJob.status == RUNNING,
        )
        .values(lease_expires_at=now + timedelta(seconds=limits.lease_seconds))
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        raise LeaseLost(str(lease.job_id))


async def _finish(db: Database, lease: Lease, status: str, *, error: str | None = None) -> str:
    now = utcnow()
    async with db.uow(lease.tenant_id) as uow:
        result = await uow.session.execute(
            update(ImportJob)
            .where(ImportJob.id == lease.job_id, ImportJob.lease_token == lease.token)
            .values(
                status=status,
                error=error,
                finished_at=now,
                lease_token=None,
                lease_expires_at=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if int(getattr(result, "rowcount", 0) or 0) != 1:
            raise LeaseLost(str(lease.job_id))
        # The file was only kept to resume; the error report keeps the failed rows' values.
        await uow.session.execute(delete(ImportFile).where(ImportFile.job_id == lease.job_id))
        await uow.commit()
    return status
