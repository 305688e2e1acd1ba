"""Delivering a ``channel_message`` outbox row (an agent's reply) to the customer on WeChat or WeCom,
in the worker (sync engine, sync HTTP; no transaction open across the call):

- wechat_mp: customer-service message (客服消息) to the customer's openid — WeChat accepts it within
  48 hours of the customer's last message (errcode 45015 after that: the row is dead, not retried);
- wecom_kf: 微信客服 ``kf/send_msg`` to the customer's external_userid through the entry point's
  ``open_kfid`` (or the account its messages came from);
- wecom_app: an app message to the member (userid) who wrote to the app;
- wechat_miniprogram: a subscribe message (the only way to reach a mini-program user afterwards).

When WeChat answers 45015 (the 48 hours are over) and the entry point configures a notice template,
the reply goes out as a template message instead, telling the customer there is news on their
ticket (``notifications.providers.wechat_customer``); without one the row is dead at once.

A ``channel_media`` row has the worker download a customer's image / voice / video (``media/get``)
into an attachment of their message.

The message's ``delivery_state`` becomes ``delivered`` or ``failed``."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from huiliu.attachments.domain import SNIFF_BYTES, classify
from huiliu.attachments.models import Attachment
from huiliu.attachments.storage import LocalStorage
from huiliu.channels.tencent.client import Account, ApiError, TencentClient
from huiliu.channels.tencent.models import KfCursor
from huiliu.channels.tencent.replies import KIND_CHANNEL_MEDIA, KIND_CHANNEL_MESSAGE
from huiliu.channels.tencent.tokens import TokenStore, TokenUnavailable
from huiliu.channels.wechat.domain import miniprogram_identity
from huiliu.channels.wecom.domain import wecom_user_identity
from huiliu.core.clock import utcnow
from huiliu.core.errors import HuiliuError
from huiliu.core.ids import new_id
from huiliu.core.outbox import OutboxRow
from huiliu.customers.models import CustomerIdentity
from huiliu.db.session import ScopedSession, scope_sync_session
from huiliu.entry_points.domain import WECHAT_MINIPROGRAM, WECHAT_MP, WECOM_APP, WECOM_KF
from huiliu.entry_points.models import EntryPoint
from huiliu.notifications.providers.base import DeliveryFailed
from huiliu.notifications.providers.wechat_customer import (
    OUTSIDE_WINDOW,
    notice_configured,
    send_customer_notice,
)
from huiliu.tickets.models import Message, Ticket
from huiliu.webhooks.delivery import AttemptResult

WECHAT_OPENID = "wechat_openid"
WECOM_EXTERNAL_USERID = "wecom_external_userid"
EXTERNAL = "external"
# Answers that no retry can change: the 48-hour window closed, the user is unknown or unsubscribed,
# the account has no right to this API.
PERMANENT_ERRCODES = frozenset({40003, 43004, 45015, 45047, 48001, 95000})
# media/get: invalid media_id (temporary media live three days).
MEDIA_EXPIRED = 40007
MAX_MEDIA_BYTES = 20 * 1024 * 1024
# WeCom media/upload: images (JPG, PNG) up to 10 MB, other files up to 20 MB.
APP_IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
APP_IMAGE_BYTES = 10 * 1024 * 1024
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTICE_MESSAGE_LIMIT = 20  # a template "thing" keyword takes at most 20 characters
STATUS_WORDS = {
    "new": "待受理",
    "open": "处理中",
    "pending": "待您反馈",
    "on_hold": "挂起",
    "resolved": "已解决",
    "closed": "已关闭",
}


@dataclass(frozen=True)
class Delivered:
    result: AttemptResult
    # True when retrying cannot help (the row goes dead at once).
    permanent: bool = False


class ChannelDelivery:
    def __init__(
        self, engine: Engine, http: httpx.Client, files_dir: Path, tokens: TokenStore | None = None
    ) -> None:
        self.engine = engine
        self.http = http
        self.files_dir = files_dir
        self.tokens = tokens or TokenStore(engine)
        self._sessions = sessionmaker(engine, class_=ScopedSession, expire_on_commit=False, autoflush=False)

    def _session(self, tenant_id: uuid.UUID) -> Session:
        return scope_sync_session(self._sessions(), tenant_id)

    def deliver(self, row: OutboxRow) -> Delivered:
        """Process one ``channel_message`` (send the reply) or ``channel_media`` (fetch the media)."""
        if row.kind == KIND_CHANNEL_MEDIA:
            return self.fetch_media(row)
        return self.send_reply(row)

    def send_reply(self, row: OutboxRow) -> Delivered:
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
                values = _notice_values(session, payload)
                attachments = _attachments_of(session, payload) if entry_point.kind == WECOM_APP else []
            if recipient is None:
                return self._failed(row, "the customer has no identity on this channel", started)
            client = TencentClient(self.http, self.tokens, account)
            if account.kind == WECHAT_MP:
                self._custom_or_notice(client, recipient[0], payload["body"], values, row)
            elif account.kind == WECHAT_MINIPROGRAM:
                send_customer_notice(client, recipient[0], values, idempotency_key=str(row.id))
            elif account.kind == WECOM_KF:
                client.kf_send_text(recipient[0], recipient[1], payload["body"])
            else:
                self._app_message(client, recipient[0], row, attachments)
        except DeliveryFailed as exc:
            if not exc.retryable:
                return self._failed(row, exc.reason, started, exc.status_code)
            return Delivered(AttemptResult(False, exc.status_code, exc.reason, _ms(started)))
        except ApiError as exc:
            if exc.errcode in PERMANENT_ERRCODES:
                return self._failed(row, str(exc), started, exc.status_code)
            return Delivered(AttemptResult(False, exc.status_code, str(exc), _ms(started)))
        except (httpx.HTTPError, TokenUnavailable) as exc:
            return Delivered(AttemptResult(False, None, f"{type(exc).__name__}: {exc}", _ms(started)))
        self._mark(row, "delivered")
        return Delivered(AttemptResult(True, 200, None, _ms(started)))

    def _app_message(
        self, client: TencentClient, userid: str, row: OutboxRow, attachments: list[Attachment]
    ) -> None:
        """A WeCom app message: the text, then each attachment the agent added (``media/upload``, then
        ``message/send`` as ``image`` — JPEG / PNG up to 10 MB — or ``file``)."""
        if row.payload.get("body"):
            client.send_app_text(userid, row.payload["body"])
        for attachment in attachments:
            data = (self.files_dir / attachment.storage_path).read_bytes()
            as_image = attachment.content_type in APP_IMAGE_TYPES and attachment.size <= APP_IMAGE_BYTES
            msgtype = "image" if as_image else "file"
            media_id = client.upload_media(msgtype, attachment.filename, data, attachment.content_type)
            client.send_app_media(userid, msgtype, media_id)

    def _custom_or_notice(
        self, client: TencentClient, openid: str, body: str, values: dict[str, str], row: OutboxRow
    ) -> None:
        """A customer-service message; outside the 48 hours, the entry point's notice template."""
        try:
            client.send_custom_text(openid, body)
        except ApiError as exc:
            if exc.errcode != OUTSIDE_WINDOW or not notice_configured(
                client.account.kind, client.account.config
            ):
                raise
            send_customer_notice(client, openid, values, idempotency_key=str(row.id))

    def fetch_media(self, row: OutboxRow) -> Delivered:
        """Download a customer's image / voice / video (``media/get``) and attach it to their message:
        checked against the attachments allowlist, stored content-addressed like any upload."""
        started = time.perf_counter()
        payload = row.payload
        try:
            with self._session(row.tenant_id) as session:
                entry_point = session.get(EntryPoint, uuid.UUID(payload["entry_point_id"]))
                if entry_point is None:
                    return self._dead("the entry point is gone", started)
                account = Account(
                    entry_point.tenant_id, entry_point.id, entry_point.kind, dict(entry_point.config)
                )
            data, declared = TencentClient(self.http, self.tokens, account).media(payload["media_id"])
        except ApiError as exc:
            permanent = exc.errcode in PERMANENT_ERRCODES or exc.errcode == MEDIA_EXPIRED
            result = AttemptResult(False, exc.status_code, str(exc), _ms(started))
            return Delivered(result, permanent=permanent)
        except (httpx.HTTPError, TokenUnavailable) as exc:
            return Delivered(AttemptResult(False, None, f"{type(exc).__name__}: {exc}", _ms(started)))
        if len(data) > MAX_MEDIA_BYTES:
            return self._dead(f"the media is larger than {MAX_MEDIA_BYTES} bytes", started)
        filename = f"wechat-{payload.get('media_type', 'media')}"
        try:
            content_type = classify(
                data[:SNIFF_BYTES], filename=filename, declared_type=declared.split(";")[0], utf8_text=False
            )
        except HuiliuError as exc:
            return self._dead(exc.detail, started)
        self._attach(row, data, filename, content_type)
        return Delivered(AttemptResult(True, 200, None, _ms(started)))

    def _attach(self, row: OutboxRow, data: bytes, filename: str, content_type: str) -> None:
        sha256 = hashlib.sha256(data).hexdigest()
        relative = LocalStorage.relative_path(row.tenant_id, sha256)
        final = self.files_dir / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        staged = final.with_name(f".{sha256}.{uuid.uuid4().hex}.part")
        staged.write_bytes(data)
        os.replace(staged, final)  # same address, same bytes: replacing a copy is harmless
        message_id = uuid.UUID(row.payload["message_id"])
        with self._session(row.tenant_id) as session, session.begin():
            exists = session.scalar(
                select(Attachment.id).where(Attachment.message_id == message_id, Attachment.sha256 == sha256)
            )
            if exists is None:
                session.add(
                    Attachment(
                        id=new_id(),
                        tenant_id=row.tenant_id,
                        ticket_id=uuid.UUID(row.payload["ticket_id"]),
                        message_id=message_id,
                        filename=filename,
                        content_type=content_type,
                        size=len(data),
                        sha256=sha256,
                        storage_path=relative,
                        uploaded_by_id=None,
                        created_at=utcnow(),
                    )
                )

    def _dead(self, reason: str, started: float) -> Delivered:
        return Delivered(AttemptResult(False, None, reason, _ms(started)), permanent=True)

    def _recipient(
        self, session: Session, entry_point: EntryPoint, customer_id: str | None
    ) -> tuple[str, str] | None:
        """(user, open_kfid or "") the reply goes to, from the ticket customer's identities."""
        if not customer_id:
            return None
        kind = {
            WECHAT_MP: WECHAT_OPENID,
            WECOM_KF: WECOM_EXTERNAL_USERID,
            WECOM_APP: EXTERNAL,
            WECHAT_MINIPROGRAM: EXTERNAL,
        }[entry_point.kind]
        values = session.scalars(
            select(CustomerIdentity.value)
            .where(CustomerIdentity.customer_id == uuid.UUID(customer_id), CustomerIdentity.kind == kind)
            .order_by(CustomerIdentity.created_at.desc())
        ).all()
        if entry_point.kind == WECHAT_MINIPROGRAM:
            prefix = miniprogram_identity(str(entry_point.config.get("app_id", "")), "")
            openids = [value.removeprefix(prefix) for value in values if value.startswith(prefix)]
            return (openids[0], "") if openids else None
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
        self.mark_failed(row)
        return Delivered(AttemptResult(False, status, reason, _ms(started)), permanent=True)

    def mark_failed(self, row: OutboxRow) -> None:
        """After the last retry: the reply never reached the customer."""
        if row.kind == KIND_CHANNEL_MESSAGE:
            self._mark(row, "failed")

    def _mark(self, row: OutboxRow, state: str) -> None:
        with self._session(row.tenant_id) as session, session.begin():
            session.execute(
                update(Message)
                .where(Message.id == uuid.UUID(row.payload["message_id"]))
                .values(delivery_state=state)
                .execution_options(synchronize_session=False)
            )


def _attachments_of(session: Session, payload: dict[str, Any]) -> list[Attachment]:
    """The files of the reply (none for a notice, whose ``message_id`` names no message)."""
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.message_id == uuid.UUID(payload["message_id"]))
            .order_by(Attachment.created_at, Attachment.id)
        )
    )


def _notice_values(session: Session, payload: dict[str, Any]) -> dict[str, str]:
    """What a notice template may say about the reply's ticket (config.notice_fields variables)."""
    ticket = session.get(Ticket, uuid.UUID(payload["ticket_id"]))
    body = " ".join(str(payload.get("body") or "").split())
    message = body if len(body) <= NOTICE_MESSAGE_LIMIT else body[: NOTICE_MESSAGE_LIMIT - 1] + "…"
    now = utcnow().astimezone(SHANGHAI)
    return {
        "ticket_number": str(ticket.number) if ticket is not None else "",
        "ticket_title": (ticket.title[:NOTICE_MESSAGE_LIMIT] if ticket is not None else ""),
        "status": STATUS_WORDS.get(str(ticket.status) if ticket is not None else "", ""),
        "message": message or "您的工单有新回复",
        "link": "",
        "time": now.strftime("%Y年%m月%d日 %H:%M"),
    }


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
