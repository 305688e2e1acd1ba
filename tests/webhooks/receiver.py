"""A real webhook receiver on 127.0.0.1, in a thread: it checks every request the way an integrator's
endpoint would (HMAC-SHA256 over ``timestamp.body`` with the shared secret, recent timestamp) using
only the standard library, and records what arrived. Its answers (status codes, a slow reply, holding
one request open) are scripted per test."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def envelope(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def event_id(self) -> str:
        return str(self.envelope["id"])

    @property
    def delivery_id(self) -> str:
        return self.headers["x-huiliu-delivery"]


@dataclass
class Receiver:
    secret: str
    # Status to answer for the n-th request (1-based).
    status_for: Callable[[int], int] = lambda n: 200
    delay_seconds: float = 0.0
    # Hold the n-th request open until ``release`` is set (bounded by ``hold_limit_seconds``).
    hold_request: int | None = None
    hold_limit_seconds: float = 30.0
    received: list[Received] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    held: Received | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition = field(init=False)
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/huiliu"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                number, item = receiver._record(headers, body)
                if receiver.hold_request == number:
                    receiver.held = item
                    receiver.holding.set()
                    receiver.release.wait(receiver.hold_limit_seconds)
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                status = receiver.status_for(number) if item.signature_ok else 401
                payload = b"ok" if 200 <= status < 300 else b"receiver says no"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the worker went away (killed mid-request)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _record(self, headers: dict[str, str], body: bytes) -> tuple[int, Received]:
        timestamp = headers.get("x-huiliu-timestamp", "")
        given = headers.get("x-huiliu-signature", "")
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
        ok = fresh and hmac.compare_digest(expected_signature(self.secret, timestamp, body), given)
        item = Received(headers=headers, body=body, signature_ok=ok)
        with self._changed:
            self.received.append(item)
            self._changed.notify_all()
            return len(self.received), item

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def wait_for_count(self, count: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.received) >= count, timeout)
