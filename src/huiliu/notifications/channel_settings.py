"""What each provider kind needs configured: which settings are credentials (write-only) and which
must be present. Pure; raises ``ValueError`` naming the first problem."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

SECRET_KEYS: dict[str, frozenset[str]] = {
    "dingtalk": frozenset({"access_token", "secret"}),
    "feishu": frozenset({"token", "secret"}),
    "wecom": frozenset({"key"}),
    "aliyun_sms": frozenset({"access_key_secret"}),
    "tencent_sms": frozenset({"secret_key"}),
    "email": frozenset({"password"}),
    "wecom_app": frozenset(),
}
REQUIRED: dict[str, frozenset[str]] = {
    "dingtalk": frozenset({"access_token"}),
    "feishu": frozenset({"token"}),
    "wecom": frozenset({"key"}),
    "aliyun_sms": frozenset({"access_key_id", "access_key_secret", "sign_name", "template_code"}),
    "tencent_sms": frozenset({"secret_id", "secret_key", "sdk_app_id", "sign_name", "template_id"}),
    "email": frozenset({"host", "from_address"}),
    # The wecom_app entry point whose app sends (its secret stays on the entry point).
    "wecom_app": frozenset({"entry_point_id"}),
}
SECURITY_MODES = ("starttls", "tls", "none")


def check_channel_settings(
    kind: str, config: Mapping[str, Any], secrets: Mapping[str, str], *, partial: bool
) -> None:
    """``config`` may not hold credentials and ``secrets`` nothing else; every required setting is
    present unless ``partial`` (an update merges onto stored ones, checked again after the merge)."""
    secret_keys = SECRET_KEYS[kind]
    misplaced = sorted(set(config) & secret_keys)
    if misplaced:
        raise ValueError(f"{', '.join(misplaced)} belong in secrets, not config")
    unknown = sorted(set(secrets) - secret_keys)
    if unknown:
        raise ValueError(f"{', '.join(unknown)} are not credentials of a {kind} channel")
    if not partial:
        missing = sorted(name for name in REQUIRED[kind] if not (config.get(name) or secrets.get(name)))
        if missing:
            raise ValueError(f"a {kind} channel needs {', '.join(missing)}")
    base_url = config.get("base_url")
    if base_url is not None:
        parts = urlsplit(str(base_url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL with a host")
    if kind == "wecom_app" and "entry_point_id" in config:
        try:
            uuid.UUID(str(config["entry_point_id"]))
        except ValueError as exc:
            raise ValueError("entry_point_id must be the id of a wecom_app entry point") from exc
    if kind == "email":
        security = config.get("security", "starttls")
        if security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}")
        port = config.get("port")
        if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
            raise ValueError("port must be a number from 1 to 65535")


def secret_hints(secrets: Mapping[str, Any]) -> dict[str, str]:
    return {name: "••••" + str(value)[-4:] for name, value in secrets.items() if value}
