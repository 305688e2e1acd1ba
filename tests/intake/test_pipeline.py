"""The intake pipeline (``intake.service.ingest`` / ``ingest_many``): idempotency, threading, folding,
alarms, creation with entry point defaults, tenant isolation, refusals that write nothing, batches and
concurrent deliveries — each with the events and outbox rows it wrote."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from huiliu.auth.domain import Actor, ActorKind, DataScope
from huiliu.core import clock
from huiliu.core.errors import PermissionDenied, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.customers.models import Customer
from huiliu.entry_points.models import EntryPoint
from huiliu.intake import service
from huiliu.intake.domain import InboundMessage, IngestOutcome, IngestResult, SenderIdentity
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import Status
from huiliu.tickets.models import Message, Ticket, TicketEvent
from tests.factories import make_member, make_team, make_tenant, unique
from tests.tickets.conftest import assert_outbox_matches, journal, messages_of, tags_index, ticket_state

T0 = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)


# --- builders ----------------------------------------------------------------------------------------


async def make_entry_point(runtime: Any, tenant_id: uuid.UUID, **config: Any) -> EntryPoint:
    """An ``api`` entry point (test data; entry point CRUD is tested with its own package)."""
    is_active = config.pop("is_active", True)
    channel = config.pop("channel", "api")
    async with runtime.db.uow(tenant_id) as uow:
        entry_point = EntryPoint(
            id=new_id(),
            tenant_id=tenant_id,
            kind="api",
            name=unique("ERP 接入"),
            channel=channel,
            public_key=unique("pk"),
            config=config,
            is_active=is_active,
            created_at=clock.utcnow(),
        )
        uow.session.add(entry_point)
        await uow.commit()
    return entry_point


def inbound(
    entry_point: EntryPoint | None,
    text: str = "打印机一直卡纸，麻烦安排师傅上门",
    *,
    phone: str | None = "13800138000",
    identities: tuple[SenderIdentity, ...] | None = None,
    external_id: str | None = "auto",
    **fields: Any,
) -> InboundMessage:
    if identities is None:
        identities = (SenderIdentity("phone", phone),) if phone else ()
    return InboundMessage(
        channel=entry_point.channel if entry_point else "api",
        text=text,
        received_at=clock.utcnow(),
        entry_point_id=entry_point.id if entry_point else None,
        external_id=unique("msg") if external_id == "auto" else external_id,
        sender_name=fields.pop("sender_name", "张女士"),
        identities=identities,
        **fields,
    )


def phone() -> str:
    return "139" + str(uuid.uuid4().int)[:8]


async def ingest(runtime: Any, actor: Actor, message: InboundMessage, **kwargs: Any) -> IngestResult:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.ingest(uow, actor, message, **kwargs)


async def ingest_many(runtime: Any, actor: Actor, messages: list[InboundMessage]) -> list[Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.ingest_many(uow, actor, messages)


async def count(runtime: Any, tenant_id: uuid.UUID, model: Any, *where: Any) -> int:
    async with runtime.db.read(tenant_id) as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


def integration(tenant_id: uuid.UUID, permissions: frozenset[str] = frozenset({"ticket.create"})) -> Actor:
    """The actor an integrator's API key becomes."""
    return Actor(ActorKind.API_KEY, tenant_id, uuid.uuid4(), "ERP 对接", permissions, DataScope.ALL)


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
def actor(tenant: Any) -> Actor:
    return integration(tenant.id)


@pytest.fixture
async def entry_point(runtime: Any, tenant: Any) -> EntryPoint:
    return await make_entry_point(runtime, tenant.id)


# --- creation ----------------------------------------------------------------------------------------


