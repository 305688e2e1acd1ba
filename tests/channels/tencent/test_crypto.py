"""The callback crypto against Tencent's published samples (tests/channels/tencent/vectors.py): URL
verification, signature, decryption and encryption for WeCom and WeChat Official Accounts, and the
refusals (wrong signature, tampered ciphertext, another receive id, a malformed key)."""

from __future__ import annotations

import base64

import pytest

from huiliu.channels.tencent import crypto
from huiliu.channels.tencent.xmlparse import MalformedXml, parse_xml
from huiliu.core.errors import ValidationFailed
from tests.channels.tencent import vectors as v


def test_wecom_url_verification_sample_signs_and_decrypts_to_the_echo() -> None:
    crypto.check_signature(
        v.WECOM_VERIFY_SIGNATURE,
        v.WECOM_TOKEN,
        v.WECOM_VERIFY_TIMESTAMP,
        v.WECOM_VERIFY_NONCE,
        v.WECOM_VERIFY_ECHOSTR,
    )
    key = crypto.aes_key(v.WECOM_AES_KEY)
    assert crypto.decrypt_for(key, v.WECOM_VERIFY_ECHOSTR, v.WECOM_CORP_ID).decode() == v.WECOM_VERIFY_PLAIN


def test_wecom_message_sample_signature_and_plaintext() -> None:
    assert (
        crypto.signature(v.WECOM_TOKEN, v.WECOM_MSG_TIMESTAMP, v.WECOM_MSG_NONCE, v.WECOM_MSG_ENCRYPT)
        == v.WECOM_MSG_SIGNATURE
    )
    plain = crypto.decrypt_for(crypto.aes_key(v.WECOM_AES_KEY), v.WECOM_MSG_ENCRYPT, v.WECOM_CORP_ID)
    assert plain.decode() == v.WECOM_MSG_PLAIN
    fields = parse_xml(plain)
    assert fields["FromUserName"] == "mycreate"
    assert fields["Content"] == "hello"
    assert fields["MsgId"] == "4561255354251345929"


def test_official_account_sample_signature_and_plaintext() -> None:
    crypto.check_signature(
        v.MP_MSG_SIGNATURE, v.MP_TOKEN, v.MP_MSG_TIMESTAMP, v.MP_MSG_NONCE, v.MP_MSG_ENCRYPT
    )
    plain = crypto.decrypt_for(crypto.aes_key(v.MP_AES_KEY), v.MP_MSG_ENCRYPT, v.MP_APP_ID)
    fields = parse_xml(plain)
    # Compatible mode: the encrypted copy says what the plaintext fields beside it say.
    outer = parse_xml(v.MP_MSG_BODY.encode())
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId"):
        assert fields[name] == outer[name]


@pytest.mark.parametrize(
    ("reply", "expected"), [(v.MP_JAVA_REPLY, v.MP_JAVA_AFTER_AES), (v.MP_JAVA_REPLY2, v.MP_JAVA_AFTER_AES2)]
)
def test_encryption_matches_the_official_java_sdk_test(reply: str, expected: str) -> None:
    key = crypto.aes_key(v.MP_AES_KEY)
    encrypted = crypto.encrypt(key, reply.encode(), v.MP_JAVA_APP_ID, v.MP_JAVA_RANDOM.encode())
    assert encrypted == expected
    assert crypto.decrypt_for(key, encrypted, v.MP_JAVA_APP_ID).decode() == reply


def test_encrypt_then_decrypt_with_a_fresh_random_prefix() -> None:
    key = crypto.aes_key(v.WECOM_AES_KEY)
    first = crypto.encrypt(key, "你好".encode(), v.WECOM_CORP_ID)
    second = crypto.encrypt(key, "你好".encode(), v.WECOM_CORP_ID)
    assert first != second
    assert crypto.decrypt_for(key, first, v.WECOM_CORP_ID).decode() == "你好"
    # Padding is to 32 bytes: 16 + 4 + 6 + 18 = 44 -> 64 bytes of ciphertext.
    assert len(base64.b64decode(first)) == 64


def test_a_wrong_signature_is_refused() -> None:
    with pytest.raises(crypto.BadSignature):
        crypto.check_signature(
            "0" * 40, v.WECOM_TOKEN, v.WECOM_MSG_TIMESTAMP, v.WECOM_MSG_NONCE, v.WECOM_MSG_ENCRYPT
        )
    with pytest.raises(crypto.BadSignature):
        crypto.check_signature(None, v.WECOM_TOKEN, v.WECOM_MSG_TIMESTAMP, v.WECOM_MSG_NONCE)
    with pytest.raises(crypto.BadSignature):
        crypto.check_signature(
            v.WECOM_MSG_SIGNATURE,
            "other-token",
            v.WECOM_MSG_TIMESTAMP,
            v.WECOM_MSG_NONCE,
            v.WECOM_MSG_ENCRYPT,
        )


def test_tampered_ciphertext_is_refused() -> None:
    key = crypto.aes_key(v.WECOM_AES_KEY)
    data = bytearray(base64.b64decode(v.WECOM_MSG_ENCRYPT))
    data[-1] ^= 0x55  # the last block decrypts to garbage: the padding check fails
    with pytest.raises(crypto.BadCiphertext):
        crypto.decrypt_for(key, base64.b64encode(bytes(data)).decode(), v.WECOM_CORP_ID)
    with pytest.raises(crypto.BadCiphertext):
        crypto.decrypt_for(key, v.WECOM_MSG_ENCRYPT[:-8], v.WECOM_CORP_ID)
    with pytest.raises(crypto.BadCiphertext):
        crypto.decrypt_for(key, "not base64 at all!", v.WECOM_CORP_ID)


def test_a_message_for_another_receive_id_is_refused() -> None:
    key = crypto.aes_key(v.WECOM_AES_KEY)
    with pytest.raises(crypto.BadCiphertext):
        crypto.decrypt_for(key, v.WECOM_MSG_ENCRYPT, "ww_other_corp")


@pytest.mark.parametrize(
    "key",
    ["short", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C=", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2!"],
)
def test_malformed_encoding_aes_keys_are_refused(key: str) -> None:
    with pytest.raises(ValidationFailed):
        crypto.aes_key(key)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_1</ToUserName><Content>&xxe;</Content></xml>"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<xml><Content>&b;</Content></xml>"""


@pytest.mark.parametrize("body", [XXE, BOMB, b"<xml><a>", b"<html></html>", b"", b"\xff\xfe<xml/>"])
def test_unsafe_or_malformed_xml_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedXml):
        parse_xml(body)


def test_nested_and_repeated_elements_parse() -> None:
    fields = parse_xml(
        b"<xml><Event><![CDATA[scancode_push]]></Event><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo>"
        b"<Item>1</Item><Item>2</Item></xml>"
    )
    assert fields == {"Event": "scancode_push", "ScanCodeInfo": {"ScanType": "qrcode"}, "Item": ["1", "2"]}


def test_jsapi_signature_matches_the_js_sdk_docs_example() -> None:
    assert crypto.jsapi_signature(v.JS_TICKET, v.JS_NONCESTR, v.JS_TIMESTAMP, v.JS_URL) == v.JS_SIGNATURE
    # The fragment is not part of the signed URL.
    assert (
        crypto.jsapi_signature(v.JS_TICKET, v.JS_NONCESTR, v.JS_TIMESTAMP, v.JS_URL + "#/ticket/1")
        == v.JS_SIGNATURE
    )
