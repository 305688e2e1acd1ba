"""The signed, short-lived token that tells the H5 / mini-program intake who the customer is after
mini-program login (``code2session``): ``v1.<payload, base64url>.<HMAC-SHA256, base64url>``, the
payload holding the tenant, the mini-program entry point, the WeChat identities (openid, unionid)
and the expiry. Its key derives from the server's secret key with its own purpose string, so it can
neither be made from nor used as any other token the server issues. Pure (no I/O)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from huiliu.core.errors import NotAuthenticated

VERSION = "v1"
PURPOSE = b"huiliu/wechat-identity-token/v1"
LIFETIME = timedelta(minutes=30)
MAX_TOKEN_LENGTH = 1000
TAG_BYTES = 32


class BadIdentityToken(NotAuthenticated):
    slug = "bad-identity-token"
    title = "The WeChat identity token is not genuine or has expired"


@dataclass(frozen=True)
class WeChatIdentity:
    tenant_id: uuid.UUID
    entry_point_id: uuid.UUID
    identities: tuple[tuple[str, str], ...]
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(secret_key: str, payload: bytes) -> bytes:
    key = hmac.new(secret_key.encode(), PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:TAG_BYTES]


def issue_identity_token(
    secret_key: str,
    tenant_id: uuid.UUID,
    entry_point_id: uuid.UUID,
    identities: tuple[tuple[str, str], ...],
    now: datetime,
) -> tuple[str, datetime]:
    expires_at = now + LIFETIME
    payload = json.dumps(
        {
            "t": str(tenant_id),
            "e": str(entry_point_id),
            "i": [list(identity) for identity in identities],
            "x": int(expires_at.timestamp()),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return f"{VERSION}.{_b64(payload)}.{_b64(_tag(secret_key, payload))}", expires_at


def read_identity_token(secret_key: str, token: str, now: datetime) -> WeChatIdentity:
    """The identity of a genuine, unexpired token; BadIdentityToken for anything else."""
    version, _, rest = token.partition(".")
    encoded, _, tag = rest.partition(".")
    if version != VERSION or not encoded or not tag or len(token) > MAX_TOKEN_LENGTH:
        raise BadIdentityToken()
    try:
        payload, given = _unb64(encoded), _unb64(tag)
    except (binascii.Error, ValueError) as exc:
        raise BadIdentityToken() from exc
    if not hmac.compare_digest(given, _tag(secret_key, payload)):
        raise BadIdentityToken()
    data = json.loads(payload)
    expires_at = datetime.fromtimestamp(int(data["x"]), tz=now.tzinfo)
    if expires_at <= now:
        raise BadIdentityToken("the WeChat identity token has expired: log in again")
    identities = tuple((str(kind), str(value)) for kind, value in data["i"])
    return WeChatIdentity(uuid.UUID(data["t"]), uuid.UUID(data["e"]), identities, expires_at)
