"""Direct handling of the two write routes that carry bulk traffic (decision 0055).

``POST /api/v1/tickets`` and ``POST /api/v1/intake/messages`` are what integrations call thousands of
times a second. Through FastAPI each request pays for route matching, the dependency solver, a
``Request`` object, body validation and response-model validation before and after a millisecond of
real work — measured at about 40 % of the API process's CPU for a create. ``DirectRoutes`` is a plain
ASGI middleware that answers these routes' *common, successful* requests itself, calling the same
application code the FastAPI route calls; every other request goes to FastAPI unchanged.

The contract that keeps the two paths one API:

- A direct handler gets the parsed JSON body and the request's ``Authorization`` header. Whenever it
  is not sure it can give the answer FastAPI would give — no bearer token, a token it cannot verify, a
  missing permission, a body that does not validate, a header the route would act on (an
  ``Idempotency-Key``), a case the route sends elsewhere — it returns ``None`` *before writing
  anything*, and the request is replayed to FastAPI with the same body, which answers it (including
  every 4xx problem) exactly as before.
- Once a handler has called the application service, its answer is final: a result is serialised with
  the route's own response model; a ``HuiliuError`` becomes the same RFC 9457 problem the app's
  exception handler renders.
- The FastAPI routes stay registered as they are: they document the API (OpenAPI), they answer the
  fallbacks, and they are what runs when ``HUILIU_DIRECT_ROUTES=false``.

``DirectRoutes`` sits in front of the whole FastAPI application (``huiliu.app.HuiliuAPI``), not inside
its middleware stack: the direct answers skip Starlette's error and exception middleware and FastAPI's
body-limit and telemetry wrappers too (about 8 % of the API process's CPU for a create). An unexpected
exception of a direct handler reaches the server, which answers 500 as Starlette's error middleware
would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from huiliu.core.errors import HuiliuError
from huiliu.core.problem import problem_response

# A body larger than this is left to FastAPI (its own limits and problems apply); real requests to the
# direct routes are a few hundred bytes.
MAX_DIRECT_BODY = 256 * 1024


@dataclass(frozen=True)
class DirectRequest:
    """What a direct handler sees: the application, the parsed JSON body and the headers it may use."""

    app: Any
    path: str
    body: Any
    authorization: str
    headers: dict[bytes, bytes]


@dataclass(frozen=True)
class DirectAnswer:
    status: int
    body: bytes
    media_type: str = "application/json"


@dataclass
class DirectStats:
    """How many requests of the direct routes were answered directly and how many went to FastAPI (for
    tests and benchmark reports)."""

    answered: int = 0
    passed_on: int = 0


# Returns the answer, or None to let FastAPI answer the request (nothing may have been written then).
DirectHandler = Callable[[DirectRequest], Awaitable[DirectAnswer | None]]


class DirectRoutes:
    """ASGI middleware: ``(method, path)`` → handler, for exact paths (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        routes: dict[tuple[str, str], DirectHandler],
        stats: DirectStats | None = None,
        application: Any = None,
    ) -> None:
        """``app`` answers what the handlers do not; ``application`` is the FastAPI application whose
        state the handlers use (default: the one Starlette puts in the scope, when inside its stack)."""
        self.app = app
        self.routes = routes
        self.stats = stats or DirectStats()
        self.application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        handler = self.routes.get((scope["method"], scope["path"]))
        application = self.application or scope.get("app")
        if (
            handler is None
            or application is None
            or getattr(application, "dependency_overrides", None)
            or not getattr(application.state, "direct_routes", False)
        ):
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        answer = None
        if complete and body:
            headers = dict(scope["headers"])
            if _is_json(headers.get(b"content-type", b"")):
                try:
                    parsed = orjson.loads(body)
                except orjson.JSONDecodeError:
                    parsed = None
                if parsed is not None:
                    request = DirectRequest(
                        application,
                        scope["path"],
                        parsed,
                        headers.get(b"authorization", b"").decode("latin-1"),
                        headers,
                    )
                    try:
                        answer = await handler(request)
                    except HuiliuError as exc:
                        response = problem_response(
                            exc.status, exc.slug, exc.title, exc.detail, instance=scope["path"], **exc.extra
                        )
                        self.stats.answered += 1
                        await response(scope, receive, send)
                        return
        if answer is None:
            self.stats.passed_on += 1
            await self.app(scope, _replay(body, complete, receive), send)
            return
        self.stats.answered += 1
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", answer.media_type.encode("latin-1")),
                    (b"content-length", str(len(answer.body)).encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json"


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The request body, and whether all of it was read (False: larger than ``MAX_DIRECT_BODY``, or the
    client went away; what was read is replayed to FastAPI followed by the rest)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # A disconnect before the body was complete: FastAPI sees the same.
            chunks.append(b"")
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_DIRECT_BODY:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A ``receive`` that first gives back what was already read, then continues with the real one."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed
