"""Import jobs through the API and the runner: CSV (UTF-8, BOM, GBK) and XLSX with row errors,
progress counters, the error report, updates instead of duplicates, bad files refused with nothing
written, permissions, tenant isolation, and a crashed job resumed exactly where it stopped."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from huiliu.core.clock import utcnow
from huiliu.customers.models import Customer, CustomerIdentity
from huiliu.imports import service as imports
from huiliu.imports.models import ImportFile, ImportJob, ImportRowError
from huiliu.imports.service import Limits
from tests.customers.conftest import bearer, create_key
from tests.factories import make_member, make_tenant, make_ticket
from tests.imports.samples import PNG, csv_gbk, csv_utf8, xlsx


def phone() -> str:
    return "137" + str(uuid.uuid4().int)[:8]


def email() -> str:
    return f"c{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Any:
    return await make_member(runtime, tenant, "admin", name="导入管理员")


async def upload(
    client: Any, member: Any, name: str, data: bytes, kind: str = "customers", **extra: Any
) -> Any:
    return await client.post(
        "/api/v1/imports",
        headers=extra.pop("headers", member.headers),
        data={"kind": kind},
        files={"file": (name, data, "application/octet-stream")},
    )


async def finished(client: Any, member: Any, job_id: str) -> dict[str, Any]:
    for _ in range(400):
        response = await client.get(f"/api/v1/imports/{job_id}", headers=member.headers)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in {"done", "failed"}:
            return job
        await asyncio.sleep(0.025)
    raise AssertionError(f"import {job_id} did not finish: {job}")


async def counts(runtime: Any, tenant: Any) -> tuple[int, int, int]:
    async with runtime.db.read(tenant.id) as session:
        return (
            (await session.execute(select(func.count()).select_from(Customer))).scalar_one(),
            (await session.execute(select(func.count()).select_from(CustomerIdentity))).scalar_one(),
            (await session.execute(select(func.count()).select_from(ImportJob))).scalar_one(),
        )


def sheet(bad_row: bool = True) -> tuple[list[list[object]], dict[str, str]]:
    p1, p2, e2 = phone(), phone(), email()
    rows: list[list[object]] = [
        ["姓名", "手机号", "邮箱", "等级", "城市"],
        ["李雷", p1, "", "VIP", "深圳"],
        ["韩梅梅", p2, e2, "", "广州"],
    ]
    if bad_row:
        rows += [["王五", "call me", "wang@", "", ""], ["赵六", "", "", "", "北京"]]
    return rows, {"p1": p1, "p2": p2, "e2": e2}


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("客户.csv", lambda rows: csv_utf8(rows)),
        ("客户-bom.csv", lambda rows: csv_utf8(rows, bom=True)),
        ("客户-gbk.csv", csv_gbk),
        ("客户.xlsx", xlsx),
    ],
    ids=["utf-8", "utf-8-bom", "gbk", "xlsx"],
)
async def test_import_customers_with_row_errors(client, runtime, tenant, admin, name, encode):
    rows, values = sheet()
    response = await upload(client, admin, name, encode(rows))
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] in {"queued", "running", "done"} and queued["total_rows"] == 4
    assert [(c["header"], c["field"]) for c in queued["columns"]] == [
        ("姓名", "name"),
        ("手机号", "phone"),
        ("邮箱", "email"),
        ("等级", "level"),
        ("城市", None),
    ]
    job = await finished(client, admin, queued["id"])
    assert job["status"] == "done" and job["percent"] == 100.0 and job["error"] is None
    assert (job["processed_rows"], job["succeeded_rows"], job["failed_rows"]) == (4, 2, 2)
    assert (job["created_rows"], job["updated_rows"]) == (2, 0)
    assert [(e["row_number"], e["column"]) for e in job["errors"]] == [(4, "手机号"), (4, "邮箱"), (5, None)]

    found = await client.get(f"/api/v1/customers?q={values['p1']}", headers=admin.headers)
    [li] = found.json()["items"]
    assert li["name"] == "李雷" and li["level"] == "vip" and li["attributes"] == {"城市": "深圳"}

    report = await client.get(job["errors_url"], headers=admin.headers)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert report.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["行号 row", "列 column", "错误 error", "姓名", "手机号", "邮箱", "等级", "城市"]
    assert [line[:2] for line in lines[1:]] == [["4", "手机号"], ["4", "邮箱"], ["5", ""]]
    assert lines[1][3:] == ["王五", "call me", "wang@", "", ""]
    async with runtime.db.read(tenant.id) as session:
        assert await session.get(ImportFile, uuid.UUID(job["id"])) is None


async def test_importing_again_updates_instead_of_duplicating(client, runtime, tenant, admin):
    rows, values = sheet(bad_row=False)
    first = await finished(client, admin, (await upload(client, admin, "a.csv", csv_utf8(rows))).json()["id"])
    before = await counts(runtime, tenant)
    rows[1][4] = "珠海"
    rows.append(["韩梅梅（新号）", phone(), values["e2"], "svip", ""])  # same e-mail: the same customer
    second = await finished(
        client, admin, (await upload(client, admin, "b.csv", csv_utf8(rows))).json()["id"]
    )
    assert (first["created_rows"], second["created_rows"], second["updated_rows"]) == (2, 0, 3)
    customers, identities, _ = await counts(runtime, tenant)
    assert customers == before[0] and identities == before[1] + 1
    found = await client.get(f"/api/v1/customers?q={values['e2']}", headers=admin.headers)
    [han] = found.json()["items"]
    assert han["name"] == "韩梅梅（新号）" and han["level"] == "svip" and len(han["identities"]) == 3


async def test_an_import_row_merging_two_customers_moves_their_tickets(client, runtime, tenant, admin):
    p, e = phone(), email()
    by_phone = await make_ticket(runtime, admin, customer={"name": "甲", "phone": p})
    by_email = await make_ticket(runtime, admin, customer={"name": "甲", "email": e})
    rows = [["手机号", "邮箱", "微信unionid"], [p, e, f"oU{uuid.uuid4().hex[:20]}"]]
    job = await finished(client, admin, (await upload(client, admin, "m.csv", csv_utf8(rows))).json()["id"])
    assert job["status"] == "done" and job["updated_rows"] == 1
    # The unverified phone is weak: the e-mail's customer is updated, nothing merges.
    history = await client.get(f"/api/v1/customers/{by_email['customer_id']}/merges", headers=admin.headers)
    assert history.json()["items"] == []
    assert by_phone["customer_id"] != by_email["customer_id"]


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("客户.csv", b"", 422),
        ("客户.csv", "姓名,手机号\r\n".encode(), 422),
        ("客户.csv", "名字,地址\r\n李雷,深圳\r\n".encode(), 422),
        ("photo.csv", PNG, 415),
        ("客户.xlsx", csv_utf8([["手机"], ["13800138000"]]), 415),
        ("客户.pdf", b"%PDF-1.4", 415),
        ("客户.csv", b"\x81\xff\xfe broken", 422),
    ],
    ids=["empty", "header-only", "no-known-header", "png", "csv-named-xlsx", "pdf", "bad-encoding"],
)
async def test_bad_files_get_a_4xx_and_nothing_is_written(client, runtime, tenant, admin, name, data, status):
    before = await counts(runtime, tenant)
    response = await upload(client, admin, name, data)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await counts(runtime, tenant) == before


async def test_bad_requests_are_refused(client, runtime, tenant, admin):
    rows, _ = sheet(bad_row=False)
    unknown = await upload(client, admin, "a.csv", csv_utf8(rows), kind="spaceships")
    assert unknown.status_code == 422 and "customers" in unknown.json()["kinds"]
    not_multipart = await client.post("/api/v1/imports", headers=admin.headers, json={"kind": "customers"})
    assert not_multipart.status_code == 415
    extra_field = await client.post(
        "/api/v1/imports",
        headers=admin.headers,
        data={"kind": "customers", "mode": "x"},
        files={"file": ("a.csv", csv_utf8(rows))},
    )
    assert extra_field.status_code == 422
    no_file = await client.post(
        "/api/v1/imports", headers=admin.headers, data={"kind": "customers"}, files={}
    )
    assert no_file.status_code in {415, 422}
    assert (await counts(runtime, tenant))[2] == 0


async def test_too_large_files_are_refused_while_reading(client, runtime, tenant, admin, monkeypatch):
    monkeypatch.setattr(runtime.settings, "import_max_bytes", 2048)
    rows = [["手机号"], *([[phone()] for _ in range(400)])]
    response = await upload(client, admin, "big.csv", csv_utf8(rows))
    assert response.status_code == 413
    monkeypatch.setattr(runtime.settings, "import_max_bytes", 10 * 1024 * 1024)
    monkeypatch.setattr(runtime.settings, "import_max_rows", 100)
    response = await upload(client, admin, "long.csv", csv_utf8(rows))
    assert response.status_code == 413 and "at most 100" in response.json()["detail"]
    assert (await counts(runtime, tenant))[2] == 0


async def test_permissions_and_tenant_isolation(client, runtime, tenant, admin):
    rows, _ = sheet(bad_row=False)
    reader = await create_key(client, admin, "tickets:read")
    refused = await upload(client, admin, "a.csv", csv_utf8(rows), headers=bearer(reader))
    assert refused.status_code == 403
    job = await finished(client, admin, (await upload(client, admin, "a.csv", csv_utf8(rows))).json()["id"])
    assert (await client.get(f"/api/v1/imports/{job['id']}", headers=bearer(reader))).status_code == 403
    assert (await client.get("/api/v1/imports", headers=bearer(reader))).json()["items"] == []
    listed = await client.get("/api/v1/imports", headers=admin.headers)
    assert [item["id"] for item in listed.json()["items"]] == [job["id"]]

    other_tenant = await make_tenant(runtime)
    outsider = await make_member(runtime, other_tenant, "admin")
    for path in (f"/api/v1/imports/{job['id']}", f"/api/v1/imports/{job['id']}/errors.csv"):
        assert (await client.get(path, headers=outsider.headers)).status_code == 404
    assert (await client.get("/api/v1/imports", headers=outsider.headers)).json()["items"] == []
    assert (await counts(runtime, other_tenant))[0] == 0


# --- crashes and the sweep -------------------------------------------------------------------------


@pytest.fixture
async def no_background_sweep(app: Any) -> Any:
    """The app's own runner must not pick up the jobs these tests claim and expire by hand."""
    runner = app.state.import_runner
    await runner.stop_sweeping()
    yield
    await runner.start_sweeping()


