"""Weekly reports: the period a slot covers, the charts, the mail (through a fake SMTP server that
speaks the protocol), once per week with retries after a failure, and the API's 4xx, permission and
tenant isolation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from huiliu.analytics import reports, rollups
from huiliu.analytics.alerts.domain import Point
from huiliu.core import clock
from huiliu.runtime import Runtime
from tests.factories import Member, make_member, make_tenant, make_ticket
from tests.notifications.fake_providers import FakeSmtp
from tests.notifications.helpers import add_provider

REPORTS = "/api/v1/analytics/reports"
SH = timedelta(hours=8)


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    server = FakeSmtp().start()
    yield server
    server.stop()


def sh(text: str) -> datetime:
    """A wall-clock time in Asia/Shanghai as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) - SH


def test_the_period_is_the_seven_local_days_before_the_slot() -> None:
    # Monday 09:00 Shanghai; at Wednesday 2026-11-25 10:00 the latest slot is Monday 11-23 09:00.
    slot, start, end = reports.period_for(0, 9, "Asia/Shanghai", sh("2026-11-25T10:00"))
    assert slot == sh("2026-11-23T09:00")
    assert (start, end) == (sh("2026-11-16T00:00"), sh("2026-11-23T00:00"))
    # Just before the slot, the slot is the week before.
    slot, start, _ = reports.period_for(0, 9, "Asia/Shanghai", sh("2026-11-23T08:59"))
    assert slot == sh("2026-11-16T09:00") and start == sh("2026-11-09T00:00")
    # At the slot itself, it is due.
    assert reports.period_for(0, 9, "Asia/Shanghai", sh("2026-11-23T09:00"))[0] == sh("2026-11-23T09:00")


def test_charts_are_png_images() -> None:
    start = sh("2026-11-16T00:00")
    days = [start + timedelta(days=i) for i in range(7)]
    data = reports.ReportData("客服中心周报", start, start + timedelta(days=7))
    data.daily = {
        "volume": [Point(d, float(10 + i), 10 + i) for i, d in enumerate(days)],
        "resolved": [Point(d, float(8 + i), 8 + i) for i, d in enumerate(days)],
        "sla_compliance": [Point(d, 0.9 if i != 3 else None, 5) for i, d in enumerate(days)],
        "csat_avg": [Point(d, 4.5, 3) for d in days],
    }
    charts = reports.render_charts(data)
    assert len(charts) == 2
    assert all(chart.startswith(b"\x89PNG\r\n\x1a\n") and len(chart) > 5_000 for chart in charts)


def test_charts_fall_back_to_english_labels_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reports, "CJK_FONTS", ("No Such Font Family",))
    reports.cjk_font.cache_clear()
    try:
        assert reports.cjk_font() is None
        start = sh("2026-11-16T00:00")
        data = reports.ReportData("周报", start, start + timedelta(days=7))
        data.daily = {
            metric: [Point(start + timedelta(days=i), 1.0, 1) for i in range(7)]
            for metric in ("volume", "resolved", "sla_compliance", "csat_avg")
        }
        assert all(chart.startswith(b"\x89PNG") for chart in reports.render_charts(data))
    finally:
        reports.cjk_font.cache_clear()


async def report_desk(runtime: Runtime, smtp: FakeSmtp) -> tuple[Any, Any]:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    await add_provider(runtime, admin, "email", "", smtp.port)
    # Tickets in the week of 2026-11-16 and the week before.
    for moment, count in ((sh("2026-11-17T10:00"), 3), (sh("2026-11-10T10:00"), 2)):
        for i in range(count):
            with clock.at(moment + timedelta(minutes=i)):
                await make_ticket(runtime, admin, title="门店设备报修")
    await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    return tenant, admin


async def create_at(runtime: Runtime, admin: Member, moment: datetime, **body: Any) -> str:
    """Create a report as if at ``moment`` (the week it is created in is skipped)."""
    with clock.at(moment):
        async with runtime.db.uow(admin.actor.tenant_id) as uow:
            report = await reports.create_report(uow, admin.actor, body)
    return str(report.id)


async def test_a_week_is_mailed_once_with_inline_charts(
    runtime: Runtime, client: httpx.AsyncClient, smtp: FakeSmtp
) -> None:
    _, admin = await report_desk(runtime, smtp)
    report_id = await create_at(
        runtime,
        admin,
        sh("2026-11-20T12:00"),
        name="客服中心周报",
        recipients=["boss@example.com", "lead@example.com"],
    )  # on a Friday

    # Before Monday 09:00 nothing is due (the week it was created in is skipped).
    sent = await reports.send_due(runtime.db, runtime.settings, sh("2026-11-23T08:30"))
    assert [s for s in sent if str(s.report_id) == report_id] == []
    sent = await reports.send_due(runtime.db, runtime.settings, sh("2026-11-23T09:01"))
    mine = [s for s in sent if str(s.report_id) == report_id]
    assert len(mine) == 1 and mine[0].error is None
    assert sorted(mail.recipients[0] for mail in smtp.mails) == ["boss@example.com", "lead@example.com"]
    message = smtp.mails[0].message
    assert message["Subject"] == "【汇流周报】客服中心周报 11-16–11-22"
    text = message.get_body(("plain",)).get_content()
    assert "工单量：3（上周 2，+50.0%）" in text
    related = message.get_body(("related",))
    assert related is not None and related.get_content_type() == "multipart/related"
    images = [part for part in related.iter_parts() if part.get_content_type() == "image/png"]
    assert len(images) == 2
    html = message.get_body(("html",)).get_content()
    assert "cid:" + images[0]["Content-ID"].strip("<>") in html
    assert "<td>SLA 达标率</td>" in html

    # Again in the same week: nothing more.
    again = await reports.send_due(runtime.db, runtime.settings, sh("2026-11-24T09:00"))
    assert [s for s in again if str(s.report_id) == report_id] == []
    assert len(smtp.mails) == 2
    stored = (await client.get(f"{REPORTS}/{report_id}", headers=admin.headers)).json()
    assert stored["last_status"] == "sent" and stored["last_period_start"].startswith("2026-11-15T16:00")


