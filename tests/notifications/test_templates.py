"""Templates per event × channel × locale in Jinja2's sandbox: rendering, the API (checked on save,
preview without saving) and their use by delivery for the recipient's locale."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from huiliu.auth.models import User
from huiliu.notifications import templates
from huiliu.worker.processor import OutboxProcessor
from tests.factories import Member, make_member
from tests.notifications.fake_providers import FakeProviders, FakeSmtp
from tests.notifications.helpers import add_provider, inbox_of, notify
from tests.worker.helpers import drain


def test_defaults_render_the_shipped_wording() -> None:
    context = {**templates.SAMPLE_CONTEXT, "severity": "critical"}
    assert templates.render(*templates.default_for("zh-CN"), context).title == "【紧急】工单 1024 打印机卡纸"
    assert (
        templates.render(*templates.default_for("en"), context).title == "[Critical] Ticket 1024 打印机卡纸"
    )
    assert templates.render(*templates.default_for("fr"), context).body == context["message"]


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ticket.number ",
        "{% for x in range(10**9) %}{{ x }}{% endfor %}",
        "{{ message * 100000 }}",
    ],
)
def test_unsafe_or_broken_templates_are_refused(source: str) -> None:
    with pytest.raises(templates.TemplateProblem):
        templates.check("t", source)


def test_lookup_goes_from_specific_to_any_and_to_the_default_locale() -> None:
    keys = templates.lookup_order("rule", "email", "en")
    assert keys[:4] == [("rule", "email", "en"), ("rule", "*", "en"), ("*", "email", "en"), ("*", "*", "en")]
    assert keys[4:] == [
        ("rule", "email", "zh-CN"),
        ("rule", "*", "zh-CN"),
        ("*", "email", "zh-CN"),
        ("*", "*", "zh-CN"),
    ]


async def test_template_api_checks_on_save_and_previews(client: Any, admin: Member, agent: Member) -> None:
    listed = (await client.get("/api/v1/notification-templates", headers=admin.headers)).json()
    assert listed["items"] == [] and "ticket.number" in listed["variables"]
    assert set(listed["defaults"]) == {"zh-CN", "en"}
    body = {"event": "sla_tier", "channel": "sms", "locale": "zh-CN", "title": "SLA", "body": "{{ message }}"}
    created = await client.post("/api/v1/notification-templates", headers=admin.headers, json=body)
    assert created.status_code == 201
    assert (
        await client.post("/api/v1/notification-templates", headers=admin.headers, json=body)
    ).status_code == 409
    for bad in [
        {**body, "locale": "fr"},
        {**body, "channel": "fax"},
        {**body, "body": "{{ ''.__class__ }}"},
        {**body, "event": "rule", "body": "{% if %}"},
    ]:
        answer = await client.post("/api/v1/notification-templates", headers=admin.headers, json=bad)
        assert answer.status_code == 422, bad
    template_id = created.json()["id"]
    broken = await client.patch(
        f"/api/v1/notification-templates/{template_id}",
        headers=admin.headers,
        json={"body": "{{ x.__dict__ }}"},
    )
    assert broken.status_code == 422
    preview = await client.post(
        "/api/v1/notification-templates:preview",
        headers=admin.headers,
        json={
            "title": "#{{ ticket.number }} {{ origin.name }}",
            "body": "{{ recipient.name }}：{{ message }}",
        },
    )
    assert preview.json() == {"title": "#1024 75 % 预警", "body": "客服小王：工单已超过首次响应时限的 75%"}
    assert (await client.get("/api/v1/notification-templates", headers=agent.headers)).status_code == 403
    assert (
        await client.post(
            "/api/v1/notification-templates:preview", headers=agent.headers, json={"title": "", "body": ""}
        )
    ).status_code == 403
    deleted = await client.delete(f"/api/v1/notification-templates/{template_id}", headers=admin.headers)
    assert deleted.status_code == 204
    assert (await client.get("/api/v1/notification-templates", headers=admin.headers)).json()["items"] == []


async def test_delivery_words_each_message_for_the_event_channel_and_locale(
    client: Any,
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    processor: OutboxProcessor,
    fake: FakeProviders,
    smtp: FakeSmtp,
) -> None:
    english = await make_member(runtime, tenant, "agent", name="Alex")
    async with runtime.db.uow(tenant.id) as uow:
        await uow.session.execute(update(User).where(User.id == english.user.id).values(locale="en"))
        await uow.commit()
    await add_provider(runtime, admin, "email", fake.base_url, smtp.port)
    for template in [
        {
            "event": "rule",
            "channel": "email",
            "locale": "en",
            "title": "[{{ severity }}] #{{ ticket.number }}",
            "body": "Hi {{ recipient.name }}, {{ message }}",
        },
        {
            "event": "*",
            "channel": "*",
            "locale": "zh-CN",
            "title": "【{{ origin.name }}】{{ ticket.title }}",
            "body": "{{ recipient.name }}：{{ message }}",
        },
    ]:
        created = await client.post("/api/v1/notification-templates", headers=admin.headers, json=template)
        assert created.status_code == 201, created.text
    await notify(runtime, tenant.id, [agent, english], channels=["in_app", "email"], message="请尽快处理")
    await drain(processor, tenant.id)
    subjects = {mail.recipients[0]: str(mail.message["Subject"]) for mail in smtp.mails}
    assert subjects[english.user.email] == "[warning] #T-1001"
    assert subjects[agent.user.email] == "【超时提醒】打印机卡纸"
    [mine] = await inbox_of(runtime, tenant.id, agent.user.id)
    assert (mine.title, mine.body) == ("【超时提醒】打印机卡纸", "客服小李：请尽快处理")
    # In-app for the English reader: no English template for it, so the tenant's zh-CN one applies.
    [theirs] = await inbox_of(runtime, tenant.id, english.user.id)
    assert theirs.body == "Alex：请尽快处理"
