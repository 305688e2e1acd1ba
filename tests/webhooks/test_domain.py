"""Pure webhook logic: signatures, event selection, URL and secret checks, the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from pathlib import Path

import pytest

from huiliu.core.events import EVENT_TYPES, TICKET_ASSIGNED, TICKET_CREATED
from huiliu.webhooks.domain import (
    RetryPolicy,
    check_secret,
    check_url,
    child_row_id,
    normalize_events,
    secret_hint,
    signature,
    verify_signature,
    wants,
)

SECRET = "whsec_0123456789abcdef"
TIMESTAMP = 1700000000
BODY = (
    '{"id":"0190f3a2-7c1e-7d4a-9b2f-3c4d5e6f7a8b","type":"ticket.created",'
    '"occurred_at":"2026-01-05T08:30:00Z","data":{"number":"T-1","title":"打印机卡纸"}}'
).encode()
# Computed outside Python: printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac "$SECRET"
OPENSSL_HEX = "c02973df9ffcafc12220bbc545b7123c0f504b69e627e686d2040e3e21551321"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def test_signature_matches_openssl_and_the_hmac_module() -> None:
    independent = hmac.new(SECRET.encode(), f"{TIMESTAMP}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert independent == OPENSSL_HEX
    assert signature(SECRET, TIMESTAMP, BODY) == "sha256=" + OPENSSL_HEX


def test_signature_changes_with_secret_timestamp_and_body() -> None:
    base = signature(SECRET, TIMESTAMP, BODY)
    assert signature(SECRET + "x", TIMESTAMP, BODY) != base
    assert signature(SECRET, TIMESTAMP + 1, BODY) != base
    assert signature(SECRET, TIMESTAMP, BODY + b" ") != base


def test_verify_accepts_a_fresh_correct_signature_and_rejects_the_rest() -> None:
    good = "sha256=" + OPENSSL_HEX
    now = TIMESTAMP + 10
    assert verify_signature(SECRET, str(TIMESTAMP), BODY, good, now=now)
    assert not verify_signature(SECRET, str(TIMESTAMP), BODY.replace(b"T-1", b"T-2"), good, now=now)
    assert not verify_signature("another-secret-of-16", str(TIMESTAMP), BODY, good, now=now)
    assert not verify_signature(SECRET, str(TIMESTAMP), BODY, good, now=TIMESTAMP + 301)
    assert not verify_signature(SECRET, "yesterday", BODY, good, now=now)
    assert not verify_signature(SECRET, str(TIMESTAMP), BODY, OPENSSL_HEX, now=now)


def test_receiver_helper_in_docs_verifies_our_signatures() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    helper = next(block for block in blocks if "def verify_huiliu_signature" in block)
    namespace: dict[str, object] = {}
    exec(compile(helper, str(DOCS), "exec"), namespace)
    verify = namespace["verify_huiliu_signature"]
    headers = {"X-Huiliu-Timestamp": str(TIMESTAMP), "X-Huiliu-Signature": "sha256=" + OPENSSL_HEX}
    assert verify(SECRET, headers, BODY, now=TIMESTAMP + 5)  # type: ignore[operator]
    assert not verify(SECRET, headers, BODY + b"x", now=TIMESTAMP + 5)  # type: ignore[operator]
    assert not verify(SECRET, headers, BODY, now=TIMESTAMP + 3600)  # type: ignore[operator]


def test_events_are_checked_deduplicated_and_star_means_all() -> None:
    assert normalize_events([TICKET_CREATED, TICKET_ASSIGNED, TICKET_CREATED]) == [
        TICKET_CREATED,
        TICKET_ASSIGNED,
    ]
    assert normalize_events([TICKET_CREATED, "*"]) == ["*"]
    with pytest.raises(ValueError, match=r"ticket\.exploded"):
        normalize_events([TICKET_CREATED, "ticket.exploded"])
    with pytest.raises(ValueError):
        normalize_events([])


def test_wants_matches_listed_types_or_star() -> None:
    assert wants([TICKET_CREATED], TICKET_CREATED)
    assert not wants([TICKET_ASSIGNED], TICKET_CREATED)
    assert all(wants(["*"], name) for name in EVENT_TYPES)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "example.com/hook", "http:///nohost", "https://exa mple.com/", "javascript:x"],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        check_url(url)


def test_good_urls_are_kept_as_given() -> None:
    for url in ["https://erp.example.com/hooks/huiliu?src=1", "http://127.0.0.1:8080/x"]:
        assert check_url(url) == url


def test_secret_length_and_hint() -> None:
    with pytest.raises(ValueError):
        check_secret("too-short")
    assert check_secret("x" * 16) == "x" * 16
    hint = secret_hint(SECRET)
    assert hint.endswith("cdef")
    assert SECRET[:-4] not in hint


def test_child_row_ids_are_deterministic_per_parent_and_subscription() -> None:
    parent, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert child_row_id(parent, first) == child_row_id(parent, first)
    assert child_row_id(parent, first) != child_row_id(parent, second)
    assert child_row_id(uuid.uuid4(), first) != child_row_id(parent, first)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_attempts=5, base_seconds=2.0, cap_seconds=10.0)
    assert policy.delay(1, 0.0) == 1.0
    assert policy.delay(1, 0.999) < 2.0
    assert policy.delay(2, 0.0) == 2.0
    assert policy.delay(3, 0.5) == 6.0
    assert policy.delay(10, 0.0) == 5.0  # capped at 10, half of it before jitter
    assert policy.delay(10, 0.999) <= 10.0
    assert policy.delay(5000, 0.5) == 7.5  # far past the cap: no overflow
    assert not policy.exhausted(4)
    assert policy.exhausted(5)