async def test_a_failed_send_is_retried_then_given_up(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")  # no e-mail channel configured
    report_id = await create_at(
        runtime, admin, sh("2026-11-20T12:00"), name="周报", recipients=["a@example.com"]
    )
    outcomes = []
    for minute in range(5):
        sent = await reports.send_due(
            runtime.db, runtime.settings, sh("2026-11-23T09:00") + timedelta(minutes=minute)
        )
        outcomes += [s.error for s in sent if str(s.report_id) == report_id]
    assert len(outcomes) == reports.MAX_FAILURES
    assert all(error and "no active e-mail" in error for error in outcomes)
    stored = (await client.get(f"{REPORTS}/{report_id}", headers=admin.headers)).json()
    assert stored["last_status"] == "failed"
    # "Send now" reports the problem without raising.
    now = await client.post(f"{REPORTS}/{report_id}:send", headers=admin.headers)
    assert now.status_code == 200 and now.json()["sent"] is False


async def test_send_now_mails_the_latest_week(
    runtime: Runtime, client: httpx.AsyncClient, smtp: FakeSmtp
) -> None:
    _, admin = await report_desk(runtime, smtp)
    report_id = (
        await client.post(
            REPORTS, json={"name": "周报", "recipients": ["a@example.com"]}, headers=admin.headers
        )
    ).json()["id"]
    response = await client.post(f"{REPORTS}/{report_id}:send", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["sent"] is True
    assert [mail.recipients for mail in smtp.mails] == [["a@example.com"]]


BAD_REPORTS: list[dict[str, Any]] = [
    {"name": "x", "recipients": []},
    {"name": "x", "recipients": ["not-an-address"]},
    {"name": "x", "recipients": ["a@example.com"], "weekday": 7},
    {"name": "x", "recipients": ["a@example.com"], "hour": 24},
    {"name": "x", "recipients": ["a@example.com"], "timezone": "Mars/Olympus"},
    {"name": "x", "recipients": ["a@example.com"], "filters": {"team_ids": ["nope"]}},
    {"name": "", "recipients": ["a@example.com"]},
    {"name": "x", "recipients": ["a@example.com"], "format": "pdf"},
    {"recipients": ["a@example.com"]},
]


@pytest.mark.parametrize("body", BAD_REPORTS)
async def test_bad_reports_are_refused(
    runtime: Runtime, client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    admin = await make_member(runtime, await make_tenant(runtime), "admin")
    response = await client.post(REPORTS, json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(REPORTS, headers=admin.headers)).json()["items"] == []


async def test_report_crud_permissions_and_tenants(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    body = {"name": "周报", "recipients": ["a@example.com"], "weekday": 4, "hour": 18}
    report_id = (await client.post(REPORTS, json=body, headers=admin.headers)).json()["id"]
    assert (await client.post(REPORTS, json=body, headers=admin.headers)).status_code == 409
    changed = await client.put(
        f"{REPORTS}/{report_id}", json=body | {"enabled": False}, headers=admin.headers
    )
    assert changed.status_code == 200 and changed.json()["enabled"] is False

    agent = await make_member(runtime, tenant, "agent")
    assert (await client.get(REPORTS, headers=agent.headers)).status_code == 403
    assert (await client.post(REPORTS, json=body | {"name": "b"}, headers=agent.headers)).status_code == 403
    assert (await client.post(f"{REPORTS}/{report_id}:send", headers=agent.headers)).status_code == 403

    stranger = await make_member(runtime, await make_tenant(runtime), "admin")
    assert (await client.get(REPORTS, headers=stranger.headers)).json()["items"] == []
    assert (await client.get(f"{REPORTS}/{report_id}", headers=stranger.headers)).status_code == 404
    assert (
        await client.put(f"{REPORTS}/{report_id}", json=body, headers=stranger.headers)
    ).status_code == 404
    assert (await client.post(f"{REPORTS}/{report_id}:send", headers=stranger.headers)).status_code == 404
    assert (await client.delete(f"{REPORTS}/{report_id}", headers=stranger.headers)).status_code == 404
    assert (await client.delete(f"{REPORTS}/{report_id}", headers=admin.headers)).status_code == 204
