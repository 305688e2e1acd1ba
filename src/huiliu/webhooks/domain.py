"""Outgoing webhooks, the pure part: which events a subscription wants, how a delivery is signed and
verified, when a failed delivery is tried again. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from huiliu.core.events import EVENT_TYPES

ALL_EVENTS = "*"
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 255
MAX_URL_LENGTH = 2000
SIGNATURE_PREFIX = "sha256="
# Receivers should refuse a timestamp further than this from their own clock (replay protection).
DEFAULT_TOLERANCE_SECONDS = 300

HEADER_TIMESTAMP = "X-Huiliu-Timestamp"
HEADER_SIGNATURE = "X-Huiliu-Signature"
HEADER_EVENT = "X-Huiliu-Event"
HEADER_DELIVERY = "X-Huiliu-Delivery"

# Child outbox rows get ids derived from (parent row, subscription): a fan-out that runs twice after a
# crash computes the same ids and inserts nothing new.
_CHILD_NAMESPACE = uuid.UUID("6f1c2a52-8d0e-4c3e-9a57-3f1f0b7d2c11")


def normalize_events(events: Iterable[str]) -> list[str]:
    """The subscription's event list, de-duplicated in order; ``*`` alone stands for every event.
    Raises ``ValueError`` naming the first unknown event."""
    result: list[str] = []
    for name in events:
        if name != ALL_EVENTS and name not in EVENT_TYPES:
            raise ValueError(f"unknown event type {name!r}")
        if name not in result:
            result.append(name)
    if not result:
        raise ValueError("subscribe to at least one event type (or '*')")
    if ALL_EVENTS in result:
        return [ALL_EVENTS]
    return result


def wants(events: Iterable[str], event_type: str) -> bool:
    """Whether a subscription to ``events`` receives an event of ``event_type``."""
    return any(name in (ALL_EVENTS, event_type) for name in events)


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host; raises ``ValueError`` otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"url is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise ValueError("url is not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise ValueError("url must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("url must name a host")
    if port == 0:
        raise ValueError("url has an invalid port")
    if any(ch.isspace() for ch in url):
        raise ValueError("url must not contain whitespace")
    return url


def check_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"secret must be at least {MIN_SECRET_LENGTH} characters")
    if len(secret) > MAX_SECRET_LENGTH:
        raise ValueError(f"secret must be at most {MAX_SECRET_LENGTH} characters")
    return secret


def secret_hint(secret: str) -> str:
    """What the API shows instead of the secret: enough to tell two secrets apart, not to guess one."""
    return "••••" + secret[-4:]


def child_row_id(parent_id: uuid.UUID, subscription_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_CHILD_NAMESPACE, f"{parent_id}:{subscription_id}")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``: the X-Huiliu-Signature value."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(
    secret: str,
    timestamp_header: str,
    body: bytes,
    signature_header: str,
    *,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the timestamp is recent and the signature matches the raw body."""
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header.strip())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    cap_seconds: float

    def delay(self, attempt: int, jitter: float) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential in the
        attempt, capped, with "equal jitter" (``jitter`` in [0, 1) picks a point in the upper half)
        so receivers coming back from an outage are not hit by every retry at once."""
        doublings = min(max(attempt - 1, 0), 60)  # the cap is reached long before; no float overflow
        ceiling = min(self.cap_seconds, self.base_seconds * float(1 << doublings))
        return ceiling / 2 + ceiling / 2 * jitter

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


def is_success(status_code: int) -> bool:
    return 200 <= status_code < 300
