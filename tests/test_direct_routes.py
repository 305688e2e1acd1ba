"""The direct routes (huiliu.direct_routes, decision 0055): the common requests of ``POST /api/v1/tickets``
and ``POST /api/v1/intake/messages`` are answered without FastAPI, with the same answers the FastAPI
routes give; everything else reaches the routes with its body intact."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import orjson
import pytest

from huiliu.direct_routes import MAX_DIRECT_BODY, DirectAnswer, DirectRequest, DirectRoutes, DirectStats
from tests.auth.conftest import bearer, create_key
from tests.conftest import is_postgres
from tests.factories import make_member, make_tenant, unique
from tests.intake.test_pipeline import make_entry_point
from tests.tickets.test_api import assert_problem

TICKETS = "/api/v1/tickets"
INTAKE = "/api/v1/intake/messages"
# Fields that differ between two creates by construction.
VARYING = {"id", "number", "created_at", "updated_at", "customer_id", "title", "first_response_due_at"}


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Any:
    return await make_member(runtime, tenant, "admin")


@contextmanager
def direct(app: Any, on: bool) -> Iterator[DirectStats]:
    """Run with the direct routes on or off; yields the app's counters."""
    before = app.state.direct_routes
    app.state.direct_routes = on
    try:
        yield app.state.direct_stats
    finally:
        app.state.direct_routes = before


def _phone() -> str:
    return "139" + str(uuid.uuid4().int)[-8:]


def ticket_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": unique("收银机无法开机"),
        "description": "门店收银机早上开始无法开机，请尽快处理",
        "priority": "high",
        "customer": {"phone": _phone()},
    }
    body.update(changes)
    return body


def intake_body(entry_point_id: Any, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entry_point_id": str(entry_point_id),
        "external_id": unique("erp"),
        "sender": {"name": "王女士", "identities": [{"kind": "phone", "value": _phone()}]},
        "text": "双十一买的空气炸锅到现在还没发货，麻烦查一下",
    }
    body.update(changes)
    return body


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in VARYING}


async def test_ticket_create_answers_as_the_route_does(
    app: Any, client: Any, admin: Any, database_url: str
) -> None:
    answers = {}
    for on in (True, False):
        with direct(app, on) as stats:
            answered = stats.answered
            response = await client.post(TICKETS, headers=admin.headers, json=ticket_body())
            assert response.status_code == 201, response.text
            assert response.headers["content-type"] == "application/json"
            answers[on] = response.json()
            # The direct create path exists on PostgreSQL only; on SQLite the route answers.
            expected = 1 if on and is_postgres(database_url) else 0
            assert stats.answered - answered == expected
    assert answers[True].keys() == answers[False].keys()
    assert comparable(answers[True]) == comparable(answers[False])
    detail = await client.get(f"{TICKETS}/{answers[True]['id']}", headers=admin.headers)
    assert detail.status_code == 200 and detail.json()["number"] == answers[True]["number"]


async def test_intake_answers_as_the_route_does(
    app: Any, client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    entry_point = await make_entry_point(runtime, tenant.id)
    key = bearer(await create_key(client, admin, "tickets:write"))
    for on in (True, False):
        with direct(app, on) as stats:
            answered = stats.answered
            first = intake_body(entry_point.id)
            created = await client.post(INTAKE, headers=key, json=first)
            repeat = await client.post(INTAKE, headers=key, json=first)
            assert stats.answered - answered == (2 if on else 0)
        assert created.status_code == 201, created.text
        assert repeat.status_code == 200, repeat.text
        assert created.json()["created"] is True and created.json()["outcome"] == "created"
        assert repeat.json() == {**created.json(), "created": False, "outcome": "repeat"}
        assert set(created.json()) == {"ticket_id", "ticket_number", "created", "message_id", "outcome"}


async def test_a_refusal_after_the_service_ran_is_the_routes_problem(
    app: Any, client: Any, admin: Any
) -> None:
    problems = {}
    for on in (True, False):
        with direct(app, on):
            response = await client.post(INTAKE, headers=admin.headers, json=intake_body(uuid.uuid4()))
        problems[on] = assert_problem(response, 422)
    assert problems[True] == problems[False]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"headers": {}}, 401),  # no credentials
        ({"headers": {"Authorization": "Bearer not-a-token"}}, 401),
        ({"json": {"title": ""}}, 422),  # invalid body
        ({"content": b'{"title": "x",', "headers_extra": {"Content-Type": "application/json"}}, 422),
        (
            {"content": b"title=x", "headers_extra": {"Content-Type": "application/x-www-form-urlencoded"}},
            422,
        ),
    ],
)
async def test_requests_it_cannot_answer_reach_the_route(
    app: Any, client: Any, admin: Any, change: dict[str, Any], status: int
) -> None:
    bodies = {}
    for on in (True, False):
        headers = dict(change.get("headers", admin.headers))
        headers.update(change.get("headers_extra", {}))
        kwargs: dict[str, Any] = {"headers": headers}
        if "content" in change:
            kwargs["content"] = change["content"]
        else:
            kwargs["json"] = change.get("json", ticket_body())
        with direct(app, on) as stats:
            answered = stats.answered
            response = await client.post(TICKETS, **kwargs)
            assert stats.answered == answered
        bodies[on] = assert_problem(response, status)
    assert bodies[True] == bodies[False]


