"""Pure rules of entry points: config validation per kind, PATCH merging, secrets, URLs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from huiliu.core.errors import ValidationFailed
from huiliu.entry_points import domain


def test_common_defaults_are_normalised() -> None:
    team = uuid.uuid4()
    config = domain.validate_config(
        "h5_form",
        {
            "default_team_id": str(team).upper(),
            "default_priority": "urgent",
            "default_tags": [" 售后 ", "售后", "门店"],
            "default_category": "  维修 ",
            "thread_window_hours": 12,
            "fold_window_minutes": 0,
            "source_labels": [{"code": "store-12", "name": "12号店", "kind": "store"}, {"code": "live.0611"}],
            "form_title": "报修",
            "contact_required": "phone_or_email",
            "max_photos": 0,
            "default_template_id": None,
        },
    )
    assert config["default_team_id"] == str(team)
    assert config["default_tags"] == ["售后", "门店"]
    assert config["default_category"] == "维修"
    assert config["source_labels"][1] == {"code": "live.0611", "name": "live.0611", "kind": "other"}
    assert "default_template_id" not in config


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("h5_form", {"nope": 1}),
        ("h5_form", {"default_priority": "p1"}),
        ("h5_form", {"default_tags": "售后"}),
        ("h5_form", {"default_tags": ["x" * 65]}),
        ("h5_form", {"thread_window_hours": True}),
        ("h5_form", {"thread_window_hours": 24 * 31}),
        ("h5_form", {"fold_window_minutes": "10"}),
        ("h5_form", {"max_photos": 1.5}),
        ("h5_form", {"contact_required": "always"}),
        ("h5_form", {"source_labels": {"store-12": "12号店"}}),
        ("h5_form", {"source_labels": [{"code": "-lead"}]}),
        ("h5_form", {"source_labels": [{"code": "a", "kind": "billboard"}]}),
        ("h5_form", {"source_labels": [{"code": "a", "extra": 1}]}),
        ("h5_form", {"secret": "s" * 20}),
        ("webhook", {}),
        ("webhook", {"secret": "s" * 20}),
        ("webhook", {"secret": " " + "s" * 20, "preset": "iot_alarm"}),
        ("webhook", {"secret": "s" * 300, "preset": "iot_alarm"}),
        ("webhook", {"preset": "Iot Alarm"}),
        ("webhook", {"mapping": ["text"]}),
        ("api", {"channel": "A"}),
        ("api", {"form_title": "x"}),
        ("wechat_mp", {"corp_id": "ww1"}),  # a WeCom key on an Official Account
        ("douyin_live", {}),
    ],
)
def test_invalid_config_is_refused(kind: str, config: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        domain.validate_config(kind, config)


def test_merge_config_replaces_removes_and_keeps() -> None:
    current = {"secret": "s" * 20, "preset": "iot_alarm", "default_priority": "high"}
    merged = domain.merge_config(current, {"default_priority": None, "default_tags": ["告警"]})
    assert merged == {"secret": "s" * 20, "preset": "iot_alarm", "default_tags": ["告警"]}
    assert current["default_priority"] == "high"


def test_channel_follows_config_then_kind() -> None:
    assert domain.channel_for("h5_form", {}) == "h5_form"
    assert domain.channel_for("webhook", {"channel": "douyin"}) == "douyin"
    assert domain.channel_for("api", {}) == "api"


def test_secrets_are_masked_and_keys_unguessable() -> None:
    assert domain.public_config({"secret": "abcdefgh", "preset": "x"}) == {"preset": "x"}
    assert domain.secret_hint("abcdefgh12345678") == "…5678"
    keys = {domain.new_public_key() for _ in range(100)}
    assert len(keys) == 100 and all(len(key) == 16 for key in keys)
    assert len(domain.new_secret()) >= 43


def test_urls() -> None:
    entry_point_id = uuid.uuid4()
    assert domain.form_url("https://kf.example.com/", "Ab_9") == "https://kf.example.com/h5/f/Ab_9"
    assert (
        domain.form_url("https://kf.example.com", "k", "store-12")
        == "https://kf.example.com/h5/f/k?src=store-12"
    )
    assert domain.hook_url("http://h", entry_point_id) == f"http://h/hooks/{entry_point_id}"
    assert (
        domain.qr_url("http://h/", entry_point_id) == f"http://h/api/v1/entry-points/{entry_point_id}/qr.png"
    )


def test_source_label_lookup() -> None:
    config = {"source_labels": [{"code": "store-12", "name": "12号店", "kind": "store"}]}
    assert domain.source_label(config, "store-12") == "12号店"
    assert domain.source_label(config, "store-13") is None
    assert domain.source_label(config, None) is None
