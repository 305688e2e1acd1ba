"""WeCom app message (应用消息) to an agent: a text card (``msgtype: textcard``) linking to the
ticket, sent by a wecom_app entry point's app to the member bound to the recipient (their WeCom
UserID, see ``auth.wecom_login``), with the entry point's cached access token
(https://developer.work.weixin.qq.com/document/path/90236).

Configured with ``entry_point_id`` (the wecom_app whose app sends); the credentials stay on the entry
point. ``81013`` (no such member in the app's visible range), ``60111`` (unknown UserID), ``40003``
and ``48002`` (no right to send) are permanent; the rate limits (45009, 45033) and a busy system
(-1) are retried."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from huiliu.auth.models import User
from huiliu.channels.tencent.client import Account, ApiError, TencentClient
from huiliu.channels.tencent.tokens import TokenStore, TokenUnavailable
from huiliu.db.session import ScopedSession, scope_sync_session
from huiliu.entry_points.domain import WECOM_APP
from huiliu.entry_points.models import EntryPoint
from huiliu.notifications.providers.base import DeliveryFailed, Notifier, OutgoingMessage, Sent

RETRYABLE_ERRCODES = frozenset({-1, 45009, 45033})
TITLE_LIMIT = 128
DESCRIPTION_LIMIT = 512


class WeComAppMessage(Notifier):
    kind: ClassVar[str] = "wecom_app"

    def __init__(self, http: httpx.Client, config: dict[str, Any], *, engine: Engine | None = None) -> None:
        self.http = http
        self.config = config
        self.engine = engine

    def _session(self) -> Session:
        assert self.engine is not None
        return scope_sync_session(ScopedSession(self.engine, expire_on_commit=False), None, system=True)

    def _sender(self, message: OutgoingMessage) -> tuple[Account, str]:
        if self.engine is None:
            raise DeliveryFailed(
                "the wecom_app provider needs the database (its entry point)", retryable=False
            )
        try:
            entry_point_id = uuid.UUID(str(self.config.get("entry_point_id", "")))
        except ValueError as exc:
            raise DeliveryFailed("the wecom_app channel has no entry_point_id", retryable=False) from exc
        if message.user_id is None:
            raise DeliveryFailed("a WeCom app message needs a recipient", retryable=False)
        with self._session() as session:
            entry_point = session.get(EntryPoint, entry_point_id)
            if entry_point is None or entry_point.kind != WECOM_APP or not entry_point.is_active:
                raise DeliveryFailed("the wecom_app entry point is gone or inactive", retryable=False)
            userid = session.scalar(
                select(User.wecom_userid).where(
                    User.id == message.user_id, User.tenant_id == entry_point.tenant_id
                )
            )
            account = Account(
                entry_point.tenant_id, entry_point.id, entry_point.kind, dict(entry_point.config)
            )
        if not userid:
            raise DeliveryFailed("the recipient has no WeCom UserID bound", retryable=False)
        return account, userid

    def send(self, message: OutgoingMessage) -> Sent:
        account, userid = self._sender(message)
        assert self.engine is not None
        client = TencentClient(self.http, TokenStore(self.engine), account)
        try:
            if message.link:
                answer = client.send_app_textcard(
                    userid, message.title[:TITLE_LIMIT], message.text[:DESCRIPTION_LIMIT], message.link
                )
            else:
                answer = client.send_app_text(userid, f"{message.title}\n{message.text}")
        except ApiError as exc:
            raise DeliveryFailed(
                f"WeCom errcode {exc.errcode}: {exc.errmsg}",
                retryable=exc.errcode in RETRYABLE_ERRCODES,
                status_code=exc.status_code,
            ) from exc
        except (httpx.HTTPError, TokenUnavailable) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        # A member outside the app's visible range is reported in ``invaliduser`` with errcode 0.
        if str(answer.get("invaliduser") or "").strip():
            raise DeliveryFailed(f"WeCom did not deliver to {answer['invaliduser']}", retryable=False)
        msgid = answer.get("msgid")
        return Sent(str(msgid) if msgid is not None else None, 200)