async def test_a_new_message_opens_a_ticket_with_the_entry_point_defaults(runtime, tenant, actor):
    team = await make_team(runtime, tenant, "售后一组")
    entry_point = await make_entry_point(
        runtime,
        tenant.id,
        default_team_id=str(team.id),
        default_priority="high",
        default_tags=["双十一", "打印机"],
        default_category="设备故障",
        source_labels=[{"code": "store-12", "name": "12 号门店", "kind": "store"}],
    )
    log = await journal(runtime, tenant.id)
    message = inbound(
        entry_point,
        "订单号 SO20261111001 的打印机一直卡纸\n第二行补充说明",
        source="store-12",
        fields={"model": "HP-1020"},
    )
    result = await ingest(runtime, actor, message)

    assert result.outcome is IngestOutcome.CREATED and result.created and result.ticket_number >= 1
    state = await ticket_state(runtime, tenant.id, result.ticket_id)
    assert state["title"] == "订单号 SO20261111001 的打印机一直卡纸"
    assert state["description"] == message.text
    assert (state["team_id"], state["priority"], state["category"]) == (team.id, "high", "设备故障")
    assert state["tags"] == ["双十一", "打印机"]
    assert await tags_index(runtime, tenant.id, result.ticket_id) == {"双十一", "打印机"}
    assert state["entry_point_id"] == entry_point.id and state["channel"] == "api"
    assert state["status"] == "new" and state["last_message_at"] is not None
    assert state["alarm_key"] is None and state["alarm_occurrences"] is None
    fields = state["fields"]
    assert fields["source"] == "store-12" and fields["source_name"] == "12 号门店"
    assert fields["model"] == "HP-1020"
    assert {
        "kind": "order_number",
        "value": "SO20261111001",
        "normalized": "SO20261111001",
    }.items() <= fields["entities"][0].items()

    [first] = await messages_of(runtime, tenant.id, result.ticket_id)
    assert first.id == result.message_id and first.body == message.text
    assert first.author_kind == "customer" and first.public and first.channel == "api"
    assert first.external_id == message.external_id and first.received_at == message.received_at
    assert first.author_customer_id == state["customer_id"] is not None

    written = await log.since()
    assert written.types() == ["ticket.created"]
    assert_outbox_matches(written, actor)
    data = written.outbox[0].payload["data"]
    assert data["ticket"]["number"] == result.ticket_number
    assert data["message"]["id"] == str(result.message_id) and data["message"]["author_kind"] == "customer"
    assert data["intake"]["outcome"] == "created" and data["intake"]["source"] == "store-12"
    assert data["intake"]["external_id"] == message.external_id


async def test_a_message_without_entry_point_or_text_still_opens_a_ticket(runtime, tenant, actor):
    result = await ingest(runtime, actor, inbound(None, "  你好  \n", sender_name=None, phone=phone()))
    state = await ticket_state(runtime, tenant.id, result.ticket_id)
    assert state["title"] == "你好" and state["priority"] == "normal" and state["team_id"] is None
    assert state["entry_point_id"] is None and state["tags"] == []


async def test_a_deleted_default_team_leaves_the_ticket_unassigned(runtime, tenant, actor):
    entry_point = await make_entry_point(runtime, tenant.id, default_team_id=str(uuid.uuid4()))
    result = await ingest(runtime, actor, inbound(entry_point, phone=phone()))
    assert (await ticket_state(runtime, tenant.id, result.ticket_id))["team_id"] is None


# --- idempotency -------------------------------------------------------------------------------------


async def test_the_same_external_message_three_times_is_one_message(runtime, tenant, actor, entry_point):
    log = await journal(runtime, tenant.id)
    message = inbound(entry_point, phone=phone())
    first = await ingest(runtime, actor, message)
    written = await log.since()
    second = await ingest(runtime, actor, message)
    third = await ingest(runtime, actor, message)

    assert first.outcome is IngestOutcome.CREATED
    for repeat in (second, third):
        assert repeat.outcome is IngestOutcome.REPEAT and not repeat.created
        assert (repeat.ticket_id, repeat.ticket_number, repeat.message_id) == (
            first.ticket_id,
            first.ticket_number,
            first.message_id,
        )
    assert await count(runtime, tenant.id, Message, Message.external_id == message.external_id) == 1
    assert await count(runtime, tenant.id, Ticket) == 1
    assert written.types() == ["ticket.created"]
    assert (await log.since()).events == []  # repeats write nothing


