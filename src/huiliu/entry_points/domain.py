"""Entry point kinds and their configuration: what each kind accepts, the defaults intake applies to
tickets that come through it, and how secrets are shown. Pure.

Every kind shares the ticket defaults (team, priority, tags, category, template), the intake windows
(threading, duplicate folding) and the source labels (store, receipt, live room, campaign) that QR
codes and reports use. Each kind adds its own keys; unknown keys are refused so that a typo never
silently does nothing."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from huiliu.core.errors import ValidationFailed
from huiliu.tickets.domain import Priority, normalize_tags

# Kinds this version accepts. WeChat, WeCom and e-mail kinds are added by their channel packages.
H5_FORM = "h5_form"
WEBHOOK = "webhook"
API = "api"
# WeChat Official Account (公众号), WeCom self-built app (自建应用), WeChat customer service (微信客服):
# their protocol checks (keys that belong together, EncodingAESKey) live in channels.wechat / channels.wecom.
WECHAT_MP = "wechat_mp"
WECOM_APP = "wecom_app"
WECOM_KF = "wecom_kf"
# WeChat mini-program (小程序): code2session attributes the customer; subscribe messages carry notices.
WECHAT_MINIPROGRAM = "wechat_miniprogram"

MAX_NAME_LENGTH = 200
MAX_CATEGORY_LENGTH = 100
MAX_THREAD_WINDOW_HOURS = 24 * 30
MAX_FOLD_WINDOW_MINUTES = 24 * 60
MAX_SOURCE_LABELS = 500
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256
MAX_PHOTOS = 9
PUBLIC_KEY_BYTES = 12

SOURCE_KINDS: frozenset[str] = frozenset({"store", "receipt", "live_room", "campaign", "other"})
CONTACT_RULES: frozenset[str] = frozenset({"none", "phone", "phone_or_email"})
# A source code travels in QR code URLs (``?src=store-12``) and in reports.
SOURCE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
SECRET_KEYS: frozenset[str] = frozenset({"secret", "app_secret"})
API_BASE_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


def _uuid_text(key: str, value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise ValidationFailed(f"config.{key} must be a UUID") from exc


def _text(key: str, value: Any, max_length: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"config.{key} must be a string")
    cleaned = value.strip()
    if not cleaned and not allow_empty:
        raise ValidationFailed(f"config.{key} must not be empty")
    if len(cleaned) > max_length:
        raise ValidationFailed(f"config.{key} is longer than {max_length} characters")
    return cleaned


def _number(key: str, value: Any, maximum: float) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(f"config.{key} must be a number")
    if not 0 <= value <= maximum:
        raise ValidationFailed(f"config.{key} must be between 0 and {maximum:g}")
    return value


def _integer(key: str, value: Any, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"config.{key} must be a whole number")
    if not 0 <= value <= maximum:
        raise ValidationFailed(f"config.{key} must be between 0 and {maximum}")
    return value


def _priority(key: str, value: Any) -> str:
    try:
        return Priority(value).value
    except ValueError as exc:
        allowed = ", ".join(p.value for p in Priority)
        raise ValidationFailed(f"config.{key} must be one of {allowed}") from exc


def _tags(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValidationFailed(f"config.{key} must be a list of strings")
    return normalize_tags(value)


def check_source_code(code: Any) -> str:
    """A source code as it may appear in a form URL: letters, digits, ``_ . -``, at most 64."""
    if not isinstance(code, str) or not SOURCE_CODE.match(code.strip()):
        raise ValidationFailed(
            "a source code is 1-64 letters, digits, '_', '.' or '-' (starting with a letter or digit)"
        )
    return code.strip()


def _source_labels(key: str, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValidationFailed(f"config.{key} must be a list")
    if len(value) > MAX_SOURCE_LABELS:
        raise ValidationFailed(f"config.{key} holds at most {MAX_SOURCE_LABELS} labels")
    labels: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, dict) or set(item) - {"code", "name", "kind"} or "code" not in item:
            raise ValidationFailed(f'each of config.{key} is {{"code", "name"?, "kind"?}}')
        code = check_source_code(item["code"])
        if code in seen:
            raise ValidationFailed(f"config.{key} lists the code {code} twice")
        seen.add(code)
        kind = item.get("kind", "other")
        if kind not in SOURCE_KINDS:
            raise ValidationFailed(f"config.{key} kind must be one of {', '.join(sorted(SOURCE_KINDS))}")
        name = _text(f"{key}.name", item.get("name", code), 100)
        labels.append({"code": code, "name": name, "kind": kind})
    return labels


def _channel(key: str, value: Any) -> str:
    if not isinstance(value, str) or not CHANNEL_NAME.match(value):
        raise ValidationFailed(f"config.{key} is 2-32 lower-case letters, digits or '_'")
    return value


def _secret(key: str, value: Any) -> str:
    if not isinstance(value, str) or not MIN_SECRET_LENGTH <= len(value) <= MAX_SECRET_LENGTH:
        raise ValidationFailed(
            f"config.{key} must be a string of {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters"
        )
    if value != value.strip():
        raise ValidationFailed(f"config.{key} must not start or end with whitespace")
    return value


def _object(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationFailed(f"config.{key} must be an object")
    return value


def _preset(key: str, value: Any) -> str:
    if not isinstance(value, str) or not CHANNEL_NAME.match(value):
        raise ValidationFailed(f"config.{key} must be a preset name")
    return value


def _base_url(key: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > 200 or not API_BASE_URL.match(value.strip()):
        raise ValidationFailed(f"config.{key} must be an http(s) URL without query")
    return value.strip().rstrip("/")


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(f"config.{key} must be true or false")
    return value


Check = Callable[[str, Any], Any]

COMMON_KEYS: dict[str, Check] = {
    "default_team_id": _uuid_text,
    "default_template_id": _uuid_text,
    "default_priority": _priority,
    "default_tags": _tags,
    "default_category": lambda key, value: _text(key, value, MAX_CATEGORY_LENGTH),
    "thread_window_hours": lambda key, value: _number(key, value, MAX_THREAD_WINDOW_HOURS),
    "fold_window_minutes": lambda key, value: _number(key, value, MAX_FOLD_WINDOW_MINUTES),
    "source_labels": _source_labels,
}


def _contact_rule(key: str, value: Any) -> str:
    if value not in CONTACT_RULES:
        raise ValidationFailed(f"config.{key} must be one of {', '.join(sorted(CONTACT_RULES))}")
    return str(value)


@dataclass(frozen=True)
class KindSpec:
    """What one kind of entry point is: the channel its tickets carry by default and the config keys
    it takes beyond the common ones."""

    kind: str
    default_channel: str
    keys: Mapping[str, Check]
    label: Mapping[str, str]


KINDS: dict[str, KindSpec] = {
    H5_FORM: KindSpec(
        H5_FORM,
        H5_FORM,
        {
            "form_title": lambda key, value: _text(key, value, 100),
            "form_intro": lambda key, value: _text(key, value, 1000, allow_empty=True),
            "contact_required": _contact_rule,
            "max_photos": lambda key, value: _integer(key, value, MAX_PHOTOS),
        },
        {"zh-CN": "H5 表单 / 二维码", "en": "H5 form / QR code"},
    ),
    WEBHOOK: KindSpec(
        WEBHOOK,
        WEBHOOK,
        {
            "secret": _secret,
            "preset": _preset,
            "mapping": _object,
            "channel": _channel,
        },
        {"zh-CN": "签名 Webhook", "en": "Signed webhook"},
    ),
    API: KindSpec(API, API, {"channel": _channel}, {"zh-CN": "API 接入", "en": "API client"}),
    WECHAT_MP: KindSpec(
        WECHAT_MP,
        WECHAT_MP,
        {
            "app_id": lambda key, value: _text(key, value, 64),
            "app_secret": lambda key, value: _text(key, value, 128),
            "token": lambda key, value: _text(key, value, 64),
            "encoding_aes_key": lambda key, value: _text(key, value, 43),
            "encryption_mode": lambda key, value: _text(key, value, 16),
            "api_base_url": _base_url,
            # Progress notices outside the 48-hour window: a template message (模板消息).
            "notice_template_id": lambda key, value: _text(key, value, 128),
            "notice_fields": _object,
        },
        {"zh-CN": "微信公众号", "en": "WeChat Official Account"},
    ),
    WECHAT_MINIPROGRAM: KindSpec(
        WECHAT_MINIPROGRAM,
        WECHAT_MINIPROGRAM,
        {
            "app_id": lambda key, value: _text(key, value, 64),
            "app_secret": lambda key, value: _text(key, value, 128),
            "api_base_url": _base_url,
            "notice_template_id": lambda key, value: _text(key, value, 128),
            "notice_fields": _object,
            "notice_page": lambda key, value: _text(key, value, 256),
            "miniprogram_state": lambda key, value: _text(key, value, 16),
        },
        {"zh-CN": "微信小程序", "en": "WeChat mini-program"},
    ),
    WECOM_APP: KindSpec(
        WECOM_APP,
        WECOM_APP,
        {
            "corp_id": lambda key, value: _text(key, value, 64),
            "agent_id": lambda key, value: _text(key, value, 32),
            "secret": lambda key, value: _text(key, value, 128),
            "token": lambda key, value: _text(key, value, 64),
            "encoding_aes_key": lambda key, value: _text(key, value, 43),
            "api_base_url": _base_url,
            # WeCom login for the console (扫码登录 and OAuth inside the WeCom client).
            "console_login": _flag,
            "login_base_url": _base_url,
            "oauth_base_url": _base_url,
        },
        {"zh-CN": "企业微信自建应用", "en": "WeCom app"},
    ),
    WECOM_KF: KindSpec(
        WECOM_KF,
        WECOM_KF,
        {
            "corp_id": lambda key, value: _text(key, value, 64),
            "secret": lambda key, value: _text(key, value, 128),
            "token": lambda key, value: _text(key, value, 64),
            "encoding_aes_key": lambda key, value: _text(key, value, 43),
            "open_kfid": lambda key, value: _text(key, value, 64),
            "api_base_url": _base_url,
        },
        {"zh-CN": "微信客服", "en": "WeChat customer service (WeCom)"},
    ),
}


def kind_spec(kind: str) -> KindSpec:
    spec = KINDS.get(kind)
    if spec is None:
        raise ValidationFailed(f"unknown entry point kind {kind!r}; one of {', '.join(sorted(KINDS))}")
    return spec


def validate_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config normalised (trimmed text, canonical UUIDs, deduplicated tags); ValidationFailed
    names the first key that is unknown for this kind or holds a wrong value."""
    spec = kind_spec(kind)
    checks = {**COMMON_KEYS, **spec.keys}
    clean: dict[str, Any] = {}
    for key, value in config.items():
        check = checks.get(key)
        if check is None:
            raise ValidationFailed(f"config.{key} is not a setting of {kind} entry points")
        if value is None:
            continue
        clean[key] = check(key, value)
    if kind == WEBHOOK and "preset" not in clean and "mapping" not in clean:
        raise ValidationFailed("a webhook entry point needs config.preset or config.mapping (or both)")
    return clean


