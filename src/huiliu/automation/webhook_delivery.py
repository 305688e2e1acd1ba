"""Delivering a rule's "call webhook" action, the worker's side (sync, httpx).

A ``rule_webhook`` outbox row (:mod:`.apply`) holds the rule's URL and the JSON body to POST. Unlike
``webhook`` rows it belongs to no subscription, so there is no shared secret to sign with: the body
is sent as is, with the event and delivery headers receivers deduplicate on. The worker leases,
retries with backoff and logs attempts exactly as for subscriptions (``webhooks.delivery.outcome``
and ``log_attempt``); this module knows only what one attempt is."""

from __future__ import annotations

import time

import httpx
import orjson

from huiliu import __version__
from huiliu.core.outbox import OutboxRow
from huiliu.webhooks.delivery import AttemptResult
from huiliu.webhooks.domain import HEADER_DELIVERY, HEADER_EVENT, is_success

# Outbox rows of a rule's "call webhook" action: the rule's own URL, not a webhook subscription.
KIND_RULE_WEBHOOK = "rule_webhook"

USER_AGENT = f"Huiliu-Rules/{__version__}"
MAX_ERROR_LENGTH = 500


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


def request_of(row: OutboxRow) -> tuple[str, bytes, dict[str, str]]:
    """The URL, body bytes and headers of a ``rule_webhook`` row."""
    payload = row.payload
    body = orjson.dumps(payload.get("body"))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER_EVENT: row.event_type,
        HEADER_DELIVERY: str(row.id),
    }
    return str(payload["url"]), body, headers


def post_rule_webhook(http: httpx.Client, row: OutboxRow) -> AttemptResult:
    """One POST of the row's body to the rule's URL: a 2xx answer is success; anything else, a
    transport error or a timeout is a failed attempt (described, never raised)."""
    url, body, headers = request_of(row)
    started = time.perf_counter()
    try:
        response = http.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return AttemptResult(False, None, _clip(f"{type(exc).__name__}: {exc}"), elapsed)
    elapsed = (time.perf_counter() - started) * 1000
    if is_success(response.status_code):
        return AttemptResult(True, response.status_code, None, elapsed)
    text = response.text.strip().replace("\n", " ")
    return AttemptResult(
        False,
        response.status_code,
        _clip(f"HTTP {response.status_code}" + (f": {text}" if text else "")),
        elapsed,
    )
