"""A template's own settings: key, scenario, life cycle and the ticket defaults it applies. Pure.

Life cycle: ``draft`` (never published) → ``published`` (its latest version serves new tickets;
the editable draft may differ from it until the next publish) → ``archived`` (no new tickets; tickets
made from it keep their version). Versions are immutable snapshots made by publishing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from huiliu.core.errors import ValidationFailed
from huiliu.tickets.domain import Priority, normalize_tags

# 售前 / 售中 / 售后 / 投诉 / custom
SCENARIOS: tuple[str, ...] = ("presales", "sales", "aftersales", "complaint", "custom")
STATUSES: tuple[str, ...] = ("draft", "published", "archived")
TEMPLATE_KEY = re.compile(r"^[a-z][a-z0-9_\-]{1,63}$")
MAX_CATEGORY = 100


def check_key(key: str) -> str:
    if not TEMPLATE_KEY.match(key):
        raise ValidationFailed("key is 2-64 lower-case letters, digits, '_' or '-', starting with a letter")
    return key


def ticket_scenario(scenario: str) -> str | None:
    """The ticket's scenario a template implies (a custom scenario sets none)."""
    return None if scenario == "custom" else scenario


@dataclass(frozen=True)
class TemplateDefaults:
    """What a ticket made from the template gets when its request does not say."""

    priority: str | None = None
    team_id: uuid.UUID | None = None
    tags: tuple[str, ...] = ()
    category: str | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TemplateDefaults:
        team = raw.get("team_id")
        return cls(
            priority=raw.get("priority"),
            team_id=uuid.UUID(str(team)) if team else None,
            tags=tuple(raw.get("tags") or ()),
            category=raw.get("category"),
        )


def check_defaults(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults normalised for storage; ValidationFailed names the bad one."""
    unknown = set(raw) - {"priority", "team_id", "tags", "category"}
    if unknown:
        raise ValidationFailed(f"defaults.{sorted(unknown)[0]} is not a template default")
    clean: dict[str, Any] = {}
    if raw.get("priority") is not None:
        try:
            clean["priority"] = Priority(raw["priority"]).value
        except ValueError as exc:
            raise ValidationFailed("defaults.priority is urgent, high, normal or low") from exc
    if raw.get("team_id") is not None:
        try:
            clean["team_id"] = str(uuid.UUID(str(raw["team_id"])))
        except ValueError as exc:
            raise ValidationFailed("defaults.team_id must be a UUID") from exc
    tags = raw.get("tags")
    if tags:
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ValidationFailed("defaults.tags is a list of tags")
        clean["tags"] = normalize_tags(tags)
    category = raw.get("category")
    if category is not None:
        if not isinstance(category, str) or len(category.strip()) > MAX_CATEGORY:
            raise ValidationFailed(f"defaults.category is text of at most {MAX_CATEGORY} characters")
        if category.strip():
            clean["category"] = category.strip()
    return clean
