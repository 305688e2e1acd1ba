"""Each provider against a local fake that checks the platform's documented signature and payload
shape with its own implementation; signatures also against the platforms' published examples."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from huiliu.notifications.providers import (
    DeliveryFailed,
    OutgoingMessage,
    aliyun_sms,
    build_notifier,
    dingtalk,
    feishu,
    tencent_sms,
)
from tests.notifications.fake_providers import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    DINGTALK_SECRET,
    DINGTALK_TOKEN,
    FEISHU_SECRET,
    FEISHU_TOKEN,
    TENCENT_SECRET_ID,
    TENCENT_SECRET_KEY,
    WECOM_KEY,
    FakeProviders,
    FakeSmtp,
    fake_providers,
)


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with fake_providers() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=1.0) as client:
        yield client


def configs(base_url: str) -> dict[str, dict[str, object]]:
    return {
        "dingtalk": {"base_url": base_url, "access_token": DINGTALK_TOKEN, "secret": DINGTALK_SECRET},
        "feishu": {"base_url": base_url, "token": FEISHU_TOKEN, "secret": FEISHU_SECRET},
        "wecom": {"base_url": base_url, "key": WECOM_KEY},
        "aliyun_sms": {
            "base_url": base_url,
            "access_key_id": ALIYUN_KEY_ID,
            "access_key_secret": ALIYUN_SECRET,
            "sign_name": "汇流",
            "template_code": "SMS_123456",
        },
        "tencent_sms": {
            "base_url": base_url,
            "secret_id": TENCENT_SECRET_ID,
            "secret_key": TENCENT_SECRET_KEY,
            "sdk_app_id": "1400000001",
            "sign_name": "汇流",
            "template_id": "449739",
        },
    }


def message(**overrides: object) -> OutgoingMessage:
    values: dict[str, object] = {
        "delivery_id": uuid.UUID("0190f1e2-0000-7000-8000-000000000001"),
        "title": "工单 T-1001 即将超时",
        "text": "客户 张三 的退款申请 75% 时限已过",
        "severity": "critical",
        "link": "https://huiliu.example/console/tickets/1",
        "variables": {"ticket_number": "T-1001", "message": "即将超时", "ticket_id": "abc"},
        "phone": "13800138000",
        "email": "agent@example.com",
        "mentions": ("13800138000",),
    }
    values.update(overrides)
    return OutgoingMessage(**values)  # type: ignore[arg-type]


# --- published examples -------------------------------------------------------------------------------


def test_tencent_tc3_signature_matches_the_documented_example() -> None:
    # The worked example of https://www.tencentcloud.com/document/api/382/40467 (Signature v3): CVM
    # DescribeInstances at 1551113065 with the page's SecretKey exactly as printed.
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    request = tencent_sms.canonical_request(headers, ["content-type", "host"], payload)
    assert request == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
        "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert tencent_sms.string_to_sign(1551113065, "cvm", request) == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert (
        tencent_sms.signature("Gu5t9xGARNpq86cd98joQYCN3*******", 1551113065, "cvm", request)
        == "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


def test_aliyun_rpc_signature_matches_the_documented_example() -> None:
    # The worked example of https://www.alibabacloud.com/help/doc-detail/28139.htm (ECS request
    # signatures): DescribeRegions, AccessKeyId "testid", AccessKeySecret "testsecret".
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_sms.string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert aliyun_sms.signature("testsecret", "GET", params) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_percent_encoding_keeps_only_the_unreserved_characters() -> None:
    assert aliyun_sms.percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"


def test_dingtalk_and_feishu_signatures_follow_the_documented_algorithms() -> None:
    # DingTalk: base64(HMAC-SHA256(key=secret, msg="<ms>\n<secret>")); Feishu: base64(HMAC-SHA256(
    # key="<s>\n<secret>", msg="")). Compared with openssl-style computations written out here.
    import base64
    import hashlib
    import hmac

    expected_dt = base64.b64encode(
        hmac.new(b"SECabc", b"1577262236757\nSECabc", hashlib.sha256).digest()
    ).decode()
    assert dingtalk.sign("SECabc", 1577262236757) == expected_dt
    expected_fs = base64.b64encode(hmac.new(b"1599360473\nsecret", b"", hashlib.sha256).digest()).decode()
    assert feishu.sign("secret", 1599360473) == expected_fs
    assert feishu.sign("secret", 1599360473) != feishu.sign("secret", 1599360474)


# --- against the fakes --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dingtalk", "feishu", "wecom", "aliyun_sms", "tencent_sms"])
def test_provider_request_passes_the_platform_check(
    fake: FakeProviders, http: httpx.Client, kind: str
) -> None:
    notifier = build_notifier(kind, configs(fake.base_url)[kind], http)
    sent = notifier.send(message())
    [call] = fake.calls
    assert call.provider == kind
    assert call.verified
    if kind == "aliyun_sms":
        assert sent.provider_message_id is not None and sent.provider_message_id.startswith("900")
        assert call.query["PhoneNumbers"] == "13800138000"
        assert call.query["OutId"] == str(message().delivery_id)
        assert json.loads(call.query["TemplateParam"]) == {"number": "T-1001", "message": "即将超时"}
    if kind == "tencent_sms":
        assert sent.provider_message_id is not None and sent.provider_message_id.startswith("2019:")
        body = call.json
        assert body["PhoneNumberSet"] == ["+8613800138000"]
        assert body["TemplateParamSet"] == ["T-1001", "即将超时"]
        assert body["SessionContext"] == str(message().delivery_id)
    if kind == "dingtalk":
        assert call.json["at"]["atMobiles"] == ["13800138000"]
        assert "工单 T-1001" in call.json["markdown"]["text"]
    if kind == "wecom":
        assert call.json["text"]["mentioned_mobile_list"] == ["13800138000"]
    if kind == "feishu":
        assert "工单 T-1001" in call.json["content"]["text"]


def test_wecom_robot_sends_markdown_when_nobody_is_mentioned(fake: FakeProviders, http: httpx.Client) -> None:
    build_notifier("wecom", configs(fake.base_url)["wecom"], http).send(message(mentions=()))
    [call] = fake.calls
    assert call.json["msgtype"] == "markdown"
    assert call.json["markdown"]["content"].startswith("**工单 T-1001")


@pytest.mark.parametrize(
    ("kind", "setting"),
    [
        ("dingtalk", "secret"),
        ("feishu", "secret"),
        ("wecom", "key"),
        ("aliyun_sms", "access_key_secret"),
        ("tencent_sms", "secret_key"),
    ],
)
def test_a_wrong_credential_is_refused_and_permanent(
    fake: FakeProviders, http: httpx.Client, kind: str, setting: str
) -> None:
    config = {**configs(fake.base_url)[kind], setting: "wrong-credential-value"}
    with pytest.raises(DeliveryFailed) as failed:
        build_notifier(kind, config, http).send(message())
    assert not failed.value.retryable
    assert not fake.calls[0].verified


@pytest.mark.parametrize("kind", ["dingtalk", "feishu", "wecom", "aliyun_sms", "tencent_sms"])
def test_server_errors_and_timeouts_are_retryable(fake: FakeProviders, kind: str) -> None:
    fake.script[kind] = [(500, {"error": "boom"}), "timeout"]
    with httpx.Client(timeout=0.5) as http:
        notifier = build_notifier(kind, configs(fake.base_url)[kind], http)
        for _ in range(2):
            with pytest.raises(DeliveryFailed) as failed:
                notifier.send(message())
            assert failed.value.retryable
        assert notifier.send(message()) is not None
    assert [call.verified for call in fake.calls] == [True, True, True]


@pytest.mark.parametrize(
    ("kind", "answer", "retryable"),
    [
        ("dingtalk", (200, {"errcode": 410100, "errmsg": "send too fast"}), True),
        ("dingtalk", (200, {"errcode": 300001, "errmsg": "token is not exist"}), False),
        ("feishu", (200, {"code": 11232, "msg": "frequency limited"}), True),
        ("feishu", (200, {"code": 19024, "msg": "Key Words Not Found"}), False),
        ("wecom", (200, {"errcode": 45009, "errmsg": "api freq out of limit"}), True),
        ("aliyun_sms", (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "flow control"}), True),
        ("aliyun_sms", (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}), False),
        ("aliyun_sms", (400, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "bad template"}), False),
        ("aliyun_sms", (400, {"Code": "Throttling.User", "Message": "slow down"}), True),
        ("tencent_sms", (200, {"Response": {"Error": {"Code": "InternalError.Timeout"}}}), True),
        (
            "tencent_sms",
            (200, {"Response": {"Error": {"Code": "FailedOperation.SignatureIncorrectOrUnapproved"}}}),
            False,
        ),
        (
            "tencent_sms",
            (200, {"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberDailyLimit"}]}}),
            False,
        ),
    ],
)
def test_provider_error_codes_are_classified(
    fake: FakeProviders, http: httpx.Client, kind: str, answer: object, retryable: bool
) -> None:
    fake.script[kind] = [answer]
    with pytest.raises(DeliveryFailed) as failed:
        build_notifier(kind, configs(fake.base_url)[kind], http).send(message())
    assert failed.value.retryable is retryable


def test_sms_without_a_phone_number_is_permanent(fake: FakeProviders, http: httpx.Client) -> None:
    for kind in ("aliyun_sms", "tencent_sms"):
        with pytest.raises(DeliveryFailed) as failed:
            build_notifier(kind, configs(fake.base_url)[kind], http).send(message(phone=None))
        assert not failed.value.retryable
    assert fake.calls == []


# --- e-mail -------------------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    server = FakeSmtp(username="mailer", password="s3cret").start()
    yield server
    server.stop()


def smtp_config(server: FakeSmtp, **overrides: object) -> dict[str, object]:
    config: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "username": "mailer",
        "password": "s3cret",
        "from_address": "notify@huiliu.example",
        "from_name": "汇流通知",
    }
    config.update(overrides)
    return config


def test_email_has_text_html_message_id_and_thread_headers(smtp: FakeSmtp, http: httpx.Client) -> None:
    sent = build_notifier("email", smtp_config(smtp), http).send(message())
    [mail] = smtp.mails
    assert mail.authenticated == "mailer"
    assert mail.recipients == ["agent@example.com"]
    parsed = mail.message
    assert parsed["Message-ID"] == f"<{message().delivery_id}@huiliu.example>" == sent.provider_message_id
    assert parsed["In-Reply-To"] == "<ticket-abc@huiliu.example>"
    assert parsed["References"] == "<ticket-abc@huiliu.example>"
    assert parsed.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in parsed.walk()]
    assert "text/plain" in kinds and "text/html" in kinds
    html = next(part for part in parsed.walk() if part.get_content_type() == "text/html")
    assert "即将超时" in html.get_payload(decode=True).decode()


def test_email_errors_are_classified(smtp: FakeSmtp, http: httpx.Client) -> None:
    smtp.refuse.add("gone@example.com")
    smtp.defer.add("busy@example.com")
    notifier = build_notifier("email", smtp_config(smtp), http)
    with pytest.raises(DeliveryFailed) as refused:
        notifier.send(message(email="gone@example.com"))
    assert not refused.value.retryable
    with pytest.raises(DeliveryFailed) as deferred:
        notifier.send(message(email="busy@example.com"))
    assert deferred.value.retryable
    with pytest.raises(DeliveryFailed) as bad_login:
        build_notifier("email", smtp_config(smtp, password="wrong"), http).send(message())
    assert not bad_login.value.retryable
    with pytest.raises(DeliveryFailed) as unreachable:
        build_notifier("email", smtp_config(smtp, port=1), http).send(message())
    assert unreachable.value.retryable
    assert smtp.mails == []