async def test_the_same_external_id_on_another_channel_is_another_message(runtime, tenant, actor):
    api = await make_entry_point(runtime, tenant.id)
    douyin = await make_entry_point(runtime, tenant.id, channel="douyin", thread_window_hours=0)
    first = await ingest(runtime, actor, inbound(api, external_id="m-1", phone=phone()))
    other = await ingest(
        runtime, actor, inbound(douyin, "换个说法的另一件事", external_id="m-1", phone=phone())
    )
    assert other.outcome is IngestOutcome.CREATED and other.ticket_id != first.ticket_id


async def test_concurrent_deliveries_of_one_message_store_it_once(runtime, tenant, actor, entry_point):
    message = inbound(entry_point, phone=phone())
    results = await asyncio.gather(*(ingest(runtime, actor, message) for _ in range(6)))
    assert len({(r.ticket_id, r.message_id) for r in results}) == 1
    assert sorted(r.outcome.value for r in results) == ["created"] + ["repeat"] * 5
    assert await count(runtime, tenant.id, Message) == 1
    assert await count(runtime, tenant.id, Ticket) == 1
    assert await count(runtime, tenant.id, TicketEvent) == 1


async def test_concurrent_messages_of_one_customer_make_one_ticket(runtime, tenant, actor, entry_point):
    number = phone()
    texts = ["你好", "我买的打印机坏了", "开机就报错 E02", "能上门修吗", "急用，谢谢"]
    results = await asyncio.gather(
        *(ingest(runtime, actor, inbound(entry_point, t, phone=number)) for t in texts)
    )
    assert len({r.ticket_id for r in results}) == 1
    assert sorted(r.outcome.value for r in results) == ["created"] + ["threaded"] * 4
    assert await count(runtime, tenant.id, Message) == 5
    assert await count(runtime, tenant.id, Customer) == 1


# --- threading ---------------------------------------------------------------------------------------


async def test_a_reply_reference_joins_the_replied_to_ticket(runtime, tenant, actor):
    # No window threading here: only the reference can put the second message on the first ticket.
    entry_point = await make_entry_point(runtime, tenant.id, thread_window_hours=0)
    first = await ingest(runtime, actor, inbound(entry_point, "退货申请", external_id="wx-1", phone=phone()))
    log = await journal(runtime, tenant.id)
    reply = await ingest(
        runtime,
        actor,
        inbound(entry_point, "补充：包装已经拆了", phone=phone(), reply_to_external_id="wx-1"),
    )
    assert reply.outcome is IngestOutcome.THREADED and reply.ticket_id == first.ticket_id
    assert reply.ticket_number == first.ticket_number and not reply.created
    bodies = [m.body for m in await messages_of(runtime, tenant.id, first.ticket_id)]
    assert bodies == ["退货申请", "补充：包装已经拆了"]
    written = await log.since()
    assert written.types() == ["ticket.message_added"]
    assert_outbox_matches(written, actor)
    assert written.events[0].changes == {}
    data = written.outbox[0].payload["data"]
    assert data["message"]["id"] == str(reply.message_id)
    assert data["intake"]["outcome"] == "threaded" and data["intake"]["reply_to_external_id"] == "wx-1"


