"""Pure rules of the signed webhook: signature and replay window, JMESPath mappings, presets."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest

from huiliu.channels.webhook import domain
from huiliu.channels.webhook.presets import presets
from huiliu.core.errors import ValidationFailed

SECRET = "shared-secret-for-signature-tests"
BODY = b'{"id":"1","text":"hello"}'
NOW = 1_796_000_000


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1796000000." + BODY, hashlib.sha256).hexdigest()
    assert domain.sign(SECRET, "1796000000", BODY) == f"sha256={expected}"


def test_a_genuine_fresh_request_passes() -> None:
    signature = domain.sign(SECRET, str(NOW), BODY)
    domain.verify(SECRET, timestamp=str(NOW), signature=signature, body=BODY, now=NOW + 299, tolerance=300)
    domain.verify(
        SECRET,
        timestamp=str(NOW),
        signature=signature.upper().replace("SHA256=", "sha256="),
        body=BODY,
        now=NOW - 300,
        tolerance=300,
    )


@pytest.mark.parametrize(
    ("timestamp", "signature", "body"),
    [
        (None, "sha256=00", BODY),
        (str(NOW), None, BODY),
        ("", "", BODY),
        ("17960000.5", "sha256=00", BODY),
        ("-1796000000", "sha256=00", BODY),
        (str(NOW), domain.sign("another-secret-entirely-0000", str(NOW), BODY), BODY),
        (str(NOW), domain.sign(SECRET, str(NOW), BODY), BODY + b" "),
        (str(NOW + 1), domain.sign(SECRET, str(NOW), BODY), BODY),
        (str(NOW), domain.sign(SECRET, str(NOW), BODY)[len("sha256=") :], BODY),
        (str(NOW), "sha1=" + domain.sign(SECRET, str(NOW), BODY)[len("sha256=") :], BODY),
    ],
)
def test_wrong_or_missing_signatures_are_bad_signature(
    timestamp: str | None, signature: str | None, body: bytes
) -> None:
    with pytest.raises(domain.BadSignature):
        domain.verify(SECRET, timestamp=timestamp, signature=signature, body=body, now=NOW, tolerance=300)


def test_an_authentic_request_outside_the_window_is_stale() -> None:
    for offset in (301, -301, 86_400):
        timestamp = str(NOW - offset)
        signature = domain.sign(SECRET, timestamp, BODY)
        with pytest.raises(domain.StaleTimestamp):
            domain.verify(SECRET, timestamp=timestamp, signature=signature, body=BODY, now=NOW, tolerance=300)
    assert domain.StaleTimestamp.slug != domain.BadSignature.slug
    assert domain.StaleTimestamp.status == domain.BadSignature.status == 401


def compiled(mapping: dict[str, Any]) -> domain.CompiledMapping:
    return domain.compile_mapping(mapping)


def test_mapping_reads_every_target() -> None:
    mapping = compiled(
        {
            "external_id": "id",
            "text": "body.lines",
            "title": "subject",
            "sender_name": "from.name",
            "received_at": "at",
            "reply_to_external_id": "in_reply_to",
            "source": "campaign",
            "identities": {"phone": "from.phones", "email": "from.email", "wechat_openid": "from.openid"},
            "metadata": {"device_sn": "device.sn", "missing": "nope"},
            "fields": {"order_no": "order.no", "amount": "order.amount"},
        }
    )
    payload = {
        "id": 12345,
        "body": {"lines": ["第一行", "", "第二行"]},
        "subject": "  退货 ",
        "from": {"name": "张三", "phones": ["13800138000", "021-5555 1234"], "email": "z@example.cn"},
        "at": "2026-11-30T08:00:00+08:00",
        "in_reply_to": "m-1",
        "campaign": "double11",
        "device": {"sn": "SN-1"},
        "order": {"no": "SO1", "amount": 399.5},
    }
    mapped = domain.apply_mapping(mapping, payload)
    assert mapped.external_id == "12345"
    assert mapped.text == "第一行\n第二行"
    assert mapped.title == "退货"
    assert mapped.sender_name == "张三"
    assert mapped.received_at == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert mapped.reply_to_external_id == "m-1"
    assert mapped.source == "double11"
    assert mapped.identities == (
        ("phone", "13800138000"),
        ("phone", "021-5555 1234"),
        ("email", "z@example.cn"),
    )
    assert mapped.metadata == {"device_sn": "SN-1"}
    assert mapped.fields == {"order_no": "SO1", "amount": 399.5}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_796_001_300, datetime(2026, 11, 30, 1, 15, tzinfo=UTC)),
        (1_796_001_300_000, datetime(2026, 11, 30, 1, 15, tzinfo=UTC)),
        ("1796001300", datetime(2026, 11, 30, 1, 15, tzinfo=UTC)),
        ("2026-11-30T01:15:00Z", datetime(2026, 11, 30, 1, 15, tzinfo=UTC)),
        ("2026-11-30 09:15:00", datetime(2026, 11, 30, 1, 15, tzinfo=UTC)),
        (None, None),
    ],
)
def test_times_in_the_common_forms(value: Any, expected: datetime | None) -> None:
    mapping = compiled({"external_id": "id", "text": "t", "received_at": "at", "timezone": "Asia/Shanghai"})
    assert domain.apply_mapping(mapping, {"id": "1", "t": "x", "at": value}).received_at == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"t": "text"},  # no external id
        {"id": "1"},  # no text
        {"id": "1", "t": "   "},
        {"id": "1", "t": True},
        {"id": "1", "t": {"nested": "object"}},
        {"id": {"a": 1}, "t": "x"},
        {"id": "1", "t": "x", "at": "yesterday"},
        {"id": "1", "t": "x", "at": -5},
        {"id": "1", "t": "x" * 20_001},
    ],
)
def test_events_the_mapping_cannot_read_are_refused(payload: dict[str, Any]) -> None:
    mapping = compiled({"external_id": "id", "text": "t", "received_at": "at"})
    with pytest.raises(ValidationFailed):
        domain.apply_mapping(mapping, payload)


def test_a_jmespath_error_on_an_event_is_a_validation_error() -> None:
    mapping = compiled({"external_id": "id", "text": "join('', ['a', missing])"})
    with pytest.raises(ValidationFailed, match=r"mapping\.text"):
        domain.apply_mapping(mapping, {"id": "1"})


@pytest.mark.parametrize(
    "mapping",
    [
        {"text": "t"},
        {"external_id": "id"},
        {"external_id": "id", "text": "a[?"},
        {"external_id": "id", "text": 5},
        {"external_id": "id", "text": "t", "unknown": "x"},
        {"external_id": "id", "text": "t", "identities": {"qq": "qq"}},
        {"external_id": "id", "text": "t", "identities": ["phone"]},
        {"external_id": "id", "text": "t", "metadata": {"a": "b[?"}},
        {"external_id": "id", "text": "t", "decode_json": "content"},
        {"external_id": "id", "text": "t", "decode_json": ["a..b"]},
        {"external_id": "id", "text": "t", "timezone": "Mars/Olympus"},
    ],
)
def test_broken_mappings_are_refused(mapping: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        domain.compile_mapping(mapping)


def test_decode_json_reads_json_nested_in_a_string_and_leaves_the_input_alone() -> None:
    mapping = compiled(
        {"decode_json": ["data.content"], "external_id": "data.content.id", "text": "data.content.t"}
    )
    payload = {"data": {"content": '{"id": "7", "t": "嵌套的 JSON"}'}}
    prepared = domain.prepare(mapping, payload)
    assert domain.apply_mapping(mapping, prepared).text == "嵌套的 JSON"
    assert isinstance(payload["data"]["content"], str)
    untouched = domain.prepare(mapping, {"data": {"content": "not json"}})
    assert untouched == {"data": {"content": "not json"}}


def test_custom_mapping_over_a_preset() -> None:
    merged = domain.merge_mappings(
        presets()["mini_program"].mapping,
        {"text": "body", "identities": {"phone": None, "email": "mail"}, "source": None},
    )
    assert merged["text"] == "body"
    assert merged["identities"] == {"wechat_openid": "openid", "wechat_unionid": "unionid", "email": "mail"}
    assert "source" not in merged
    assert presets()["mini_program"].mapping["identities"]["phone"] == "phone"  # the preset is unchanged


def test_every_preset_maps_its_example() -> None:
    found = presets()
    assert set(found) == {"douyin_im", "iot_alarm", "erp_after_sales", "mini_program"}
    for preset in found.values():
        mapping = domain.compile_mapping(preset.mapping)
        prepared = domain.prepare(mapping, preset.example)
        assert domain.accepts(mapping, prepared)
        mapped = domain.apply_mapping(mapping, prepared)
        assert mapped.external_id and mapped.text and mapped.received_at is not None
        assert preset.label["zh-CN"] and preset.label["en"]


def test_douyin_preset_reads_the_platform_event_with_content_as_object_or_string() -> None:
    import json

    preset = presets()["douyin_im"]
    mapping = domain.compile_mapping(preset.mapping)
    as_string = {**preset.example, "content": json.dumps(preset.example["content"], ensure_ascii=False)}
    for event in (preset.example, as_string):
        mapped = domain.apply_mapping(mapping, domain.prepare(mapping, event))
        assert mapped.external_id == preset.example["content"]["server_message_id"]
        assert mapped.identities == (("douyin_openid", preset.example["from_user_id"]),)
        assert mapped.sender_name == "爱吃薯条的小林"
        assert mapped.received_at == datetime(2026, 11, 30, 1, 15, tzinfo=UTC)
        assert mapped.metadata["douyin_conversation_id"] == preset.example["content"]["conversation_short_id"]
    image = {**preset.example, "content": {**preset.example["content"], "message_type": "image"}}
    del image["content"]["text"]
    assert domain.apply_mapping(mapping, domain.prepare(mapping, image)).text == "[image]"
    sent = {**preset.example, "event": "im_send_msg"}
    assert not domain.accepts(mapping, domain.prepare(mapping, sent))


def test_iot_preset_carries_device_and_alarm_for_folding() -> None:
    preset = presets()["iot_alarm"]
    mapping = domain.compile_mapping(preset.mapping)
    mapped = domain.apply_mapping(mapping, preset.example)
    assert mapped.metadata["device_sn"] == "SN-KFR35-00012345"
    assert mapped.metadata["alarm_code"] == "E4"
    assert mapped.identities == (("device_sn", "SN-KFR35-00012345"),)
    assert mapped.title == "设备 SN-KFR35-00012345 告警 E4"


def test_check_config_fills_the_channel_from_the_preset() -> None:
    config = domain.check_config({"secret": "s" * 20, "preset": "erp_after_sales"}, presets())
    assert config["channel"] == "erp"
    kept = domain.check_config({"secret": "s" * 20, "preset": "erp_after_sales", "channel": "oms"}, presets())
    assert kept["channel"] == "oms"
    with pytest.raises(ValidationFailed):
        domain.check_config({"preset": "nope"}, presets())
