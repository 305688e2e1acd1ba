"""SMS through Tencent Cloud (腾讯云短信) ``SendSms`` (API version 2021-01-11), signed with
TC3-HMAC-SHA256.

Signature v3 (https://www.tencentcloud.com/document/api/382/40467): the canonical request is
``POST\\n/\\n\\n<canonical headers>\\n<signed headers>\\n<hex SHA-256 of the body>``; the string to sign
``TC3-HMAC-SHA256\\n<timestamp>\\n<date>/<service>/tc3_request\\n<hex SHA-256 of the canonical request>``;
the key is derived ``HMAC("TC3" + SecretKey, date) → service → "tc3_request"``; the request carries
``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<scope>, SignedHeaders=…, Signature=…`` and the
``X-TC-Action``, ``X-TC-Version``, ``X-TC-Timestamp``, ``X-TC-Region`` headers.

``SendSms`` (https://www.tencentcloud.com/document/product/382/43194) answers
``{"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": …}], "RequestId": …}}``, or
``{"Response": {"Error": {"Code": …}}}``; a per-number ``Code`` other than ``Ok`` is that number's
failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from huiliu.notifications.providers.base import DeliveryFailed, HttpNotifier, OutgoingMessage, Sent

DEFAULT_BASE_URL = "https://sms.tencentcloudapi.com"
SERVICE = "sms"
API_VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_TEMPLATE_VARIABLES = ("ticket_number", "message")
# Error codes that pass with time; everything else (AuthFailure.*, FailedOperation.*,
# InvalidParameter*, UnauthorizedOperation.*, LimitExceeded.* per-number caps) is permanent.
RETRYABLE_PREFIXES = ("InternalError", "RequestLimitExceeded", "ResourceUnavailable")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def canonical_request(headers: dict[str, str], signed_headers: list[str], payload: bytes) -> str:
    """The canonical request of a POST to ``/`` without a query; ``headers`` keyed by lower-case name."""
    canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed_headers)
    return "\n".join(["POST", "/", "", canonical_headers, ";".join(signed_headers), _sha256_hex(payload)])


def string_to_sign(timestamp: int, service: str, request: str) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    return "\n".join([ALGORITHM, str(timestamp), scope, _sha256_hex(request.encode())])


def signature(secret_key: str, timestamp: int, service: str, request: str) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    secret_date = _hmac(f"TC3{secret_key}".encode(), date)
    secret_service = _hmac(secret_date, service)
    secret_signing = _hmac(secret_service, "tc3_request")
    to_sign = string_to_sign(timestamp, service, request)
    return hmac.new(secret_signing, to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(
    secret_id: str, secret_key: str, timestamp: int, service: str, host: str, action: str, payload: bytes
) -> str:
    headers = {"content-type": CONTENT_TYPE, "host": host, "x-tc-action": action.lower()}
    signed = ["content-type", "host", "x-tc-action"]
    request = canonical_request(headers, signed, payload)
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    return (
        f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature(secret_key, timestamp, service, request)}"
    )


class TencentSms(HttpNotifier):
    kind: ClassVar[str] = "tencent_sms"

    def send(self, message: OutgoingMessage) -> Sent:
        if not message.phone:
            raise DeliveryFailed("the recipient has no mobile number", retryable=False)
        secret_id = self.setting("secret_id")
        secret_key = self.setting("secret_key")
        variables = self.config.get("template_variables") or DEFAULT_TEMPLATE_VARIABLES
        phone = message.phone if message.phone.startswith("+") else f"+86{message.phone}"
        body = {
            "PhoneNumberSet": [phone],
            "SmsSdkAppId": self.setting("sdk_app_id"),
            "SignName": self.setting("sign_name"),
            "TemplateId": self.setting("template_id"),
            "TemplateParamSet": [message.variables.get(str(name), "") for name in variables],
            # Echoed back in status reports: our delivery id, the same on every retry.
            "SessionContext": str(message.delivery_id),
        }
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        base = str(self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        host = urlsplit(base).netloc
        timestamp = int(time.time())
        headers = {
            "Authorization": authorization(
                secret_id, secret_key, timestamp, SERVICE, host, "SendSms", payload
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": API_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": str(self.config.get("region") or "ap-guangzhou"),
        }
        response = self.request("POST", f"{base}/", content=payload, headers=headers)
        data: dict[str, Any] = self.json_of(response).get("Response") or {}
        error = data.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code", ""))
            raise DeliveryFailed(
                f"Tencent Cloud {code}: {error.get('Message', '')}",
                retryable=code.startswith(RETRYABLE_PREFIXES),
                status_code=response.status_code,
            )
        statuses = data.get("SendStatusSet") or []
        if not statuses:
            raise DeliveryFailed("Tencent Cloud answered without a send status", retryable=True)
        status = statuses[0]
        code = str(status.get("Code", ""))
        if code != "Ok":
            raise DeliveryFailed(
                f"Tencent Cloud {code}: {status.get('Message', '')}",
                retryable=code.startswith(RETRYABLE_PREFIXES),
                status_code=response.status_code,
            )
        return Sent(str(status.get("SerialNo") or "") or None, response.status_code)
