"""Delivering a ``channel_message`` outbox row (an agent's reply) to the customer on WeChat or WeCom,
in the worker (sync engine, sync HTTP; no transaction open across the call):

- wechat_mp: customer-service message (客服消息) to the customer's openid — WeChat accepts it within
  48 hours of the customer's last message (errcode 45015 after that: the row is dead, not retried);
- wecom_kf: 微信客服 ``kf/send_msg`` to the customer's external_userid through the entry point's
  ``open_kfid`` (or the account its messages came from);
- wecom_app: an app message to the member (userid) who wrote to the app.

The message's ``delivery_state`` becomes ``delivered`` or ``failed``."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from huiliu.channels.tencent.client import Account, ApiError, TencentClient
from huiliu.channels.tencent.models import KfCursor
from huiliu.channels.tencent.tokens import TokenStore, TokenUnavailable
from huiliu.channels.wecom.domain import wecom_user_identity
from huiliu.core.outbox import OutboxRow
from huiliu.customers.models import CustomerIdentity
from huiliu.db.session import ScopedSession, scope_sync_session
from huiliu.entry_points.domain import WECHAT_MP, WECOM_APP, WECOM_KF
from huiliu.entry_points.models import EntryPoint
from huiliu.tickets.models import Message
from huiliu.webhooks.delivery import AttemptResult

WECHAT_OPENID = "wechat_openid"
WECOM_EXTERNAL_USERID = "wecom_external_userid"
EXTERNAL = "external"
# Answers that no retry can change: the 48-hour window closed, the user is unknown or unsubscribed,
# the account has no right to this API.
PERMANENT_ERRCODES = frozenset({40003, 43004, 45015, 45047, 48001, 95000})


@dataclass(frozen=True)
class Delivered:
    result: AttemptResult
    # True when retrying cannot help (the row goes dead at once).
    permanent: bool = False


class ChannelDelivery:
    def __init__(self, engine: Engine, http: httpx.Client, tokens: TokenStore | None = None) -> None:
        self.engine = engine
        self.http = http
        self.tokens = tokens or TokenStore(engine)
        self._sessions = sessionmaker(engine, class_=ScopedSession, expire_on_commit=False, autoflush=False)

    def _session(self, tenant_id: uuid.UUID) -> Session:
        return scope_sync_session(self._sessions(), tenant_id)

    def deliver(self, row: OutboxRow) -> Delivered:
        started = time.perf_counter()
        payload = row.payload
        try:
            with self._session(row.tenant_id) as session:
                entry_point = session.get(EntryPoint, uuid.UUID(payload["entry_point_id"]))
                if entry_point is None or not entry_point.is_active:
                    return self._failed(row, "the entry point is gone or inactive", started)
                account = Account(
                    entry_point.tenant_id, entry_point.id, entry_point.kind, dict(entry_point.config)
                )
                recipient = self._recipient(session, entry_point, payload.get("customer_id") or None)
            if recipient is None:
                return self._failed(row, "the customer has no identity on this channel", started)
            client = TencentClient(self.http, self.tokens, account)
            if account.kind == WECHAT_MP:
                client.send_custom_text(recipient[0], payload["body"])
            elif account.kind == WECOM_KF:
                client.kf_send_text(recipient[0], recipient[1], payload["body"])
            else:
                client.send_app_text(recipient[0], payload["body"])
        except ApiError as exc:
            if exc.errcode in PERMANENT_ERRCODES:
                return self._failed(row, str(exc), started, exc.status_code)
            return Delivered(AttemptResult(False, exc.status_code, str(exc), _ms(started)))
        except (httpx.HTTPError, TokenUnavailable) as exc:
            return Delivered(AttemptResult(False, None, f"{type(exc).__name__}: {exc}", _ms(started)))
        self._mark(row, "delivered")
        return Delivered(AttemptResult(True, 200, None, _ms(started)))

    def _recipient(
        self, session: Session, entry_point: EntryPoint, customer_id: str | None
    ) -> tuple[str, str] | None:
        """(user, open_kfid or "") the reply goes to, from the ticket customer's identities."""
        if not customer_id:
            return None
        kind = {WECHAT_MP: WECHAT_OPENID, WECOM_KF: WECOM_EXTERNAL_USERID, WECOM_APP: EXTERNAL}[
            entry_point.kind
        ]
        values = session.scalars(
            select(CustomerIdentity.value)
            .where(CustomerIdentity.customer_id == uuid.UUID(customer_id), CustomerIdentity.kind == kind)
            .order_by(CustomerIdentity.created_at.desc())
        ).all()
        if entry_point.kind == WECOM_APP:
            prefix = wecom_user_identity(str(entry_point.config.get("corp_id", "")), "")
            users = [value.removeprefix(prefix) for value in values if value.startswith(prefix)]
            return (users[0], "") if users else None
        if not values:
            return None
        if entry_point.kind == WECOM_KF:
            open_kfid = entry_point.config.get("open_kfid") or session.scalar(
                select(KfCursor.open_kfid)
                .where(KfCursor.entry_point_id == entry_point.id)
                .order_by(KfCursor.updated_at.desc())
                .limit(1)
            )
            return (values[0], str(open_kfid)) if open_kfid else None
        return values[0], ""

    def _failed(self, row: OutboxRow, reason: str, started: float, status: int | None = None) -> Delivered:
        self._mark(row, "failed")
        return Delivered(AttemptResult(False, status, reason, _ms(started)), permanent=True)

    def mark_failed(self, row: OutboxRow) -> None:
        """After the last retry: the reply never reached the customer."""
        self._mark(row, "failed")

    def _mark(self, row: OutboxRow, state: str) -> None:
        with self._session(row.tenant_id) as session, session.begin():
            session.execute(
                update(Message)
                .where(Message.id == uuid.UUID(row.payload["message_id"]))
                .values(delivery_state=state)
                .execution_options(synchronize_session=False)
            )


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
