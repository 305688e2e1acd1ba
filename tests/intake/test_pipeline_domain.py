"""The pipeline's pure decisions (``intake.domain``): where a message goes, what counts as the same
text, titles, alarms, entry point config — no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huiliu.core.errors import ValidationFailed
from huiliu.intake.domain import (
    UNTITLED,
    EntryPointRules,
    InboundMessage,
    IngestOutcome,
    IntakeDefaults,
    RecentMessage,
    SenderIdentity,
    TicketRef,
    alarm_of,
    check_message,
    choose_route,
    fold_key,
    near_duplicate,
    normalized_identities,
    title_from_text,
)

NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
DEFAULTS = IntakeDefaults()


def rules(**config: object) -> EntryPointRules:
    return EntryPointRules.from_config(
        entry_point_id=uuid.uuid4(),
        name="门店二维码",
        channel="h5_form",
        is_active=True,
        config=config,
        defaults=DEFAULTS,
    )


def message(text: str = "你好", **fields: object) -> InboundMessage:
    return InboundMessage(channel="api", text=text, received_at=NOW, **fields)  # type: ignore[arg-type]


def route(text: str = "新问题", **kwargs: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "text": text,
        "entry_point": None,
        "reply_target": None,
        "alarm": None,
        "alarm_ticket": None,
        "open_tickets": [],
        "recent_messages": [],
        "now": NOW,
        "defaults": DEFAULTS,
    }
    arguments.update(kwargs)
    return choose_route(**arguments)  # type: ignore[arg-type]


# --- routing order -----------------------------------------------------------------------------------


def test_a_reply_reference_wins_over_everything_else():
    target = TicketRef(uuid.uuid4(), "resolved", None, NOW)
    alarm = alarm_of(message(metadata={"device_sn": "D1", "alarm_code": "E1"}))
    chosen = route(reply_target=target, alarm=alarm, alarm_ticket=TicketRef(uuid.uuid4(), "open", None, NOW))
    assert (chosen.outcome, chosen.ticket_id) == (IngestOutcome.THREADED, target.id)


def test_alarms_neither_thread_nor_fold():
    entry_point = rules()
    open_ticket = TicketRef(uuid.uuid4(), "open", entry_point.id, NOW)
    alarm = alarm_of(message(metadata={"device_sn": "D1", "alarm_code": "E1"}))
    chosen = route(
        "温度过高",
        entry_point=entry_point,
        alarm=alarm,
        open_tickets=[open_ticket],
        recent_messages=[RecentMessage(open_ticket.id, fold_key("温度过高"), NOW)],
    )
    assert (chosen.outcome, chosen.ticket_id) == (IngestOutcome.CREATED, None)
    repeat = route(alarm=alarm, alarm_ticket=open_ticket)
    assert (repeat.outcome, repeat.ticket_id) == (IngestOutcome.ALARM, open_ticket.id)


def test_folding_comes_before_the_thread_window_and_ignores_the_entry_point():
    entry_point = rules()
    here = TicketRef(uuid.uuid4(), "open", entry_point.id, NOW)
    elsewhere = TicketRef(uuid.uuid4(), "open", uuid.uuid4(), NOW - timedelta(minutes=5))
    chosen = route(
        "快递三天没到！",
        entry_point=entry_point,
        open_tickets=[here, elsewhere],
        recent_messages=[RecentMessage(elsewhere.id, fold_key("快递三天没到"), NOW - timedelta(minutes=5))],
    )
    assert (chosen.outcome, chosen.ticket_id) == (IngestOutcome.FOLDED, elsewhere.id)


def test_folding_needs_the_window_and_similar_text():
    ticket = uuid.uuid4()
    old = RecentMessage(ticket, fold_key("快递三天没到"), NOW - timedelta(minutes=11))
    assert route("快递三天没到", recent_messages=[old]).outcome is IngestOutcome.CREATED
    assert (
        route("快递三天没到", entry_point=rules(fold_window_minutes=15), recent_messages=[old]).ticket_id
        == ticket
    )
    assert (
        route("快递三天没到", entry_point=rules(fold_window_minutes=0), recent_messages=[old]).ticket_id
        is None
    )
    fresh = RecentMessage(ticket, fold_key("我要开发票"), NOW)
    assert route("快递三天没到", recent_messages=[fresh]).outcome is IngestOutcome.CREATED


def test_the_thread_window_takes_the_most_recently_active_open_ticket_of_the_entry_point():
    entry_point = rules(thread_window_hours=2)
    older = TicketRef(uuid.uuid4(), "pending", entry_point.id, NOW - timedelta(minutes=90))
    newer = TicketRef(uuid.uuid4(), "on_hold", entry_point.id, NOW - timedelta(minutes=30))
    stale = TicketRef(uuid.uuid4(), "open", entry_point.id, NOW - timedelta(hours=3))
    done = TicketRef(uuid.uuid4(), "resolved", entry_point.id, NOW)
    chosen = route(entry_point=entry_point, open_tickets=[older, stale, newer, done])
    assert (chosen.outcome, chosen.ticket_id) == (IngestOutcome.THREADED, newer.id)
    assert route(entry_point=entry_point, open_tickets=[stale, done]).outcome is IngestOutcome.CREATED
    disabled = rules(thread_window_hours=0)
    same_door = TicketRef(uuid.uuid4(), "open", disabled.id, NOW)
    assert route(entry_point=disabled, open_tickets=[same_door]).outcome is IngestOutcome.CREATED


# --- text ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("我的订单还没发货", "我的订单还没发货!!!", True),
        ("我的订单 还没 发货", "我的订单还没发货。", True),
        ("ＡＢＣ退款", "abc 退款", True),
        ("退款&amp;换货", "退款&换货", True),
        ("我的快递三天了还没到，怎么回事？", "我的快递三天了还没到 怎么回事！！", True),
        ("订单号 289123456789 还没发货", "订单号 289123456780 还没发货", False),
        ("屏幕碎了", "电池鼓包了", False),
        ("", "", False),
        ("!!!", "???", False),
    ],
)
def test_near_duplicates(first, second, same):
    assert near_duplicate(fold_key(first), fold_key(second), 0.9) is same


@given(st.text(max_size=60))
def test_a_text_is_a_duplicate_of_itself_unless_it_says_nothing(text):
    key = fold_key(text)
    assert near_duplicate(key, key, 0.9) is bool(key)


def test_titles_come_from_the_first_line():
    assert title_from_text("\n  第一行   内容 \n第二行") == "第一行 内容"
    long = "很" * 80
    assert title_from_text(long) == "很" * 59 + "…"
    assert title_from_text("  \n ") == UNTITLED


# --- validation ------------------------------------------------------------------------------------------


def test_identities_are_normalised_and_deduplicated_verified_first():
    claims = normalized_identities(
        message(
            identities=(
                SenderIdentity("phone", "+86 138-0013-8000"),
                SenderIdentity("phone", "13800138000", verified=True),
                SenderIdentity("email", "Li@Example.com"),
            )
        )
    )
    assert [(c.kind, c.value, c.verified) for c in claims] == [
        ("phone", "13800138000", True),
        ("email", "li@example.com", False),
    ]


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"text": ""}, "text or attachments"),
        ({"channel": ""}, "channel"),
        ({"external_id": "x" * 256}, "external_id"),
        ({"received_at": datetime(2026, 11, 11)}, "time zone"),
        ({"metadata": {"alarm_code": True, "device_sn": "D"}}, "alarm_code"),
        ({"title": " "}, "title"),
    ],
)
def test_malformed_messages_are_refused(fields, detail):
    base = {"channel": "api", "text": "你好", "received_at": NOW}
    base.update(fields)
    with pytest.raises(ValidationFailed, match=detail):
        check_message(InboundMessage(**base))  # type: ignore[arg-type]


def test_an_alarm_without_text_is_a_message_and_an_entry_point_channel_may_stand_in():
    check_message(message("", metadata={"alarm_code": 7}, identities=(SenderIdentity("device_sn", "SN1"),)))
    check_message(InboundMessage(channel="", text="你好", received_at=NOW, entry_point_id=uuid.uuid4()))
    alarm = alarm_of(message(metadata={"alarm_code": 7}, identities=(SenderIdentity("device_sn", " SN1 "),)))
    assert alarm is not None and alarm.key == "SN1:7"
    assert alarm_of(message(metadata={"alarm_code": "E1"})) is None  # no device: not an alarm


def test_unusable_entry_point_config_falls_back_to_the_defaults():
    read = rules(
        thread_window_hours="soon",
        fold_window_minutes=-1,
        default_team_id="not-a-uuid",
        default_priority="critical",
        default_tags="vip",
        default_category="  ",
    )
    assert (read.thread_window, read.fold_window) == (DEFAULTS.thread_window, DEFAULTS.fold_window)
    assert (read.team_id, read.priority, read.tags, read.category) == (None, "normal", (), None)
    team = uuid.uuid4()
    good = rules(thread_window_hours=1.5, default_team_id=str(team), default_tags=["双十一", "双十一"])
    assert good.thread_window == timedelta(hours=1.5) and good.team_id == team and good.tags == ("双十一",)