async def test_a_reply_to_a_resolved_ticket_reopens_it_and_to_a_closed_one_opens_a_new_ticket(
    runtime, tenant, actor
):
    admin = await make_member(runtime, tenant, "admin")
    entry_point = await make_entry_point(runtime, tenant.id, thread_window_hours=0)
    first = await ingest(runtime, actor, inbound(entry_point, "发票开错了", external_id="r-1", phone=phone()))
    async with runtime.db.uow(tenant.id) as uow:
        await tickets.change_status(uow, admin.actor, first.ticket_id, Status.RESOLVED)
    log = await journal(runtime, tenant.id)
    again = await ingest(
        runtime, actor, inbound(entry_point, "还是不对", external_id="r-2", reply_to_external_id="r-1")
    )
    assert again.ticket_id == first.ticket_id and again.outcome is IngestOutcome.THREADED
    state = await ticket_state(runtime, tenant.id, first.ticket_id)
    assert state["status"] == "open" and state["reopen_count"] == 1
    written = await log.since()
    assert written.types() == ["ticket.message_added", "ticket.reopened"]
    assert_outbox_matches(written, actor)

    async with runtime.db.uow(tenant.id) as uow:
        await tickets.change_status(uow, admin.actor, first.ticket_id, Status.CLOSED)
    later = await ingest(
        runtime, actor, inbound(entry_point, "又坏了", external_id="r-3", reply_to_external_id="r-2")
    )
    assert later.outcome is IngestOutcome.CREATED and later.ticket_id != first.ticket_id


async def test_an_open_ticket_on_the_same_entry_point_takes_messages_within_the_window(
    runtime, tenant, actor
):
    entry_point = await make_entry_point(runtime, tenant.id, thread_window_hours=2)
    other_door = await make_entry_point(runtime, tenant.id)
    number = phone()
    with clock.at(T0):
        first = await ingest(runtime, actor, inbound(entry_point, "空调不制冷", phone=number))
    with clock.at(T0 + timedelta(hours=1, minutes=59)):
        threaded = await ingest(runtime, actor, inbound(entry_point, "地址是朝阳区", phone=number))
        elsewhere = await ingest(runtime, actor, inbound(other_door, "另外问下发票", phone=number))
    with clock.at(T0 + timedelta(hours=4)):
        # The window counts from the ticket's last message (the threaded one), not from its creation.
        late = await ingest(runtime, actor, inbound(entry_point, "师傅还没来", phone=number))
    with clock.at(T0 + timedelta(hours=5, minutes=59)):
        follow_up = await ingest(runtime, actor, inbound(entry_point, "几点能到？", phone=number))
    with clock.at(T0 + timedelta(hours=8)):
        fresh = await ingest(runtime, actor, inbound(entry_point, "又有新问题", phone=number))
    assert threaded.outcome is IngestOutcome.THREADED and threaded.ticket_id == first.ticket_id
    assert elsewhere.outcome is IngestOutcome.CREATED and elsewhere.ticket_id != first.ticket_id
    assert late.outcome is IngestOutcome.CREATED and late.ticket_id not in {
        first.ticket_id,
        elsewhere.ticket_id,
    }
    assert follow_up.outcome is IngestOutcome.THREADED and follow_up.ticket_id == late.ticket_id
    assert fresh.outcome is IngestOutcome.CREATED


async def test_resolved_tickets_and_other_customers_do_not_take_messages(runtime, tenant, actor, entry_point):
    admin = await make_member(runtime, tenant, "admin")
    number = phone()
    first = await ingest(runtime, actor, inbound(entry_point, "门锁坏了", phone=number))
    stranger = await ingest(runtime, actor, inbound(entry_point, "门锁坏了吗？我的也是", phone=phone()))
    assert stranger.outcome is IngestOutcome.CREATED and stranger.ticket_id != first.ticket_id
    async with runtime.db.uow(tenant.id) as uow:
        await tickets.change_status(uow, admin.actor, first.ticket_id, Status.RESOLVED)
    after = await ingest(runtime, actor, inbound(entry_point, "换了个新问题", phone=number))
    assert after.outcome is IngestOutcome.CREATED and after.ticket_id != first.ticket_id


async def test_a_pending_ticket_goes_back_to_open_when_the_customer_writes(
    runtime, tenant, actor, entry_point
):
    admin = await make_member(runtime, tenant, "admin")
    number = phone()
    first = await ingest(runtime, actor, inbound(entry_point, "需要发票", phone=number))
    async with runtime.db.uow(tenant.id) as uow:
        await tickets.change_status(uow, admin.actor, first.ticket_id, Status.PENDING)
    log = await journal(runtime, tenant.id)
    await ingest(runtime, actor, inbound(entry_point, "抬头是某某公司", phone=number))
    assert (await ticket_state(runtime, tenant.id, first.ticket_id))["status"] == "open"
    written = await log.since()
    assert written.types() == ["ticket.message_added", "ticket.status_changed"]
    assert written.events[1].reason == "customer replied"


