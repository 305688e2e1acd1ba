"""End to end from automation's writer: a rule's notify action (automation.apply) writes the row, the
worker delivers it to the assignee's inbox and to the team's DingTalk group."""

from __future__ import annotations

from typing import Any

from huiliu.automation.apply import Origin, apply_actions
from huiliu.automation.domain import Notify
from huiliu.worker.processor import OutboxProcessor
from tests.factories import Member, make_member, make_team, make_ticket
from tests.notifications.fake_providers import FakeProviders
from tests.notifications.helpers import add_provider, deliveries_of, inbox_of, set_preferences
from tests.worker.helpers import drain


async def test_a_rule_notification_reaches_the_inbox_and_the_group_robot(
    runtime: Any, tenant: Any, admin: Member, processor: OutboxProcessor, fake: FakeProviders
) -> None:
    team = await make_team(runtime, tenant)
    agent = await make_member(runtime, tenant, "agent", team=team, name="坐席小赵")
    await set_preferences(runtime, agent, phone="13700137000")
    await add_provider(runtime, admin, "dingtalk", fake.base_url)
    ticket = await make_ticket(runtime, admin, team_id=str(team.id), assignee_id=str(agent.user.id))
    action = Notify(
        (), (), False, True, None, ("in_app", "dingtalk"), "critical", "退款超过 24 小时未处理", "why"
    )
    async with runtime.db.uow(tenant.id) as uow:
        applied = await apply_actions(uow, ticket["id"], [action], origin=Origin("rule", "r-1", "退款超时"))
        await uow.commit()
    assert applied[0].outcome == "applied"
    await drain(processor, tenant.id)
    [item] = await inbox_of(runtime, tenant.id, agent.user.id)
    assert item.severity == "critical" and item.body == "退款超过 24 小时未处理"
    assert item.ticket_id == ticket["id"]
    assert item.title.startswith("【紧急】工单 ")
    [robot] = fake.of("dingtalk")
    assert robot.verified and robot.json["at"]["atMobiles"] == ["13700137000"]
    assert {d.state for d in await deliveries_of(runtime, tenant.id)} == {"delivered"}
