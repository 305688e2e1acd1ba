"""E-mail over SMTP (stdlib ``smtplib``): STARTTLS or implicit TLS when configured, AUTH when a user
name is set, a ``multipart/alternative`` body (text + HTML), a ``Message-ID`` made from the delivery
id (the same on every retry, so a repeat after a crash is recognisable) and ``In-Reply-To`` /
``References`` naming the ticket's thread, so mail clients group a ticket's notifications and a
reply threads back.

Errors: a 4xx SMTP reply, a dropped connection or a timeout is retryable; a 5xx reply (unknown
mailbox, refused sender, failed authentication) is permanent."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from html import escape
from typing import Any, ClassVar

from huiliu.notifications.providers.base import DeliveryFailed, Notifier, OutgoingMessage, Sent

DEFAULT_PORT = 587


def message_id(delivery_id: object, domain: str) -> str:
    return f"<{delivery_id}@{domain}>"


def thread_id(ticket_id: str, domain: str) -> str:
    return f"<ticket-{ticket_id}@{domain}>"


class SmtpEmail(Notifier):
    kind: ClassVar[str] = "email"

    def __init__(self, config: dict[str, Any], *, timeout: float = 10.0) -> None:
        self.config = config
        self.timeout = timeout

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        sender = str(self.config.get("from_address") or "")
        if not sender or "@" not in sender:
            raise DeliveryFailed("the e-mail channel has no from_address", retryable=False)
        if not message.email:
            raise DeliveryFailed("the recipient has no e-mail address", retryable=False)
        domain = sender.rsplit("@", 1)[1]
        mail = EmailMessage()
        mail["From"] = formataddr((str(self.config.get("from_name") or "Huiliu"), sender))
        mail["To"] = message.email
        mail["Subject"] = message.title
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id(message.delivery_id, domain)
        ticket_id = message.variables.get("ticket_id")
        if ticket_id:
            mail["In-Reply-To"] = thread_id(ticket_id, domain)
            mail["References"] = thread_id(ticket_id, domain)
        text = message.text + (f"\n\n{message.link}" if message.link else "")
        mail.set_content(text)
        html = message.html or _html(message)
        mail.add_alternative(html, subtype="html")
        return mail

    def send(self, message: OutgoingMessage) -> Sent:
        mail = self.compose(message)
        host = str(self.config.get("host") or "")
        if not host:
            raise DeliveryFailed("the e-mail channel has no host", retryable=False)
        port = int(self.config.get("port") or DEFAULT_PORT)
        security = str(self.config.get("security") or "starttls")
        try:
            if security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(host, port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                username = self.config.get("username")
                if username:
                    smtp.login(str(username), str(self.config.get("password") or ""))
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(
                f"recipient refused: {exc.recipients}", retryable=all(400 <= c < 500 for c in codes)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=400 <= exc.smtp_code < 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        if refused:
            raise DeliveryFailed(f"recipient refused: {refused}", retryable=False)
        return Sent(str(mail["Message-ID"]), 250)


def _html(message: OutgoingMessage) -> str:
    body = "<br>".join(escape(line) for line in message.text.splitlines())
    link = f'<p><a href="{escape(message.link)}">{escape(message.link)}</a></p>' if message.link else ""
    return f"<html><body><h3>{escape(message.title)}</h3><p>{body}</p>{link}</body></html>"