def merge_config(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A PATCH of the config: keys given replace the current ones, keys given as null are removed,
    keys left out stay (so changing a default never drops a secret)."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def channel_for(kind: str, config: Mapping[str, Any]) -> str:
    """The channel tickets from this entry point carry: the configured one, else the kind's."""
    configured = config.get("channel")
    return str(configured) if configured else kind_spec(kind).default_channel


def new_public_key() -> str:
    """The unguessable key public routes use (form and QR code URLs): 96 random bits."""
    return secrets.token_urlsafe(PUBLIC_KEY_BYTES)


def new_secret() -> str:
    """A webhook signing secret: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(32)


def secret_hint(secret: str) -> str:
    """How a stored secret is shown after creation: its last four characters only."""
    return "…" + secret[-4:]


def public_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as the API shows it: secrets left out (``secret_hint`` is shown beside it)."""
    return {key: value for key, value in config.items() if key not in SECRET_KEYS}


def source_label(config: Mapping[str, Any], code: str | None) -> str | None:
    """The display name of a source code, when the entry point lists it."""
    if code is None:
        return None
    for label in config.get("source_labels", ()):
        if label.get("code") == code:
            return str(label.get("name") or code)
    return None


def form_url(public_base_url: str, public_key: str, source: str | None = None) -> str:
    """The customer form's address, as QR codes carry it (``?src=`` names the source)."""
    url = f"{public_base_url.rstrip('/')}/h5/f/{quote(public_key, safe='')}"
    return f"{url}?{urlencode({'src': source})}" if source else url


def hook_url(public_base_url: str, entry_point_id: uuid.UUID) -> str:
    """Where a webhook entry point's signed events are POSTed."""
    return f"{public_base_url.rstrip('/')}/hooks/{entry_point_id}"


def qr_url(public_base_url: str, entry_point_id: uuid.UUID) -> str:
    """The PNG QR code of an h5_form entry point's form URL."""
    return f"{public_base_url.rstrip('/')}/api/v1/entry-points/{entry_point_id}/qr.png"
