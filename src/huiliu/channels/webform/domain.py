"""The public form's rules: the signed progress token, the form definition shown to customers, the
submission's validation and the URLs customers open. Pure.

The progress token is ``v1.<tenant+ticket ids, base64url>.<HMAC-SHA256, base64url>`` with a key
derived from the server's secret key for this purpose only, so it can neither be forged, nor be
guessed from a ticket number, nor be used as (or made from) any other token the server issues."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from huiliu.core.errors import NotFound, ValidationFailed

TOKEN_VERSION = "v1"
TOKEN_PURPOSE = b"huiliu/progress-token/v1"
TAG_BYTES = 16

MAX_TITLE_LENGTH = 300
MAX_DESCRIPTION_LENGTH = 5000
MAX_MESSAGE_LENGTH = 5000
DEFAULT_MAX_PHOTOS = 6
PHOTO_TYPES: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(secret_key: str, payload: bytes) -> bytes:
    key = hmac.new(secret_key.encode(), TOKEN_PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:TAG_BYTES]


def progress_token(secret_key: str, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> str:
    payload = tenant_id.bytes + ticket_id.bytes
    return f"{TOKEN_VERSION}.{_b64(payload)}.{_b64(_tag(secret_key, payload))}"


def read_progress_token(secret_key: str, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(tenant id, ticket id) of a genuine token; NotFound for anything else, so a probe cannot
    tell a forged token from a ticket that does not exist."""
    version, _, rest = token.partition(".")
    encoded, _, tag = rest.partition(".")
    if version != TOKEN_VERSION or not encoded or not tag or len(token) > 200:
        raise NotFound("progress page not found")
    try:
        payload, given = _unb64(encoded), _unb64(tag)
    except (binascii.Error, ValueError) as exc:
        raise NotFound("progress page not found") from exc
    if len(payload) != 32 or not hmac.compare_digest(given, _tag(secret_key, payload)):
        raise NotFound("progress page not found")
    return uuid.UUID(bytes=payload[:16]), uuid.UUID(bytes=payload[16:])


def _base(public_base_url: str) -> str:
    return public_base_url.rstrip("/")


def progress_url(public_base_url: str, token: str) -> str:
    return f"{_base(public_base_url)}/h5/p/{quote(token, safe='.')}"


@dataclass(frozen=True)
class Contact:
    name: str | None
    phone: str | None
    email: str | None


FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Ticket fields intake writes itself; a public form may not set them.
RESERVED_FIELDS: frozenset[str] = frozenset({"source", "source_name", "entities", "device_sn", "alarm_code"})
MAX_FIELD_TEXT = 2000
MAX_FIELD_ITEMS = 50
LOCATION_KEYS: frozenset[str] = frozenset({"address", "lat", "lng"})


def _field_value(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if len(value) > MAX_FIELD_TEXT:
            raise ValidationFailed(f"fields.{name} is longer than {MAX_FIELD_TEXT} characters")
        return value.strip()
    if isinstance(value, list) and len(value) <= MAX_FIELD_ITEMS:
        return [_field_value(name, item) for item in value if not isinstance(item, list | dict)]
    if isinstance(value, dict) and value and set(value) <= LOCATION_KEYS:
        # A ticket template's location field: {"address"?, "lat"?, "lng"?}; the template checks it.
        flat = {key: item for key, item in value.items() if not isinstance(item, list | dict)}
        return {key: _field_value(name, item) for key, item in flat.items()}
    raise ValidationFailed(
        f"fields.{name} must be text, a number, true/false, a short list of them or a location"
    )


def check_form_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Form fields as a customer may send them: snake_case names (not the ones intake writes itself),
    scalar values or short lists of scalars."""
    clean = {}
    for name, value in fields.items():
        if not FIELD_NAME.match(name) or name in RESERVED_FIELDS:
            raise ValidationFailed(f"fields.{name} is not a field a form may set")
        clean[name] = _field_value(name, value)
    return clean


def check_contact(contact: Contact, rule: str) -> None:
    """The entry point's ``contact_required``: none, a phone, or a phone or an e-mail."""
    if rule == "phone" and not contact.phone:
        raise ValidationFailed("a phone number is required", field="contact.phone")
    if rule == "phone_or_email" and not (contact.phone or contact.email):
        raise ValidationFailed("a phone number or an e-mail address is required", field="contact")


def max_photos(config: Mapping[str, Any]) -> int:
    return int(config.get("max_photos", DEFAULT_MAX_PHOTOS))


def form_definition(
    *, public_key: str, name: str, config: Mapping[str, Any], max_photo_bytes: int
) -> dict[str, Any]:
    """What the H5 page renders: the entry point's name and texts, and the fields (title,
    description, contact, photos) until ticket templates supply their own."""
    contact_rule = str(config.get("contact_required", "none"))
    photos = max_photos(config)
    fields: list[dict[str, Any]] = [
        {"name": "description", "type": "textarea", "required": True, "max_length": MAX_DESCRIPTION_LENGTH},
        {"name": "title", "type": "text", "required": False, "max_length": MAX_TITLE_LENGTH},
        {"name": "contact.name", "type": "text", "required": False, "max_length": 100},
        {"name": "contact.phone", "type": "phone", "required": contact_rule == "phone", "max_length": 20},
        {"name": "contact.email", "type": "email", "required": False, "max_length": 200},
    ]
    if photos:
        fields.append(
            {
                "name": "photos",
                "type": "images",
                "required": False,
                "max_count": photos,
                "max_bytes": max_photo_bytes,
                "accept": sorted(PHOTO_TYPES),
            }
        )
    return {
        "public_key": public_key,
        "name": name,
        "title": config.get("form_title") or name,
        "intro": config.get("form_intro", ""),
        "contact_required": contact_rule,
        "max_photos": photos,
        "max_photo_bytes": max_photo_bytes,
        "fields": fields,
    }
