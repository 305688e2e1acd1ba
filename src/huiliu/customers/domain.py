"""Identity normalisation: the same phone number or e-mail written differently is one identity."""

from __future__ import annotations

import re

from huiliu.core.errors import ValidationFailed

IDENTITY_KINDS: frozenset[str] = frozenset(
    {
        "phone",
        "email",
        "wechat_openid",
        "wechat_unionid",
        "wecom_external_userid",
        "douyin_openid",
        "device_sn",
        "web_visitor",
        "external",
    }
)

_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(raw: str) -> str:
    """Mainland numbers lose +86/0086 and separators; other numbers keep their digits and leading +."""
    phone = _PHONE_SEPARATORS.sub("", raw.strip())
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix) and _MAINLAND_MOBILE.match(phone[len(prefix) :]):
            phone = phone[len(prefix) :]
    if not re.fullmatch(r"\+?\d{5,20}", phone):
        raise ValidationFailed(f"not a phone number: {raw}")
    return phone


def normalize_identity(kind: str, value: str) -> str:
    if kind not in IDENTITY_KINDS:
        raise ValidationFailed(f"unknown identity kind: {kind}")
    if kind == "phone":
        return normalize_phone(value)
    if kind == "email":
        email = value.strip().lower()
        if "@" not in email or len(email) > 320:
            raise ValidationFailed(f"not an e-mail address: {value}")
        return email
    cleaned = value.strip()
    if not cleaned or len(cleaned) > 255:
        raise ValidationFailed(f"empty or too long {kind}")
    return cleaned


def mask_phone(phone: str) -> str:
    """138****1234 — how a phone number is shown to roles without the full-number permission."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else phone
