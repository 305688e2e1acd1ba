"""The shipped webhook presets: JSON files in ``presets/`` next to this module, read once.

Each file holds ``name``, ``label`` (zh-CN, en), ``description``, ``channel``, ``mapping`` (see
``channels.webhook.domain``) and an ``example`` event the mapping is tested against."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from huiliu.channels.webhook.domain import Preset, check_config, compile_mapping


@cache
def presets() -> dict[str, Preset]:
    """Every shipped preset by name (files are part of the package and never change at run time)."""
    found: dict[str, Preset] = {}
    folder = resources.files("huiliu.channels.webhook").joinpath("presets")
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".json"):
            continue
        data: dict[str, Any] = json.loads(entry.read_text(encoding="utf-8"))
        preset = Preset(
            name=data["name"],
            label=data["label"],
            description=data["description"],
            channel=data["channel"],
            mapping=data["mapping"],
            example=data["example"],
        )
        compile_mapping(preset.mapping)  # a broken shipped preset fails loudly at first use
        found[preset.name] = preset
    return found


def check_webhook_config(config: dict[str, Any]) -> dict[str, Any]:
    """The entry points service's check for webhook entry points (the API passes it in)."""
    return check_config(config, presets())
