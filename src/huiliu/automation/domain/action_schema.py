"""Reading actions from JSON: every problem reported with its path, then compiled into the specs
of :mod:`.actions`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from huiliu.automation.domain.actions import (
    ActionSpec,
    AddInternalNoteSpec,
    AddTagSpec,
    AssignSpec,
    CallWebhookSpec,
    CreateSubtaskSpec,
    EscalateSpec,
    NotifySpec,
    RemoveTagSpec,
    SendReplyTemplateSpec,
    SetFieldSpec,
)
from huiliu.automation.domain.facts import FieldType, field_spec
from huiliu.automation.domain.problems import Loc, Problems, check_keys, read_bool, read_refs, read_text
from huiliu.automation.domain.text import Template, TemplateError, compile_template
from huiliu.tickets.domain import MAX_TAG_LENGTH

SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
NOTIFY_CHANNELS: tuple[str, ...] = (
    "in_app",
    "email",
    "sms",
    "wecom",
    "wecom_app",
    "dingtalk",
    "feishu",
    "wechat",
)
MAX_URL_CHARS = 2048
MAX_PAYLOAD_BYTES = 16_384
MAX_PAYLOAD_DEPTH = 6
MAX_REF_CHARS = 100
# Column sizes of the ticket row the values land in.
_SET_FIELD_LIMITS = {"category": 100, "scenario": 32}
MAX_CUSTOM_VALUE_CHARS = 1000


def _template(
    data: Mapping[str, Any], key: str, loc: Loc, problems: Problems, *, required: bool
) -> Template | None:
    source = read_text(data, key, loc, problems, max_length=5000, required=required)
    if source is None:
        return None if required else compile_template("")
    try:
        return compile_template(source)
    except TemplateError as exc:
        problems.add((*loc, key), str(exc), "invalid_template")
        return None


def _ref(data: Mapping[str, Any], key: str, loc: Loc, problems: Problems, *, required: bool) -> str | None:
    return read_text(data, key, loc, problems, max_length=MAX_REF_CHARS, required=required)


def _set_field(data: Mapping[str, Any], loc: Loc, problems: Problems) -> ActionSpec | None:
    if not check_keys(data, loc, problems, allowed={"type", "field", "value"}, required={"field", "value"}):
        return None
    path = data["field"]
    spec = field_spec(path) if isinstance(path, str) else None
    if spec is None or not spec.settable:
        problems.add(
            (*loc, "field"),
            f"set_field changes priority, category, scenario or fields.<key>, not {path!r}",
            "unknown_field",
        )
        return None
    value = data["value"]
    message = ""
    if spec.type is FieldType.ENUM:
        if value not in spec.choices:
            message = f"must be one of {', '.join(spec.choices)}"
    elif spec.type is FieldType.STRING:
        limit = _SET_FIELD_LIMITS[path]
        if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > limit):
            message = f"must be a non-blank string of at most {limit} characters, or null to clear it"
        value = value.strip() if isinstance(value, str) else value
    else:
        message = _custom_value_problem(value)
    if message:
        problems.add((*loc, "value"), message, "invalid_value")
        return None
    return SetFieldSpec({"field": path, "value": value})


def _custom_value_problem(value: Any) -> str:
    scalars = (str, int, float, bool)
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and len(value) > 100:
        return "a list value has at most 100 items"
    for item in items:
        if item is None and not isinstance(value, list):
            continue
        if not isinstance(item, scalars) or (isinstance(item, float) and item != item):
            return "must be a string, number, boolean, null or a list of those"
        if isinstance(item, str) and len(item) > MAX_CUSTOM_VALUE_CHARS:
            return f"strings have at most {MAX_CUSTOM_VALUE_CHARS} characters"
    return ""


def _tag(data: Mapping[str, Any], loc: Loc, problems: Problems, kind: str) -> ActionSpec | None:
    if not check_keys(data, loc, problems, allowed={"type", "tag"}, required={"tag"}):
        return None
    tag = read_text(data, "tag", loc, problems, max_length=MAX_TAG_LENGTH)
    if tag is None:
        return None
    return AddTagSpec({"tag": tag}) if kind == "add_tag" else RemoveTagSpec({"tag": tag})


def _assign(data: Mapping[str, Any], loc: Loc, problems: Problems) -> ActionSpec | None:
    keys = {"agent", "team", "routing_policy"}
    if not check_keys(data, loc, problems, allowed={"type"} | keys, required=set()):
        return None
    refs = {key: _ref(data, key, loc, problems, required=False) for key in sorted(keys)}
    given = {key: ref for key, ref in refs.items() if ref is not None}
    if not given:
        if not any(key in data for key in keys):
            problems.add(loc, "assign needs an agent, a team or a routing_policy", "missing")
        return None
    if "agent" in given and "routing_policy" in given:
        problems.add(loc, "assign to an agent or through a routing policy, not both", "conflict")
        return None
    return AssignSpec(given)


def _notify(data: Mapping[str, Any], loc: Loc, problems: Problems) -> ActionSpec | None:
    allowed = {"type", "users", "roles", "team_lead", "assignee", "channels", "severity", "message"}
    if not check_keys(data, loc, problems, allowed=allowed, required=set()):
        return None
    before = len(problems.items)
    users = read_refs(data, "users", loc, problems)
    roles = read_refs(data, "roles", loc, problems)
    team_lead = read_bool(data, "team_lead", loc, problems, default=False)
    assignee = read_bool(data, "assignee", loc, problems, default=False)
    channels = read_refs(data, "channels", loc, problems, max_items=len(NOTIFY_CHANNELS))
    for index, channel in enumerate(channels):
        if channel not in NOTIFY_CHANNELS:
            problems.add(
                (*loc, "channels", index),
                f"unknown channel: use {', '.join(NOTIFY_CHANNELS)}",
                "invalid_value",
            )
    severity = data.get("severity", "info")
    if severity not in SEVERITIES:
        problems.add((*loc, "severity"), f"must be one of {', '.join(SEVERITIES)}", "invalid_value")
    if not (users or roles or team_lead or assignee) and len(problems.items) == before:
        problems.add(loc, "notify needs a recipient: users, roles, team_lead or assignee", "missing")
    message = _template(data, "message", loc, problems, required=False)
    if message is not None and not message.source:
        message = compile_template("[{{rule.name}}] #{{ticket.number}} {{ticket.title}}")
    if len(problems.items) > before or message is None:
        return None
    definition = {
        "users": list(users),
        "roles": list(roles),
        "team_lead": team_lead,
        "assignee": assignee,
        "channels": list(channels),
        "severity": severity,
        "message": message.source,
    }
    return NotifySpec(definition, message)


def _subtask(data: Mapping[str, Any], loc: Loc, problems: Problems) -> ActionSpec | None:
    if not check_keys(
        data, loc, problems, allowed={"type", "title", "description", "team"}, required={"title"}
    ):
        return None
    before = len(problems.items)
    title = _template(data, "title", loc, problems, required=True)
    description = _template(data, "description", loc, problems, required=False)
    team = _ref(data, "team", loc, problems, required=False)
    if title is None or description is None or len(problems.items) > before:
        return None
    definition: dict[str, Any] = {"title": title.source, "description": description.source, "team": team}
    return CreateSubtaskSpec(definition, title, description)


def _escalate(data: Mapping[str, Any], loc: Loc, problems: Problems) -> ActionSpec | None:
    if not check_keys(
        data, loc, problems, allowed={"type", "raise_priority", "to_team_lead"}, required=set()
    ):
        return None
    raise_priority = read_bool(data, "raise_priority", loc, problems, default=True)
    to_team_lead = read_bool(data, "to_team_lead", loc, problems, default=True)
    if not (raise_priority or to_team_lead):
        problems.add(
            loc, "escalate raises the priority, hands over to the team lead, or both", "invalid_value"
        )
        return None
    return EscalateSpec({"raise_priority": raise_priority, "to_team_lead": to_team_lead})


def url_problem(url: str) -> str:
    """Why a webhook URL is refused, or ``""``: absolute http(s), a host, no credentials or spaces."""
    if len(url) > MAX_URL_CHARS:
        return f"at most {MAX_URL_CHARS} characters"
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "a URL has no spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "the URL must start with http:// or https://"
    if not host:
        return "the URL needs a host"
    if parts.username is not None or parts.password is not None:
        return "credentials do not belong in the URL"
    return ""


def _payload(value: Any, loc: Loc, problems: Problems, depth: int = 1) -> Any:
    """A JSON payload whose strings are templates."""
    if depth > MAX_PAYLOAD_DEPTH:
        problems.add(loc, f"the payload nests at most {MAX_PAYLOAD_DEPTH} levels", "too_deep")
        return None
    if isinstance(value, str):
        try:
            return compile_template(value)
        except TemplateError as exc:
            problems.add(loc, str(exc), "invalid_template")
            return None
    if isinstance(value, dict):
        return {key: _payload(item, (*loc, key), problems, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_payload(item, (*loc, index), problems, depth + 1) for index, item in enumerate(value)]
    if value is None or isinstance(value, bool | int | float):
        return value
    problems.add(loc, "payload values are JSON", "invalid_type")
    return None


def _webhook(data: Mapping[str, Any], loc: Loc, problems: Problems) -> ActionSpec | None:
    if not check_keys(data, loc, problems, allowed={"type", "url", "payload"}, required={"url"}):
        return None
    url = read_text(data, "url", loc, problems, max_length=MAX_URL_CHARS)
    if url is None:
        return None
    message = url_problem(url)
    if message:
        problems.add((*loc, "url"), message, "invalid_url")
        return None
    raw = data.get("payload")
    if raw is None:
        return CallWebhookSpec({"url": url, "payload": None}, None)
    if not isinstance(raw, dict):
        problems.add((*loc, "payload"), "the payload is a JSON object", "invalid_type")
        return None
    try:
        size = len(json.dumps(raw, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        size = MAX_PAYLOAD_BYTES + 1
    if size > MAX_PAYLOAD_BYTES:
        problems.add(
            (*loc, "payload"), f"the payload template has at most {MAX_PAYLOAD_BYTES} bytes", "too_long"
        )
        return None
    before = len(problems.items)
    payload = _payload(raw, (*loc, "payload"), problems)
    if len(problems.items) > before:
        return None
    return CallWebhookSpec({"url": url, "payload": raw}, payload)


ACTION_TYPES: tuple[str, ...] = (
    "set_field",
    "add_tag",
    "remove_tag",
    "assign",
    "add_internal_note",
    "send_reply_template",
    "notify",
    "create_subtask",
    "escalate",
    "call_webhook",
)


def compile_action(data: Any, loc: Loc, problems: Problems) -> ActionSpec | None:
    """Validate and compile one action definition ``{"type": ..., ...}``."""
    if not isinstance(data, Mapping):
        problems.add(loc, 'an action is an object with a "type"', "invalid_type")
        return None
    kind = data.get("type")
    if kind not in ACTION_TYPES:
        problems.add(
            (*loc, "type"), f"unknown action {kind!r}: use one of {', '.join(ACTION_TYPES)}", "unknown_action"
        )
        return None
    if kind == "set_field":
        return _set_field(data, loc, problems)
    if kind in ("add_tag", "remove_tag"):
        return _tag(data, loc, problems, kind)
    if kind == "assign":
        return _assign(data, loc, problems)
    if kind == "add_internal_note":
        if not check_keys(data, loc, problems, allowed={"type", "body"}, required={"body"}):
            return None
        body = _template(data, "body", loc, problems, required=True)
        return AddInternalNoteSpec({"body": body.source}, body) if body is not None else None
    if kind == "send_reply_template":
        if not check_keys(data, loc, problems, allowed={"type", "template"}, required={"template"}):
            return None
        template = _ref(data, "template", loc, problems, required=True)
        return SendReplyTemplateSpec({"template": template}) if template is not None else None
    if kind == "notify":
        return _notify(data, loc, problems)
    if kind == "create_subtask":
        return _subtask(data, loc, problems)
    if kind == "escalate":
        return _escalate(data, loc, problems)
    return _webhook(data, loc, problems)
