"""End to end against a real uvicorn server: the console's cookie login, SSE framing over HTTP, and
resuming with Last-Event-ID after a disconnect."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from huiliu.app import create_app
from huiliu.auth.deps import SESSION_COOKIE
from tests.factories import make_member, make_tenant
from tests.live.conftest import FRAME_TIMEOUT, parse_frame


@pytest.fixture
def server_url(settings: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def read_frame(lines: AsyncIterator[str]) -> dict[str, Any]:
    async def collect() -> dict[str, Any]:
        buffered: list[str] = []
        async for line in lines:
            if line == "":
                if buffered:
                    return parse_frame("\n".join(buffered))
                continue
            buffered.append(line)
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(collect(), FRAME_TIMEOUT)


async def read_until_event(lines: AsyncIterator[str]) -> dict[str, Any]:
    while True:
        frame = await read_frame(lines)
        if frame["event"] is not None:
            return frame


async def test_console_stream_over_http_and_resume_after_disconnect(server_url: str, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    agent = await make_member(runtime, tenant, "admin")
    timeout = httpx.Timeout(FRAME_TIMEOUT)
    async with (
        httpx.AsyncClient(
            base_url=server_url, timeout=timeout, cookies={SESSION_COOKIE: agent.token}
        ) as console,
        httpx.AsyncClient(base_url=server_url, timeout=timeout, headers=agent.headers) as api,
    ):
        async with console.stream("GET", "/api/v1/events/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"].startswith("no-cache")
            lines = response.aiter_lines()
            assert (await read_frame(lines))["retry"] is not None
            created = await api.post("/api/v1/tickets", json={"title": "扫码报修：空调不制冷"})
            assert created.status_code == 201, created.text
            frame = await read_until_event(lines)
        assert frame["event"] == "ticket.created"
        assert frame["data"]["data"]["ticket"]["id"] == created.json()["id"]

        # While disconnected, the ticket gets a reply; reconnecting with Last-Event-ID replays it.
        reply = await api.post(
            f"/api/v1/tickets/{created.json()['id']}/messages",
            json={"body": "师傅今天下午上门", "public": True},
        )
        assert reply.status_code == 201, reply.text
        async with console.stream(
            "GET", "/api/v1/events/stream", headers={"Last-Event-ID": frame["id"]}
        ) as response:
            lines = response.aiter_lines()
            missed = [await read_until_event(lines), await read_until_event(lines)]
        assert [f["event"] for f in missed] == ["ticket.message_added", "ticket.status_changed"]
        assert missed[0]["data"]["data"]["message"]["body"] == "师傅今天下午上门"
