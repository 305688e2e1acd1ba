"""A rule's webhook call as the worker sends it: the row's body POSTed as JSON to the rule's URL,
received by a real HTTP server on 127.0.0.1; failures are described, never raised."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from huiliu.automation.webhook_delivery import KIND_RULE_WEBHOOK, post_rule_webhook
from huiliu.core.outbox import OutboxRow


class Endpoint:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], Any]] = []
        self.status = 200
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                endpoint.received.append((self.path, headers, json.loads(body)))
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"nope")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/erp/tickets"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.server.shutdown()
    server.server.server_close()


def row(url: str, body: Any) -> OutboxRow:
    now = datetime.now(UTC)
    row_id = uuid.uuid4()
    return OutboxRow(
        id=row_id,
        tenant_id=uuid.uuid4(),
        kind=KIND_RULE_WEBHOOK,
        event_id=row_id,
        event_type="ticket.rule_fired",
        payload={"url": url, "body": body, "origin": {"kind": "rule", "id": "r", "name": "n"}},
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def test_the_body_is_posted_to_the_rules_url(endpoint: Endpoint) -> None:
    outbox_row = row(endpoint.url, {"ticket": 7, "备注": "退款"})
    with httpx.Client(timeout=5) as http:
        result = post_rule_webhook(http, outbox_row)
    assert result.ok and result.status_code == 200
    [(path, headers, body)] = endpoint.received
    assert path == "/erp/tickets" and body == {"ticket": 7, "备注": "退款"}
    assert headers["content-type"] == "application/json"
    assert headers["x-huiliu-delivery"] == str(outbox_row.id)
    assert headers["x-huiliu-event"] == "ticket.rule_fired"


def test_refusals_and_unreachable_hosts_are_failed_attempts(endpoint: Endpoint) -> None:
    endpoint.status = 503
    with httpx.Client(timeout=5) as http:
        refused = post_rule_webhook(http, row(endpoint.url, {}))
        host, port = endpoint.server.server_address[:2]
        endpoint.server.shutdown()
        endpoint.server.server_close()
        unreachable = post_rule_webhook(http, row(f"http://{host}:{port}/gone", {}))
    assert not refused.ok and refused.status_code == 503 and refused.error == "HTTP 503: nope"
    assert not unreachable.ok and unreachable.status_code is None and unreachable.error