class Crash(BaseException):
    """Stands in for the process dying: nothing catches it, nothing cleans up."""


async def test_a_crashed_job_resumes_after_its_last_chunk_and_imports_each_row_once(
    runtime, tenant, admin, no_background_sweep
):
    limits = Limits(chunk_rows=2, lease_seconds=60, max_attempts=3)
    rows = [["姓名", "手机号"], *([[f"客户{i}", phone()] for i in range(7)]), ["坏行", "bad"]]
    async with runtime.db.uow(tenant.id) as uow:
        job = await imports.create_job(
            uow, admin.actor, kind="customers", file_name="crash.csv", data=csv_utf8(rows), limits=limits
        )
    lease = await imports.claim(runtime.db, job.id, limits=limits)
    assert lease is not None
    assert await imports.claim(runtime.db, job.id, limits=limits) is None  # the lease holds

    def crash_after_two_chunks(done: int, total: int) -> None:
        if done >= 4:
            raise Crash

    with pytest.raises(Crash):
        await imports.run_job(runtime.db, lease, limits, on_progress=crash_after_two_chunks)
    async with runtime.db.uow(tenant.id) as uow:
        state = await uow.session.get(ImportJob, job.id)
        assert state is not None and (state.status, state.processed_rows, state.attempts) == ("running", 4, 1)
        # The lease runs out (the process is gone).
        await uow.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job.id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()
    assert job.id in await imports.sweep(runtime.db, limits=limits)
    resumed = await imports.claim(runtime.db, job.id, limits=limits)
    assert resumed is not None and resumed.token != lease.token
    assert await imports.run_job(runtime.db, resumed, limits) == "done"
    # The stalled runner wakes up: its lease is gone, it writes nothing.
    assert await imports.run_job(runtime.db, lease, limits) is None
    async with runtime.db.read(tenant.id) as session:
        final = await session.get(ImportJob, job.id)
        errors = list((await session.execute(select(ImportRowError))).scalars())
    assert final is not None
    assert (final.processed_rows, final.succeeded_rows, final.failed_rows, final.created_rows) == (8, 7, 1, 7)
    assert [e.row_number for e in errors] == [9]
    assert (await counts(runtime, tenant))[:2] == (7, 7)


