"""Pure rules: channel choice, quiet hours (with a frozen clock), delivery ids, channel settings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from huiliu.automation.apply import KIND_NOTIFICATION as AUTOMATION_KIND
from huiliu.automation.domain import NOTIFY_CHANNELS, SEVERITIES
from huiliu.notifications import domain, templates
from huiliu.notifications.channel_settings import check_channel_settings, secret_hints
from huiliu.notifications.domain import (
    FloodLimits,
    QuietHours,
    channels_for,
    customer_channel,
    customer_moment,
    customer_notice_id,
    delivery_id,
    parse_clock,
    release_after,
)


def test_the_package_speaks_automations_vocabulary() -> None:
    assert domain.KIND_NOTIFICATION == AUTOMATION_KIND
    assert set(NOTIFY_CHANNELS) == set(domain.CHANNELS)
    assert set(SEVERITIES) == set(domain.SEVERITIES)


def test_channels_come_from_the_rule_then_the_preference_then_in_app() -> None:
    prefs = {"sla_tier": ["sms", "in_app"], "*": ["email"]}
    assert channels_for(["wecom", "wecom"], prefs, "sla_tier") == ["wecom"]
    assert channels_for([], prefs, "sla_tier") == ["sms", "in_app"]
    assert channels_for([], prefs, "rule") == ["email"]
    assert channels_for([], {}, "rule") == ["in_app"]
    assert channels_for([], {"rule": []}, "rule") == []


def test_preference_channels_are_checked() -> None:
    assert domain.normalize_event_channels({"*": ["sms", "sms", "in_app"]}) == {"*": ["sms", "in_app"]}
    with pytest.raises(ValueError, match="unknown channel"):
        domain.normalize_event_channels({"*": ["fax"]})
    with pytest.raises(ValueError, match="unknown event"):
        domain.normalize_event_channels({"ticket.created": ["sms"]})


QUIET = QuietHours(time(22, 0), time(8, 0), "Asia/Shanghai")


@pytest.mark.parametrize(
    ("utc_now", "released"),
    [
        (datetime(2026, 12, 1, 13, 59, tzinfo=UTC), None),  # 21:59 local: before the window
        (datetime(2026, 12, 1, 14, 0, tzinfo=UTC), datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),  # 22:00
        (datetime(2026, 12, 1, 17, 0, tzinfo=UTC), datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),  # 01:00
        (datetime(2026, 12, 1, 23, 59, tzinfo=UTC), datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),  # 07:59
        (datetime(2026, 12, 2, 0, 0, tzinfo=UTC), None),  # 08:00: the window is over
    ],
)
def test_quiet_hours_across_midnight_hold_until_the_morning(
    utc_now: datetime, released: datetime | None
) -> None:
    with time_machine.travel(utc_now, tick=False):
        now = datetime.now(UTC)
        assert QUIET.release_at(now, "warning") == released
        assert QUIET.release_at(now, "critical") is None


def test_quiet_hours_within_a_day() -> None:
    lunch = QuietHours(time(12, 0), time(13, 30), "Asia/Shanghai")
    with time_machine.travel(datetime(2026, 12, 1, 4, 15, tzinfo=UTC), tick=False):  # 12:15 local
        assert lunch.release_at(datetime.now(UTC), "info") == datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 12, 1, 6, 0, tzinfo=UTC), tick=False):  # 14:00 local
        assert lunch.release_at(datetime.now(UTC), "info") is None


def test_clock_and_time_zone_values_are_checked() -> None:
    assert domain.parse_clock("07:05") == time(7, 5)
    for bad in ("7:05", "24:00", "12:60", "noon"):
        with pytest.raises(ValueError):
            domain.parse_clock(bad)
    with pytest.raises(ValueError):
        domain.check_timezone("Mars/Olympus")


def test_delivery_ids_are_stable_per_recipient_and_channel() -> None:
    notification, user = uuid.uuid4(), uuid.uuid4()
    assert delivery_id(notification, user, "sms") == delivery_id(notification, user, "sms")
    ids = {delivery_id(notification, user, "sms"), delivery_id(notification, user, "email")}
    ids.add(delivery_id(notification, None, "dingtalk"))
    ids.add(delivery_id(uuid.uuid4(), user, "sms"))
    assert len(ids) == 4


def test_channel_settings_keep_credentials_out_of_config() -> None:
    check_channel_settings(
        "dingtalk", {"base_url": "http://127.0.0.1:9"}, {"access_token": "t"}, partial=False
    )
    with pytest.raises(ValueError, match="belong in secrets"):
        check_channel_settings("dingtalk", {"secret": "x"}, {"access_token": "t"}, partial=False)
    with pytest.raises(ValueError, match="not credentials"):
        check_channel_settings("wecom", {}, {"key": "k", "base_url": "x"}, partial=False)
    with pytest.raises(ValueError, match="needs"):
        check_channel_settings("aliyun_sms", {"sign_name": "s"}, {}, partial=False)
    with pytest.raises(ValueError, match="base_url"):
        check_channel_settings("wecom", {"base_url": "ftp://x"}, {"key": "k"}, partial=False)
    with pytest.raises(ValueError, match="security"):
        check_channel_settings(
            "email", {"host": "h", "from_address": "a@b", "security": "ssl3"}, {}, partial=False
        )
    assert secret_hints({"secret": "SEC1234567890", "empty": ""}) == {"secret": "••••7890"}


def test_release_time_is_aware_and_in_the_future() -> None:
    now = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    released = QUIET.release_at(now, "info")
    assert released is not None and released.tzinfo is not None
    assert timedelta(0) < released - now <= timedelta(hours=10)


def test_several_quiet_windows_release_when_none_of_them_holds() -> None:
    user = QuietHours(parse_clock("22:00"), parse_clock("07:00"))
    tenant = QuietHours(parse_clock("06:30"), parse_clock("09:00"))
    night = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 Shanghai
    assert release_after([user, tenant], night, "warning") == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert release_after([user, tenant], night, "critical") is None
    noon = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    assert release_after([user, tenant], noon, "info") is None
    assert release_after([], night, "info") is None
    # Windows that together cover the whole day still give an answer (the last end found).
    day = QuietHours(parse_clock("07:00"), parse_clock("22:00"))
    assert release_after([user, day], night, "info") is not None


def test_flood_limits_are_checked() -> None:
    assert FloodLimits().per_hour == 30
    with pytest.raises(ValueError):
        FloodLimits(per_hour=0)
    with pytest.raises(ValueError):
        FloodLimits(dedupe_window=timedelta(minutes=-1))
    with pytest.raises(ValueError):
        FloodLimits(digest_minutes=1)


def test_customer_moments_and_channels() -> None:
    assert customer_moment("ticket.created", {}) == "accepted"
    assert customer_moment("ticket.assigned", {"status": "open"}) == "accepted"
    assert customer_moment("ticket.status_changed", {"status": "open"}) == "in_progress"
    assert customer_moment("ticket.status_changed", {"status": "resolved"}) == "resolved"
    assert customer_moment("ticket.status_changed", {"status": "pending"}) is None
    assert customer_moment("ticket.message_added", {"status": "resolved"}) is None
    assert customer_channel("wecom_kf", email="a@b.cn", phone="138") == "wechat"
    assert customer_channel("h5_form", email="a@b.cn", phone=None) == "progress_page"
    assert customer_channel("api", email="a@b.cn", phone="13800138000") == "email"
    assert customer_channel("console", email=None, phone="13800138000") == "sms"
    assert customer_channel("console", email=None, phone=None) == "progress_page"
    ticket = uuid.uuid4()
    assert customer_notice_id(ticket, "accepted") == customer_notice_id(ticket, "accepted")
    assert customer_notice_id(ticket, "accepted") != customer_notice_id(ticket, "resolved")


def test_customer_notice_templates_never_fall_back_to_an_agents_wording() -> None:
    keys = templates.lookup_order("customer.resolved", "email", "en")
    assert all(event == "customer.resolved" for event, _, _ in keys)
    title, body = templates.default_for("zh-CN", "customer.resolved")
    rendered = templates.render(title, body, templates.SAMPLE_CONTEXT)
    assert rendered.title == "您的工单已解决" and "请为本次服务评分：https://" in rendered.body
    for event in templates.CUSTOMER_EVENTS:
        for locale in templates.LOCALES:
            templates.check(*templates.default_for(locale, event))
