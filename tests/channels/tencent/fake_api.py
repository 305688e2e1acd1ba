"""A local fake of the WeChat Official Account and WeCom server APIs, on a real HTTP socket (a
threaded ``http.server``), started per test by the ``fake_api`` fixture.

It implements what Huiliu calls — ``/cgi-bin/token``, ``/cgi-bin/gettoken``, customer-service send,
template and subscribe sends (Official Account and mini-program), media get, user info, WeCom app
send, WeCom ``auth/getuserinfo``, mini-program ``sns/jscode2session``, 微信客服 ``kf/sync_msg`` and
``kf/send_msg`` — with the platforms' documented answers, and refuses a wrong access token (40014) or
an expired one (42001) as they do, so the refresh-and-retry path runs for real. Codes (login,
jscode) work once, as on the platforms. Tests read what was sent from it."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy as email_policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine

from huiliu.db.engine import make_sync_engine

APP_ID = "wx2c2769f8efd9abc2"
APP_SECRET = "mp-app-secret-for-tests"
CORP_ID = "wx5823bf96d3bd56c7"
CORP_SECRETS = frozenset({"wecom-app-secret-for-tests", "wecom-kf-secret-for-tests"})
MEDIA = b"\x89PNG\r\n\x1a\nfake image bytes"
MINI_APP_ID = "wxminiprogram0001"
MINI_APP_SECRET = "mini-app-secret-for-tests"
APPS = {APP_ID: APP_SECRET, MINI_APP_ID: MINI_APP_SECRET}
# Sends that take a recipient and a template (everything but the customer-service message).
TEMPLATE_SENDS = frozenset(
    {
        "/cgi-bin/message/template/send",
        "/cgi-bin/message/subscribe/send",
        "/cgi-bin/message/subscribe/bizsend",
    }
)


@dataclass
class FakeState:
    valid_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    tickets_issued: int = 0
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rejected: list[tuple[str, int]] = field(default_factory=list)
    # 微信客服: every message the customers sent, in order; a cursor is the index of the next one.
    kf_messages: list[dict[str, Any]] = field(default_factory=list)
    # 客户联系: external_userid -> the ``external_contact`` object of externalcontact/get.
    external_contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # WeCom OAuth / web-login codes: code -> the auth/getuserinfo answer (used once).
    login_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Mini-program wx.login codes: code -> the jscode2session answer (used once).
    js_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (path, recipient) pairs a send refuses, with the platform's errcode (45015 outside 48 hours …).
    refusing: dict[tuple[str, str], int] = field(default_factory=dict)
    # media/upload: media_id -> (filename, bytes).
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_all(self) -> None:
        """What two hours (or a token refresh by someone else) do: every token issued so far dies."""
        with self.lock:
            self.expired_tokens |= self.valid_tokens
            self.valid_tokens.clear()


class _Handler(BaseHTTPRequestHandler):
    state: FakeState

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _reply(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, errcode: int, errmsg: str) -> None:
        self._reply({"errcode": errcode, "errmsg": errmsg})

    def _token_ok(self, query: dict[str, str], path: str) -> bool:
        token = query.get("access_token", "")
        with self.state.lock:
            if token in self.state.valid_tokens:
                return True
            code = 42001 if token in self.state.expired_tokens else 40014
            self.state.rejected.append((path, code))
        self._error(code, "access_token expired" if code == 42001 else "invalid access_token")
        return False

    def _issue(self) -> None:
        token = "T" + secrets.token_hex(16)
        with self.state.lock:
            self.state.valid_tokens.add(token)
            self.state.tokens_issued += 1
        self._reply({"access_token": token, "expires_in": 7200, "errcode": 0, "errmsg": "ok"})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.path == "/cgi-bin/token":
            if query.get("grant_type") != "client_credential":
                return self._error(40002, "invalid grant_type")
            if APPS.get(query.get("appid", "")) != query.get("secret"):
                return self._error(40125, "invalid appsecret")
            return self._issue()
        if url.path == "/sns/jscode2session":
            if query.get("grant_type") != "authorization_code":
                return self._error(40002, "invalid grant_type")
            if query.get("appid") != MINI_APP_ID or query.get("secret") != MINI_APP_SECRET:
                return self._error(40125, "invalid appsecret")
            with self.state.lock:
                answer = self.state.js_codes.pop(query.get("js_code", ""), None)
            if answer is None:
                return self._error(40029, "invalid code")
            return self._reply({"session_key": "tiihtNczf5v6AKRyjwEUhQ==", **answer})
        if url.path == "/cgi-bin/gettoken":
            if query.get("corpid") != CORP_ID or query.get("corpsecret") not in CORP_SECRETS:
                return self._error(40001, "invalid secret")
            return self._issue()
        if not self._token_ok(query, url.path):
            return None
        if url.path == "/cgi-bin/media/get":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(MEDIA)))
            self.end_headers()
            self.wfile.write(MEDIA)
            return None
        if url.path in {"/cgi-bin/ticket/getticket", "/cgi-bin/get_jsapi_ticket", "/cgi-bin/ticket/get"}:
            with self.state.lock:
                self.state.tickets_issued += 1
            ticket = f"ticket-{query.get('type', 'corp')}-{self.state.tickets_issued}"
            return self._reply({"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": 7200})
        if url.path == "/cgi-bin/externalcontact/get":
            contact = self.state.external_contacts.get(query.get("external_userid", ""))
            if contact is None:
                return self._error(84061, "not external contact")
            return self._reply({"errcode": 0, "errmsg": "ok", "external_contact": contact, "follow_user": []})
        if url.path == "/cgi-bin/auth/getuserinfo":
            with self.state.lock:
                answer = self.state.login_codes.pop(query.get("code", ""), None)
            if answer is None:
                return self._error(40029, "invalid code")
            return self._reply({"errcode": 0, "errmsg": "ok", **answer})
        if url.path == "/cgi-bin/user/info":
            return self._reply(
                {"subscribe": 1, "openid": query.get("openid"), "unionid": "o6_union", "errcode": 0}
            )
        return self._error(404, "unknown path")

    def _upload(self, query: dict[str, str], length: int) -> None:
        """``media/upload``: multipart with a ``media`` part that has a filename (as WeCom requires)."""
        raw = self.rfile.read(length)
        if query.get("type") not in {"image", "voice", "video", "file"}:
            return self._error(40004, "invalid media type")
        try:
            message = BytesParser(policy=email_policy.HTTP).parsebytes(
                f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode() + raw
            )
            parts = [
                part
                for part in message.iter_parts()
                if part.get_param("name", header="content-disposition") == "media"
            ]
        except (ValueError, TypeError, AttributeError):
            return self._error(41005, "media data missing")
        if len(parts) != 1 or not parts[0].get_filename():
            return self._error(41005, "media data missing")
        media_id = "M" + secrets.token_hex(8)
        with self.state.lock:
            self.state.uploads[media_id] = (
                parts[0].get_filename() or "",
                parts[0].get_payload(decode=True) or b"",
            )
        return self._reply({"errcode": 0, "errmsg": "ok", "type": query["type"], "media_id": media_id})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if url.path == "/cgi-bin/media/upload":
            if not self._token_ok(query, url.path):
                self.rfile.read(length)
                return None
            return self._upload(query, length)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._error(47001, "data format error")
        if not self._token_ok(query, url.path):
            return None
        if url.path in TEMPLATE_SENDS | {
            "/cgi-bin/message/custom/send",
            "/cgi-bin/message/send",
            "/cgi-bin/externalcontact/add_msg_template",
        }:
            if not body.get("touser") and not body.get("external_userid"):
                return self._error(40003, "invalid openid")
            if url.path in TEMPLATE_SENDS:
                if not body.get("template_id"):
                    return self._error(40037, "invalid template_id")
                data = body.get("data")
                if not isinstance(data, dict) or not all(
                    isinstance(item, dict) and "value" in item for item in data.values()
                ):
                    return self._error(47003, "argument invalid! data.value empty")
            if url.path == "/cgi-bin/message/send" and body.get("msgtype") in {"image", "file"}:
                media_id = (body.get(body["msgtype"]) or {}).get("media_id")
                if media_id not in self.state.uploads:
                    return self._error(40007, "invalid media_id")
            if url.path == "/cgi-bin/message/send" and body.get("msgtype") == "textcard":
                card = body.get("textcard") or {}
                if not card.get("title") or not card.get("description") or not card.get("url"):
                    return self._error(41016, "missing title, description or url")
            refused = self.state.refusing.get((url.path, str(body.get("touser") or "")))
            if refused is not None:
                with self.state.lock:
                    self.state.rejected.append((url.path, refused))
                return self._error(refused, "refused by the fake for this recipient")
            with self.state.lock:
                self.state.sent.append((url.path, body))
            return self._reply({"errcode": 0, "errmsg": "ok"})
        if url.path == "/cgi-bin/kf/send_msg":
            if not body.get("touser") or not body.get("open_kfid"):
                return self._error(95000, "invalid touser or open_kfid")
            with self.state.lock:
                self.state.sent.append((url.path, body))
            return self._reply({"errcode": 0, "errmsg": "ok", "msgid": "MSG" + secrets.token_hex(6)})
        if url.path == "/cgi-bin/kf/sync_msg":
            start = int(body.get("cursor") or 0)
            limit = int(body.get("limit") or 1000)
            with self.state.lock:
                page = self.state.kf_messages[start : start + limit]
                end = start + len(page)
                more = end < len(self.state.kf_messages)
            return self._reply(
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "next_cursor": str(end),
                    "has_more": int(more),
                    "msg_list": page,
                }
            )
        return self._error(404, "unknown path")


@pytest.fixture(scope="session")
def sync_engine(database_url: str) -> Iterator[Engine]:
    """The worker's kind of engine, for the token store and outbox delivery."""
    engine = make_sync_engine(database_url)
    yield engine
    engine.dispose()


@dataclass
class FakeApi:
    base_url: str
    state: FakeState


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    state = FakeState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeApi(f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()