async def test_a_job_that_keeps_crashing_is_marked_failed_by_the_sweep(
    runtime, tenant, admin, no_background_sweep
):
    limits = Limits(chunk_rows=1, max_attempts=2)
    rows = [["手机号"], [phone()], [phone()]]
    async with runtime.db.uow(tenant.id) as uow:
        job = await imports.create_job(
            uow, admin.actor, kind="customers", file_name="x.csv", data=csv_utf8(rows), limits=limits
        )
    for _ in range(2):
        lease = await imports.claim(runtime.db, job.id, limits=limits)
        assert lease is not None
        async with runtime.db.uow(tenant.id) as uow:
            await uow.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job.id)
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
            await uow.commit()
    assert job.id not in await imports.sweep(runtime.db, limits=limits)
    async with runtime.db.read(tenant.id) as session:
        failed = await session.get(ImportJob, job.id)
        assert failed is not None and failed.status == "failed" and "2 times" in (failed.error or "")
        assert await session.get(ImportFile, job.id) is None
    assert await imports.claim(runtime.db, job.id, limits=limits) is None


async def test_a_graceful_stop_hands_the_job_back_without_counting_an_attempt(
    runtime, tenant, admin, no_background_sweep
):
    limits = Limits()
    async with runtime.db.uow(tenant.id) as uow:
        job = await imports.create_job(
            uow,
            admin.actor,
            kind="customers",
            file_name="x.csv",
            data=csv_utf8([["手机号"], [phone()]]),
            limits=limits,
        )
    lease = await imports.claim(runtime.db, job.id, limits=limits)
    assert lease is not None
    await imports.release(runtime.db, lease)
    async with runtime.db.read(tenant.id) as session:
        state = await session.get(ImportJob, job.id)
    assert state is not None and (state.status, state.attempts, state.lease_token) == ("queued", 0, None)
    assert job.id in await imports.sweep(runtime.db, limits=limits)