# --- duplicate folding -------------------------------------------------------------------------------


async def test_near_identical_text_folds_onto_the_earlier_ticket_within_the_window(runtime, tenant, actor):
    wechat = await make_entry_point(runtime, tenant.id, channel="wechat_mp")
    form = await make_entry_point(runtime, tenant.id, channel="h5_form", fold_window_minutes=10)
    number = phone()
    with clock.at(T0):
        first = await ingest(
            runtime, actor, inbound(wechat, "我的快递三天了还没到，怎么回事？", phone=number)
        )
    log = await journal(runtime, tenant.id)
    with clock.at(T0 + timedelta(minutes=9)):
        folded = await ingest(
            runtime, actor, inbound(form, "我的快递三天了还没到 怎么回事！！", phone=number)
        )
    assert folded.outcome is IngestOutcome.FOLDED and folded.ticket_id == first.ticket_id
    assert await count(runtime, tenant.id, Ticket) == 1
    written = await log.since()
    assert written.types() == ["ticket.message_added"]
    assert written.outbox[0].payload["data"]["intake"]["outcome"] == "folded"
    with clock.at(T0 + timedelta(minutes=30)):
        late = await ingest(runtime, actor, inbound(form, "我的快递三天了还没到，怎么回事？", phone=number))
    assert late.outcome is IngestOutcome.CREATED


async def test_alike_messages_about_different_orders_are_not_folded(runtime, tenant, actor):
    wechat = await make_entry_point(runtime, tenant.id, channel="wechat_mp")
    form = await make_entry_point(runtime, tenant.id, channel="h5_form")
    number = phone()
    first = await ingest(runtime, actor, inbound(wechat, "订单号 289123456789 还没发货", phone=number))
    second = await ingest(runtime, actor, inbound(form, "订单号 289123456780 还没发货", phone=number))
    other = await ingest(runtime, actor, inbound(form, "我要投诉你们的快递员态度", phone=number))
    assert second.outcome is IngestOutcome.CREATED and second.ticket_id != first.ticket_id
    assert other.outcome is IngestOutcome.THREADED and other.ticket_id == second.ticket_id


# --- device alarms -----------------------------------------------------------------------------------


def alarm(entry_point: EntryPoint, code: str, device: str = "SN-8800123", text: str = "") -> InboundMessage:
    return inbound(
        entry_point,
        text,
        identities=(SenderIdentity("device_sn", device),),
        sender_name=None,
        metadata={"alarm_code": code},
    )


