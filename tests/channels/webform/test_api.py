"""The public H5 form and progress page through the ASGI app: submissions (JSON and multipart with
photos), the progress page with public messages only, customer messages, and every refusal (404,
413, 415, 422, 429) writing nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from huiliu.channels.ratelimit import RateLimiter
from huiliu.channels.webform import domain
from huiliu.core.clock import utcnow
from tests.attachments import samples
from tests.channels.helpers import counts, create_entry_point, public_client, stored_files
from tests.factories import Member, make_member, make_tenant

FORMS = "/api/v1/public/forms"
PROGRESS = "/api/v1/public/progress"


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


@pytest.fixture
async def form(client: Any, admin: Member) -> dict[str, Any]:
    return await create_entry_point(
        client,
        admin,
        "h5_form",
        name="12号店售后",
        default_tags=["门店"],
        default_priority="high",
        source_labels=[{"code": "store-12", "name": "12号店", "kind": "store"}],
        max_photos=2,
    )


@pytest.fixture
async def public(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with public_client(app) as http:
        yield http


def token_of(progress_url: str) -> str:
    return progress_url.rsplit("/h5/p/", 1)[1]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def multipart(payload: Any, files: list[tuple[str, bytes, str]], field: str = "files") -> dict[str, Any]:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    # The payload travels as a part without a file name, so the body is multipart even without photos.
    parts: list[tuple[str, Any]] = [("payload", (None, data, "application/json"))]
    parts += [(field, (name, content, content_type)) for name, content, content_type in files]
    return {"files": parts}


async def test_the_form_definition_is_public(public: httpx.AsyncClient, form: dict[str, Any]) -> None:
    response = await public.get(f"{FORMS}/{form['public_key']}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "12号店售后"
    assert body["public_key"] == form["public_key"]
    assert body["max_photos"] == 2
    assert "secret" not in response.text and "config" not in body


async def test_unknown_inactive_or_other_kind_keys_are_404(
    public: httpx.AsyncClient, client: Any, admin: Member, form: dict[str, Any]
) -> None:
    hook = await create_entry_point(client, admin, "api")
    for key in ("does-not-exist", hook["public_key"], "x" * 100):
        assert_problem(await public.get(f"{FORMS}/{key}"), 404)
        assert_problem(await public.post(f"{FORMS}/{key}/submissions", json={"description": "x"}), 404)
    await client.patch(f"/api/v1/entry-points/{form['id']}", headers=admin.headers, json={"is_active": False})
    assert_problem(await public.get(f"{FORMS}/{form['public_key']}"), 404)
    assert_problem(
        await public.post(f"{FORMS}/{form['public_key']}/submissions", json={"description": "x"}), 404
    )


async def test_json_submission_opens_a_ticket_with_the_entry_points_defaults(
    public: httpx.AsyncClient, client: Any, admin: Member, form: dict[str, Any], runtime: Any
) -> None:
    response = await public.post(
        f"{FORMS}/{form['public_key']}/submissions",
        json={
            "description": "买的电饭煲内胆有划痕\n订单号 SO2026113012345",
            "contact": {"name": "李女士", "phone": "+86 138-1234-5678", "email": ""},
            "source": "store-12",
            "fields": {"model": " RC-40FS ", "bought_online": True, "colours": ["白", "灰"]},
        },
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    base = runtime.settings.public_url.rstrip("/")
    assert receipt["progress_url"].startswith(f"{base}/h5/p/v1.")
    tickets = (await client.get("/api/v1/tickets", headers=admin.headers)).json()["items"]
    [ticket] = tickets
    assert ticket["number"] == receipt["ticket_number"]
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert detail["channel"] == "h5_form"
    assert detail["entry_point_id"] == form["id"]
    assert detail["priority"] == "high"
    assert detail["tags"] == ["门店"]
    assert detail["title"] == "买的电饭煲内胆有划痕"
    assert detail["fields"]["source"] == "store-12"
    assert detail["fields"]["source_name"] == "12号店"
    assert detail["fields"]["model"] == "RC-40FS"
    assert detail["fields"]["bought_online"] is True and detail["fields"]["colours"] == ["白", "灰"]
    customer = await client.get(f"/api/v1/customers/{detail['customer_id']}", headers=admin.headers)
    identities = {(i["kind"], i["value"]) for i in customer.json()["identities"]}
    assert ("phone", "13812345678") in identities


async def test_a_resent_form_with_the_same_key_is_one_ticket(
    public: httpx.AsyncClient, form: dict[str, Any], runtime: Any, tenant: Any
) -> None:
    path = f"{FORMS}/{form['public_key']}/submissions"
    headers = {"Idempotency-Key": "form-submit-7f3a"}
    answers = [await public.post(path, headers=headers, json={"description": "空调不制冷"}) for _ in range(3)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["ticket_number"] for a in answers}) == 1
    assert len({a.json()["progress_url"] for a in answers}) == 1
    assert (await counts(runtime, tenant.id))["messages"] == 1


async def test_a_resent_form_with_photos_keeps_one_copy(
    public: httpx.AsyncClient, client: Any, admin: Member, form: dict[str, Any], runtime: Any, tenant: Any
) -> None:
    path = f"{FORMS}/{form['public_key']}/submissions"
    request = multipart({"description": "柜门掉了"}, [("门.png", samples.png(5, 5), "image/png")])
    headers = {"Idempotency-Key": "resend-with-photo"}
    first = await public.post(path, headers=headers, **request)
    again = await public.post(path, headers=headers, **request)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    found = await counts(runtime, tenant.id)
    assert found["attachments"] == 1 and found["messages"] == 1
    assert len(stored_files(runtime, tenant.id)) == 1


async def test_multipart_submission_with_photos_attaches_them(
    public: httpx.AsyncClient, client: Any, admin: Member, form: dict[str, Any], runtime: Any, tenant: Any
) -> None:
    photo, other = samples.png(3, 3), samples.jpeg()
    response = await public.post(
        f"{FORMS}/{form['public_key']}/submissions",
        **multipart(
            {
                "description": "洗衣机漏水，照片如下",
                "title": "洗衣机漏水",
                "contact": {"phone": "13900001111"},
            },
            [("漏水.png", photo, "image/png"), ("IMG_0001.JPG", other, "image/jpeg")],
        ),
    )
    assert response.status_code == 201, response.text
    [ticket] = (await client.get("/api/v1/tickets", headers=admin.headers)).json()["items"]
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert detail["title"] == "洗衣机漏水"
    [message] = [m for m in detail["messages"] if m["author_kind"] == "customer"]
    attachments = message["attachments"]
    assert sorted(a["filename"] for a in attachments) == ["IMG_0001.JPG", "漏水.png"]
    assert {a["content_type"] for a in attachments} == {"image/png", "image/jpeg"}
    downloaded = await client.get(f"/api/v1/attachments/{attachments[0]['id']}", headers=admin.headers)
    assert downloaded.status_code == 200 and downloaded.content in (photo, other)
    assert len(stored_files(runtime, tenant.id)) == 2

    # The customer sees their photos on the progress page, and only through their link.
    token = token_of(response.json()["progress_url"])
    progress = (await public.get(f"{PROGRESS}/{token}")).json()
    files = progress["messages"][0]["attachments"]
    assert len(files) == 2
    fetched = await public.get(files[0]["url"])
    assert fetched.status_code == 200 and fetched.content in (photo, other)
    assert fetched.headers["x-content-type-options"] == "nosniff"
    other_token = domain.progress_token(runtime.settings.secret_key, tenant.id, uuid.uuid4())
    assert_problem(await public.get(f"{PROGRESS}/{other_token}/attachments/{files[0]['id']}"), 404)


async def test_refused_submissions_write_nothing(
    app: Any, client: Any, admin: Member, form: dict[str, Any], runtime: Any, tenant: Any
) -> None:
    path = f"{FORMS}/{form['public_key']}/submissions"
    phone_form = await create_entry_point(client, admin, "h5_form", contact_required="phone")
    before = await counts(runtime, tenant.id)
    files_before = stored_files(runtime, tenant.id)
    ok = {"description": "屏幕碎了"}
    png = samples.png()
    cases: list[tuple[int, str, dict[str, Any]]] = [
        # 415: neither JSON nor multipart; a disguised file; a file that is no photo
        (415, path, {"content": b"description=x", "headers": {"Content-Type": "text/plain"}}),
        (415, path, {"content": b"{}"}),
        (415, path, multipart(ok, [("photo.png", samples.exe(), "image/png")])),
        (415, path, multipart(ok, [("photo.jpg", png, "image/jpeg")])),
        (415, path, multipart(ok, [("manual.pdf", samples.pdf(), "application/pdf")])),
        (415, path, multipart(ok, [("x.png", png, "image/png"), ("y.gif", b"<svg/>", "")])),
        # 422: missing or bad fields, unknown fields, too many photos, bad multipart parts
        (422, path, {"json": {}}),
        (422, path, {"json": {"description": ""}}),
        (422, path, {"json": {"description": "x", "contact": {"phone": "12"}}}),
        (422, path, {"json": {"description": "x", "contact": {"email": "not-an-email"}}}),
        (422, path, {"json": {"description": "x", "source": "has space"}}),
        (422, path, {"json": {"description": "x", "unknown": 1}}),
        (422, path, {"json": {"description": "x", "fields": {"source": "store-99"}}}),
        (422, path, {"json": {"description": "x", "fields": {"Model No": "x"}}}),
        (422, path, {"json": {"description": "x", "fields": {"spec": {"nested": 1}}}}),
        (422, path, {"json": {"description": "x" * 5001}}),
        (422, path, {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        (422, path, multipart("{broken", [])),
        (422, path, {"files": [("files", ("a.png", png, "image/png"))]}),
        (422, path, multipart(ok, [("a.png", png, "image/png")], field="photo")),
        (422, path, multipart(ok, [("a.png", b"", "image/png")])),
        (422, path, multipart(ok, [(f"{n}.png", samples.png(n + 1, 1), "image/png") for n in range(3)])),
        (422, f"{FORMS}/{phone_form['public_key']}/submissions", {"json": {"description": "x"}}),
    ]
    for status, target, request in cases:
        # A fresh address each time: refused requests count against the per-address limit too.
        async with public_client(app) as public:
            assert_problem(await public.post(target, **request), status)
    assert await counts(runtime, tenant.id) == before
    # Staging files included: nothing of a refused upload stays on disk.
    assert stored_files(runtime, tenant.id) == files_before


@pytest.fixture
def small_photo_limit(runtime: Any) -> Iterator[None]:
    settings = runtime.settings
    original = settings.public_max_photo_bytes
    settings.public_max_photo_bytes = 2048
    try:
        yield
    finally:
        settings.public_max_photo_bytes = original


async def test_oversized_photos_and_bodies_are_413_and_write_nothing(
    public: httpx.AsyncClient, form: dict[str, Any], runtime: Any, tenant: Any, small_photo_limit: None
) -> None:
    path = f"{FORMS}/{form['public_key']}/submissions"
    before = await counts(runtime, tenant.id)
    big = samples.png(64, 64) + b"\x00" * 4096
    assert_problem(
        await public.post(path, **multipart({"description": "x"}, [("big.png", big, "image/png")])), 413
    )

    async def streamed() -> AsyncIterator[bytes]:
        boundary = b"--b0undary"
        yield boundary + b'\r\nContent-Disposition: form-data; name="payload"\r\n\r\n{"description":"x"}\r\n'
        yield boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
        yield b"Content-Type: image/png\r\n\r\n" + samples.png()
        for _ in range(64):
            yield b"\x00" * 1024

    streamed_response = await public.post(
        path, content=streamed(), headers={"Content-Type": "multipart/form-data; boundary=b0undary"}
    )
    assert_problem(streamed_response, 413)
    huge_json = json.dumps({"description": "x", "fields": {"blob": "y" * 70_000}}).encode()
    assert_problem(
        await public.post(path, content=huge_json, headers={"Content-Type": "application/json"}), 413
    )
    assert await counts(runtime, tenant.id) == before
    assert stored_files(runtime, tenant.id) == []


async def test_progress_page_shows_public_messages_only(
    public: httpx.AsyncClient, client: Any, admin: Member, form: dict[str, Any]
) -> None:
    response = await public.post(
        f"{FORMS}/{form['public_key']}/submissions",
        json={"description": "冰箱不制冷", "contact": {"phone": "13700001111"}},
    )
    token = token_of(response.json()["progress_url"])
    [ticket] = (await client.get("/api/v1/tickets", headers=admin.headers)).json()["items"]
    messages = f"/api/v1/tickets/{ticket['id']}/messages"
    note = await client.post(
        messages, headers=admin.headers, json={"body": "内部：疑似压缩机故障", "public": False}
    )
    reply = await client.post(
        messages, headers=admin.headers, json={"body": "您好，师傅明天上午上门", "public": True}
    )
    assert note.status_code == reply.status_code == 201

    page = await public.get(f"{PROGRESS}/{token}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    body = page.json()
    assert body["ticket_number"] == response.json()["ticket_number"]
    assert body["status"] == "open"
    assert body["title"] == "冰箱不制冷"
    assert [(m["author_kind"], m["body"]) for m in body["messages"]] == [
        ("customer", "冰箱不制冷"),
        ("agent", "您好，师傅明天上午上门"),
    ]
    assert "内部" not in page.text and "13700001111" not in page.text and "管理员" not in page.text


async def test_customer_message_lands_on_the_ticket_and_reopens_it(
    public: httpx.AsyncClient, client: Any, admin: Member, form: dict[str, Any], runtime: Any, tenant: Any
) -> None:
    response = await public.post(
        f"{FORMS}/{form['public_key']}/submissions", json={"description": "热水器坏了"}
    )
    token = token_of(response.json()["progress_url"])
    [ticket] = (await client.get("/api/v1/tickets", headers=admin.headers)).json()["items"]
    resolved = await client.post(
        f"/api/v1/tickets/{ticket['id']}/status", headers=admin.headers, json={"status": "resolved"}
    )
    assert resolved.status_code == 200, resolved.text

    posted = await public.post(f"{PROGRESS}/{token}/messages", json={"text": "还是不出热水"})
    assert posted.status_code == 201, posted.text
    assert posted.json()["author_kind"] == "customer" and posted.json()["body"] == "还是不出热水"
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert detail["status"] == "open"
    assert [m["body"] for m in detail["messages"]][-1] == "还是不出热水"
    page = (await public.get(f"{PROGRESS}/{token}")).json()
    assert page["messages"][-1]["body"] == "还是不出热水"

    before = await counts(runtime, tenant.id)
    assert_problem(await public.post(f"{PROGRESS}/{token}/messages", json={"text": ""}), 422)
    assert_problem(
        await public.post(f"{PROGRESS}/{token}/messages", json={"text": "x", "public": False}), 422
    )
    assert_problem(await public.post(f"{PROGRESS}/{token}/messages", json={"text": "<script></script>"}), 422)
    forged = domain.progress_token("not-the-server-key-but-long-enough", tenant.id, uuid.UUID(ticket["id"]))
    assert_problem(await public.post(f"{PROGRESS}/{forged}/messages", json={"text": "x"}), 404)
    assert_problem(await public.get(f"{PROGRESS}/{forged}"), 404)
    assert await counts(runtime, tenant.id) == before


async def test_a_link_expires_some_days_after_its_ticket_closed(
    public: httpx.AsyncClient,
    client: Any,
    admin: Member,
    form: dict[str, Any],
    runtime: Any,
    tenant: Any,
    monkeypatch: Any,
) -> None:
    response = await public.post(
        f"{FORMS}/{form['public_key']}/submissions", json={"description": "空调漏水"}
    )
    token = token_of(response.json()["progress_url"])
    [ticket] = (await client.get("/api/v1/tickets", headers=admin.headers)).json()["items"]
    closed = await client.post(
        f"/api/v1/tickets/{ticket['id']}/status", headers=admin.headers, json={"status": "closed"}
    )
    assert closed.status_code == 200, closed.text
    # Closed just now: the customer still reads the page.
    assert (await public.get(f"{PROGRESS}/{token}")).status_code == 200
    later = utcnow() + timedelta(days=runtime.settings.progress_link_days_after_close + 1)
    monkeypatch.setattr("huiliu.channels.webform.queries.utcnow", lambda: later)
    before = await counts(runtime, tenant.id)
    assert_problem(await public.get(f"{PROGRESS}/{token}"), 410)
    assert_problem(await public.post(f"{PROGRESS}/{token}/messages", json={"text": "还在漏"}), 410)
    assert await counts(runtime, tenant.id) == before
    monkeypatch.setattr(runtime.settings, "progress_link_days_after_close", 0)  # 0: links never expire
    assert (await public.get(f"{PROGRESS}/{token}")).status_code == 200


async def test_a_token_never_reaches_another_tenants_ticket(
    public: httpx.AsyncClient, form: dict[str, Any], runtime: Any
) -> None:
    response = await public.post(
        f"{FORMS}/{form['public_key']}/submissions", json={"description": "门锁坏了"}
    )
    _, ticket_id = domain.read_progress_token(
        runtime.settings.secret_key, token_of(response.json()["progress_url"])
    )
    other = await make_tenant(runtime)
    crossed = domain.progress_token(runtime.settings.secret_key, other.id, ticket_id)
    assert_problem(await public.get(f"{PROGRESS}/{crossed}"), 404)
    assert_problem(await public.post(f"{PROGRESS}/{crossed}/messages", json={"text": "x"}), 404)


@pytest.fixture
def tight_limits(app: Any, runtime: Any) -> Iterator[None]:
    settings = runtime.settings.model_copy(
        update={
            "public_rate_limit_per_ip": "2/minute",
            "public_rate_limit_per_entry_point": "3/minute",
            "public_read_rate_limit_per_ip": "3/minute",
        }
    )
    previous = getattr(app.state, "public_rate_limiter", None)
    app.state.public_rate_limiter = RateLimiter(settings)
    try:
        yield
    finally:
        app.state.public_rate_limiter = previous


async def test_rate_limits_answer_429_with_retry_after_and_write_nothing(
    app: Any, form: dict[str, Any], runtime: Any, tenant: Any, tight_limits: None
) -> None:
    path = f"{FORMS}/{form['public_key']}/submissions"
    async with public_client(app, "10.9.9.1") as first:
        for _ in range(2):
            assert (await first.post(path, json={"description": "门店空调漏水"})).status_code == 201
        before = await counts(runtime, tenant.id)
        refused = await first.post(path, json={"description": "另一个问题"})
        problem = assert_problem(refused, 429)
        assert problem["type"].endswith("/rate-limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert await counts(runtime, tenant.id) == before
    # Another address has its own allowance, but the form's own limit (3/minute) is now reached.
    async with public_client(app, "10.9.9.2") as second:
        assert (await second.post(path, json={"description": "收银机坏了"})).status_code == 201
        assert_problem(await second.post(path, json={"description": "打印机坏了"}), 429)
    async with public_client(app, "10.9.9.3") as reader:
        for _ in range(3):
            assert (await reader.get(f"{FORMS}/{form['public_key']}")).status_code == 200
        assert_problem(await reader.get(f"{FORMS}/{form['public_key']}"), 429)
