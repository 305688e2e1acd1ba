"""The one notifier interface every provider implements, and what a send returns or raises."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to one recipient (or to one group, for group robots).

    ``delivery_id`` is stable across retries of the same delivery: providers that accept an
    idempotency key or a message id of ours (SMTP Message-ID, Aliyun ``OutId``, Tencent
    ``SessionContext``) get it, so a repeat after a crash can be recognised."""

    delivery_id: uuid.UUID
    title: str
    text: str
    severity: str = "info"
    html: str | None = None
    link: str | None = None
    # Template variables for SMS providers (ticket_number, ticket_title, message, severity, link).
    variables: dict[str, str] = field(default_factory=dict)
    email: str | None = None
    phone: str | None = None
    user_id: uuid.UUID | None = None
    # Mobile numbers to @-mention in a group robot message.
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sent:
    """A provider accepted the message; its own id for it, when it returns one."""

    provider_message_id: str | None = None
    status_code: int | None = None


class DeliveryFailed(Exception):
    """A provider did not take the message. ``retryable`` says whether trying again later can help
    (HTTP 5xx, timeouts, throttling) or not (bad signature, unknown template, no address)."""

    def __init__(self, reason: str, *, retryable: bool, status_code: int | None = None) -> None:
        super().__init__(clip(reason))
        self.reason = clip(reason)
        self.retryable = retryable
        self.status_code = status_code


def clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


class Notifier(abc.ABC):
    """A way to tell someone something. ``send`` either returns ``Sent`` or raises ``DeliveryFailed``;
    it never raises anything else for an answer the provider gave."""

    kind: ClassVar[str]

    @abc.abstractmethod
    def send(self, message: OutgoingMessage) -> Sent:
        """Deliver ``message`` once."""


class HttpNotifier(Notifier):
    """A provider reached over HTTP: transport errors and timeouts are retryable, and so is any 5xx
    or 429 answer; other non-2xx answers are permanent."""

    def __init__(self, http: httpx.Client, config: dict[str, Any]) -> None:
        self.http = http
        self.config = config

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryFailed(_describe(response), retryable=True, status_code=response.status_code)
        if response.status_code >= 300:
            raise DeliveryFailed(_describe(response), retryable=False, status_code=response.status_code)
        return response

    def json_of(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            # A proxy's error page in place of the API's answer: the API may be back soon.
            raise DeliveryFailed(
                _describe(response), retryable=True, status_code=response.status_code
            ) from exc
        if not isinstance(data, dict):
            raise DeliveryFailed(_describe(response), retryable=True, status_code=response.status_code)
        return data

    def setting(self, name: str) -> str:
        value = self.config.get(name)
        if not isinstance(value, str) or not value:
            raise DeliveryFailed(f"the {self.kind} channel has no {name}", retryable=False)
        return value


def _describe(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")
