"""What an Official Account's callback XML means for intake. Pure.

Message types (text, image, voice, video, shortvideo, location, link) and events (subscribe,
unsubscribe, SCAN, CLICK, VIEW) become an ``InboundMessage`` from the sender's openid. WeChat
retries a callback that got no answer within 5 seconds three times: a message is deduplicated by its
``MsgId``, an event (which has none) by ``FromUserName`` + ``CreateTime`` + event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from huiliu.channels.tencent.xmlparse import MalformedXml, text
from huiliu.core.errors import ValidationFailed
from huiliu.intake.domain import InboundMessage, SenderIdentity

WECHAT_OPENID = "wechat_openid"
MESSAGE_TYPES = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link"})
EVENTS = frozenset({"subscribe", "unsubscribe", "SCAN", "CLICK", "VIEW"})
QR_SCENE_PREFIX = "qrscene_"


class UnsupportedMessage(ValidationFailed):
    """A message type or event this channel does not take (answered ``success`` and left out)."""


def created_at(fields: dict[str, Any]) -> datetime:
    stamp = text(fields, "CreateTime")
    if stamp is None or not stamp.isdigit():
        raise MalformedXml("CreateTime is missing or not a number")
    return datetime.fromtimestamp(int(stamp), UTC)


def external_id(fields: dict[str, Any]) -> str:
    """The idempotency key of a callback: MsgId, or sender + CreateTime (+ event) for events."""
    msg_id = text(fields, "MsgId") or text(fields, "MsgID")
    if msg_id:
        return msg_id
    sender = text(fields, "FromUserName") or ""
    return f"event:{sender}:{text(fields, 'CreateTime')}:{text(fields, 'Event')}"


def _message_text(msg_type: str, fields: dict[str, Any]) -> str:
    if msg_type == "text":
        return text(fields, "Content") or ""
    if msg_type == "image":
        return "[图片]"
    if msg_type == "voice":
        recognized = text(fields, "Recognition")
        return f"[语音] {recognized}" if recognized else "[语音]"
    if msg_type in {"video", "shortvideo"}:
        return "[视频]"
    if msg_type == "location":
        label = text(fields, "Label") or ""
        return f"[位置] {label} ({text(fields, 'Location_X')}, {text(fields, 'Location_Y')})".strip()
    title = text(fields, "Title") or ""
    return f"[链接] {title} {text(fields, 'Url') or ''}".strip()


def _event_text(event: str, fields: dict[str, Any]) -> str:
    key = text(fields, "EventKey") or ""
    if event == "subscribe":
        return "关注了公众号" + (f"（扫码场景 {key.removeprefix(QR_SCENE_PREFIX)}）" if key else "")
    if event == "unsubscribe":
        return "取消关注了公众号"
    if event == "SCAN":
        return f"扫描了带参数二维码（场景 {key}）"
    if event == "CLICK":
        return f"点击了菜单（{key}）"
    return f"打开了菜单链接 {key}"


def _metadata(fields: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "MsgType",
        "Event",
        "EventKey",
        "MediaId",
        "PicUrl",
        "Format",
        "ThumbMediaId",
        "Url",
        "ToUserName",
    )
    return {name: fields[name] for name in keep if isinstance(fields.get(name), str) and fields[name]}


MEDIA_TYPES = frozenset({"image", "voice", "video", "shortvideo"})


def media_of(fields: dict[str, Any]) -> dict[str, str] | None:
    """The media a message carries (``media_id`` and type), to be fetched into an attachment."""
    msg_type = text(fields, "MsgType")
    media_id = text(fields, "MediaId")
    if msg_type not in MEDIA_TYPES or media_id is None:
        return None
    return {"media_id": media_id, "media_type": msg_type}


def source_of(fields: dict[str, Any]) -> str | None:
    """The QR scene of a subscribe or SCAN event, as the ticket's source (``?src=`` of QR codes)."""
    key = text(fields, "EventKey")
    if text(fields, "Event") not in {"subscribe", "SCAN"} or not key:
        return None
    return key.removeprefix(QR_SCENE_PREFIX)[:64]


def to_inbound(fields: dict[str, Any], *, entry_point_id: uuid.UUID, channel: str) -> InboundMessage:
    """The intake message of one decrypted callback; UnsupportedMessage for types left out."""
    sender = text(fields, "FromUserName")
    msg_type = text(fields, "MsgType")
    if sender is None or msg_type is None:
        raise MalformedXml("FromUserName and MsgType are required")
    if msg_type == "event":
        event = text(fields, "Event") or ""
        if event not in EVENTS:
            raise UnsupportedMessage(f"the event {event!r} is not taken by this channel")
        body = _event_text(event, fields)
    elif msg_type in MESSAGE_TYPES:
        body = _message_text(msg_type, fields)
    else:
        raise UnsupportedMessage(f"the message type {msg_type!r} is not taken by this channel")
    return InboundMessage(
        channel=channel,
        text=body,
        received_at=created_at(fields),
        entry_point_id=entry_point_id,
        external_id=external_id(fields),
        identities=(SenderIdentity(WECHAT_OPENID, sender),),
        source=source_of(fields),
        metadata={"wechat": _metadata(fields)},
    )


# A mini-program openid is per app and not the person's Official Account openid: it is kept as an
# ``external`` identity qualified by the AppID (the unionid ties the person together).
MINIPROGRAM_PREFIX = "wxmini:"


def miniprogram_identity(app_id: str, openid: str) -> str:
    return f"{MINIPROGRAM_PREFIX}{app_id}:{openid}"
