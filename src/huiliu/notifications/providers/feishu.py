"""Feishu / Lark custom bot (自定义机器人) with signature verification.

Protocol (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot): POST JSON to
``/open-apis/bot/v2/hook/<token>`` with ``timestamp`` (seconds, as a string) and ``sign`` =
``base64(HMAC-SHA256(key=timestamp + "\\n" + secret, msg=b""))`` in the body. The answer is
``{"code": 0, "msg": "success"}``; ``19021`` is a signature mismatch, ``19024`` a keyword miss."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import ClassVar
from urllib.parse import quote

from huiliu.notifications.providers.base import DeliveryFailed, HttpNotifier, OutgoingMessage, Sent

DEFAULT_BASE_URL = "https://open.feishu.cn"
# "request frequency limited" and server-side errors are worth another try.
RETRYABLE_CODES = frozenset({9499, 11232, 11233})


def sign(secret: str, timestamp: int) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuBot(HttpNotifier):
    kind: ClassVar[str] = "feishu"

    def send(self, message: OutgoingMessage) -> Sent:
        token = self.setting("token")
        base = str(self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        text = f"{message.title}\n{message.text}"
        if message.link:
            text += f"\n{message.link}"
        body: dict[str, object] = {"msg_type": "text", "content": {"text": text}}
        secret = self.config.get("secret")
        if secret:
            timestamp = int(time.time())
            body["timestamp"] = str(timestamp)
            body["sign"] = sign(str(secret), timestamp)
        response = self.request("POST", f"{base}/open-apis/bot/v2/hook/{quote(token, safe='')}", json=body)
        data = self.json_of(response)
        code = data.get("code", data.get("StatusCode", 0))
        if code != 0:
            raise DeliveryFailed(
                f"Feishu code {code}: {data.get('msg', data.get('StatusMessage', ''))}",
                retryable=code in RETRYABLE_CODES,
                status_code=response.status_code,
            )
        return Sent(None, response.status_code)
