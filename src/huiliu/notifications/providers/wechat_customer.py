"""Progress notices to WeChat customers (docs/decisions/0036): an Official Account template message
(模板消息, ``message/template/send``) or a mini-program subscribe message (``subscribeMessage.send``),
for when a customer-service message cannot reach them (outside the 48-hour window, errcode 45015).

The entry point configures the template: ``notice_template_id`` and ``notice_fields``, the template's
keywords with what each says (``{"thing1": "{ticket_title}", "phrase2": "{status}"}``); a
mini-program adds ``notice_page`` and ``miniprogram_state``.

Errors are classified as the platforms document them: the user refused or cancelled the
subscription (43101), does not follow the account (43004), a wrong openid / template / data / page
(40003, 40037, 47003, 41030), no right to the API (48001) are permanent; the rate limit (45009) and
a busy system (-1) are worth a retry, like transport errors and a token that could not be had."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from huiliu.channels.tencent.client import ApiError, TencentClient
from huiliu.channels.tencent.config import render_notice_fields
from huiliu.channels.tencent.tokens import TokenUnavailable
from huiliu.entry_points.domain import WECHAT_MINIPROGRAM, WECHAT_MP
from huiliu.notifications.providers.base import DeliveryFailed, Sent

USER_REFUSED = 43101
NOT_SUBSCRIBED = 43004
OUTSIDE_WINDOW = 45015
PERMANENT_ERRCODES = frozenset({USER_REFUSED, NOT_SUBSCRIBED, 40003, 40037, 47003, 41030, 48001, 43100})
RETRYABLE_ERRCODES = frozenset({-1, 45009, 45047})
NOTICE_KINDS = frozenset({WECHAT_MP, WECHAT_MINIPROGRAM})


def notice_configured(kind: str, config: Mapping[str, Any]) -> bool:
    return (
        kind in NOTICE_KINDS and bool(config.get("notice_template_id")) and bool(config.get("notice_fields"))
    )


def classify(exc: ApiError) -> DeliveryFailed:
    """The platform's answer as a delivery failure: retryable or not, with the reason."""
    reason = f"WeChat errcode {exc.errcode}: {exc.errmsg}"
    if exc.errcode == USER_REFUSED:
        reason = f"the customer refused or cancelled the subscription ({reason})"
    elif exc.errcode == NOT_SUBSCRIBED:
        reason = f"the customer does not follow the Official Account ({reason})"
    retryable = exc.errcode in RETRYABLE_ERRCODES or (
        exc.errcode not in PERMANENT_ERRCODES and (exc.status_code or 0) >= 500
    )
    return DeliveryFailed(reason, retryable=retryable, status_code=exc.status_code)


def send_customer_notice(
    client: TencentClient, openid: str, values: Mapping[str, str], *, idempotency_key: str | None = None
) -> Sent:
    """Send the entry point's notice to ``openid`` with ``values`` (ticket_number, ticket_title, status,
    message, link, time) filled into its template fields; ``Sent`` or ``DeliveryFailed``."""
    account = client.account
    config = account.config
    if not notice_configured(account.kind, config):
        raise DeliveryFailed(
            f"the {account.kind} entry point has no notice template configured", retryable=False
        )
    template_id = str(config["notice_template_id"])
    data = render_notice_fields(dict(config["notice_fields"]), values)
    try:
        if account.kind == WECHAT_MP:
            answer = client.send_template_message(
                openid, template_id, data, url=values.get("link") or None, client_msg_id=idempotency_key
            )
        else:
            answer = client.send_miniprogram_subscribe(
                openid,
                template_id,
                data,
                page=str(config.get("notice_page") or "") or None,
                miniprogram_state=str(config.get("miniprogram_state") or "") or None,
            )
    except ApiError as exc:
        raise classify(exc) from exc
    except (httpx.HTTPError, TokenUnavailable) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}", retryable=True) from exc
    msgid = answer.get("msgid")
    return Sent(str(msgid) if msgid is not None else None, 200)