async def test_a_permission_the_caller_lacks_is_the_routes_403(
    app: Any, client: Any, runtime: Any, tenant: Any, admin: Any
) -> None:
    entry_point = await make_entry_point(runtime, tenant.id)
    reader = bearer(await create_key(client, admin, "tickets:read"))
    with direct(app, True):
        response = await client.post(INTAKE, headers=reader, json=intake_body(entry_point.id))
    assert_problem(response, 403)


async def test_an_idempotent_create_goes_through_the_route(app: Any, client: Any, admin: Any) -> None:
    headers = {**admin.headers, "Idempotency-Key": unique("idem")}
    body = ticket_body()
    with direct(app, True) as stats:
        answered = stats.answered
        first = await client.post(TICKETS, headers=headers, json=body)
        second = await client.post(TICKETS, headers=headers, json=body)
        assert stats.answered == answered
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


# --- the middleware alone -----------------------------------------------------------------------------


class _State:
    direct_routes = True


class _App:
    """What the middleware reads from ``scope["app"]``."""

    state = _State()
    dependency_overrides: ClassVar[dict[Any, Any]] = {}


def _scope(path: str = "/direct") -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"authorization", b"Bearer t")],
        "app": _App(),
    }


async def _run(middleware: DirectRoutes, scope: dict[str, Any], chunks: list[bytes]) -> list[dict[str, Any]]:
    incoming = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    incoming.append({"type": "http.disconnect"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await middleware(scope, receive, send)
    return sent


class _Inner:
    """The app behind the middleware: records the body it received."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


async def test_a_body_in_chunks_is_read_whole() -> None:
    seen: list[DirectRequest] = []

    async def handler(request: DirectRequest) -> DirectAnswer | None:
        seen.append(request)
        return DirectAnswer(201, orjson.dumps({"ok": True}))

    inner = _Inner()
    middleware = DirectRoutes(inner, {("POST", "/direct"): handler})
    sent = await _run(middleware, _scope(), [b'{"a": ', b'"b"}'])
    assert seen[0].body == {"a": "b"} and seen[0].authorization == "Bearer t"
    assert sent[0]["status"] == 201 and sent[1]["body"] == b'{"ok":true}'
    assert (b"content-length", b"11") in sent[0]["headers"]
    assert inner.bodies == [] and middleware.stats.answered == 1


async def test_a_declined_request_reaches_the_app_with_its_body() -> None:
    async def handler(request: DirectRequest) -> DirectAnswer | None:
        return None

    inner = _Inner()
    middleware = DirectRoutes(inner, {("POST", "/direct"): handler})
    sent = await _run(middleware, _scope(), [b'{"a": ', b'"b"}'])
    assert inner.bodies == [b'{"a": "b"}'] and sent[0]["status"] == 299
    assert middleware.stats.passed_on == 1


async def test_a_large_body_is_not_parsed_and_reaches_the_app_whole() -> None:
    calls: list[DirectRequest] = []

    async def handler(request: DirectRequest) -> DirectAnswer | None:
        calls.append(request)
        return DirectAnswer(201, b"{}")

    inner = _Inner()
    middleware = DirectRoutes(inner, {("POST", "/direct"): handler})
    chunk = b"x" * (MAX_DIRECT_BODY // 2 + 1)
    await _run(middleware, _scope(), [chunk, chunk, chunk, b"end"])
    assert calls == [] and inner.bodies == [chunk * 3 + b"end"]


async def test_other_paths_and_a_switched_off_app_are_not_touched() -> None:
    async def handler(request: DirectRequest) -> DirectAnswer | None:
        raise AssertionError("not for this request")

    inner = _Inner()
    middleware = DirectRoutes(inner, {("POST", "/direct"): handler})
    await _run(middleware, _scope("/other"), [b"{}"])
    off = _scope()
    off["app"] = type(
        "Off", (), {"state": type("S", (), {"direct_routes": False})(), "dependency_overrides": {}}
    )()
    await _run(middleware, off, [b"{}"])
    assert inner.bodies == [b"{}", b"{}"]
