from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from huiliu.attachments.models import Attachment
from tests.attachments import samples
from tests.factories import Member, make_member, make_team, make_tenant, make_ticket


async def upload(
    client: httpx.AsyncClient,
    member: Member,
    content: bytes,
    filename: str = "截图.png",
    content_type: str = "image/png",
    ticket_id: Any = None,
) -> httpx.Response:
    data = {"ticket_id": str(ticket_id)} if ticket_id is not None else None
    return await client.post(
        "/api/v1/attachments",
        headers=member.headers,
        files={"file": (filename, content, content_type)},
        data=data,
    )


def stored_files(runtime: Any, tenant_id: uuid.UUID) -> list[Path]:
    root = Path(runtime.settings.files_dir) / str(tenant_id)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


async def attachment_rows(runtime: Any, tenant_id: uuid.UUID) -> int:
    async with runtime.db.read(tenant_id) as session:
        return int((await session.execute(select(func.count()).select_from(Attachment))).scalar_one())


async def assert_nothing_written(runtime: Any, tenant_id: uuid.UUID) -> None:
    assert stored_files(runtime, tenant_id) == []
    assert await attachment_rows(runtime, tenant_id) == 0


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def agent(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="客服小王")


async def test_upload_and_download_round_trip_keeps_bytes_and_chinese_name(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member
) -> None:
    content = samples.png(16, 16)
    response = await upload(client, agent, content, "报修照片.png", "image/png")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == "报修照片.png"
    assert body["content_type"] == "image/png"
    assert body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()

    download = await client.get(f"/api/v1/attachments/{body['id']}", headers=agent.headers)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == body["sha256"]
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('报修照片.png')}" in disposition

    etag = download.headers["etag"]
    cached = await client.get(
        f"/api/v1/attachments/{body['id']}", headers={**agent.headers, "If-None-Match": etag}
    )
    assert cached.status_code == 304

    meta = await client.get(f"/api/v1/attachments/{body['id']}/meta", headers=agent.headers)
    assert meta.status_code == 200
    assert meta.json()["ticket_id"] is None and meta.json()["uploaded_by_id"] == str(agent.user.id)

    [path] = stored_files(runtime, tenant.id)
    sha = body["sha256"]
    assert path == Path(runtime.settings.files_dir) / str(tenant.id) / sha[:2] / sha


async def test_same_bytes_are_stored_once_per_tenant(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member
) -> None:
    first = await upload(client, agent, samples.pdf(), "a.pdf", "application/pdf")
    second = await upload(client, agent, samples.pdf(), "b.pdf", "application/pdf")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert len(stored_files(runtime, tenant.id)) == 1
    assert await attachment_rows(runtime, tenant.id) == 2


async def test_text_is_served_as_utf8_text(client: httpx.AsyncClient, agent: Member) -> None:
    response = await upload(client, agent, samples.csv_text(), "订单.csv", "text/csv")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "text/csv"
    download = await client.get(f"/api/v1/attachments/{response.json()['id']}", headers=agent.headers)
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.text == samples.csv_text().decode()


async def test_upload_larger_than_the_limit_is_413_and_writes_nothing(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "max_upload_bytes", 4096)
    response = await upload(client, agent, b"a" * 5000, "big.txt", "text/plain")
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    await assert_nothing_written(runtime, tenant.id)


