"""Message templates per event × channel × locale, rendered in Jinja2's sandbox (no attribute access
to Python internals, no imports, bounded output). Pure: no I/O.

Variables (documented in docs/notifications.md): ``ticket`` (id, number, title, status, priority),
``message``, ``severity``, ``origin`` (kind, name), ``link``, ``recipient`` (name)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

MAX_TITLE_SOURCE = 300
MAX_BODY_SOURCE = 4000
MAX_OUTPUT = 8000
ANY = "*"
LOCALES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
# Customer notices (受理 / 处理中 / 已解决) are worded by their own events; ``*`` never covers them (a
# customer never gets an agent's wording).
CUSTOMER_EVENTS: tuple[str, ...] = ("customer.accepted", "customer.in_progress", "customer.resolved")
TEMPLATE_EVENTS: tuple[str, ...] = (ANY, "rule", "sla_tier", *CUSTOMER_EVENTS)

VARIABLES: dict[str, str] = {
    "ticket.id": "the ticket's id",
    "ticket.number": "工单号",
    "ticket.title": "the ticket's title",
    "ticket.status": "new / open / pending / on_hold / resolved / closed",
    "ticket.priority": "urgent / high / normal / low",
    "message": "the text the rule or SLA tier gave",
    "severity": "info / warning / critical",
    "origin.kind": "rule / sla_tier",
    "origin.name": "the rule's or SLA tier's name",
    "link": "the ticket in the console",
    "recipient.name": "who it is for (empty for group robots)",
    "customer.name": "customer notices: the customer's name",
    "progress_link": "customer notices: the customer's progress page",
    "csat_link": "customer notices (resolved): where the customer rates the service",
}

# Shipped defaults, used when the tenant has no template for the event, channel and locale.
DEFAULTS: dict[str, tuple[str, str]] = {
    "zh-CN": (
        "{% if severity == 'critical' %}【紧急】{% endif %}"
        "{% if ticket.number %}工单 {{ ticket.number }} {{ ticket.title }}{% else %}汇流通知{% endif %}",
        "{{ message }}",
    ),
    "en": (
        "{% if severity == 'critical' %}[Critical] {% endif %}"
        "{% if ticket.number %}Ticket {{ ticket.number }} {{ ticket.title }}"
        "{% else %}Huiliu notification{% endif %}",
        "{{ message }}",
    ),
}

# Shipped customer notices per moment event and locale.
CUSTOMER_DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "customer.accepted": {
        "zh-CN": (
            "您的工单已受理",
            "您好{% if customer.name %}，{{ customer.name }}{% endif %}！您的工单 {{ ticket.number }}"
            "「{{ ticket.title }}」已受理，我们会尽快处理。"
            "{% if progress_link %}查看进度：{{ progress_link }}{% endif %}",
        ),
        "en": (
            "We have your request",
            "Hello{% if customer.name %} {{ customer.name }}{% endif %}, your ticket {{ ticket.number }} "
            '"{{ ticket.title }}" has been accepted; we will get back to you soon.'
            "{% if progress_link %} Progress: {{ progress_link }}{% endif %}",
        ),
    },
    "customer.in_progress": {
        "zh-CN": (
            "您的工单正在处理中",
            "您好！您的工单 {{ ticket.number }}「{{ ticket.title }}」正在处理中，请耐心等待。"
            "{% if progress_link %}查看进度：{{ progress_link }}{% endif %}",
        ),
        "en": (
            "We are working on your request",
            'Your ticket {{ ticket.number }} "{{ ticket.title }}" is in progress.'
            "{% if progress_link %} Progress: {{ progress_link }}{% endif %}",
        ),
    },
    "customer.resolved": {
        "zh-CN": (
            "您的工单已解决",
            "您好！您的工单 {{ ticket.number }}「{{ ticket.title }}」已解决。"
            "{% if csat_link %}请为本次服务评分：{{ csat_link }}{% endif %}",
        ),
        "en": (
            "Your request is resolved",
            'Your ticket {{ ticket.number }} "{{ ticket.title }}" is resolved.'
            "{% if csat_link %} Please rate our service: {{ csat_link }}{% endif %}",
        ),
    },
}

SAMPLE_CONTEXT: dict[str, Any] = {
    "ticket": {
        "id": "0190f1e2-0000-7000-8000-000000000001",
        "number": 1024,
        "title": "打印机卡纸",
        "status": "open",
        "priority": "high",
    },
    "message": "工单已超过首次响应时限的 75%",
    "severity": "warning",
    "origin": {"kind": "sla_tier", "name": "75 % 预警"},
    "link": "https://huiliu.example/tickets/0190f1e2-0000-7000-8000-000000000001",
    "recipient": {"name": "客服小王"},
    "customer": {"name": "张女士"},
    "progress_link": "https://huiliu.example/h5/progress/sample-token",
    "csat_link": "https://huiliu.example/h5/progress/sample-token#rate",
}


class TemplateProblem(ValueError):
    """A template that does not parse, reaches for something the sandbox forbids, or renders too much."""


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    body: str


_ENV = SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
# Saving checks against the documented variables: an unknown name or a refused attribute is an error
# there, while delivery renders it as empty rather than drop the message.
_STRICT = SandboxedEnvironment(
    autoescape=False, trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined
)


def check(title: str, body: str) -> None:
    """Raise ``TemplateProblem`` unless both sources parse and render against the sample context."""
    if len(title) > MAX_TITLE_SOURCE:
        raise TemplateProblem(f"title is longer than {MAX_TITLE_SOURCE} characters")
    if len(body) > MAX_BODY_SOURCE:
        raise TemplateProblem(f"body is longer than {MAX_BODY_SOURCE} characters")
    _render(_STRICT, title, body, SAMPLE_CONTEXT)


def render(title: str, body: str, context: Mapping[str, Any]) -> Rendered:
    """Render for delivery: unknown variables are empty."""
    return _render(_ENV, title, body, context)


@functools.lru_cache(maxsize=512)
def _compiled(environment: SandboxedEnvironment, source: str) -> Template:
    """Compiling is most of a render's cost and the sources are few (defaults, a tenant's templates)."""
    return environment.from_string(source)


def _render(environment: SandboxedEnvironment, title: str, body: str, context: Mapping[str, Any]) -> Rendered:
    try:
        rendered_title = _compiled(environment, title).render(context)
        rendered_body = _compiled(environment, body).render(context)
    except TemplateError as exc:
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from exc
    except (ArithmeticError, TypeError, ValueError, LookupError, MemoryError) as exc:
        # What a template's own expressions raise ({{ 1/0 }}, a range the sandbox refuses …).
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from exc
    if len(rendered_title) + len(rendered_body) > MAX_OUTPUT:
        raise TemplateProblem(f"the rendered message is longer than {MAX_OUTPUT} characters")
    return Rendered(" ".join(rendered_title.split()), rendered_body.strip())


def default_for(locale: str, event: str = ANY) -> tuple[str, str]:
    """The shipped wording for ``event`` (a customer notice's own, else the general one) in ``locale``."""
    table = CUSTOMER_DEFAULTS.get(event, DEFAULTS)
    return table.get(locale, table[DEFAULT_LOCALE])


def lookup_order(event: str, channel: str, locale: str) -> list[tuple[str, str, str]]:
    """The (event, channel, locale) keys to try, most specific first; the tenant's default locale
    (zh-CN) after the recipient's own."""
    keys: list[tuple[str, str, str]] = []
    events = [event] if event in CUSTOMER_EVENTS else [event, ANY]
    for loc in dict.fromkeys([locale, DEFAULT_LOCALE]):
        for ev in dict.fromkeys(events):
            for ch in dict.fromkeys([channel, ANY]):
                keys.append((ev, ch, loc))
    return keys
