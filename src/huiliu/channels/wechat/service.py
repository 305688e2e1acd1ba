"""Use cases of the Official Account callback: verify the URL, and take one callback (verify, decrypt,
parse, map) into intake in one transaction, answering only after it committed. A refused callback
(bad signature, tampered ciphertext, XXE, oversized body, unknown entry point) writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huiliu.auth.domain import system_actor
from huiliu.channels.tencent import crypto
from huiliu.channels.tencent.replies import owe_media
from huiliu.channels.tencent.xmlparse import MalformedXml, parse_xml, text
from huiliu.channels.wechat import domain
from huiliu.db.session import Database
from huiliu.entry_points.models import EntryPoint
from huiliu.intake import service as intake
from huiliu.intake.domain import IngestResult, IntakeDefaults
from huiliu.orders.lookup import OrderLookup


@dataclass(frozen=True)
class CallbackQuery:
    """The query string WeChat signs a callback with."""

    signature: str | None
    timestamp: str | None
    nonce: str | None
    encrypt_type: str | None = None
    msg_signature: str | None = None


def verify_url(entry_point: EntryPoint, query: CallbackQuery, echostr: str | None) -> str:
    """The URL check of the WeChat admin: the signature over token, timestamp and nonce; the answer
    is ``echostr`` unchanged."""
    crypto.check_signature(
        query.signature, str(entry_point.config.get("token", "")), query.timestamp, query.nonce
    )
    if not echostr:
        raise MalformedXml("echostr is missing")
    return echostr


def open_callback(entry_point: EntryPoint, query: CallbackQuery, body: bytes) -> dict[str, Any]:
    """The fields of one verified callback: plaintext (``signature``), or safe/compatible mode
    (``encrypt_type=aes``: ``msg_signature`` over the ``<Encrypt>`` element, AES with the app id check).
    An entry point in safe mode refuses plaintext callbacks."""
    config = entry_point.config
    token = str(config.get("token", ""))
    mode = str(config.get("encryption_mode", "safe"))
    if query.encrypt_type != "aes":
        if mode == "safe":
            raise crypto.BadSignature("this entry point takes encrypted (safe mode) callbacks only")
        crypto.check_signature(query.signature, token, query.timestamp, query.nonce)
        return parse_xml(body)
    if query.signature:
        crypto.check_signature(query.signature, token, query.timestamp, query.nonce)
    outer = parse_xml(body)
    encrypted = text(outer, "Encrypt")
    if encrypted is None:
        raise MalformedXml("an encrypted callback needs <Encrypt>")
    crypto.check_signature(query.msg_signature, token, query.timestamp, query.nonce, encrypted)
    key = crypto.aes_key(str(config.get("encoding_aes_key", "")))
    return parse_xml(crypto.decrypt_for(key, encrypted, str(config.get("app_id", ""))))


async def receive(
    db: Database,
    entry_point: EntryPoint,
    fields: dict[str, Any],
    *,
    defaults: IntakeDefaults | None = None,
    order_lookup: OrderLookup | None = None,
) -> IngestResult | None:
    """Ingest one callback's message (the entry point's tenant, a system actor) and commit. None for
    message types this channel leaves out (answered ``success`` all the same, so WeChat stops retrying)."""
    try:
        message = domain.to_inbound(fields, entry_point_id=entry_point.id, channel=entry_point.channel)
    except domain.UnsupportedMessage:
        return None
    actor = system_actor(entry_point.tenant_id, f"wechat: {entry_point.name}")
    async with db.uow(entry_point.tenant_id) as uow:
        result = await intake.ingest(uow, actor, message, defaults=defaults, order_lookup=order_lookup)
    media = domain.media_of(fields)
    if media is not None and result.message_id is not None:
        await owe_media(db, entry_point.tenant_id, entry_point.id, result, media)
    return result
