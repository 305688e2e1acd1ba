"""Settings checks of the Tencent entry point kinds (the entry points API composes them, see
``entry_points.api.CONFIG_CHECKS``): keys that belong together, a usable EncodingAESKey, and a
callback Token and EncodingAESKey generated when the admin left them out (they are pasted into the
WeChat / WeCom admin console, not invented there). Pure."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from typing import Any

from huiliu.channels.tencent.crypto import ENCODING_AES_KEY_LENGTH, aes_key
from huiliu.core.errors import ValidationFailed

ENCRYPTION_MODES = ("plaintext", "compatible", "safe")
TOKEN_LENGTH = 32
DEFAULT_MP_API = "https://api.weixin.qq.com"
DEFAULT_WECOM_API = "https://qyapi.weixin.qq.com"
# WeCom web login (企业微信Web登录, the QR page) and OAuth inside the WeCom client (网页授权登录).
DEFAULT_WECOM_LOGIN = "https://login.work.weixin.qq.com"
DEFAULT_WECOM_OAUTH = "https://open.weixin.qq.com"
MINIPROGRAM_STATES = ("formal", "trial", "developer")
# What a notice's template fields may say: {name} of these, around fixed text.
NOTICE_VARIABLES = ("ticket_number", "ticket_title", "status", "message", "link", "time")
NOTICE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,63}$")
_NOTICE_VARIABLE = re.compile(r"\{([a-z_]+)\}")
MAX_NOTICE_FIELDS = 10
MAX_NOTICE_FIELD_LENGTH = 200
_ALPHABET = string.ascii_letters + string.digits


def new_token() -> str:
    """A callback Token (3-32 letters and digits on both platforms)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_LENGTH))


def new_encoding_aes_key() -> str:
    """A fresh EncodingAESKey: 43 letters and digits that decode to 32 random bytes."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(ENCODING_AES_KEY_LENGTH))
        try:
            aes_key(candidate)
        except ValidationFailed:
            continue
        return candidate


def _callback_keys(config: dict[str, Any]) -> None:
    token = config.setdefault("token", new_token())
    if not 3 <= len(token) <= TOKEN_LENGTH or not token.isalnum():
        raise ValidationFailed("config.token is 3-32 letters and digits")
    aes_key(config.setdefault("encoding_aes_key", new_encoding_aes_key()))


def _require(config: dict[str, Any], kind: str, *keys: str) -> None:
    missing = [key for key in keys if not config.get(key)]
    if missing:
        raise ValidationFailed(f"a {kind} entry point needs config.{', config.'.join(missing)}")


def check_wechat_mp_config(config: dict[str, Any]) -> dict[str, Any]:
    """``app_id`` and ``app_secret`` are required; ``encryption_mode`` is ``safe`` (default),
    ``compatible`` or ``plaintext``."""
    clean = dict(config)
    _require(clean, "wechat_mp", "app_id", "app_secret")
    mode = clean.setdefault("encryption_mode", "safe")
    if mode not in ENCRYPTION_MODES:
        raise ValidationFailed(f"config.encryption_mode must be one of {', '.join(ENCRYPTION_MODES)}")
    _callback_keys(clean)
    _notice(clean)
    return clean


def check_wecom_app_config(config: dict[str, Any]) -> dict[str, Any]:
    """``corp_id``, ``agent_id`` and the app's ``secret`` are required (WeCom always encrypts)."""
    clean = dict(config)
    _require(clean, "wecom_app", "corp_id", "agent_id", "secret")
    _callback_keys(clean)
    return clean


def check_wecom_kf_config(config: dict[str, Any]) -> dict[str, Any]:
    """``corp_id`` and the 微信客服 ``secret`` are required."""
    clean = dict(config)
    _require(clean, "wecom_kf", "corp_id", "secret")
    _callback_keys(clean)
    return clean


def check_notice_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """The template keywords of a notice (``thing1``, ``character_string2`` …) with what each says,
    e.g. ``{"thing1": "{ticket_title}"}``: only the known ``{variables}`` are allowed."""
    if not fields or len(fields) > MAX_NOTICE_FIELDS:
        raise ValidationFailed(f"config.notice_fields needs 1 to {MAX_NOTICE_FIELDS} template keywords")
    clean: dict[str, str] = {}
    for key, value in fields.items():
        if not NOTICE_KEY.match(str(key)):
            raise ValidationFailed(f"config.notice_fields: {key!r} is not a template keyword")
        if not isinstance(value, str) or not 0 < len(value) <= MAX_NOTICE_FIELD_LENGTH:
            raise ValidationFailed(f"config.notice_fields.{key} must be text of 1-{MAX_NOTICE_FIELD_LENGTH}")
        unknown = sorted(set(_NOTICE_VARIABLE.findall(value)) - set(NOTICE_VARIABLES))
        if unknown:
            raise ValidationFailed(
                f"config.notice_fields.{key}: unknown {{{unknown[0]}}}; use {', '.join(NOTICE_VARIABLES)}"
            )
        clean[str(key)] = value
    return clean


def render_notice_fields(fields: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    """Each keyword's text with its ``{variables}`` filled in (an unknown one stays as written)."""
    return {
        key: _NOTICE_VARIABLE.sub(lambda match: str(values.get(match.group(1), match.group(0))), text)
        for key, text in fields.items()
    }


def _notice(clean: dict[str, Any]) -> None:
    if "notice_fields" in clean:
        clean["notice_fields"] = check_notice_fields(clean["notice_fields"])
    if bool(clean.get("notice_template_id")) != bool(clean.get("notice_fields")):
        raise ValidationFailed("config.notice_template_id and config.notice_fields go together")


def check_wechat_miniprogram_config(config: dict[str, Any]) -> dict[str, Any]:
    """``app_id`` and ``app_secret`` are required; subscribe notices need ``notice_template_id`` with
    ``notice_fields`` (and optionally ``notice_page``, ``miniprogram_state``)."""
    clean = dict(config)
    _require(clean, "wechat_miniprogram", "app_id", "app_secret")
    state = clean.get("miniprogram_state")
    if state is not None and state not in MINIPROGRAM_STATES:
        raise ValidationFailed(f"config.miniprogram_state must be one of {', '.join(MINIPROGRAM_STATES)}")
    _notice(clean)
    return clean
