"""The WeChat Official Account and WeCom server APIs this product calls, on a sync ``httpx.Client``
(the worker's): token, customer-service message, subscribe message, media, user info, WeCom app
message and 微信客服 sync_msg / send_msg. Every base URL comes from the entry point's ``api_base_url``
(default: the official host), so tests point it at a local fake.

A call whose token the platform refuses as invalid or expired (40001, 40014, 42001) refreshes the
token once and is tried again; any other ``errcode`` raises ``ApiError``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from huiliu.channels.tencent.config import DEFAULT_MP_API, DEFAULT_WECOM_API
from huiliu.channels.tencent.tokens import TokenKey, TokenStore
from huiliu.entry_points.domain import WECHAT_MINIPROGRAM, WECHAT_MP

INVALID_TOKEN_CODES = frozenset({40001, 40014, 42001})
JSAPI_TICKET = "jsapi_ticket"
AGENT_TICKET = "agent_ticket"
# Where each JS-SDK ticket comes from, per platform: (path, query).
TICKET_PATHS: dict[str, dict[str, tuple[str, tuple[tuple[str, str], ...]]]] = {
    JSAPI_TICKET: {
        "mp": ("/cgi-bin/ticket/getticket", (("type", "jsapi"),)),
        "wecom": ("/cgi-bin/get_jsapi_ticket", ()),
    },
    AGENT_TICKET: {"wecom": ("/cgi-bin/ticket/get", (("type", "agent_config"),))},
}


class ApiError(Exception):
    """The platform answered with a non-zero ``errcode`` (or not with JSON at all)."""

    def __init__(self, errcode: int, errmsg: str, status_code: int | None = None) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.status_code = status_code


@dataclass(frozen=True)
class Account:
    """What the client needs of an entry point."""

    tenant_id: uuid.UUID
    entry_point_id: uuid.UUID
    kind: str
    config: Mapping[str, Any]

    @property
    def is_official_account(self) -> bool:
        """An account of the WeChat 公众平台 (Official Account or mini-program): AppID + AppSecret on
        api.weixin.qq.com, rather than a WeCom corp."""
        return self.kind in (WECHAT_MP, WECHAT_MINIPROGRAM)

    @property
    def base_url(self) -> str:
        default = DEFAULT_MP_API if self.is_official_account else DEFAULT_WECOM_API
        return str(self.config.get("api_base_url") or default).rstrip("/")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError as exc:
        raise ApiError(-1, f"HTTP {response.status_code}, not JSON", response.status_code) from exc
    if not isinstance(payload, dict):
        raise ApiError(-1, "the answer is not a JSON object", response.status_code)
    return payload


def _checked(payload: dict[str, Any], status_code: int | None = None) -> dict[str, Any]:
    errcode = int(payload.get("errcode") or 0)
    if errcode:
        raise ApiError(errcode, str(payload.get("errmsg", "")), status_code)
    return payload


class TencentClient:
    def __init__(self, http: httpx.Client, tokens: TokenStore, account: Account) -> None:
        self.http = http
        self.tokens = tokens
        self.account = account
        self.key = TokenKey(account.tenant_id, account.entry_point_id)

    # --- token ------------------------------------------------------------------------------------

    def fetch_token(self) -> tuple[str, int]:
        """A new access token from the platform: ``/cgi-bin/token`` (Official Account, appid +
        secret) or ``/cgi-bin/gettoken`` (WeCom, corpid + the app's or 微信客服's secret)."""
        config = self.account.config
        if self.account.is_official_account:
            path = "/cgi-bin/token"
            params = {
                "grant_type": "client_credential",
                "appid": str(config.get("app_id", "")),
                "secret": str(config.get("app_secret", "")),
            }
        else:
            path = "/cgi-bin/gettoken"
            params = {"corpid": str(config.get("corp_id", "")), "corpsecret": str(config.get("secret", ""))}
        response = self.http.get(self.account.base_url + path, params=params)
        payload = _checked(_json(response), response.status_code)
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise ApiError(-1, "the token answer has no access_token", response.status_code)
        return token, int(payload.get("expires_in") or 7200)

    def access_token(self, *, rejected: str | None = None) -> str:
        return self.tokens.get(self.key, self.fetch_token, rejected=rejected)

    def js_ticket(self, kind: str = JSAPI_TICKET) -> str:
        """A JS-SDK ticket, cached and shared like the token: ``jsapi_ticket`` (Official Account
        ``wx.config``, WeCom corp ``wx.config``) or ``agent_ticket`` (WeCom ``wx.agentConfig``)."""
        platform = "mp" if self.account.is_official_account else "wecom"
        if platform not in TICKET_PATHS.get(kind, {}):
            raise ValueError(f"no {kind!r} on this platform")
        path, params = TICKET_PATHS[kind][platform]

        def fetch() -> tuple[str, int]:
            payload = self.call("GET", path, params=dict(params))
            ticket = payload.get("ticket")
            if not isinstance(ticket, str) or not ticket:
                raise ApiError(-1, "the ticket answer has no ticket")
            return ticket, int(payload.get("expires_in") or 7200)

        return self.tokens.get(TokenKey(self.account.tenant_id, self.account.entry_point_id, kind), fetch)

    # --- calls ------------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, token: str, params: dict[str, str], body: Any
    ) -> httpx.Response:
        return self.http.request(
            method, self.account.base_url + path, params={**params, "access_token": token}, json=body
        )

    def call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """One API call with the cached token; refreshed and retried once on an invalid-token answer."""
        token = self.access_token()
        response = self._request(method, path, token, params or {}, body)
        payload = _json(response)
        if int(payload.get("errcode") or 0) in INVALID_TOKEN_CODES:
            token = self.access_token(rejected=token)
            response = self._request(method, path, token, params or {}, body)
            payload = _json(response)
        return _checked(payload, response.status_code)

    def send_custom_text(self, openid: str, content: str) -> dict[str, Any]:
        """Official Account customer-service message (客服消息), within 48 hours of the user's message."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        return self.call("POST", "/cgi-bin/message/custom/send", body=body)

    def send_subscribe_message(
        self, openid: str, template_id: str, data: Mapping[str, str], page: str | None = None
    ) -> dict[str, Any]:
        """Official Account subscribe message (订阅通知), for progress notices outside the 48 hours."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {name: {"value": value} for name, value in data.items()},
        }
        if page:
            body["page"] = page
        return self.call("POST", "/cgi-bin/message/subscribe/bizsend", body=body)

    def send_template_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        url: str | None = None,
        client_msg_id: str | None = None,
    ) -> dict[str, Any]:
        """Official Account template message (模板消息, ``message/template/send``): a progress notice
        to a follower outside the 48-hour window. ``client_msg_id`` lets WeChat drop a repeat."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {name: {"value": value} for name, value in data.items()},
        }
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id[:64]
        return self.call("POST", "/cgi-bin/message/template/send", body=body)

    def send_miniprogram_subscribe(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        page: str | None = None,
        miniprogram_state: str | None = None,
    ) -> dict[str, Any]:
        """Mini-program subscribe message (``subscribeMessage.send``): one message per subscription
        the user granted in the mini-program (``wx.requestSubscribeMessage``)."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {name: {"value": value} for name, value in data.items()},
            "lang": "zh_CN",
        }
        if page:
            body["page"] = page
        if miniprogram_state:
            body["miniprogram_state"] = miniprogram_state
        return self.call("POST", "/cgi-bin/message/subscribe/send", body=body)

    def code2session(self, js_code: str) -> dict[str, Any]:
        """Mini-program login (``sns/jscode2session``): the user's ``openid`` (and ``unionid`` when the
        mini-program is bound to an open-platform account) for a ``wx.login`` code. Takes AppID and
        AppSecret, no access token; the answer's ``session_key`` must never leave the server."""
        config = self.account.config
        params = {
            "appid": str(config.get("app_id", "")),
            "secret": str(config.get("app_secret", "")),
            "js_code": js_code,
            "grant_type": "authorization_code",
        }
        response = self.http.get(self.account.base_url + "/sns/jscode2session", params=params)
        return _checked(_json(response), response.status_code)

    def member_of_code(self, code: str) -> dict[str, Any]:
        """WeCom ``auth/getuserinfo``: who the OAuth / web-login ``code`` belongs to — ``userid`` for a
        member of the corp, ``openid`` (and no userid) for anyone else."""
        return self.call("GET", "/cgi-bin/auth/getuserinfo", params={"code": code})

    def user_info(self, openid: str) -> dict[str, Any]:
        return self.call("GET", "/cgi-bin/user/info", params={"openid": openid, "lang": "zh_CN"})

    def media(self, media_id: str) -> tuple[bytes, str]:
        """A temporary media file's bytes and content type (``/cgi-bin/media/get``)."""
        token = self.access_token()
        response = self._request("GET", "/cgi-bin/media/get", token, {"media_id": media_id}, None)
        if response.headers.get("content-type", "").startswith(("application/json", "text/plain")):
            payload = _json(response)
            if int(payload.get("errcode") or 0) in INVALID_TOKEN_CODES:
                token = self.access_token(rejected=token)
                response = self._request("GET", "/cgi-bin/media/get", token, {"media_id": media_id}, None)
                if response.headers.get("content-type", "").startswith(("application/json", "text/plain")):
                    _checked(_json(response), response.status_code)
            else:
                _checked(payload, response.status_code)
        return response.content, response.headers.get("content-type", "application/octet-stream")

    def send_app_text(self, touser: str, content: str) -> dict[str, Any]:
        """WeCom app message (应用消息) to members of the corp."""
        body = {
            "touser": touser,
            "msgtype": "text",
            "agentid": int(str(self.account.config.get("agent_id", "0")) or 0),
            "text": {"content": content},
        }
        return self.call("POST", "/cgi-bin/message/send", body=body)

    def upload_media(self, media_type: str, filename: str, data: bytes, content_type: str) -> str:
        """WeCom ``media/upload`` (临时素材, valid three days): multipart field ``media`` with the file's
        name and type; returns the ``media_id``. Refreshed and retried once on an invalid token."""
        url = self.account.base_url + "/cgi-bin/media/upload"

        def post(token: str) -> httpx.Response:
            return self.http.post(
                url,
                params={"access_token": token, "type": media_type},
                files={"media": (filename, data, content_type)},
            )

        token = self.access_token()
        response = post(token)
        payload = _json(response)
        if int(payload.get("errcode") or 0) in INVALID_TOKEN_CODES:
            response = post(self.access_token(rejected=token))
            payload = _json(response)
        media_id = _checked(payload, response.status_code).get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise ApiError(-1, "the upload answer has no media_id", response.status_code)
        return media_id

    def send_app_media(self, touser: str, msgtype: str, media_id: str) -> dict[str, Any]:
        """WeCom app message of type ``image`` or ``file`` with an uploaded ``media_id``."""
        body = {
            "touser": touser,
            "msgtype": msgtype,
            "agentid": int(str(self.account.config.get("agent_id", "0")) or 0),
            msgtype: {"media_id": media_id},
        }
        return self.call("POST", "/cgi-bin/message/send", body=body)

    def send_app_textcard(self, touser: str, title: str, description: str, url: str) -> dict[str, Any]:
        """WeCom app text card (文本卡片消息) to members: an agent notification linking to the ticket."""
        body = {
            "touser": touser,
            "msgtype": "textcard",
            "agentid": int(str(self.account.config.get("agent_id", "0")) or 0),
            "textcard": {
                "title": title[:128],
                "description": description[:512],
                "url": url,
                "btntxt": "详情",
            },
        }
        return self.call("POST", "/cgi-bin/message/send", body=body)

    def send_external_text(self, external_userid: str, sender: str, content: str) -> dict[str, Any]:
        """A WeCom app cannot message an external contact directly: the message goes out as a
        group-send task (客户联系 add_msg_template) that the member confirms in WeCom."""
        body = {
            "chat_type": "single",
            "external_userid": [external_userid],
            "sender": sender,
            "text": {"content": content},
        }
        return self.call("POST", "/cgi-bin/externalcontact/add_msg_template", body=body)

    def external_contact(self, external_userid: str) -> dict[str, Any]:
        """客户联系 ``externalcontact/get``: the external contact's name and, for WeChat users, unionid."""
        return self.call("GET", "/cgi-bin/externalcontact/get", params={"external_userid": external_userid})

    def kf_sync_msg(self, cursor: str | None, token: str | None, open_kfid: str | None) -> dict[str, Any]:
        """One page of 微信客服 messages after ``cursor`` (``next_cursor``, ``has_more``, ``msg_list``)."""
        body: dict[str, Any] = {"limit": 1000}
        if cursor:
            body["cursor"] = cursor
        if token:
            body["token"] = token
        if open_kfid:
            body["open_kfid"] = open_kfid
        return self.call("POST", "/cgi-bin/kf/sync_msg", body=body)

    def kf_send_text(self, external_userid: str, open_kfid: str, content: str) -> dict[str, Any]:
        body = {
            "touser": external_userid,
            "open_kfid": open_kfid,
            "msgtype": "text",
            "text": {"content": content},
        }
        return self.call("POST", "/cgi-bin/kf/send_msg", body=body)
