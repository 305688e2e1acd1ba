"""The Official Account's callback XML, as the samples of its docs show it (接收普通消息 / 接收事件推送),
mapped to intake messages: text, the media types, location, link and the events; the idempotency key
(MsgId, or sender + CreateTime + event for events) and the QR scene as source."""

from __future__ import annotations

import uuid

import pytest

from huiliu.channels.tencent.xmlparse import MalformedXml, parse_xml
from huiliu.channels.wechat import domain

ENTRY = uuid.uuid4()
HEAD = (
    "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>"
    "<CreateTime>1348831860</CreateTime>"
)
SAMPLES = {
    "text": HEAD + "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content>"
    "<MsgId>1234567890123456</MsgId></xml>",
    "image": HEAD + "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[this is a url]]></PicUrl>"
    "<MediaId><![CDATA[media_id]]></MediaId><MsgId>1234567890123456</MsgId></xml>",
    "voice": HEAD + "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[media_id]]></MediaId>"
    "<Format><![CDATA[Format]]></Format><Recognition><![CDATA[腾讯微信团队]]></Recognition>"
    "<MsgId>1234567890123456</MsgId></xml>",
    "video": HEAD + "<MsgType><![CDATA[video]]></MsgType><MediaId><![CDATA[media_id]]></MediaId>"
    "<ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId><MsgId>1234567890123456</MsgId></xml>",
    "link": HEAD + "<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[公众平台官网链接]]></Title>"
    "<Description><![CDATA[公众平台官网链接]]></Description><Url><![CDATA[url]]></Url>"
    "<MsgId>1234567890123456</MsgId></xml>",
    "CLICK": HEAD + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
    "<EventKey><![CDATA[EVENTKEY]]></EventKey></xml>",
    "VIEW": HEAD + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[VIEW]]></Event>"
    "<EventKey><![CDATA[www.qq.com]]></EventKey></xml>",
    "SCAN": HEAD + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event>"
    "<EventKey><![CDATA[SCENE_VALUE]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>",
    "unsubscribe": HEAD + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>",
}


@pytest.mark.parametrize(
    ("sample", "text"),
    [
        ("text", "this is a test"),
        ("image", "[图片]"),
        ("voice", "[语音] 腾讯微信团队"),
        ("video", "[视频]"),
        ("link", "[链接] 公众平台官网链接 url"),
        ("CLICK", "点击了菜单（EVENTKEY）"),
        ("VIEW", "打开了菜单链接 www.qq.com"),
        ("SCAN", "扫描了带参数二维码（场景 SCENE_VALUE）"),
        ("unsubscribe", "取消关注了公众号"),
    ],
)
def test_doc_samples_become_messages_from_the_openid(sample: str, text: str) -> None:
    message = domain.to_inbound(
        parse_xml(SAMPLES[sample].encode()), entry_point_id=ENTRY, channel="wechat_mp"
    )
    assert message.text == text
    assert [(i.kind, i.value) for i in message.identities] == [("wechat_openid", "fromUser")]
    assert message.received_at.timestamp() == 1348831860
    assert message.entry_point_id == ENTRY


def test_messages_are_keyed_by_msgid_and_events_by_sender_time_and_event() -> None:
    text = domain.to_inbound(parse_xml(SAMPLES["text"].encode()), entry_point_id=ENTRY, channel="wechat_mp")
    click = domain.to_inbound(parse_xml(SAMPLES["CLICK"].encode()), entry_point_id=ENTRY, channel="wechat_mp")
    view = domain.to_inbound(parse_xml(SAMPLES["VIEW"].encode()), entry_point_id=ENTRY, channel="wechat_mp")
    assert text.external_id == "1234567890123456"
    assert click.external_id == "event:fromUser:1348831860:CLICK"
    assert view.external_id != click.external_id


def test_the_qr_scene_is_the_source_and_media_is_owed() -> None:
    scan = parse_xml(SAMPLES["SCAN"].encode())
    assert domain.source_of(scan) == "SCENE_VALUE"
    assert domain.media_of(parse_xml(SAMPLES["image"].encode())) == {
        "media_id": "media_id",
        "media_type": "image",
    }
    assert domain.media_of(parse_xml(SAMPLES["text"].encode())) is None


def test_unknown_types_are_left_out_and_incomplete_xml_refused() -> None:
    with pytest.raises(domain.UnsupportedMessage):
        domain.to_inbound(
            parse_xml(
                (
                    HEAD
                    + "<MsgType><![CDATA[event]]></MsgType>"
                    + "<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event></xml>"
                ).encode()
            ),
            entry_point_id=ENTRY,
            channel="wechat_mp",
        )
    with pytest.raises(MalformedXml):
        domain.to_inbound(
            parse_xml(b"<xml><MsgType>text</MsgType></xml>"), entry_point_id=ENTRY, channel="wechat_mp"
        )
