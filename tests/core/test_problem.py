"""Every error leaves the API as RFC 9457 problem+json, mapped once from the domain errors."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict

from huiliu.core import errors
from huiliu.core.problem import PROBLEM_MEDIA_TYPE, TYPE_BASE, install_problem_handlers

DOMAIN_ERRORS = [
    (errors.ValidationFailed, 422, "validation-failed"),
    (errors.NotFound, 404, "not-found"),
    (errors.Conflict, 409, "conflict"),
    (errors.NotAuthenticated, 401, "not-authenticated"),
    (errors.PermissionDenied, 403, "permission-denied"),
    (errors.InvalidTransition, 409, "invalid-transition"),
    (errors.IdempotencyKeyReused, 422, "idempotency-key-reused"),
    (errors.PayloadTooLarge, 413, "payload-too-large"),
    (errors.UnsupportedMediaType, 415, "unsupported-media-type"),
    (errors.RateLimited, 429, "rate-limited"),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/raise/{index}")
    async def raise_domain(index: int, detail: str | None = None) -> None:
        error_class = DOMAIN_ERRORS[index][0]
        raise error_class(detail)

    @app.get("/extra")
    async def raise_with_extra() -> None:
        raise errors.Conflict("ticket is locked", ticket_number=42)

    @app.post("/body")
    async def accept_body(body: Body) -> dict[str, int]:
        return {"count": body.count}

    @app.get("/teapot")
    async def raise_http() -> None:
        raise HTTPException(status_code=401, detail="token expired", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/odd")
    async def raise_unmapped() -> None:
        raise HTTPException(status_code=418)

    return app


@pytest.fixture
async def http():
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["type"] == TYPE_BASE + slug
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    return body


@pytest.mark.parametrize(("index", "case"), list(enumerate(DOMAIN_ERRORS)))
async def test_domain_errors_map_to_their_status_and_type(http, index, case):
    error_class, status, slug = case
    body = assert_problem(await http.get(f"/raise/{index}", params={"detail": "说明"}), status, slug)
    assert body["title"] == error_class.title
    assert body["detail"] == "说明"
    assert body["instance"] == f"/raise/{index}"


async def test_a_domain_error_without_detail_uses_its_title(http):
    body = assert_problem(await http.get("/raise/1"), 404, "not-found")
    assert body["detail"] == "Not found"


async def test_extra_fields_of_a_domain_error_are_members_of_the_problem(http):
    body = assert_problem(await http.get("/extra"), 409, "conflict")
    assert body["ticket_number"] == 42 and body["detail"] == "ticket is locked"


async def test_request_validation_errors_list_each_field(http):
    response = await http.post("/body", json={"count": "many", "other": 1})
    body = assert_problem(response, 422, "validation-failed")
    locations = {tuple(error["loc"]) for error in body["errors"]}
    assert ("body", "count") in locations and ("body", "other") in locations
    assert all(error["msg"] and error["type"] for error in body["errors"])


async def test_http_exceptions_keep_their_status_detail_and_headers(http):
    response = await http.get("/teapot")
    body = assert_problem(response, 401, "not-authenticated")
    assert body["detail"] == "token expired"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_unknown_routes_and_methods_are_problems_too(http):
    assert_problem(await http.get("/nowhere"), 404, "not-found")
    assert_problem(await http.delete("/body"), 405, "method-not-allowed")
    body = assert_problem(await http.get("/odd"), 418, "error")
    assert body["title"] == "Error"
