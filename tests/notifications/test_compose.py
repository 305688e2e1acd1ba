"""The message a delivery row becomes (``notifications.delivery.compose``): ticket notifications are
titled by their ticket and link to it; notifications about no ticket (analytics alerts) are titled by
what sent them and link where their payload says, when that is an absolute http(s) URL."""

from __future__ import annotations

import uuid

from huiliu.notifications.delivery import compose

CONSOLE = "https://desk.example.com"


def test_a_ticket_notification_links_to_its_ticket():
    ticket_id = str(uuid.uuid4())
    payload = {
        "severity": "critical",
        "message": "即将超时",
        "ticket": {"id": ticket_id, "number": 42, "title": "打印机卡纸"},
        "link": "https://elsewhere.example.com/",  # a ticket's own page wins
    }
    message = compose(payload, uuid.uuid4(), CONSOLE)
    assert message.title == "【紧急】工单 42 打印机卡纸"
    assert message.link == f"{CONSOLE}/tickets/{ticket_id}"


def test_an_alert_is_titled_by_its_rule_and_links_to_its_dashboard():
    dashboard = f"{CONSOLE}/dashboard?metric=volume&start=2026-11-22T00%3A00%3A00%2B00%3A00"
    payload = {
        "severity": "normal",
        "message": "课程退订量激增",
        "link": dashboard,
        "origin": {"kind": "analytics_alert", "id": str(uuid.uuid4()), "name": "周日晚间退订激增"},
    }
    message = compose(payload, uuid.uuid4(), CONSOLE)
    assert message.title == "周日晚间退订激增"
    assert message.link == dashboard
    assert message.variables["link"] == dashboard


def test_a_link_that_is_not_an_absolute_web_address_is_dropped():
    for link in ("javascript:alert(1)", "/dashboard", "ftp://files.example.com/x", 7):
        message = compose({"message": "x", "link": link}, uuid.uuid4(), CONSOLE)
        assert message.link is None and message.title == "汇流通知"
