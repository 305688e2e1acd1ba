"""Entity extraction on sentences written the way customers write them."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huiliu.intake.extraction import (
    AMOUNT,
    DEVICE_SN,
    EMAIL,
    LANDLINE,
    ORDER_NUMBER,
    PHONE,
    TRACKING_NUMBER,
    Entity,
    _normalize,
    extract_entities,
    order_numbers,
)

# (sentence, expected [(kind, normalized, qualifier)] in text order)
EXAMPLES: list[tuple[str, list[tuple[str, str, str | None]]]] = [
    # --- order numbers ---
    ("你好，我的订单号是3612345678901234567，一直没发货", [(ORDER_NUMBER, "3612345678901234567", None)]),
    ("淘宝订单号：236547891234567890 麻烦查一下", [(ORDER_NUMBER, "236547891234567890", "taobao")]),
    ("天猫的订单 2365478912345678901 退款什么时候到", [(ORDER_NUMBER, "2365478912345678901", "tmall")]),
    ("京东订单号 289123456789 的发票开一下", [(ORDER_NUMBER, "289123456789", "jd")]),
    ("抖音买的 订单号4938123456789012345 商品坏了", [(ORDER_NUMBER, "4938123456789012345", "douyin")]),
    ("拼多多订单231123-123456789012345收到是坏的", [(ORDER_NUMBER, "231123-123456789012345", "pinduoduo")]),
    ("231124-098765432109876 这单能退吗", [(ORDER_NUMBER, "231124-098765432109876", "pinduoduo")]),
    ("单号 SO20261123001 的货少了一件", [(ORDER_NUMBER, "SO20261123001", "erp")]),
    ("so-2026112300017 这个单子还没结算", [(ORDER_NUMBER, "SO-2026112300017", "erp")]),
    ("订单编号：AB-2026-0001234 请尽快处理", [(ORDER_NUMBER, "AB-2026-0001234", "erp")]),
    ("Order No. 123456789012345678 hasn't shipped", [(ORDER_NUMBER, "123456789012345678", "taobao")]),
    ("订单号：１２３４５６７８９０１２３４５６７８", [(ORDER_NUMBER, "123456789012345678", "taobao")]),
    ("123456789012345678是我的订单，帮忙催一下", [(ORDER_NUMBER, "123456789012345678", "taobao")]),
    (
        "订单号 123456789012345678、123456789012345679 和 123456789012345680 都没到",
        [
            (ORDER_NUMBER, "123456789012345678", "taobao"),
            (ORDER_NUMBER, "123456789012345679", "taobao"),
            (ORDER_NUMBER, "123456789012345680", "taobao"),
        ],
    ),
    # An order context right before an 11-digit number wins over the phone reading.
    ("订单号13812345678查不到", [(ORDER_NUMBER, "13812345678", "jd")]),
    # --- phones ---
    ("我电话13800138000，到了打我", [(PHONE, "13800138000", None)]),
    ("联系我 +86 138-0013-8000 谢谢", [(PHONE, "13800138000", None)]),
    ("手机：0086 13912345678", [(PHONE, "13912345678", None)]),
    ("（+86）186 1234 5678 张先生", [(PHONE, "18612345678", None)]),
    ("打１５９１２３４５６７８找我", [(PHONE, "15912345678", None)]),
    ("收货人李四 17712345678，地址不变", [(PHONE, "17712345678", None)]),
    # --- landlines ---
    ("公司座机010-12345678", [(LANDLINE, "010-12345678", None)]),
    ("请拨打(021)1234-5678", [(LANDLINE, "021-12345678", None)]),
    ("门店电话 0755 8888 6666 转 802", [(LANDLINE, "0755-88886666-802", None)]),
    ("客服热线400-820-8820一直占线", [(LANDLINE, "4008208820", None)]),
    ("前台 0571-87654321-123 找王经理", [(LANDLINE, "0571-87654321-123", None)]),
    # --- e-mail ---
    ("发票发到 Zhang.San@QQ.com 吧", [(EMAIL, "zhang.san@qq.com", None)]),
    ("邮箱是wang_wu+shop@corp.example.com.cn。", [(EMAIL, "wang_wu+shop@corp.example.com.cn", None)]),
    # --- tracking numbers ---
    ("顺丰SF1234567890123显示签收但我没收到", [(TRACKING_NUMBER, "SF1234567890123", "SF")]),
    ("快递单号yt7512345678901，三天没动了", [(TRACKING_NUMBER, "YT7512345678901", "YTO")]),
    ("中通快递单号 75312345678901 卡在转运中心", [(TRACKING_NUMBER, "75312345678901", "ZTO")]),
    ("京东物流 JDVA12345678901 说配送失败", [(TRACKING_NUMBER, "JDVA12345678901", "JD")]),
    ("JDX012345678901 这个件什么时候到", [(TRACKING_NUMBER, "JDX012345678901", "JD")]),
    ("EMS单号EA123456785CN", [(TRACKING_NUMBER, "EA123456785CN", "EMS")]),
    ("申通运单773012345678901 丢件了", [(TRACKING_NUMBER, "773012345678901", "STO")]),
    ("运单号：JT0001234567890 派送中", [(TRACKING_NUMBER, "JT0001234567890", "JT")]),
    ("快递单号是 432109876543210", [(TRACKING_NUMBER, "432109876543210", "YUNDA")]),
    ("订单的快递单号是 9812345678901 还没更新", [(TRACKING_NUMBER, "9812345678901", None)]),
    # --- amounts ---
    ("衣服¥199，运费另算", [(AMOUNT, "199.00", None)]),
    ("总共￥1,299.00，要求退款", [(AMOUNT, "1299.00", None)]),
    ("退我199元就行", [(AMOUNT, "199.00", None)]),
    ("这台设备1.5万元，保修期内坏了", [(AMOUNT, "15000.00", None)]),
    ("多扣了我三百元", [(AMOUNT, "300.00", None)]),
    ("两千五百块钱的东西就这质量", [(AMOUNT, "2500.00", None)]),
    ("RMB 88.8 的优惠券没用上", [(AMOUNT, "88.80", None)]),
    ("退50块", [(AMOUNT, "50.00", None)]),
    # --- device serial numbers ---
    ("扫地机SN:C02XG0FDJG5J 开不了机", [(DEVICE_SN, "C02XG0FDJG5J", None)]),
    ("序列号 r58m123abcd 屏幕闪", [(DEVICE_SN, "R58M123ABCD", None)]),
    ("S/N：ＡＢ１２３４５６７８ 漏水", [(DEVICE_SN, "AB12345678", None)]),
    ("IMEI 861234567890123 的手机被锁了", [(DEVICE_SN, "861234567890123", None)]),
    # --- several in one message ---
    (
        "订单号123456789012345678，退款¥59.90，电话13800138000，顺丰SF1234567890123",
        [
            (ORDER_NUMBER, "123456789012345678", "taobao"),
            (AMOUNT, "59.90", None),
            (PHONE, "13800138000", None),
            (TRACKING_NUMBER, "SF1234567890123", "SF"),
        ],
    ),
    # --- negatives ---
    ("银行卡号6222021234567890123，退到这张卡", []),  # a bank card is no order
    ("身份证110101199003074514", []),  # nor an ID card
    ("我在淘宝买的123456789012345678", []),  # a platform name alone does not make an order number
    ("验证码 135790，发了三遍了", []),
    ("2023-11-23 14:30 下单的", []),
    ("买了3块蛋糕，我们一块去吃", []),  # 块 as a measure word
    ("这个元件和元素表", []),
    ("一万二的东西就这样？", []),  # colloquial ellipsis is not guessed
    ("联系我 13800138000123 这个号不对", []),  # too long for a mobile, no order context
    ("SNOW123456 是型号不是序列号", []),
    ("json:123abc", []),
    ("我的QQ 12345678901", []),
    ("第1元素", []),
    ("你好，东西坏了，怎么办", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES, ids=[text[:24] or "empty" for text, _ in EXAMPLES])
def test_extracts_entities_as_customers_write_them(
    text: str, expected: list[tuple[str, str, str | None]]
) -> None:
    entities = extract_entities(text)
    assert [(e.kind, e.normalized, e.qualifier) for e in entities] == expected


def test_table_has_at_least_forty_examples_with_negatives() -> None:
    assert len(EXAMPLES) >= 40
    assert sum(1 for _, expected in EXAMPLES if not expected) >= 10


@pytest.mark.parametrize(("text", "_expected"), EXAMPLES)
def test_offsets_point_into_the_original_text(text: str, _expected: object) -> None:
    for entity in extract_entities(text):
        assert text[entity.start : entity.end] == entity.value


def test_value_keeps_full_width_characters_as_written() -> None:
    (entity,) = extract_entities("订单号：１２３４５６７８９０１２３４５６７８，谢谢")
    assert entity.value == "１２３４５６７８９０１２３４５６７８"
    assert entity.normalized == "123456789012345678"
    assert (entity.start, entity.end) == (4, 22)


def test_phone_inside_an_order_number_is_not_a_phone() -> None:
    entities = extract_entities("订单号 1381380013800012345 查一下")
    assert [e.kind for e in entities] == [ORDER_NUMBER]


def test_phone_as_email_local_part_is_an_email() -> None:
    assert [(e.kind, e.normalized) for e in extract_entities("13800138000@163.com")] == [
        (EMAIL, "13800138000@163.com")
    ]


def test_serial_context_beats_phone_shape() -> None:
    assert [(e.kind, e.normalized) for e in extract_entities("SN号:13800138000")] == [
        (DEVICE_SN, "13800138000")
    ]


def test_s10_with_a_wrong_check_digit_is_not_a_tracking_number() -> None:
    assert extract_entities("EA123456784CN") == []


def test_phone_context_after_order_word_blocks_the_order_reading() -> None:
    entities = extract_entities("订单联系电话13800138000")
    assert [(e.kind, e.normalized) for e in entities] == [(PHONE, "13800138000")]


def test_order_numbers_are_distinct_in_order() -> None:
    entities = extract_entities("订单号123456789012345678，再说一次订单号123456789012345678，SO20261123001")
    assert order_numbers(entities) == ["123456789012345678", "SO20261123001"]


def test_amount_with_more_than_two_decimals_keeps_them() -> None:
    (entity,) = extract_entities("单价¥0.125")
    assert entity.normalized == "0.125"


def test_entity_is_frozen() -> None:
    entity = Entity(PHONE, "13800138000", "13800138000", 0, 11)
    with pytest.raises(AttributeError):
        entity.kind = EMAIL  # type: ignore[misc]


@given(st.text(max_size=200))
def test_never_fails_and_never_overlaps(text: str) -> None:
    entities = extract_entities(text)
    for entity in entities:
        assert 0 <= entity.start < entity.end <= len(text)
        assert text[entity.start : entity.end] == entity.value
    for first, second in itertools.pairwise(entities):
        assert first.end <= second.start


@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["电话", "手机号：", "call me ", "找"])
)
def test_any_mobile_number_is_found(number: str, lead: str) -> None:
    assert [(e.kind, e.normalized) for e in extract_entities(f"{lead}{number}")] == [(PHONE, number)]


def test_normalized_positions_map_back_to_the_original_text() -> None:
    """Characters NFKC expands (a ligature, a unit sign) keep the map to original positions right,
    the first time a character is seen and once it is remembered."""
    for _ in range(2):
        norm, index = _normalize("ﬁ㎏１２，e\u0301")
        assert norm == "fikg12，e\u0301"
        assert index == [0, 0, 1, 1, 2, 3, 4, 5, 6]
    assert _normalize("订单１２３") == ("订单123", [0, 1, 2, 3, 4])
    entities = extract_entities("ﬁ 电话：１３８ ００１３ ８０００")
    assert [(e.kind, e.value) for e in entities] == [("phone", "１３８ ００１３ ８０００")]
