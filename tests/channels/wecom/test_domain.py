"""WeCom's decrypted callbacks and 微信客服 sync_msg items mapped for intake and customer identities:
the documented add-external-contact event, a member's message to the app, and kf items (customer
messages taken, servicer messages and events left out, media owed)."""

from __future__ import annotations

import uuid

import pytest

from huiliu.channels.tencent.xmlparse import parse_xml
from huiliu.channels.wecom import domain
from tests.channels.tencent import vectors as v

ENTRY = uuid.uuid4()


def test_documented_external_contact_event() -> None:
    fields = parse_xml(v.WECOM_ADD_EXTERNAL_CONTACT.encode())
    assert domain.event_of(fields) == "change_external_contact"
    change = domain.contact_change(fields)
    assert change == domain.ContactChange(
        "add_external_contact", "zhangsan", "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA", "teststate"
    )


def test_documented_kf_notice() -> None:
    notice = domain.kf_notice(parse_xml(v.WECOM_KF_EVENT.encode()))
    assert notice == domain.KfNotice("ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR", "wkxxxxxxx")
    with pytest.raises(domain.UnsupportedMessage):
        domain.kf_notice(parse_xml(v.WECOM_ADD_EXTERNAL_CONTACT.encode()))


def test_a_members_message_to_the_app() -> None:
    message = domain.app_message(
        parse_xml(v.WECOM_MSG_PLAIN.encode()),
        corp_id=v.WECOM_CORP_ID,
        entry_point_id=ENTRY,
        channel="wecom_app",
    )
    assert (message.text, message.external_id) == ("hello", "4561255354251345929")
    assert [(i.kind, i.value) for i in message.identities] == [
        ("external", f"wecom_user:{v.WECOM_CORP_ID}:mycreate")
    ]


def kf(origin: int, msgtype: str, content: dict[str, str]) -> dict[str, object]:
    return {
        "msgid": "from_msgid_4622416642169452483",
        "open_kfid": "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
        "external_userid": "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw",
        "send_time": 1615478585,
        "origin": origin,
        "msgtype": msgtype,
        msgtype: content,
    }


def test_kf_items() -> None:
    text = domain.kf_message(
        kf(3, "text", {"content": "hello world"}), entry_point_id=ENTRY, channel="wecom_kf"
    )
    assert text is not None
    assert (text.text, text.external_id) == ("hello world", "from_msgid_4622416642169452483")
    assert [(i.kind, i.value) for i in text.identities] == [
        ("wecom_external_userid", "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw")
    ]
    assert (
        domain.kf_message(kf(5, "text", {"content": "客服回复"}), entry_point_id=ENTRY, channel="wecom_kf")
        is None
    )
    assert (
        domain.kf_message(
            kf(4, "event", {"event_type": "enter_session"}), entry_point_id=ENTRY, channel="wecom_kf"
        )
        is None
    )
    image = kf(3, "image", {"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"})
    assert domain.kf_media(image) == {
        "media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw",
        "media_type": "image",
    }
    assert domain.kf_media(kf(3, "text", {"content": "x"})) is None
