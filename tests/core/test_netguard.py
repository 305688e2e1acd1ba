"""The outbound guard (core/netguard.py): the worker calls public addresses only, unless the
installation allows private networks or names the host; the webhook API refuses such URLs up front."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest

from huiliu.core.netguard import BlockedDestination, GuardedTransport, OutboundPolicy, is_public_address

NON_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.5",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "fc00::1",
    "fe80::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "203.119.24.1", "2606:4700:4700::1111", "::ffff:8.8.4.4"]


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_non_public_addresses(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address):
    assert is_public_address(address)


def resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("name does not resolve")
        return table[host]

    return resolve


def test_a_name_is_blocked_when_any_of_its_addresses_is_not_public():
    policy = OutboundPolicy(
        allow_private_networks=False,
        resolver=resolver(
            {"hooks.example.com": ["93.184.216.34"], "mixed.example.com": ["93.184.216.34", "10.0.0.8"]}
        ),
    )
    policy.check("hooks.example.com", 443)
    with pytest.raises(BlockedDestination, match=r"10\.0\.0\.8"):
        policy.check("mixed.example.com", 443)
    with pytest.raises(BlockedDestination):
        policy.check("169.254.169.254", 80)
    with pytest.raises(BlockedDestination):
        policy.check("[::1]", 80)
    policy.check("unknown.example.com", 443)  # does not resolve: the connection fails on its own


def test_allowing_private_networks_or_naming_a_host_lifts_the_block():
    table = resolver({"sms-gateway.internal": ["10.2.3.4"], "other.internal": ["10.2.3.5"]})
    named = OutboundPolicy(
        allow_private_networks=False, allowed_hosts=[" SMS-Gateway.internal. ", ""], resolver=table
    )
    named.check("sms-gateway.internal", 443)
    with pytest.raises(BlockedDestination):
        named.check("other.internal", 443)
    OutboundPolicy(allow_private_networks=True, resolver=table).check("other.internal", 443)
    assert named.refusal("https://other.internal/hook") is not None
    assert named.refusal("https://sms-gateway.internal/send") is None


@pytest.fixture
def local_receiver() -> Iterator[tuple[str, list[str]]]:
    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_the_guarded_transport_never_connects_to_a_blocked_host(local_receiver):
    url, received = local_receiver
    guarded = GuardedTransport(OutboundPolicy(allow_private_networks=False))
    with httpx.Client(transport=guarded) as http, pytest.raises(BlockedDestination):
        http.post(url + "/internal", content=b"{}")
    assert received == []
    with httpx.Client(transport=GuardedTransport(OutboundPolicy(allow_private_networks=True))) as http:
        assert http.post(url + "/allowed", content=b"{}").status_code == 204
    assert received == ["/allowed"]
