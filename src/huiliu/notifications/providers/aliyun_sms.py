"""SMS through Aliyun (阿里云短信服务) ``SendSms``, signed with the RPC signature (version 1.0).

Signature (https://www.alibabacloud.com/help/doc-detail/28139.htm and
https://help.aliyun.com/document_detail/101343.html): sort every parameter but ``Signature`` by name,
percent-encode names and values (RFC 3986: only ``A-Za-z0-9-_.~`` stay as they are), join them as
``k=v&…``, then ``StringToSign = "GET&%2F&" + percent_encode(that)`` and
``Signature = base64(HMAC-SHA1(key=AccessKeySecret + "&", StringToSign))``.

``SendSms`` (https://help.aliyun.com/document_detail/419273.html) takes ``PhoneNumbers``, ``SignName``,
``TemplateCode``, ``TemplateParam`` (a JSON object) and our ``OutId``; it answers
``{"Code": "OK", "BizId": …}`` or an error code: ``isv.*`` codes are the account's or the request's
fault (permanent) except the flow-control ones, which pass with time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import quote

from huiliu.notifications.providers.base import DeliveryFailed, HttpNotifier, OutgoingMessage, Sent

DEFAULT_BASE_URL = "https://dysmsapi.aliyuncs.com"
API_VERSION = "2017-05-25"
RETRYABLE_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "InternalError",
        "isp.SYSTEM_ERROR",
        "isp.RAM_PERMISSION_DENY",
    }
)
DEFAULT_TEMPLATE_PARAMS = {"number": "ticket_number", "message": "message"}


def percent_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}" for key in sorted(params) if key != "Signature"
    )


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSms(HttpNotifier):
    kind: ClassVar[str] = "aliyun_sms"

    def send(self, message: OutgoingMessage) -> Sent:
        if not message.phone:
            raise DeliveryFailed("the recipient has no mobile number", retryable=False)
        key_id = self.setting("access_key_id")
        secret = self.setting("access_key_secret")
        names = self.config.get("template_params") or DEFAULT_TEMPLATE_PARAMS
        template_param = {name: message.variables.get(str(variable), "") for name, variable in names.items()}
        params = {
            "AccessKeyId": key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": str(message.delivery_id),
            "PhoneNumbers": message.phone,
            "RegionId": str(self.config.get("region") or "cn-hangzhou"),
            "SignName": self.setting("sign_name"),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": self.setting("template_code"),
            "TemplateParam": json.dumps(template_param, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        query = f"Signature={percent_encode(signature(secret, 'GET', params))}&{canonical_query(params)}"
        base = str(self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        try:
            response = self.request("GET", f"{base}/?{query}")
        except DeliveryFailed as exc:
            # Aliyun answers 4xx with a JSON error body: classify by its code, not the status alone.
            if exc.status_code is None or exc.retryable:
                raise
            raise DeliveryFailed(
                exc.reason, retryable=_retryable(exc.reason), status_code=exc.status_code
            ) from exc
        data = self.json_of(response)
        code = str(data.get("Code", ""))
        if code != "OK":
            raise DeliveryFailed(
                f"Aliyun {code}: {data.get('Message', '')}",
                retryable=code in RETRYABLE_CODES,
                status_code=response.status_code,
            )
        return Sent(str(data.get("BizId") or "") or None, response.status_code)


def _retryable(reason: str) -> bool:
    return any(f'"Code":"{code}"' in reason.replace(" ", "") for code in RETRYABLE_CODES)
