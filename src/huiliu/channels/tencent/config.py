"""Settings checks of the Tencent entry point kinds (the entry points API composes them, see
``entry_points.api.CONFIG_CHECKS``): keys that belong together, a usable EncodingAESKey, and a
callback Token and EncodingAESKey generated when the admin left them out (they are pasted into the
WeChat / WeCom admin console, not invented there). Pure."""

from __future__ import annotations

import secrets
import string
from typing import Any

from huiliu.channels.tencent.crypto import ENCODING_AES_KEY_LENGTH, aes_key
from huiliu.core.errors import ValidationFailed

ENCRYPTION_MODES = ("plaintext", "compatible", "safe")
TOKEN_LENGTH = 32
DEFAULT_MP_API = "https://api.weixin.qq.com"
DEFAULT_WECOM_API = "https://qyapi.weixin.qq.com"
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
