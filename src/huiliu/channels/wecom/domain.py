"""What WeCom's decrypted callbacks and 微信客服 messages mean for intake and customer identities. Pure.

- a message a member sends to the app becomes an ``InboundMessage`` from that member (an ``external``
  identity ``wecom_user:<corp_id>:<userid>``: members are not customers, but may report for one);
- ``change_external_contact`` (客户联系) add / edit / delete names an external contact by
  ``ExternalUserID``: the customer identity ``wecom_external_userid`` (with the unionid when known);
- a 微信客服 message from the customer (``origin`` 3) becomes an ``InboundMessage`` from the customer's
  ``external_userid``, deduplicated by its ``msgid``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huiliu.channels.tencent.xmlparse import MalformedXml, text
from huiliu.core.clock import utcnow
from huiliu.core.errors import ValidationFailed
from huiliu.intake.domain import InboundMessage, SenderIdentity

WECOM_EXTERNAL_USERID = "wecom_external_userid"
WECHAT_UNIONID = "wechat_unionid"
EXTERNAL = "external"
APP_MESSAGE_TYPES = frozenset({"text", "image", "voice", "video", "location", "link", "file"})
CONTACT_CHANGES = frozenset(
    {"add_external_contact", "edit_external_contact", "del_external_contact", "del_follow_user"}
)
# Changes after which the external contact is still a contact of the corp (their details can be read).
CONTACT_KEPT = frozenset({"add_external_contact", "edit_external_contact"})
KF_FROM_CUSTOMER = 3
KF_EVENT = "kf_msg_or_event"


class UnsupportedMessage(ValidationFailed):
    """A callback this channel takes no action on (answered ``success``)."""


def wecom_user_identity(corp_id: str, userid: str) -> str:
    return f"wecom_user:{corp_id}:{userid}"


def _created(fields: dict[str, Any]) -> datetime:
    stamp = text(fields, "CreateTime")
    if stamp is None or not stamp.isdigit():
        raise MalformedXml("CreateTime is missing or not a number")
    return datetime.fromtimestamp(int(stamp), UTC)


def _describe(msg_type: str, get: Any) -> str:
    """The text of a non-text message, from a getter of its fields."""
    if msg_type == "image":
        return "[图片]"
    if msg_type == "voice":
        return "[语音]"
    if msg_type == "video":
        return "[视频]"
    if msg_type == "file":
        return "[文件]"
    if msg_type == "location":
        return f"[位置] {get('Label') or get('name') or ''} {get('address') or ''}".strip()
    if msg_type == "link":
        return f"[链接] {get('Title') or get('title') or ''} {get('Url') or get('url') or ''}".strip()
    return f"[{msg_type}]"


@dataclass(frozen=True)
class ContactChange:
    change: str
    member_userid: str | None
    external_userid: str
    state: str | None


def event_of(fields: dict[str, Any]) -> str | None:
    return text(fields, "Event") if text(fields, "MsgType") == "event" else None


def contact_change(fields: dict[str, Any]) -> ContactChange:
    """The external-contact change of a ``change_external_contact`` event."""
    change = text(fields, "ChangeType") or ""
    external = text(fields, "ExternalUserID")
    if change not in CONTACT_CHANGES:
        raise UnsupportedMessage(f"the change {change!r} is not taken by this channel")
    if external is None:
        raise MalformedXml("ExternalUserID is required")
    return ContactChange(change, text(fields, "UserID"), external, text(fields, "State"))


def app_message(
    fields: dict[str, Any], *, corp_id: str, entry_point_id: uuid.UUID, channel: str
) -> InboundMessage:
    """The intake message of a member's message to the app."""
    sender = text(fields, "FromUserName")
    msg_type = text(fields, "MsgType")
    if sender is None or msg_type is None:
        raise MalformedXml("FromUserName and MsgType are required")
    if msg_type not in APP_MESSAGE_TYPES:
        raise UnsupportedMessage(f"the message type {msg_type!r} is not taken by this channel")
    body = (
        (text(fields, "Content") or "")
        if msg_type == "text"
        else _describe(msg_type, lambda n: text(fields, n))
    )
    msg_id = text(fields, "MsgId")
    return InboundMessage(
        channel=channel,
        text=body,
        received_at=_created(fields),
        entry_point_id=entry_point_id,
        external_id=msg_id or f"{sender}:{text(fields, 'CreateTime')}",
        identities=(SenderIdentity(EXTERNAL, wecom_user_identity(corp_id, sender)),),
        metadata={
            "wecom": {
                "agent_id": text(fields, "AgentID"),
                "msg_type": msg_type,
                "media_id": text(fields, "MediaId"),
            }
        },
    )


@dataclass(frozen=True)
class KfNotice:
    """The ``kf_msg_or_event`` callback: new 微信客服 messages are waiting for ``sync_msg``."""

    token: str | None
    open_kfid: str | None


def kf_notice(fields: dict[str, Any]) -> KfNotice:
    if event_of(fields) != KF_EVENT:
        raise UnsupportedMessage("only kf_msg_or_event is taken by a wecom_kf entry point")
    return KfNotice(text(fields, "Token"), text(fields, "OpenKfId"))


KF_MEDIA_TYPES = frozenset({"image", "voice", "video", "file"})


APP_MEDIA_TYPES = frozenset({"image", "voice", "video", "file"})


def app_media(fields: dict[str, Any]) -> dict[str, str] | None:
    """The media of a member's message to the app (``media_id`` and type), to be fetched into an
    attachment with ``media/get`` (temporary media live three days)."""
    msg_type = text(fields, "MsgType")
    media_id = text(fields, "MediaId")
    if msg_type not in APP_MEDIA_TYPES or media_id is None:
        return None
    return {"media_id": media_id, "media_type": msg_type}


def kf_media(item: dict[str, Any]) -> dict[str, str] | None:
    """The media of a 微信客服 message (``media_id`` and type), to be fetched into an attachment."""
    msg_type = str(item.get("msgtype") or "")
    content = item.get(msg_type)
    if msg_type not in KF_MEDIA_TYPES or not isinstance(content, dict):
        return None
    media_id = content.get("media_id")
    return {"media_id": media_id, "media_type": msg_type} if isinstance(media_id, str) and media_id else None


def kf_message(item: dict[str, Any], *, entry_point_id: uuid.UUID, channel: str) -> InboundMessage | None:
    """The intake message of one ``sync_msg`` item; None for what is not a customer's message
    (servicer messages, system events)."""
    if item.get("origin") != KF_FROM_CUSTOMER or item.get("msgtype") == "event":
        return None
    external = item.get("external_userid")
    msgid = item.get("msgid")
    msg_type = str(item.get("msgtype") or "")
    if not isinstance(external, str) or not external or not isinstance(msgid, str) or not msgid:
        return None
    found = item.get(msg_type)
    content: dict[str, Any] = found if isinstance(found, dict) else {}
    body = str(content.get("content") or "") if msg_type == "text" else _describe(msg_type, content.get)
    sent = item.get("send_time")
    received = datetime.fromtimestamp(int(sent), UTC) if isinstance(sent, int) else utcnow()
    return InboundMessage(
        channel=channel,
        text=body or f"[{msg_type}]",
        received_at=received,
        entry_point_id=entry_point_id,
        external_id=msgid,
        identities=(SenderIdentity(WECOM_EXTERNAL_USERID, external),),
        metadata={"wecom_kf": {"open_kfid": item.get("open_kfid"), "msg_type": msg_type}},
    )