async def test_streamed_upload_without_length_is_cut_off_at_the_limit(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Content-Length (chunked): the counter stops the upload while it streams to disk."""
    monkeypatch.setattr(runtime.settings, "max_upload_bytes", 64 * 1024)
    boundary = "huiliu-test-boundary"
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield head
        for _ in range(64):  # 64 x 16 KiB = 1 MiB, far past the limit
            sent += 1
            yield b"x" * 16 * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/api/v1/attachments",
        headers={**agent.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body(),
    )
    assert response.status_code == 413
    await assert_nothing_written(runtime, tenant.id)


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (samples.exe(), "photo.jpg", "image/jpeg"),
        (samples.html(), "photo.png", "image/png"),
        (samples.png(), "invoice.pdf", "application/pdf"),
        (samples.plain_zip(), "archive.zip", "application/zip"),
    ],
    ids=["exe-as-jpg", "html-as-png", "png-as-pdf", "zip"],
)
async def test_disguised_or_unlisted_upload_is_415_and_writes_nothing(
    client: httpx.AsyncClient,
    runtime: Any,
    tenant: Any,
    agent: Member,
    content: bytes,
    filename: str,
    content_type: str,
) -> None:
    response = await upload(client, agent, content, filename, content_type)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    await assert_nothing_written(runtime, tenant.id)


async def test_malformed_uploads_are_rejected_and_write_nothing(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member
) -> None:
    not_multipart = await client.post(
        "/api/v1/attachments", headers=agent.headers, content=samples.png(), params={}
    )
    assert not_multipart.status_code == 415
    no_file = await client.post("/api/v1/attachments", headers=agent.headers, files={"note": ("n", b"x")})
    assert no_file.status_code == 422
    empty = await upload(client, agent, b"", "empty.txt", "text/plain")
    assert empty.status_code == 422
    bad_ticket = await upload(client, agent, samples.png(), ticket_id="not-a-uuid")
    assert bad_ticket.status_code == 422
    unknown_ticket = await upload(client, agent, samples.png(), ticket_id=uuid.uuid4())
    assert unknown_ticket.status_code == 404
    await assert_nothing_written(runtime, tenant.id)


async def test_unlinked_upload_is_visible_only_to_its_uploader(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member
) -> None:
    colleague = await make_member(runtime, tenant, "admin", name="主管")
    created = (await upload(client, agent, samples.png())).json()
    for path in (f"/api/v1/attachments/{created['id']}", f"/api/v1/attachments/{created['id']}/meta"):
        assert (await client.get(path, headers=colleague.headers)).status_code == 404
        assert (await client.get(path, headers=agent.headers)).status_code == 200


async def test_attachment_linked_to_a_ticket_follows_the_ticket_scope(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member
) -> None:
    team_a = await make_team(runtime, tenant)
    team_b = await make_team(runtime, tenant)
    agent_a = await make_member(runtime, tenant, "agent", team=team_a)
    agent_b = await make_member(runtime, tenant, "agent", team=team_b)
    ticket = await make_ticket(runtime, agent, team_id=team_a.id)
    created = await upload(
        client, agent_a, samples.pdf(), "发票.pdf", "application/pdf", ticket_id=ticket["id"]
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/attachments/{created.json()['id']}"
    assert (await client.get(url, headers=agent.headers)).status_code == 200
    assert (await client.get(url, headers=agent_a.headers)).status_code == 200
    assert (await client.get(url, headers=agent_b.headers)).status_code == 404
    # Uploading for a ticket outside one's scope is refused like a missing ticket.
    refused = await upload(client, agent_b, samples.png(), ticket_id=ticket["id"])
    assert refused.status_code == 404


async def test_other_tenants_cannot_read_an_attachment(
    client: httpx.AsyncClient, runtime: Any, agent: Member
) -> None:
    created = (await upload(client, agent, samples.png())).json()
    other_tenant = await make_tenant(runtime)
    outsider = await make_member(runtime, other_tenant, "admin")
    for path in (f"/api/v1/attachments/{created['id']}", f"/api/v1/attachments/{created['id']}/meta"):
        assert (await client.get(path, headers=outsider.headers)).status_code == 404
    assert (await client.get(f"/api/v1/attachments/{created['id']}")).status_code == 401


async def test_message_with_attachment_ids_links_them_and_the_detail_shows_them(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member
) -> None:
    ticket = await make_ticket(runtime, agent)
    photo = (await upload(client, agent, samples.jpeg(), "现场.jpg", "image/jpeg")).json()
    report = (await upload(client, agent, samples.office("docx"), "报告.docx", "")).json()
    reply = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        headers=agent.headers,
        json={"body": "已收到照片和报告", "public": True, "attachment_ids": [photo["id"], report["id"]]},
    )
    assert reply.status_code == 201, reply.text
    assert {a["id"] for a in reply.json()["attachments"]} == {photo["id"], report["id"]}

    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent.headers)).json()
    [message] = [m for m in detail["messages"] if m["id"] == reply.json()["id"]]
    assert sorted(a["filename"] for a in message["attachments"]) == ["报告.docx", "现场.jpg"]

    meta = (await client.get(f"/api/v1/attachments/{photo['id']}/meta", headers=agent.headers)).json()
    assert meta["ticket_id"] == str(ticket["id"]) and meta["message_id"] == reply.json()["id"]
    # Now linked to the ticket, a colleague who sees the ticket can download it.
    colleague = await make_member(runtime, tenant, "admin", name="同事")
    assert (
        await client.get(f"/api/v1/attachments/{photo['id']}", headers=colleague.headers)
    ).status_code == 200

    again = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        headers=agent.headers,
        json={"body": "再发一次", "public": False, "attachment_ids": [photo["id"]]},
    )
    assert again.status_code == 422


async def test_a_message_cannot_claim_someone_elses_upload(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member
) -> None:
    ticket = await make_ticket(runtime, agent)
    colleague = await make_member(runtime, tenant, "admin", name="同事")
    theirs = (await upload(client, colleague, samples.png())).json()
    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        headers=agent.headers,
        json={"body": "附件", "public": False, "attachment_ids": [theirs["id"]]},
    )
    assert response.status_code == 422
    meta = (await client.get(f"/api/v1/attachments/{theirs['id']}/meta", headers=colleague.headers)).json()
    assert meta["ticket_id"] is None and meta["message_id"] is None


async def test_api_key_uploads_must_belong_to_a_ticket(
    client: httpx.AsyncClient, runtime: Any, tenant: Any, agent: Member
) -> None:
    key = await client.post(
        "/api/v1/api-keys", headers=agent.headers, json={"name": "ERP", "scopes": ["tickets:write"]}
    )
    assert key.status_code == 201, key.text
    integrator = {"Authorization": f"Bearer {key.json()['key']}"}
    files = {"file": ("回执.pdf", samples.pdf(), "application/pdf")}
    unlinked = await client.post("/api/v1/attachments", headers=integrator, files=files)
    assert unlinked.status_code == 422
    await assert_nothing_written(runtime, tenant.id)
    ticket = await make_ticket(runtime, agent)
    linked = await client.post(
        "/api/v1/attachments", headers=integrator, files=files, data={"ticket_id": str(ticket["id"])}
    )
    assert linked.status_code == 201, linked.text
    download = await client.get(f"/api/v1/attachments/{linked.json()['id']}", headers=integrator)
    assert download.status_code == 200 and download.content == samples.pdf()