async def test_repeats_of_a_device_alarm_raise_the_count_on_one_ticket(runtime, tenant, actor):
    admin = await make_member(runtime, tenant, "admin")
    iot = await make_entry_point(runtime, tenant.id, channel="iot", default_priority="urgent")
    first = await ingest(runtime, actor, alarm(iot, "E-CRASH"))
    state = await ticket_state(runtime, tenant.id, first.ticket_id)
    assert state["alarm_key"] == "SN-8800123:E-CRASH" and state["alarm_occurrences"] == 1
    assert state["title"] == "设备告警 SN-8800123 · E-CRASH" and state["priority"] == "urgent"
    assert state["fields"]["device_sn"] == "SN-8800123" and state["fields"]["alarm_code"] == "E-CRASH"

    log = await journal(runtime, tenant.id)
    again = [await ingest(runtime, actor, alarm(iot, "E-CRASH", text="设备崩溃重启")) for _ in range(2)]
    assert [a.outcome for a in again] == [IngestOutcome.ALARM, IngestOutcome.ALARM]
    assert {a.ticket_id for a in again} == {first.ticket_id}
    assert (await ticket_state(runtime, tenant.id, first.ticket_id))["alarm_occurrences"] == 3
    written = await log.since()
    assert written.types() == ["ticket.message_added", "ticket.message_added"]
    assert [e.changes for e in written.events] == [
        {"alarm_occurrences": {"from": 1, "to": 2}},
        {"alarm_occurrences": {"from": 2, "to": 3}},
    ]
    assert_outbox_matches(written, actor)

    other_code = await ingest(runtime, actor, alarm(iot, "E-TEMP"))
    other_device = await ingest(runtime, actor, alarm(iot, "E-CRASH", device="SN-0000009"))
    assert other_code.outcome is IngestOutcome.CREATED and other_code.ticket_id != first.ticket_id
    assert other_device.outcome is IngestOutcome.CREATED and other_device.ticket_id != first.ticket_id

    async with runtime.db.uow(tenant.id) as uow:
        await tickets.change_status(uow, admin.actor, first.ticket_id, Status.RESOLVED)
    after_fix = await ingest(runtime, actor, alarm(iot, "E-CRASH"))
    assert after_fix.outcome is IngestOutcome.CREATED and after_fix.ticket_id != first.ticket_id
    assert (await ticket_state(runtime, tenant.id, after_fix.ticket_id))["alarm_occurrences"] == 1


async def test_an_alarm_named_in_metadata_folds_whoever_sends_it(runtime, tenant, actor):
    iot = await make_entry_point(runtime, tenant.id, channel="iot")
    sent = [
        await ingest(
            runtime,
            actor,
            inbound(iot, "温度过高", phone=None, metadata={"device_sn": "CAKE-OVEN-7", "alarm_code": 41}),
        )
        for _ in range(3)
    ]
    assert [s.outcome.value for s in sent] == ["created", "alarm", "alarm"]
    assert (await ticket_state(runtime, tenant.id, sent[0].ticket_id))["alarm_key"] == "CAKE-OVEN-7:41"


