"""Local fakes of the notification platforms, each checking the platform's documented protocol with
its own (standard library only) implementation of the signature, never ours:

- ``FakeProviders``: one HTTP server on 127.0.0.1 that answers as DingTalk, Feishu, WeCom group robots,
  Aliyun SMS (GET with the RPC signature) and Tencent Cloud SMS (POST with TC3-HMAC-SHA256), refusing
  a bad signature or key the way the platform does; extra answers (500s, a slow reply, an error code)
  are scripted per provider;
- ``FakeSmtp``: a small SMTP server (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) that keeps each message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

DINGTALK_TOKEN = "dt-access-token"
DINGTALK_SECRET = "SEC0123456789abcdef"
FEISHU_TOKEN = "fs-hook-token"
FEISHU_SECRET = "feishu-signing-secret"
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
ALIYUN_KEY_ID = "LTAI-test-id"
ALIYUN_SECRET = "aliyun-test-secret"
TENCENT_SECRET_ID = "AKID-test-id"
TENCENT_SECRET_KEY = "tencent-test-key"


@dataclass
class Call:
    provider: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


def _aliyun_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def aliyun_expected(secret: str, params: dict[str, str]) -> str:
    pairs = "&".join(
        f"{_aliyun_encode(k)}={_aliyun_encode(params[k])}" for k in sorted(params) if k != "Signature"
    )
    to_sign = "GET&%2F&" + _aliyun_encode(pairs)
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def tencent_expected(secret_key: str, headers: dict[str, str], body: bytes) -> bool:
    auth = headers.get("authorization", "")
    algorithm, _, rest = auth.partition(" ")
    parts = dict(item.strip().split("=", 1) for item in rest.split(","))
    credential = parts["Credential"].split("/")
    signed = parts["SignedHeaders"].split(";")
    timestamp = int(headers["x-tc-timestamp"])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    if algorithm != "TC3-HMAC-SHA256" or credential[1:] != [date, "sms", "tc3_request"]:
        return False
    if "content-type" not in signed or "host" not in signed:
        return False
    canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed)
    canonical = "\n".join(
        ["POST", "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            f"{date}/sms/tc3_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = hmac.new(f"TC3{secret_key}".encode(), date.encode(), hashlib.sha256).digest()
    key = hmac.new(key, b"sms", hashlib.sha256).digest()
    key = hmac.new(key, b"tc3_request", hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["Signature"]) and abs(time.time() - timestamp) < 300


@dataclass
class FakeProviders:
    calls: list[Call] = field(default_factory=list)
    # provider -> answers to give before the normal one: (status, json body) or "timeout".
    script: dict[str, list[Any]] = field(default_factory=dict)
    delay_seconds: float = 0.0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    serial: int = 0

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def of(self, provider: str) -> list[Call]:
        return [call for call in self.calls if call.provider == provider]

    def start(self) -> FakeProviders:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                status, answer = fake.answer(method, parts.path, query, headers, body)
                if status == 0:
                    time.sleep(1.5)
                    status, answer = 500, {"late": True}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        provider, verified, normal = self._check(method, path, query, headers, body)
        with self._lock:
            self.calls.append(Call(provider, method, path, query, headers, body, verified))
            scripted = self.script.get(provider) or []
            next_answer = scripted.pop(0) if scripted else None
            self.serial += 1
            serial = self.serial
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        if next_answer == "timeout":
            return 0, {}
        if next_answer is not None:
            return next_answer  # type: ignore[no-any-return]
        if provider == "tencent_sms" and verified:
            normal[1]["Response"]["SendStatusSet"][0]["SerialNo"] = f"2019:{serial}"
        if provider == "aliyun_sms" and verified:
            normal[1]["BizId"] = f"900{serial}"
        return normal

    def _check(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[str, bool, tuple[int, dict[str, Any]]]:
        if path == "/robot/send":
            timestamp = query.get("timestamp", "0")
            string_to_sign = f"{timestamp}\n{DINGTALK_SECRET}".encode()
            expected = base64.b64encode(
                hmac.new(DINGTALK_SECRET.encode(), string_to_sign, hashlib.sha256).digest()
            ).decode()
            fresh = abs(time.time() * 1000 - int(timestamp)) < 3_600_000
            payload = json.loads(body)
            ok = (
                query.get("access_token") == DINGTALK_TOKEN
                and hmac.compare_digest(expected, query.get("sign", ""))
                and fresh
                and payload.get("msgtype") in ("text", "markdown")
                and bool(payload.get(payload["msgtype"]))
            )
            if ok:
                return "dingtalk", True, (200, {"errcode": 0, "errmsg": "ok"})
            return "dingtalk", False, (200, {"errcode": 310000, "errmsg": "sign not match"})
        if path.startswith("/open-apis/bot/v2/hook/"):
            payload = json.loads(body)
            timestamp = str(payload.get("timestamp", "0"))
            key = f"{timestamp}\n{FEISHU_SECRET}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            ok = (
                path.rsplit("/", 1)[1] == FEISHU_TOKEN
                and hmac.compare_digest(expected, str(payload.get("sign", "")))
                and abs(time.time() - int(timestamp)) < 3600
                and payload.get("msg_type") == "text"
                and bool(payload.get("content", {}).get("text"))
            )
            if ok:
                return "feishu", True, (200, {"code": 0, "msg": "success", "data": {}})
            return "feishu", False, (200, {"code": 19021, "msg": "sign match fail", "data": {}})
        if path == "/cgi-bin/webhook/send":
            payload = json.loads(body)
            kind = payload.get("msgtype")
            ok = query.get("key") == WECOM_KEY and kind in ("text", "markdown") and bool(payload.get(kind))
            if ok:
                return "wecom", True, (200, {"errcode": 0, "errmsg": "ok"})
            return "wecom", False, (200, {"errcode": 93000, "errmsg": "invalid webhook url"})
        if method == "GET" and query.get("Action") == "SendSms":
            required = {
                "PhoneNumbers",
                "SignName",
                "TemplateCode",
                "SignatureNonce",
                "Timestamp",
                "AccessKeyId",
            }
            ok = (
                required <= query.keys()
                and query["AccessKeyId"] == ALIYUN_KEY_ID
                and query.get("SignatureMethod") == "HMAC-SHA1"
                and query.get("SignatureVersion") == "1.0"
                and hmac.compare_digest(aliyun_expected(ALIYUN_SECRET, query), query.get("Signature", ""))
            )
            if ok:
                json.loads(query.get("TemplateParam", "{}"))
                return "aliyun_sms", True, (200, {"Code": "OK", "Message": "OK", "RequestId": "r-1"})
            return (
                "aliyun_sms",
                False,
                (400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}),
            )
        if method == "POST" and headers.get("x-tc-action") == "SendSms":
            ok = (
                headers.get("x-tc-version") == "2021-01-11"
                and bool(headers.get("x-tc-region"))
                and TENCENT_SECRET_ID in headers.get("authorization", "")
                and tencent_expected(TENCENT_SECRET_KEY, headers, body)
            )
            if ok:
                payload = json.loads(body)
                status = {
                    "SerialNo": "",
                    "PhoneNumber": payload["PhoneNumberSet"][0],
                    "Fee": 1,
                    "SessionContext": payload.get("SessionContext", ""),
                    "Code": "Ok",
                    "Message": "send success",
                    "IsoCode": "CN",
                }
                return "tencent_sms", True, (200, {"Response": {"SendStatusSet": [status], "RequestId": "r"}})
            error = {"Code": "AuthFailure.SignatureFailure", "Message": "signature mismatch"}
            return "tencent_sms", False, (200, {"Response": {"Error": error, "RequestId": "r"}})
        return "unknown", False, (404, {"error": "not found"})


@contextmanager
def fake_providers() -> Iterator[FakeProviders]:
    fake = FakeProviders().start()
    try:
        yield fake
    finally:
        fake.stop()


# --- SMTP -------------------------------------------------------------------------------------------


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: bytes
    authenticated: str | None

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class FakeSmtp:
    username: str | None = None
    password: str | None = None
    mails: list[Mail] = field(default_factory=list)
    # RCPT addresses answered 550 (unknown mailbox) or 451 (try later).
    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)
    _server: socketserver.ThreadingTCPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> FakeSmtp:
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 fake.smtp ESMTP")
                sender, recipients, user = "", [], None
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode().rstrip("\r\n")
                    verb = line.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.wfile.write(b"250-fake.smtp\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
                    elif verb == "AUTH":
                        parts = line.split(" ")
                        decoded = base64.b64decode(parts[2]).split(b"\0") if len(parts) > 2 else []
                        if (
                            len(decoded) == 3
                            and decoded[1].decode() == fake.username
                            and decoded[2].decode() == fake.password
                        ):
                            user = decoded[1].decode()
                            self.reply("235 2.7.0 Authentication successful")
                        else:
                            self.reply("535 5.7.8 Authentication credentials invalid")
                    elif verb == "MAIL":
                        if fake.username and user is None:
                            self.reply("530 5.7.0 Authentication required")
                            continue
                        sender = line.split(":", 1)[1].split()[0].strip("<>")
                        recipients = []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        address = line.split(":", 1)[1].strip().strip("<>")
                        if address in fake.refuse:
                            self.reply("550 5.1.1 No such user")
                        elif address in fake.defer:
                            self.reply("451 4.3.0 Try again later")
                        else:
                            recipients.append(address)
                            self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        lines = []
                        while True:
                            chunk = self.rfile.readline()
                            if chunk in (b".\r\n", b".\n", b""):
                                break
                            lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        fake.mails.append(Mail(sender, list(recipients), b"".join(lines), user))
                        self.reply("250 OK queued")
                    elif verb == "RSET":
                        sender, recipients = "", []
                        self.reply("250 OK")
                    elif verb == "NOOP":
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
