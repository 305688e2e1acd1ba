"""Identity rules: normalisation, strong and weak keys, and how one inbound set resolves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from huiliu.core.errors import ValidationFailed
from huiliu.customers.domain import (
    IdentityClaim,
    Owner,
    identity_claims,
    normalize_identity,
    plan_resolution,
    profile_fill,
    profile_unfill,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def owner(days: int) -> Owner:
    return Owner(uuid.uuid4(), T0 + timedelta(days=days))


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("phone", "+86 138-0013-8000", "13800138000"),
        ("phone", "0086 13800138000", "13800138000"),
        ("phone", "（010）6552 9988", "01065529988"),
        ("phone", "１３８００１３８０００", "13800138000"),
        ("email", " Li.Lei@Example.COM ", "li.lei@example.com"),
        ("email", "张三@例子.中国", "张三@例子.中国"),
        ("wechat_openid", "oAbC_123", "oAbC_123"),
        (
            "wechat_openid",
            "wx1234567890:o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
            "wx1234567890:o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        ),
        ("device_sn", " sn-2024-00017 ", "SN-2024-00017"),
        ("web_visitor", "v:7f3a", "v:7f3a"),
    ],
)
def test_identities_are_normalized(kind, raw, expected):
    assert normalize_identity(kind, raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("phone", "call me"),
        ("phone", "123"),
        ("email", "no-at-sign"),
        ("email", "a@b"),
        ("email", "two@@example.com"),
        ("wechat_unionid", "has spaces in it"),
        ("device_sn", "<script>"),
        ("fax", "123456"),
        ("wechat_openid", "   "),
    ],
)
def test_malformed_identities_are_refused(kind, raw):
    with pytest.raises(ValidationFailed):
        normalize_identity(kind, raw)


def test_claims_are_deduplicated_and_a_verified_repeat_wins():
    claims = identity_claims(
        [("phone", "+86 13800138000"), ("email", "A@x.cn"), ("phone", "13800138000", True)]
    )
    assert claims == [IdentityClaim("phone", "13800138000", True), IdentityClaim("email", "a@x.cn")]


def test_strength_of_keys():
    assert IdentityClaim("wechat_unionid", "u1").strong
    assert IdentityClaim("email", "a@x.cn").strong
    assert IdentityClaim("phone", "13800138000", verified=True).strong
    assert not IdentityClaim("phone", "13800138000").strong
    for kind in ("wechat_openid", "web_visitor", "device_sn", "douyin_openid", "wecom_external_userid"):
        assert not IdentityClaim(kind, "value-1", verified=True).strong


def test_no_match_creates_a_customer_with_every_claim():
    claims = identity_claims([("phone", "13800138000"), ("email", "a@x.cn")])
    plan = plan_resolution(claims, {})
    assert plan.target is None and plan.attach == tuple(claims) and not plan.merges


def test_two_customers_matched_by_strong_keys_merge_into_the_older():
    older, newer = owner(0), owner(5)
    claims = identity_claims(
        [("wechat_unionid", "oU_union_0001"), ("email", "a@x.cn"), ("wechat_openid", "oNEW_1")]
    )
    plan = plan_resolution(claims, {("email", "a@x.cn"): newer, ("wechat_unionid", "oU_union_0001"): older})
    assert plan.target == older.customer_id
    assert plan.merges == (newer.customer_id,)
    assert set(plan.merge_keys) == {("wechat_unionid", "oU_union_0001"), ("email", "a@x.cn")}
    assert plan.attach == (IdentityClaim("wechat_openid", "oNEW_1"),)


def test_an_unverified_phone_never_merges():
    phone_owner, email_owner = owner(0), owner(3)
    claims = identity_claims([("phone", "13800138000"), ("email", "a@x.cn")])
    plan = plan_resolution(claims, {("phone", "13800138000"): phone_owner, ("email", "a@x.cn"): email_owner})
    assert plan.target == email_owner.customer_id and not plan.merges
    assert plan.left_alone == (IdentityClaim("phone", "13800138000"),)


def test_a_verified_phone_merges_and_is_marked_verified():
    phone_owner, email_owner = owner(0), owner(3)
    claims = identity_claims([("phone", "13800138000", True), ("email", "a@x.cn")])
    plan = plan_resolution(claims, {("phone", "13800138000"): phone_owner, ("email", "a@x.cn"): email_owner})
    assert plan.target == phone_owner.customer_id and plan.merges == (email_owner.customer_id,)
    assert plan.verify == (IdentityClaim("phone", "13800138000", True),)


def test_weak_keys_attach_to_the_first_match_and_never_merge():
    first, second = owner(9), owner(1)
    claims = identity_claims([("wechat_openid", "oAPP1_x"), ("web_visitor", "v-1"), ("device_sn", "SN-1")])
    plan = plan_resolution(claims, {("wechat_openid", "oAPP1_x"): first, ("web_visitor", "v-1"): second})
    assert plan.target == first.customer_id and not plan.merges
    assert plan.attach == (IdentityClaim("device_sn", "SN-1"),)
    assert plan.left_alone == (IdentityClaim("web_visitor", "v-1"),)


def test_three_customers_chained_by_strong_keys_all_merge_into_the_oldest():
    a, b, c = owner(2), owner(0), owner(7)
    claims = identity_claims(
        [("wechat_unionid", "oU_union_0002"), ("email", "e@x.cn"), ("phone", "13900139000", True)]
    )
    plan = plan_resolution(
        claims, {("wechat_unionid", "oU_union_0002"): a, ("email", "e@x.cn"): b, ("phone", "13900139000"): c}
    )
    assert plan.target == b.customer_id and plan.merges == (a.customer_id, c.customer_id)


def test_a_strong_match_wins_over_an_earlier_weak_match():
    weak, strong = owner(0), owner(4)
    claims = identity_claims([("wechat_openid", "oX_1234"), ("wechat_unionid", "oU_union_0002")])
    plan = plan_resolution(
        claims, {("wechat_openid", "oX_1234"): weak, ("wechat_unionid", "oU_union_0002"): strong}
    )
    assert plan.target == strong.customer_id and not plan.merges


def test_profile_fill_takes_only_gaps_and_unfill_only_what_is_unchanged():
    fill = profile_fill("", "normal", {"城市": "深圳"}, "李雷", "vip", {"城市": "广州", "生日": "05-01"})
    assert fill.as_dict() == {"name": "李雷", "level": "vip", "attributes": {"生日": "05-01"}}
    name, level, attributes = profile_unfill("李雷", "vip", {"城市": "深圳", "生日": "06-01"}, fill.as_dict())
    assert (name, level, attributes) == ("", "normal", {"城市": "深圳", "生日": "06-01"})
    assert profile_fill("王", "svip", {}, "李", "vip", {}).as_dict() == {}
