"""Field values against a template, server side and pure: every field type's rules, conditional
visibility and required-ness, per-channel and per-role rules, schema checks, and properties that
hold for any input (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiliu.ticket_templates.domain import (
    SchemaInvalid,
    evaluate,
    load_schema,
    parse_condition,
    validate_values,
)
from huiliu.ticket_templates.presets import PRESETS

CASCADE = [
    {
        "value": "gd",
        "label": "广东",
        "children": [{"value": "sz", "label": "深圳"}, {"value": "gz", "label": "广州"}],
    },
    {"value": "sh", "label": "上海", "children": [{"value": "pd", "label": "浦东"}]},
]
UUID = "0195f0c8-8a4e-7c2b-9d55-0b7f5d0c9a11"


def field(kind: str, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"key": "f", "type": kind, "label": {"zh-CN": "字段", "en": "Field"}}
    if kind in {"select", "multi_select"}:
        spec["options"] = [{"value": "a"}, {"value": "b"}, {"value": "c"}]
    if kind == "cascade":
        spec["options"] = CASCADE
    spec.update(extra)
    return spec


def check(spec: dict[str, Any], value: Any, **options: Any) -> tuple[Any, str | None]:
    schema = load_schema([spec])
    result = validate_values(schema, {"f": value}, channel=options.get("channel"), role=options.get("role"))
    return result.values.get("f"), result.errors[0].code if result.errors else None


VALID: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("text", {}, "  你好 ", "你好"),
    ("text", {"validation": {"pattern": "^[A-Z]{2}[0-9]{3}$"}}, "AB123", "AB123"),
    ("textarea", {"validation": {"min_length": 2}}, "多行\n文本", "多行\n文本"),
    ("number", {"validation": {"min": 0, "max": 10}}, 7, 7),
    ("number", {}, "2.5", 2.5),
    ("money", {}, "12.5", "12.50"),
    ("money", {}, 3, "3.00"),
    ("money", {"validation": {"min": 0}}, "0.10", "0.10"),
    ("select", {}, "b", "b"),
    ("multi_select", {"validation": {"max": 2}}, ["a", "c"], ["a", "c"]),
    ("cascade", {}, ["gd", "sz"], ["gd", "sz"]),
    ("date", {"validation": {"min": "2026-01-01"}}, "2026-12-24", "2026-12-24"),
    ("datetime", {}, "2026-12-24T18:30:00+08:00", "2026-12-24T10:30:00Z"),
    ("datetime", {}, "2026-12-24T18:30", "2026-12-24T10:30:00Z"),  # no offset: Beijing time
    ("phone", {}, "+86 138-0013-8000", "13800138000"),
    ("phone", {}, "021-62345678", "021-62345678"),
    ("phone", {}, "0755 8765432-12", "0755-8765432-12"),
    ("phone", {}, "400-820-8820", "400-820-8820"),
    ("email", {}, "Li.Lei@Example.COM", "Li.Lei@example.com"),
    ("image", {}, [UUID], [UUID]),
    ("file", {}, UUID, [UUID]),
    ("signature", {}, UUID, UUID),
    (
        "location",
        {},
        {"lat": 31.23, "lng": 121.47, "address": "人民广场"},
        {"lat": 31.23, "lng": 121.47, "address": "人民广场"},
    ),
    ("location", {}, {"address": " 南京西路 1 号 "}, {"address": "南京西路 1 号"}),
    ("customer_ref", {}, UUID.upper(), UUID),
    ("order_ref", {}, "SO-2026-0001", "SO-2026-0001"),
]

INVALID: list[tuple[str, dict[str, Any], Any, str]] = [
    ("text", {}, 12, "type"),
    ("text", {"validation": {"max_length": 3}}, "四个字符", "max_length"),
    ("text", {"validation": {"pattern": "^[A-Z]{2}[0-9]{3}$"}}, "ab123", "pattern"),
    ("textarea", {"validation": {"min_length": 5}}, "短", "min_length"),
    ("number", {"validation": {"max": 10}}, 11, "max"),
    ("number", {}, True, "type"),
    ("number", {}, "NaN", "type"),
    ("money", {}, "1.005", "money"),
    ("money", {"validation": {"min": 0}}, "-1", "min"),
    ("money", {}, "一百", "type"),
    ("select", {}, "z", "option"),
    ("multi_select", {}, ["a", "a"], "duplicate"),
    ("multi_select", {"validation": {"max": 1}}, ["a", "b"], "max"),
    ("multi_select", {}, ["z"], "option"),
    ("cascade", {}, ["gd"], "incomplete"),
    ("cascade", {}, ["gd", "pd"], "option"),
    ("date", {}, "2026-02-30", "date"),
    ("date", {}, "24/12/2026", "date"),
    ("date", {"validation": {"max": "2026-06-30"}}, "2026-07-01", "max"),
    ("datetime", {}, "tomorrow", "datetime"),
    ("phone", {}, "12345", "phone"),
    ("phone", {}, "1380013800", "phone"),
    ("email", {}, "not-an-email", "email"),
    ("image", {}, ["nope"], "reference"),
    ("image", {"validation": {"max": 1}}, [UUID, UUID.replace("1", "2")], "max"),
    ("signature", {}, ["x"], "reference"),
    ("location", {}, {"lat": 91, "lng": 0}, "location"),
    ("location", {}, {"lat": 31.2}, "location"),
    ("location", {}, {"address": "  "}, "location"),
    ("location", {}, "上海", "location"),
    ("customer_ref", {}, "abc", "reference"),
    ("order_ref", {}, "订单 1", "order"),
]


@pytest.mark.parametrize(("kind", "extra", "value", "expected"), VALID)
def test_valid_values_are_normalised(kind, extra, value, expected):
    assert check(field(kind, **extra), value) == (expected, None)


@pytest.mark.parametrize(("kind", "extra", "value", "code"), INVALID)
def test_invalid_values_are_refused_with_a_code(kind, extra, value, code):
    assert check(field(kind, **extra), value) == (None, code)


@pytest.mark.parametrize("kind", sorted({row[0] for row in VALID}))
def test_every_type_required_and_empty_is_an_error_optional_is_dropped(kind):
    assert check(field(kind, required=True), None) == (None, "required")
    assert check(field(kind), "") == (None, None)


def cake_schema() -> Any:
    return load_schema(
        [
            field("select", key="slot", options=[{"value": "morning"}, {"value": "pickup"}], required=True),
            field(
                "text",
                key="address",
                visible_when={"all": [{"field": "slot", "op": "ne", "value": "pickup"}]},
                required_when={"all": [{"field": "slot", "op": "eq", "value": "morning"}]},
            ),
            field(
                "text",
                key="floor",
                visible_when={"all": [{"field": "address", "op": "not_empty"}]},
            ),
            field("number", key="guests"),
            field(
                "text", key="vip_note", required_when={"any": [{"field": "guests", "op": "gte", "value": 20}]}
            ),
        ]
    )


def test_hidden_fields_are_not_required_and_their_values_are_dropped():
    schema = cake_schema()
    result = validate_values(
        schema, {"slot": "pickup", "address": "x", "floor": "3"}, channel=None, role=None
    )
    assert result.ok and result.values == {"slot": "pickup"}
    assert result.visible == ["slot", "guests", "vip_note"]


def test_required_when_follows_earlier_values():
    schema = cake_schema()
    missing = validate_values(schema, {"slot": "morning", "guests": 25}, channel=None, role=None)
    assert sorted(e.field for e in missing.errors) == ["address", "vip_note"]
    assert missing.errors[0].zh.endswith("必填") and missing.errors[0].en.endswith("is required")
    fine = validate_values(
        schema, {"slot": "morning", "address": "路 1 号", "guests": 5}, channel=None, role=None
    )
    assert fine.ok and fine.visible == ["slot", "address", "floor", "guests", "vip_note"]


def test_channel_visibility_and_role_rules():
    schema = load_schema(
        [
            field("text", key="model", channels=["h5_form"], required=True),
            field("text", key="internal", channels=["console"], required=True),
            field("money", key="cost", roles={"agent": "read_only"}),
            field("text", key="secret", roles={"viewer": "hidden"}, default="s"),
        ]
    )
    h5 = validate_values(schema, {"model": "P100"}, channel="h5_form", role=None)
    assert h5.ok and h5.values == {"model": "P100", "secret": "s"}
    # A field the channel does not ask takes nothing from it and is not required there.
    not_asked = validate_values(schema, {"model": "P100", "internal": "x"}, channel="h5_form", role=None)
    assert not_asked.ok and "internal" not in not_asked.values
    agent = validate_values(
        schema, {"cost": "5"}, channel=None, role="agent", current={"model": "m", "internal": "i"}
    )
    assert [e.code for e in agent.errors] == ["read_only"]
    viewer = validate_values(
        schema,
        {"secret": "changed"},
        channel=None,
        role="viewer",
        current={"model": "m", "internal": "i", "secret": "s"},
    )
    assert [e.code for e in viewer.errors] == ["hidden"]
    kept = validate_values(
        schema, {}, channel=None, role="viewer", current={"model": "m", "internal": "i", "secret": "s"}
    )
    assert kept.ok and kept.values["secret"] == "s"


def test_unknown_keys_are_errors():
    result = validate_values(cake_schema(), {"slot": "pickup", "ghost": 1}, channel=None, role=None)
    assert [(e.field, e.code) for e in result.errors] == [("ghost", "unknown")]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ([field("text"), field("text")], "fields[1].key"),
        (
            [
                field("text", key="a", visible_when={"all": [{"field": "b", "op": "eq", "value": 1}]}),
                field("text", key="b"),
            ],
            "fields[0].visible_when",
        ),
        (
            [field("text", key="a", required_when={"all": [{"field": "a", "op": "empty"}]})],
            "fields[0].required_when",
        ),
        ([field("select", default="zz")], "fields[0].default"),
        ([field("select", options=[{"value": "a"}, {"value": "a"}])], "fields[0].options[1].value"),
        ([field("select", options=[])], "fields[0].options"),
        ([field("text", validation={"pattern": "(?P<x"})], "fields[0].validation.pattern"),
        ([field("text", validation={"min_length": 5, "max_length": 2})], "fields[0].validation.min_length"),
        ([field("number", validation={"pattern": "x"})], "fields[0].validation.pattern"),
        ([field("text", roles={"agent": "admin"})], "fields[0].roles.agent"),
        ([field("text", key="source")], "fields[0].key"),
        ([field("text", label="")], "fields[0].label"),
        ([field("image", default=[UUID])], "fields[0].default"),
        (
            [field("select", options=[{"value": "a", "children": [{"value": "b"}]}])],
            "fields[0].options[0].children",
        ),
        ([{**field("text"), "colour": "red"}], "fields[0].colour"),
    ],
)
def test_schema_problems_name_their_path(fields, path):
    with pytest.raises(SchemaInvalid) as raised:
        load_schema(fields)
    assert path in [p for p, _ in raised.value.problems]


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_is_a_valid_schema(key):
    schema = load_schema(PRESETS[key]["fields"])
    assert len(schema.fields) >= 5


def test_conditions_compare_numbers_lists_and_emptiness():
    values = {"n": "12.50", "tags": ["a", "b"], "empty": ""}
    assert evaluate(parse_condition({"all": [{"field": "n", "op": "gt", "value": 12}]}), values)
    assert evaluate(parse_condition({"all": [{"field": "tags", "op": "contains", "value": "b"}]}), values)
    assert evaluate(
        parse_condition({"any": [{"field": "empty", "op": "empty"}, {"field": "n", "op": "lt", "value": 0}]}),
        values,
    )
    assert not evaluate(parse_condition({"all": [{"field": "missing", "op": "in", "value": ["x"]}]}), values)
    assert evaluate(
        parse_condition(
            {
                "all": [
                    {"any": [{"field": "n", "op": "eq", "value": 12.5}]},
                    {"field": "tags", "op": "not_in", "value": ["z"]},
                ]
            }
        ),
        values,
    )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
ALL_TYPES = sorted({row[0] for row in VALID})


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(ALL_TYPES), value=JSON_VALUES)
def test_any_input_gives_a_clean_value_or_a_field_error_never_a_crash(kind, value):
    schema = load_schema([field(kind)])
    result = validate_values(schema, {"f": value}, channel=None, role=None)
    assert ("f" in result.values) != bool(result.errors) or value in (None, "", [], {})
    if "f" in result.values:
        # Normalised values are stable: checking them again changes nothing.
        again = validate_values(schema, {"f": result.values["f"]}, channel=None, role=None)
        assert again.ok and again.values == result.values


@settings(max_examples=200, deadline=None)
@given(
    slot=st.sampled_from(["morning", "pickup", None]),
    address=st.none() | st.text(max_size=10),
    guests=st.none() | st.integers(0, 50),
)
def test_a_hidden_field_never_keeps_a_value_and_never_errs(slot, address, guests):
    values = {
        key: value
        for key, value in {"slot": slot, "address": address, "guests": guests}.items()
        if value is not None
    }
    result = validate_values(cake_schema(), values, channel=None, role=None)
    if slot == "pickup":
        assert "address" not in result.values and "floor" not in result.values
        assert all(error.field not in {"address", "floor"} for error in result.errors)
    assert set(result.values) <= set(result.visible)
