"""The signed webhook's rules: signature and replay window, and the declarative JMESPath mapping
from a JSON event to the fields of an ``InboundMessage``. Pure.

Signature: ``X-Huiliu-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`` with
``X-Huiliu-Timestamp`` in Unix seconds, accepted within ±``tolerance`` seconds of the server clock.

Mapping (``config.mapping``, over ``config.preset``'s mapping when both are given)::

    {"accept": "event == 'im_receive_msg'",          # optional: falsy → the event is ignored (200)
     "decode_json": ["content"],                     # optional: string values holding JSON, decoded
     "external_id": "content.server_message_id",     # required
     "text": "content.text",                         # required
     "title": …, "sender_name": …, "received_at": …, "reply_to_external_id": …, "source": …,
     "identities": {"douyin_openid": "from_user_id"},  # identity kind → expression
     "metadata": {"device_sn": "device.sn"},           # name → expression
     "fields": {"order_no": "order.no"},              # name → expression
     "timezone": "Asia/Shanghai"}                     # optional: zone of times given without one
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from huiliu.core.errors import HuiliuError, NotAuthenticated, ValidationFailed
from huiliu.customers.domain import IDENTITY_KINDS

SIGNATURE_PREFIX = "sha256="
SCALAR_TARGETS = (
    "external_id",
    "text",
    "title",
    "sender_name",
    "received_at",
    "reply_to_external_id",
    "source",
)
MAP_TARGETS = ("identities", "metadata", "fields")
REQUIRED_TARGETS = ("external_id", "text")
MAX_EXPRESSION_LENGTH = 1000
MAX_MAP_ENTRIES = 50
MAX_DECODE_PATHS = 10
MAX_TEXT_LENGTH = 20_000
# Epoch numbers above this are milliseconds (year 2286 in seconds).
MILLISECONDS_FROM = 10**10


class BadSignature(NotAuthenticated):
    slug = "bad-signature"
    title = "The webhook signature is missing or wrong"


class StaleTimestamp(NotAuthenticated):
    slug = "stale-timestamp"
    title = "The webhook timestamp is outside the replay window"


class MalformedJson(HuiliuError):
    status = 400
    slug = "malformed-json"
    title = "The body is not valid JSON"


# --- signature -------------------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (what a sender computes)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(
    secret: str, *, timestamp: str | None, signature: str | None, body: bytes, now: float, tolerance: int
) -> None:
    """Accept a genuine, fresh request; BadSignature or StaleTimestamp otherwise. The signature is
    checked first (constant-time), so "stale" is only ever said of an authentic request."""
    if not timestamp or not signature:
        raise BadSignature("send X-Huiliu-Timestamp and X-Huiliu-Signature")
    timestamp = timestamp.strip()
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise BadSignature("X-Huiliu-Timestamp must be Unix time in seconds")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise BadSignature("the signature does not match the body")
    if abs(now - int(timestamp)) > tolerance:
        raise StaleTimestamp(f"the timestamp is more than {tolerance} s away from the server's clock")


# --- mapping ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledMapping:
    accept: ParsedResult | None
    decode_json: tuple[tuple[str, ...], ...]
    scalars: Mapping[str, ParsedResult]
    maps: Mapping[str, Mapping[str, ParsedResult]]
    timezone: tzinfo = UTC


@dataclass(frozen=True)
class Mapped:
    """What a mapping took from one event (the channel turns it into an InboundMessage)."""

    external_id: str
    text: str
    title: str | None = None
    sender_name: str | None = None
    received_at: datetime | None = None
    reply_to_external_id: str | None = None
    source: str | None = None
    identities: tuple[tuple[str, str], ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


def merge_mappings(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A custom mapping over a preset's: scalar targets replace, map targets merge by key (a key set
    to null removes the preset's entry)."""
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        if key in MAP_TARGETS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            inner = merged[key]
            for name, expression in value.items():
                if expression is None:
                    inner.pop(name, None)
                else:
                    inner[name] = expression
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _compile(where: str, expression: Any) -> ParsedResult:
    if not isinstance(expression, str) or not expression.strip():
        raise ValidationFailed(f"mapping.{where} must be a JMESPath expression (a string)")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ValidationFailed(f"mapping.{where} is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise ValidationFailed(f"mapping.{where} is not valid JMESPath: {exc}") from exc


def compile_mapping(mapping: Mapping[str, Any]) -> CompiledMapping:
    """Check a (merged) mapping and compile its expressions; ValidationFailed names what is wrong."""
    known = {"accept", "decode_json", "timezone", *SCALAR_TARGETS, *MAP_TARGETS}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ValidationFailed(f"mapping has unknown keys: {', '.join(unknown)}")
    missing = [target for target in REQUIRED_TARGETS if not mapping.get(target)]
    if missing:
        raise ValidationFailed(f"mapping needs {' and '.join(missing)}")
    decode = mapping.get("decode_json", [])
    if not isinstance(decode, list) or len(decode) > MAX_DECODE_PATHS:
        raise ValidationFailed(f"mapping.decode_json is a list of at most {MAX_DECODE_PATHS} paths")
    paths = []
    for path in decode:
        if not isinstance(path, str) or not all(part.strip() for part in path.split(".")):
            raise ValidationFailed("mapping.decode_json holds dotted paths such as content or data.body")
        paths.append(tuple(path.split(".")))
    maps: dict[str, dict[str, ParsedResult]] = {}
    for target in MAP_TARGETS:
        entries = mapping.get(target, {})
        if not isinstance(entries, dict) or len(entries) > MAX_MAP_ENTRIES:
            raise ValidationFailed(f"mapping.{target} is an object of at most {MAX_MAP_ENTRIES} entries")
        if target == "identities":
            strange = sorted(set(entries) - IDENTITY_KINDS)
            if strange:
                raise ValidationFailed(
                    f"mapping.identities has unknown identity kinds: {', '.join(strange)} "
                    f"(known: {', '.join(sorted(IDENTITY_KINDS))})"
                )
        maps[target] = {name: _compile(f"{target}.{name}", expr) for name, expr in entries.items()}
    return CompiledMapping(
        timezone=_zone(mapping.get("timezone")),
        accept=_compile("accept", mapping["accept"]) if mapping.get("accept") else None,
        decode_json=tuple(paths),
        scalars={t: _compile(t, mapping[t]) for t in SCALAR_TARGETS if mapping.get(t)},
        maps=maps,
    )


def _decode_json(payload: Any, path: tuple[str, ...]) -> None:
    """Replace the string at ``path`` by the JSON it holds (platforms that nest JSON in strings).
    A missing path or a value that is not a JSON string is left alone."""
    node = payload
    for part in path[:-1]:
        if not isinstance(node, dict):
            return
        node = node.get(part)
    if not isinstance(node, dict):
        return
    value = node.get(path[-1])
    if isinstance(value, str):
        try:
            node[path[-1]] = json.loads(value)
        except ValueError:
            return


def _search(where: str, expression: ParsedResult, payload: Any) -> Any:
    try:
        return expression.search(payload)
    except JMESPathError as exc:
        raise ValidationFailed(f"mapping.{where} failed on this event: {exc}") from exc


def _text(where: str, value: Any, *, max_length: int = MAX_TEXT_LENGTH) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationFailed(f"mapping.{where} gave a boolean, not text")
    if isinstance(value, int | float):
        value = format(value, "g") if isinstance(value, float) else str(value)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = "\n".join(item for item in value if item)
    if not isinstance(value, str):
        raise ValidationFailed(f"mapping.{where} gave {type(value).__name__}, not text")
    value = value.strip()
    if len(value) > max_length:
        raise ValidationFailed(f"mapping.{where} gave more than {max_length} characters")
    return value or None


def _zone(name: Any) -> tzinfo:
    if name is None:
        return UTC
    if not isinstance(name, str):
        raise ValidationFailed("mapping.timezone must be a zone name such as Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"mapping.timezone {name!r} is not a known time zone") from exc


def parse_time(value: Any, zone: tzinfo = UTC) -> datetime | None:
    """Epoch seconds or milliseconds (number or digit string), or ISO 8601 (a time without a zone
    is taken in ``zone``). ValidationFailed for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value <= 0:
            raise ValidationFailed("mapping.received_at gave an impossible time")
        seconds = value / 1000 if value >= MILLISECONDS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValidationFailed("mapping.received_at gave an impossible time") from exc
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationFailed(f"mapping.received_at gave {value!r}, not a time") from exc
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
    raise ValidationFailed("mapping.received_at gave neither a number nor a time string")


def _identity_values(kind: str, value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    found = []
    for item in values:
        text = _text(f"identities.{kind}", item, max_length=320)
        if text:
            found.append(text)
    return found


def accepts(compiled: CompiledMapping, payload: Any) -> bool:
    """Whether the event is one to take (no ``accept`` expression: every event)."""
    return compiled.accept is None or bool(_search("accept", compiled.accept, payload))


def prepare(compiled: CompiledMapping, payload: Any) -> Any:
    """The payload with the ``decode_json`` paths decoded (a copy; the input is left as it was)."""
    if not compiled.decode_json:
        return payload
    payload = copy.deepcopy(payload)
    for path in compiled.decode_json:
        _decode_json(payload, path)
    return payload


def apply_mapping(compiled: CompiledMapping, payload: Any) -> Mapped:
    """Take the message out of one (prepared) event. ValidationFailed when it yields no external id
    or no text, or a value of the wrong shape."""
    values = {target: _search(target, expr, payload) for target, expr in compiled.scalars.items()}
    external_id = _text("external_id", values.get("external_id"), max_length=255)
    text = _text("text", values.get("text"))
    if not external_id:
        raise ValidationFailed("the mapping found no external_id in this event")
    if not text:
        raise ValidationFailed("the mapping found no text in this event")
    identities: list[tuple[str, str]] = []
    for kind, expr in compiled.maps["identities"].items():
        identities.extend((kind, value) for value in _identity_values(kind, _search(kind, expr, payload)))
    metadata = {
        name: _search(f"metadata.{name}", expr, payload) for name, expr in compiled.maps["metadata"].items()
    }
    fields = {
        name: _search(f"fields.{name}", expr, payload) for name, expr in compiled.maps["fields"].items()
    }
    return Mapped(
        external_id=external_id,
        text=text,
        title=_text("title", values.get("title"), max_length=300),
        sender_name=_text("sender_name", values.get("sender_name"), max_length=200),
        received_at=parse_time(values.get("received_at"), compiled.timezone),
        reply_to_external_id=_text(
            "reply_to_external_id", values.get("reply_to_external_id"), max_length=255
        ),
        source=_text("source", values.get("source"), max_length=64),
        identities=tuple(dict.fromkeys(identities)),
        metadata={k: v for k, v in metadata.items() if v is not None},
        fields={k: v for k, v in fields.items() if v is not None},
    )


# --- entry point config --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A shipped mapping for a common sender (a data file in ``channels/webhook/presets/``)."""

    name: str
    label: Mapping[str, str]
    description: str
    channel: str
    mapping: Mapping[str, Any]
    example: Mapping[str, Any]


def effective_mapping(config: Mapping[str, Any], presets: Mapping[str, Preset]) -> dict[str, Any]:
    """The mapping an entry point uses: its preset's, with its own ``mapping`` over it."""
    base: Mapping[str, Any] = {}
    preset_name = config.get("preset")
    if preset_name is not None:
        preset = presets.get(str(preset_name))
        if preset is None:
            raise ValidationFailed(
                f"config.preset {preset_name!r} does not exist (one of {', '.join(sorted(presets))})"
            )
        base = preset.mapping
    return merge_mappings(base, config.get("mapping") or {})


def check_config(config: dict[str, Any], presets: Mapping[str, Preset]) -> dict[str, Any]:
    """A webhook entry point's config after the common checks: the preset exists, the mapping
    compiles and yields at least an external id and a text; the channel defaults to the preset's."""
    compile_mapping(effective_mapping(config, presets))
    preset_name = config.get("preset")
    if preset_name is not None and "channel" not in config:
        config = {**config, "channel": presets[str(preset_name)].channel}
    return config
