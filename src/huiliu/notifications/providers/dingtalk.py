"""DingTalk custom robot (自定义机器人) with the "加签" security setting.

Protocol (https://open.dingtalk.com/document/robots/customize-robot-security-settings and
https://open.dingtalk.com/document/orgapp/custom-robots-send-group-messages): POST JSON to
``/robot/send?access_token=…&timestamp=<ms>&sign=<s>`` where ``s`` is
``urlencode(base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)))``. The answer is
``{"errcode": 0, "errmsg": "ok"}``; ``310000`` means the signature, keyword or IP check failed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import ClassVar
from urllib.parse import quote_plus

from huiliu.notifications.providers.base import DeliveryFailed, HttpNotifier, OutgoingMessage, Sent

DEFAULT_BASE_URL = "https://oapi.dingtalk.com"
# System busy, and "send too fast" (more than 20 messages a minute per robot): worth another try.
RETRYABLE_ERRCODES = frozenset({-1, 410100, 130101})


def sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` value before URL encoding."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkRobot(HttpNotifier):
    kind: ClassVar[str] = "dingtalk"

    def send(self, message: OutgoingMessage) -> Sent:
        token = self.setting("access_token")
        base = str(self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        url = f"{base}/robot/send?access_token={quote_plus(token)}"
        secret = self.config.get("secret")
        if secret:
            timestamp = int(time.time() * 1000)
            url += f"&timestamp={timestamp}&sign={quote_plus(sign(str(secret), timestamp))}"
        text = f"#### {message.title}\n\n{message.text}"
        if message.link:
            text += f"\n\n[{message.link}]({message.link})"
        if message.mentions:
            text += "\n\n" + " ".join(f"@{mobile}" for mobile in message.mentions)
        body = {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": text},
            "at": {"atMobiles": list(message.mentions), "isAtAll": False},
        }
        response = self.request("POST", url, json=body)
        data = self.json_of(response)
        errcode = data.get("errcode", 0)
        if errcode != 0:
            raise DeliveryFailed(
                f"DingTalk errcode {errcode}: {data.get('errmsg', '')}",
                retryable=errcode in RETRYABLE_ERRCODES,
                status_code=response.status_code,
            )
        return Sent(None, response.status_code)
