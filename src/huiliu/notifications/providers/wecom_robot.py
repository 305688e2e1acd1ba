"""WeCom group robot (群机器人) webhook.

Protocol (https://developer.work.weixin.qq.com/document/path/91770): POST JSON to
``/cgi-bin/webhook/send?key=<key>``; the key in the URL is the only credential. Markdown when nobody
is to be mentioned, text with ``mentioned_mobile_list`` otherwise (markdown cannot mention by mobile).
The answer is ``{"errcode": 0, "errmsg": "ok"}``; ``93000`` is an invalid webhook key, ``45009`` the
rate limit (20 messages a minute)."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from huiliu.notifications.providers.base import DeliveryFailed, HttpNotifier, OutgoingMessage, Sent

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
RETRYABLE_ERRCODES = frozenset({-1, 45009, 45033})
MARKDOWN_LIMIT = 4096


class WeComRobot(HttpNotifier):
    kind: ClassVar[str] = "wecom"

    def send(self, message: OutgoingMessage) -> Sent:
        key = self.setting("key")
        base = str(self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        body: dict[str, Any]
        if message.mentions:
            text = f"{message.title}\n{message.text}" + (f"\n{message.link}" if message.link else "")
            body = {
                "msgtype": "text",
                "text": {"content": text, "mentioned_mobile_list": list(message.mentions)},
            }
        else:
            content = f"**{message.title}**\n{message.text}"
            if message.link:
                content += f"\n[{message.link}]({message.link})"
            body = {"msgtype": "markdown", "markdown": {"content": content[:MARKDOWN_LIMIT]}}
        response = self.request("POST", f"{base}/cgi-bin/webhook/send?key={quote(key, safe='')}", json=body)
        data = self.json_of(response)
        errcode = data.get("errcode", 0)
        if errcode != 0:
            raise DeliveryFailed(
                f"WeCom errcode {errcode}: {data.get('errmsg', '')}",
                retryable=errcode in RETRYABLE_ERRCODES,
                status_code=response.status_code,
            )
        return Sent(None, response.status_code)