async def test_concurrent_repeats_of_a_new_alarm_make_one_ticket(runtime, tenant, actor):
    iot = await make_entry_point(runtime, tenant.id, channel="iot")
    results = await asyncio.gather(
        *(
            ingest(
                runtime, actor, inbound(iot, "", phone=None, metadata={"device_sn": "D-1", "alarm_code": "X"})
            )
            for _ in range(4)
        )
    )
    assert len({r.ticket_id for r in results}) == 1
    assert (await ticket_state(runtime, tenant.id, results[0].ticket_id))["alarm_occurrences"] == 4


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"identities": (SenderIdentity("qq_number", "12345"),)}, "unknown identity kind"),
        ({"identities": (SenderIdentity("phone", "not-a-phone"),)}, "not a phone number"),
        ({"text": "   "}, "needs text or attachments"),
        ({"text": "长" * 20_001}, "longer than"),
        ({"external_id": ""}, "external_id"),
        ({"metadata": {"alarm_code": "E1", "device_sn": ["x"]}}, "device_sn"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(runtime, tenant, actor, entry_point, change, detail):
    log = await journal(runtime, tenant.id)
    base = inbound(entry_point, phone=phone())
    message = InboundMessage(**{**base.__dict__, **change})
    with pytest.raises(ValidationFailed, match=detail):
        await ingest(runtime, actor, message)
    assert await count(runtime, tenant.id, Ticket) == 0
    assert await count(runtime, tenant.id, Customer) == 0
    written = await log.since()
    assert written.events == [] and written.outbox == []


async def test_a_disabled_entry_point_or_one_of_another_tenant_is_refused(runtime, tenant, actor):
    other_tenant = await make_tenant(runtime)
    foreign = await make_entry_point(runtime, other_tenant.id)
    disabled = await make_entry_point(runtime, tenant.id, is_active=False)
    with pytest.raises(ValidationFailed, match="entry point of this tenant"):
        await ingest(runtime, actor, inbound(foreign, phone=phone()))
    with pytest.raises(ValidationFailed, match="disabled"):
        await ingest(runtime, actor, inbound(disabled, phone=phone()))
    assert await count(runtime, tenant.id, Ticket) == 0
    assert await count(runtime, other_tenant.id, Ticket) == 0


async def test_an_actor_that_may_not_create_tickets_is_refused(runtime, tenant, entry_point):
    reader = integration(tenant.id, frozenset({"ticket.read"}))
    with pytest.raises(PermissionDenied):
        await ingest(runtime, reader, inbound(entry_point, phone=phone()))
    assert await count(runtime, tenant.id, Ticket) == 0


async def test_tenants_never_share_messages_customers_or_tickets(runtime, tenant, actor, entry_point):
    other_tenant = await make_tenant(runtime)
    other_entry_point = await make_entry_point(runtime, other_tenant.id)
    other_actor = integration(other_tenant.id)
    number = phone()
    mine = await ingest(runtime, actor, inbound(entry_point, external_id="same-id", phone=number))
    theirs = await ingest(
        runtime, other_actor, inbound(other_entry_point, external_id="same-id", phone=number)
    )
    assert theirs.outcome is IngestOutcome.CREATED and theirs.ticket_id != mine.ticket_id
    mine_state = await ticket_state(runtime, tenant.id, mine.ticket_id)
    async with runtime.db.read(other_tenant.id) as session:
        their_ticket = await session.get(Ticket, theirs.ticket_id)
        assert await session.get(Ticket, mine.ticket_id) is None
    assert their_ticket is not None and their_ticket.customer_id != mine_state["customer_id"]
    # A reply reference never crosses tenants either.
    crossed = await ingest(
        runtime,
        other_actor,
        inbound(other_entry_point, "换个话题", phone=phone(), reply_to_external_id="only-mine"),
    )
    assert crossed.outcome is IngestOutcome.CREATED


# --- batches -----------------------------------------------------------------------------------------


async def test_a_batch_answers_in_order_with_errors_per_message(runtime, tenant, actor, entry_point):
    number = phone()
    log = await journal(runtime, tenant.id)
    repeated = inbound(entry_point, "第一条", phone=number)
    batch = [
        repeated,
        inbound(entry_point, "第二条，同一个客户", phone=number),
        inbound(entry_point, identities=(SenderIdentity("fax", "1"),)),
        repeated,
        inbound(entry_point, "另一位客户", phone=phone()),
        inbound(entry_point, "   ", phone=phone()),
    ]
    answers = await ingest_many(runtime, actor, batch)
    assert [type(a).__name__ for a in answers] == [
        "IngestResult",
        "IngestResult",
        "ValidationFailed",
        "IngestResult",
        "IngestResult",
        "ValidationFailed",
    ]
    first, second, _, again, other, _ = answers
    assert first.outcome is IngestOutcome.CREATED
    assert second.outcome is IngestOutcome.THREADED and second.ticket_id == first.ticket_id
    assert again.outcome is IngestOutcome.REPEAT and again.message_id == first.message_id
    assert other.outcome is IngestOutcome.CREATED and other.ticket_number == first.ticket_number + 1
    assert await count(runtime, tenant.id, Ticket) == 2
    assert await count(runtime, tenant.id, Message) == 3
    written = await log.since()
    assert written.types() == ["ticket.created", "ticket.created", "ticket.message_added"]
    assert_outbox_matches(written, actor)


async def test_an_unusable_attachment_fails_only_its_message(runtime, tenant, actor, entry_point):
    answers = await ingest_many(
        runtime,
        actor,
        [
            inbound(entry_point, "第一位", phone=phone()),
            inbound(entry_point, "带了别人的附件", phone=phone(), attachment_ids=(uuid.uuid4(),)),
            inbound(entry_point, "第三位", phone=phone()),
        ],
    )
    assert isinstance(answers[1], ValidationFailed) and "attachment" in answers[1].detail
    assert answers[0].outcome is answers[2].outcome is IngestOutcome.CREATED
    assert await count(runtime, tenant.id, Ticket) == 2
    assert await count(runtime, tenant.id, Message) == 2
    assert await count(runtime, tenant.id, TicketEvent) == 2


# --- orders and races --------------------------------------------------------------------------------


async def test_order_numbers_in_the_text_link_the_known_order(runtime, tenant, actor, entry_point):
    from huiliu.orders import queries as order_queries
    from huiliu.orders import service as orders
    from huiliu.orders.schemas import OrderCreate

    admin = await make_member(runtime, tenant, "admin")
    async with runtime.db.uow(tenant.id) as uow:
        await orders.create_order(uow, admin.actor, OrderCreate(number="SO20261111001"), order_id=new_id())
    result = await ingest(
        runtime, actor, inbound(entry_point, "单号 SO20261111001 少发了一件", phone=phone())
    )
    async with runtime.db.read(tenant.id) as session:
        linked = await order_queries.orders_for_ticket(session, result.ticket_id)
        events = (
            (await session.execute(select(TicketEvent.type).where(TicketEvent.ticket_id == result.ticket_id)))
            .scalars()
            .all()
        )
    assert [link.order.number for link in linked] == ["SO20261111001"]
    assert (
        linked[0].order.customer_id
        == (await ticket_state(runtime, tenant.id, result.ticket_id))["customer_id"]
    )
    assert sorted(events) == ["ticket.created", "ticket.order_linked"]
    # An order number nobody knows is no reason to refuse the message.
    unknown = await ingest(runtime, actor, inbound(entry_point, "订单号 SO99999999999 没到", phone=phone()))
    assert unknown.outcome is IngestOutcome.CREATED


async def test_a_delivery_that_loses_to_the_unique_index_answers_a_repeat(
    runtime, tenant, actor, entry_point, monkeypatch
):
    """The look-up ran before a concurrent delivery committed (simulated: the first look-up misses);
    the message insert then meets the unique index, the attempt rolls back and the next one sees it."""
    message = inbound(entry_point, phone=phone())
    first = await ingest(runtime, actor, message)
    real_delivered = service.queries.delivered
    calls = []

    async def stale_then_real(session, keys):
        calls.append(keys)
        return {} if len(calls) == 1 else await real_delivered(session, keys)

    monkeypatch.setattr(service.queries, "delivered", stale_then_real)
    real_first_look = service.queries.pg_first_look

    async def stale_first_look(session, tenant_id, **kwargs):
        # PostgreSQL reads stored messages with the entry points and owners, in one pipeline.
        look = await real_first_look(session, tenant_id, **kwargs)
        calls.append(kwargs["external_ids"])
        return dataclasses.replace(look, delivered={}) if len(calls) == 1 else look

    monkeypatch.setattr(service.queries, "pg_first_look", stale_first_look)
    log = await journal(runtime, tenant.id)
    again = await ingest(runtime, actor, message)
    assert len(calls) == 2
    assert again.outcome is IngestOutcome.REPEAT and again.message_id == first.message_id
    assert await count(runtime, tenant.id, Message) == 1
    written = await log.since()
    assert written.events == [] and written.outbox == []


async def test_a_reply_to_an_earlier_message_of_the_same_batch_joins_its_ticket(runtime, tenant, actor):
    entry_point = await make_entry_point(runtime, tenant.id, thread_window_hours=0)
    answers = await ingest_many(
        runtime,
        actor,
        [
            inbound(entry_point, "屏幕碎了", external_id="b-1", phone=phone()),
            inbound(entry_point, "另一位顾客的问题", external_id="b-2", phone=phone()),
            inbound(
                entry_point, "补一张照片说明", external_id="b-3", phone=phone(), reply_to_external_id="b-1"
            ),
        ],
    )
    assert [a.outcome.value for a in answers] == ["created", "created", "threaded"]
    assert (
        answers[2].ticket_id == answers[0].ticket_id and answers[2].ticket_number == answers[0].ticket_number
    )
