"""Files of knowledge-base articles: an admin uploads a file and lists it on an article; every agent who
may read the article downloads it through the article (not only the uploader), and the public help
centre serves the files of published public articles only — always as downloads."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.attachments.samples import pdf, png
from tests.kb.conftest import BASE, Kb

PUBLIC = "/api/v1/public/help"
_addresses = itertools.count(1)


@pytest.fixture
async def visitor(app: object) -> AsyncIterator[httpx.AsyncClient]:
    address = f"198.51.100.{100 + next(_addresses)}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def upload(client: httpx.AsyncClient, member: Any, filename: str, content: bytes, kind: str) -> str:
    response = await client.post(
        "/api/v1/attachments", headers=member.headers, files={"file": (filename, content, kind)}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def article_with_files(
    client: httpx.AsyncClient, kb: Kb, visibility: str, status: str, *files: str
) -> dict[str, Any]:
    body = {
        "title": f"洗衣机说明书（{visibility}/{status}）",
        "body": "<p>见附件</p>",
        "visibility": visibility,
        "status": status,
        "attachment_ids": list(files),
    }
    response = await client.post(f"{BASE}/articles", headers=kb.admin.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_an_articles_files_are_listed_and_every_reader_downloads_them(
    client: httpx.AsyncClient, kb: Kb
) -> None:
    manual = await upload(client, kb.admin, "说明书.pdf", pdf(), "application/pdf")
    photo = await upload(client, kb.admin, "接线图.png", png(), "image/png")
    # Before it is on an article, only the uploader sees the file.
    assert (await client.get(f"/api/v1/attachments/{manual}", headers=kb.agent.headers)).status_code == 404
    article = await article_with_files(client, kb, "internal", "published", manual, photo)
    assert [item["filename"] for item in article["attachments"]] == ["说明书.pdf", "接线图.png"]
    assert article["attachments"][0] == {
        "id": manual,
        "filename": "说明书.pdf",
        "content_type": "application/pdf",
        "size": len(pdf()),
    }
    read = (await client.get(f"{BASE}/articles/{article['id']}", headers=kb.agent.headers)).json()
    assert [item["id"] for item in read["attachments"]] == [manual, photo]

    download = await client.get(
        f"{BASE}/articles/{article['id']}/attachments/{manual}", headers=kb.agent.headers
    )
    assert download.status_code == 200, download.text
    assert download.content == pdf()
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"

    # A file that is not the article's is not reachable through it.
    other = await upload(client, kb.admin, "别的.png", png(3, 3), "image/png")
    missing = await client.get(
        f"{BASE}/articles/{article['id']}/attachments/{other}", headers=kb.agent.headers
    )
    assert missing.status_code == 404


async def test_a_draft_articles_files_are_for_kb_admins_only(client: httpx.AsyncClient, kb: Kb) -> None:
    manual = await upload(client, kb.admin, "说明书.pdf", pdf(), "application/pdf")
    draft = await article_with_files(client, kb, "internal", "draft", manual)
    path = f"{BASE}/articles/{draft['id']}/attachments/{manual}"
    assert (await client.get(path, headers=kb.agent.headers)).status_code == 404
    assert (await client.get(path, headers=kb.admin.headers)).status_code == 200


async def test_the_help_centre_serves_the_files_of_public_published_articles_only(
    client: httpx.AsyncClient, visitor: httpx.AsyncClient, kb: Kb
) -> None:
    manual = await upload(client, kb.admin, "说明书.pdf", pdf(), "application/pdf")
    public = await article_with_files(client, kb, "public", "published", manual)
    internal = await article_with_files(client, kb, "internal", "published", manual)
    slug = kb.tenant.slug

    page = (await visitor.get(f"{PUBLIC}/{slug}/articles/{public['id']}")).json()
    assert [item["filename"] for item in page["attachments"]] == ["说明书.pdf"]
    download = await visitor.get(f"{PUBLIC}/{slug}/articles/{public['id']}/attachments/{manual}")
    assert download.status_code == 200, download.text
    assert download.content == pdf()
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["cache-control"] == "no-store"

    hidden = await visitor.get(f"{PUBLIC}/{slug}/articles/{internal['id']}/attachments/{manual}")
    assert hidden.status_code == 404
    # Removing the file from the article takes it off the help centre.
    body = {**{k: public[k] for k in ("title", "body", "visibility", "status", "tags")}, "attachment_ids": []}
    assert (
        await client.put(f"{BASE}/articles/{public['id']}", headers=kb.admin.headers, json=body)
    ).status_code == 200
    gone = await visitor.get(f"{PUBLIC}/{slug}/articles/{public['id']}/attachments/{manual}")
    assert gone.status_code == 404
