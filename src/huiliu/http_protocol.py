"""The HTTP protocol the API server runs: uvicorn's httptools protocol, with one send per response.

uvicorn writes a response's status line and headers when the application sends
``http.response.start`` and the body when it sends ``http.response.body``: two ``send`` system calls
for every ordinary response. On loopback and in virtual machines a ``send`` is expensive (the kernel
delivers the segment to the receiver in the sender's time); measured on this 2-core machine at
~1,000 ticket creates/s, the second call cost 12–16 % of the API process's CPU. ``HttpProtocol``
gives uvicorn a transport that gathers the writes of one event-loop turn and sends them together at
the end of that turn — headers and body of a response leave in one segment, a streamed response's
chunks as they come. Nothing waits on a timer: the flush is the next callback of the loop.

``huiliu serve`` (and the benchmarks, which start the server the same way) pass it to uvicorn.
Decision record: docs/decisions/0060-one-send-per-response.md."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport whose ``write`` calls within one loop turn reach the real transport as one write.
    Everything else is the wrapped transport's; ``close`` sends what is pending first."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._pending is None:
            self._pending = [bytes(data)]
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        waiting = sum(len(chunk) for chunk in self._pending) if self._pending else 0
        return self._transport.get_write_buffer_size() + waiting

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
