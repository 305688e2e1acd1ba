"""Where Huiliu may send requests: a guard against server-side request forgery.

Tenants choose the destinations of outgoing requests — webhook and rule-webhook URLs, robot webhooks
of DingTalk / Feishu / WeCom groups, an entry point's ``api_base_url``. Without a guard a tenant
administrator could make the worker call the installation's own internal services (the database
admin, a cloud metadata endpoint at 169.254.169.254, Redis on localhost) and read the answers from the
delivery log. So by default the worker only connects to public addresses: every address a host name
resolves to must be globally routable. ``HUILIU_OUTBOUND_ALLOW_PRIVATE_NETWORKS=true`` lifts the rule
(development, tests, on-premises installations whose receivers live on the LAN) and
``HUILIU_OUTBOUND_ALLOWED_HOSTS`` names single hosts that are allowed anyway (an internal SMS gateway).

The check resolves the name just before the connection; the HTTP library resolves it again when it
connects, so a name whose DNS answer flips between the two (rebinding) is not covered — a network
policy (egress firewall) is the complete answer, and docs/operations.md says so.

The API process follows the same policy where a request's destination comes from a tenant's
configuration (an entry point's ``api_base_url`` for WeCom login, the chat sidebar, mini-program
sign-in and "test connection"): it builds its clients with :func:`guarded_client`."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Protocol

import httpx

Resolver = Callable[[str, int], Iterable[str]]


class BlockedDestination(httpx.ConnectError):
    """The destination resolves to an address the worker must not call. Permanent: retrying cannot
    help until the URL or the installation's settings change."""


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


class OutboundPolicy:
    """Which hosts the worker may call (see the module's docstring)."""

    def __init__(
        self,
        *,
        allow_private_networks: bool,
        allowed_hosts: Iterable[str] = (),
        resolver: Resolver = system_resolver,
    ) -> None:
        self.allow_private_networks = allow_private_networks
        self.allowed_hosts = frozenset(
            host.strip().lower().rstrip(".") for host in allowed_hosts if host.strip()
        )
        self.resolver = resolver

    def check(self, host: str, port: int) -> None:
        """Raise ``BlockedDestination`` unless ``host`` may be called. A name that does not resolve
        passes (the connection then fails on its own, as a retryable error)."""
        if self.allow_private_networks:
            return
        name = host.strip("[]").lower().rstrip(".")
        if name in self.allowed_hosts:
            return
        try:
            addresses = [name] if _is_ip(name) else list(self.resolver(name, port))
        except OSError:
            return
        blocked = [address for address in addresses if not is_public_address(address)]
        if blocked:
            raise BlockedDestination(
                f"{host} resolves to the non-public address {blocked[0]}: Huiliu only calls public "
                "addresses (HUILIU_OUTBOUND_ALLOW_PRIVATE_NETWORKS, HUILIU_OUTBOUND_ALLOWED_HOSTS)"
            )

    def refusal(self, url: str) -> str | None:
        """Why a request to ``url`` would be refused, or ``None`` — for checking a URL when it is saved."""
        try:
            parsed = httpx.URL(url)
            self.check(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))
        except BlockedDestination as exc:
            return str(exc)
        except (httpx.InvalidURL, ValueError):
            return None
        return None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


class _OutboundSettings(Protocol):
    outbound_allow_private_networks: bool
    outbound_allowed_hosts: str


def outbound_policy(settings: _OutboundSettings) -> OutboundPolicy:
    """The installation's policy from its settings (``HUILIU_OUTBOUND_*``)."""
    return OutboundPolicy(
        allow_private_networks=settings.outbound_allow_private_networks,
        allowed_hosts=settings.outbound_allowed_hosts.split(","),
    )


class GuardedTransport(httpx.HTTPTransport):
    """An HTTP transport that checks every request's host against an ``OutboundPolicy`` first."""

    def __init__(self, policy: OutboundPolicy, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        self.policy.check(url.host, url.port or (443 if url.scheme == "https" else 80))
        return super().handle_request(request)


def guarded_client(settings: _OutboundSettings, *, timeout: float) -> httpx.Client:
    """A synchronous client whose every request passes the installation's ``OutboundPolicy``; for
    requests the API process sends to destinations a tenant configured. Redirects are not followed (a
    redirect could lead past the check)."""
    return httpx.Client(
        timeout=timeout, follow_redirects=False, transport=GuardedTransport(outbound_policy(settings))
    )
