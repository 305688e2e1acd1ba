"""The API server's HTTP protocol (``huiliu.http_protocol``, decision 0060): the writes of one event-loop
turn leave in one send, nothing is lost or reordered, and uvicorn serves through it as before."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from huiliu.http_protocol import CoalescingTransport, HttpProtocol


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


async def test_writes_of_one_turn_leave_together_and_in_order() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(bytearray(b"body"))
    assert fake.writes == [] and transport.get_write_buffer_size() == 23
    await asyncio.sleep(0)
    assert fake.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert fake.writes[-1] == b"next"
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)  # everything else is the transport's


async def test_close_sends_what_is_pending_first() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.writelines([b"a", b"b"])
    transport.close()
    assert fake.writes == [b"ab"] and fake.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing left to send
    assert fake.writes == [b"ab"]


async def _plain(request: Any) -> PlainTextResponse:
    return PlainTextResponse("你好" * int(request.query_params.get("n", "1")))


async def _stream(request: Any) -> StreamingResponse:
    async def chunks() -> Any:
        for n in range(3):
            yield f"data: {n}\n\n"
            await asyncio.sleep(0.01)

    return StreamingResponse(chunks(), media_type="text/event-stream")


async def test_uvicorn_serves_through_it() -> None:
    app = Starlette(routes=[Route("/plain", _plain), Route("/stream", _stream)])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=HttpProtocol, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):  # up to 5 s for the server to listen
            if server.started:
                break
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            # Several requests on one kept-alive connection, small and large bodies.
            for n in (1, 5_000, 1):
                response = await client.get("/plain", params={"n": n})
                assert response.status_code == 200 and response.text == "你好" * n
            async with client.stream("GET", "/stream") as streamed:
                lines = [line async for line in streamed.aiter_lines() if line]
            assert lines == ["data: 0", "data: 1", "data: 2"]
            closing = await client.get("/plain", headers={"Connection": "close"})
            assert closing.text == "你好"
    finally:
        server.should_exit = True
        await task
