"""Digests (常规进展聚合) with a frozen clock: info notifications on push channels wait for the end of
the recipient's window and go out as one message; warnings and critical ones, and in-app, do not wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from huiliu.core import clock
from huiliu.notifications.domain import digest_window_end
from huiliu.worker.processor import OutboxProcessor
from tests.factories import Member
from tests.notifications.fake_providers import FakeProviders, FakeSmtp
from tests.notifications.helpers import add_provider, deliveries_of, inbox_of, notify, set_preferences
from tests.worker.helpers import drain

# 10:00 UTC: the start of a 15-minute window.
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_windows_are_aligned_and_end_after_now() -> None:
    with time_machine.travel(T0 + timedelta(minutes=7, seconds=30), tick=False):
        now = datetime.now(UTC)
        assert digest_window_end(now, 15) == T0 + timedelta(minutes=15)
    assert digest_window_end(T0, 15) == T0 + timedelta(minutes=15)
    assert digest_window_end(T0 - timedelta(microseconds=1), 15) == T0


async def test_info_updates_are_gathered_into_one_mail_per_window(
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    processor: OutboxProcessor,
    fake: FakeProviders,
    smtp: FakeSmtp,
) -> None:
    await set_preferences(runtime, agent, digest_minutes=15)
    await add_provider(runtime, admin, "email", fake.base_url, smtp.port)
    channels = ["in_app", "email"]
    with clock.at(T0 + timedelta(minutes=1)):
        await notify(
            runtime, tenant.id, [agent], channels=channels, severity="info", message="客户已补充照片"
        )
    await drain(processor, tenant.id, at=T0 + timedelta(minutes=1))
    with clock.at(T0 + timedelta(minutes=5)):
        await notify(runtime, tenant.id, [agent], channels=channels, severity="warning", message="即将超时")
    await drain(processor, tenant.id, at=T0 + timedelta(minutes=5))
    with clock.at(T0 + timedelta(minutes=9)):
        await notify(runtime, tenant.id, [agent], channels=channels, severity="info", message="工程师已上门")
    await drain(processor, tenant.id, at=T0 + timedelta(minutes=14, seconds=59))
    # The warning went at once; in-app holds all three; the two info mails wait.
    assert [mail.message["Subject"] for mail in smtp.mails] == ["工单 T-1001 打印机卡纸"]
    assert len(await inbox_of(runtime, tenant.id, agent.user.id)) == 3
    waiting = [d for d in await deliveries_of(runtime, tenant.id) if d.state == "digested"]
    assert len(waiting) == 2 and len({d.digest_id for d in waiting}) == 1
    await drain(processor, tenant.id, at=T0 + timedelta(minutes=15))
    assert len(smtp.mails) == 2
    digest = smtp.mails[1].message
    assert digest["Subject"] == "汇流：2 条工单进展"
    text = next(part for part in digest.walk() if part.get_content_type() == "text/plain").get_content()
    assert text.index("客户已补充照片") < text.index("工程师已上门")
    assert "即将超时" not in text
    deliveries = await deliveries_of(runtime, tenant.id)
    assert {d.state for d in deliveries} == {"delivered"}
    carried = [d for d in deliveries if d.digest_id is not None]
    assert {d.provider_message_id for d in carried} == {digest["Message-ID"]}
    # A new window starts a new digest.
    with clock.at(T0 + timedelta(minutes=16)):
        await notify(runtime, tenant.id, [agent], channels=["email"], severity="info", message="已寄出配件")
    await drain(processor, tenant.id, at=T0 + timedelta(minutes=16))
    assert len(smtp.mails) == 2
    await drain(processor, tenant.id, at=T0 + timedelta(minutes=30))
    assert [mail.message["Subject"] for mail in smtp.mails][-1] == "汇流：1 条工单进展"


async def test_a_digest_waits_for_quiet_hours_to_end(
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    processor: OutboxProcessor,
    fake: FakeProviders,
) -> None:
    await set_preferences(
        runtime, agent, digest_minutes=60, quiet_start="22:00", quiet_end="08:00", phone="13800138000"
    )
    await add_provider(runtime, admin, "aliyun_sms", fake.base_url)
    evening = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)  # 21:30 Shanghai; the window ends at 22:00
    with clock.at(evening):
        await notify(runtime, tenant.id, [agent], channels=["sms"], severity="info")
    await drain(processor, tenant.id, at=datetime(2026, 12, 1, 23, 59, tzinfo=UTC))
    assert fake.of("aliyun_sms") == []
    await drain(processor, tenant.id, at=datetime(2026, 12, 2, 0, 0, tzinfo=UTC))  # 08:00 Shanghai
    [call] = fake.of("aliyun_sms")
    assert call.verified
