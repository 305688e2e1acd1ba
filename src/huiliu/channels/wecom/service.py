"""Use cases of the WeCom callback (``wecom_app`` and ``wecom_kf`` entry points): verify the URL by
decrypting ``echostr``; open an encrypted callback; take a member's message into intake; turn an
external-contact change into customer identities; pull 微信客服 messages with ``sync_msg`` from the
stored cursor into intake, the cursor moving in the same transaction as the messages it covers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from huiliu.auth.domain import system_actor
from huiliu.channels.tencent import crypto
from huiliu.channels.tencent.models import KfCursor
from huiliu.channels.tencent.replies import owe_media
from huiliu.channels.tencent.xmlparse import MalformedXml, parse_xml, text
from huiliu.channels.wecom import domain
from huiliu.core.clock import utcnow
from huiliu.core.errors import HuiliuError
from huiliu.customers.queries import get_customer
from huiliu.customers.schemas import CustomerUpdate
from huiliu.customers.service import resolve_identities, update_customer
from huiliu.db.session import Database
from huiliu.entry_points.models import EntryPoint
from huiliu.intake import service as intake
from huiliu.intake.domain import IngestResult, IntakeDefaults
from huiliu.orders.lookup import OrderLookup

log = logging.getLogger(__name__)

# One sync_msg page after a cursor, as the client returns it (the API runs the sync client in a thread).
SyncPage = Callable[[str | None], Awaitable[dict[str, Any]]]
MAX_PAGES = 50


def _key(entry_point: EntryPoint) -> bytes:
    return crypto.aes_key(str(entry_point.config.get("encoding_aes_key", "")))


def verify_url(
    entry_point: EntryPoint,
    msg_signature: str | None,
    timestamp: str | None,
    nonce: str | None,
    echostr: str | None,
) -> str:
    """The URL check of the WeCom admin: ``msg_signature`` over token, timestamp, nonce and
    ``echostr``; the answer is ``echostr`` decrypted (for this corp id)."""
    if not echostr:
        raise MalformedXml("echostr is missing")
    crypto.check_signature(msg_signature, str(entry_point.config.get("token", "")), timestamp, nonce, echostr)
    return crypto.decrypt_for(_key(entry_point), echostr, str(entry_point.config.get("corp_id", ""))).decode()


def open_callback(
    entry_point: EntryPoint, msg_signature: str | None, timestamp: str | None, nonce: str | None, body: bytes
) -> dict[str, Any]:
    """The fields of one verified, decrypted callback (WeCom always encrypts)."""
    outer = parse_xml(body)
    encrypted = text(outer, "Encrypt")
    if encrypted is None:
        raise MalformedXml("a WeCom callback needs <Encrypt>")
    crypto.check_signature(
        msg_signature, str(entry_point.config.get("token", "")), timestamp, nonce, encrypted
    )
    return parse_xml(
        crypto.decrypt_for(_key(entry_point), encrypted, str(entry_point.config.get("corp_id", "")))
    )


async def receive_app_callback(
    db: Database,
    entry_point: EntryPoint,
    fields: dict[str, Any],
    *,
    defaults: IntakeDefaults | None = None,
    order_lookup: OrderLookup | None = None,
) -> IngestResult | domain.ContactChange | None:
    """A wecom_app callback: an external-contact change updates customer identities (and is
    returned, so the caller can fetch the contact's unionid); a member's message goes to intake;
    anything else is acknowledged and left out (None)."""
    actor = system_actor(entry_point.tenant_id, f"wecom: {entry_point.name}")
    try:
        if domain.event_of(fields) == "change_external_contact":
            change = domain.contact_change(fields)
            await record_contact_change(db, entry_point, change)
            return change
        message = domain.app_message(
            fields,
            corp_id=str(entry_point.config.get("corp_id", "")),
            entry_point_id=entry_point.id,
            channel=entry_point.channel,
        )
    except domain.UnsupportedMessage:
        return None
    async with db.uow(entry_point.tenant_id) as uow:
        result = await intake.ingest(uow, actor, message, defaults=defaults, order_lookup=order_lookup)
    media = domain.app_media(fields)
    if media is not None:
        await owe_media(db, entry_point.tenant_id, entry_point.id, result, media)
    return result


async def record_contact_change(
    db: Database,
    entry_point: EntryPoint,
    change: domain.ContactChange,
    *,
    unionid: str | None = None,
    name: str | None = None,
) -> uuid.UUID | None:
    """Add or edit: the external contact is a customer known by ``wecom_external_userid`` (and the
    unionid when known, which ties them to the same person on WeChat). Delete changes no identity:
    the person stays the customer their tickets belong to."""
    if change.change not in domain.CONTACT_KEPT:
        log.info("wecom %s: %s for %s", entry_point.id, change.change, change.external_userid)
        return None
    identities: list[tuple[str, str]] = [(domain.WECOM_EXTERNAL_USERID, change.external_userid)]
    if unionid:
        identities.append((domain.WECHAT_UNIONID, unionid))
    actor = system_actor(entry_point.tenant_id, f"wecom: {entry_point.name}")
    async with db.uow(entry_point.tenant_id) as uow:
        resolution = await resolve_identities(uow, name, identities, actor=actor)
        customer_id = resolution.customer_id
        # A customer first known by external_userid alone has no name yet: take WeCom's.
        if name and customer_id is not None and not resolution.created:
            customer = await get_customer(uow.session, customer_id)
            if not customer.name:
                await update_customer(uow, actor, customer_id, CustomerUpdate(name=name[:200]))
        await uow.commit()
    return customer_id


async def sync_kf(
    db: Database,
    entry_point: EntryPoint,
    open_kfid: str | None,
    fetch_page: SyncPage,
    *,
    defaults: IntakeDefaults | None = None,
    order_lookup: OrderLookup | None = None,
) -> int:
    """Pull 微信客服 messages after the stored cursor, page by page, into intake; the cursor moves
    after each page's messages committed, so a crash repeats at most one page (repeats are
    recognised by msgid and change nothing). Returns how many customer messages were taken."""
    kfid = open_kfid or str(entry_point.config.get("open_kfid") or "")
    actor = system_actor(entry_point.tenant_id, f"wecom_kf: {entry_point.name}")
    taken = 0
    for _ in range(MAX_PAGES):
        async with db.read(entry_point.tenant_id) as session:
            cursor = await session.scalar(
                select(KfCursor.cursor).where(
                    KfCursor.entry_point_id == entry_point.id, KfCursor.open_kfid == kfid
                )
            )
        page = await fetch_page(cursor)
        items = [item for item in page.get("msg_list") or [] if isinstance(item, dict)]
        taken_items = [
            (item, message)
            for item in items
            if (
                message := domain.kf_message(item, entry_point_id=entry_point.id, channel=entry_point.channel)
            )
        ]
        if taken_items:
            async with db.uow(entry_point.tenant_id) as uow:
                answers = await intake.ingest_many(
                    uow,
                    actor,
                    [message for _, message in taken_items],
                    defaults=defaults,
                    order_lookup=order_lookup,
                )
            for (item, _), answer in zip(taken_items, answers, strict=True):
                if isinstance(answer, HuiliuError):
                    log.warning("wecom_kf %s: a message was refused: %s", entry_point.id, answer.detail)
                    continue
                taken += 1
                media = domain.kf_media(item)
                if media is not None:
                    await owe_media(db, entry_point.tenant_id, entry_point.id, answer, media)
        async with db.uow(entry_point.tenant_id) as uow:
            row = await uow.session.scalar(
                select(KfCursor).where(KfCursor.entry_point_id == entry_point.id, KfCursor.open_kfid == kfid)
            )
            if row is None:
                row = KfCursor(tenant_id=entry_point.tenant_id, entry_point_id=entry_point.id, open_kfid=kfid)
                uow.session.add(row)
            row.cursor = str(page.get("next_cursor") or cursor or "") or None
            row.updated_at = utcnow()
            await uow.commit()
        if not page.get("has_more"):
            break
    return taken
