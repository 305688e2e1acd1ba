"""Identity resolution and merges on the database: the merge matrix, tickets following their customer
(with events and outbox rows), undo restoring exactly, undo order, tenant isolation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from huiliu.auth.domain import Actor, ActorKind, DataScope
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.outbox import OutboxRow
from huiliu.customers import merges
from huiliu.customers.models import Customer, CustomerEvent, CustomerIdentity, CustomerMerge
from huiliu.customers.service import resolve_customer, resolve_identities
from huiliu.tickets import service as tickets
from huiliu.tickets.models import Message, Ticket, TicketEvent
from tests.conftest import is_postgres
from tests.factories import make_member, make_tenant, make_ticket


def uid(prefix: str = "o") -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def phone() -> str:
    return "139" + str(uuid.uuid4().int)[:8]


async def resolve(runtime: Any, tenant: Any, *identities: Any, name: str | None = None) -> Any:
    async with runtime.db.uow(tenant.id) as uow:
        result = await resolve_identities(uow, name, list(identities))
        await uow.commit()
    return result


async def owner_of(runtime: Any, tenant: Any, kind: str, value: str) -> uuid.UUID:
    async with runtime.db.read(tenant.id) as session:
        return (
            await session.execute(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == kind, CustomerIdentity.value == value
                )
            )
        ).scalar_one()


async def customer(runtime: Any, tenant: Any, customer_id: uuid.UUID) -> Customer:
    async with runtime.db.read(tenant.id) as session:
        found = await session.get(Customer, customer_id)
        assert found is not None
        return found


async def merges_of(runtime: Any, tenant: Any) -> list[CustomerMerge]:
    async with runtime.db.read(tenant.id) as session:
        return list(
            (await session.execute(select(CustomerMerge).order_by(CustomerMerge.created_at))).scalars()
        )


async def snapshot(runtime: Any, tenant: Any) -> dict[str, Any]:
    """Everything a merge may touch, for exact before/after comparisons."""
    async with runtime.db.read(tenant.id) as session:
        return {
            "customers": sorted(
                (c.id, c.name, c.level, tuple(sorted((c.attributes or {}).items())), c.merged_into_id)
                for c in (await session.execute(select(Customer))).scalars()
            ),
            "identities": sorted(
                (i.id, i.customer_id, i.kind, i.value, i.verified)
                for i in (await session.execute(select(CustomerIdentity))).scalars()
            ),
            "tickets": sorted(
                (t.id, t.customer_id) for t in (await session.execute(select(Ticket))).scalars()
            ),
            "messages": sorted(
                (m.id, m.author_customer_id) for m in (await session.execute(select(Message))).scalars()
            ),
        }


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Any:
    return await make_member(runtime, tenant, "admin", name="管理员")


# --- the matrix -------------------------------------------------------------------------------------


async def test_unionid_ties_openids_of_two_apps_to_one_customer(runtime, tenant):
    union, mp_openid, mini_openid = uid("oU"), uid("oMP"), uid("oMINI")
    first = await resolve(
        runtime, tenant, ("wechat_openid", mp_openid), ("wechat_unionid", union), name="李雷"
    )
    second = await resolve(runtime, tenant, ("wechat_openid", mini_openid), ("wechat_unionid", union))
    assert first.created and second.customer_id == first.customer_id and not second.merges
    assert second.attached == (("wechat_openid", mini_openid),)
    assert await owner_of(runtime, tenant, "wechat_openid", mini_openid) == first.customer_id


async def test_openids_of_two_apps_without_unionid_stay_two_customers_and_never_merge(runtime, tenant):
    mp_openid, mini_openid = uid("oMP"), uid("oMINI")
    a = await resolve(runtime, tenant, ("wechat_openid", mp_openid))
    b = await resolve(runtime, tenant, ("wechat_openid", mini_openid))
    both = await resolve(runtime, tenant, ("wechat_openid", mini_openid), ("wechat_openid", mp_openid))
    assert a.customer_id != b.customer_id
    assert both.customer_id == b.customer_id and not both.merges
    assert await owner_of(runtime, tenant, "wechat_openid", mp_openid) == a.customer_id
    assert await merges_of(runtime, tenant) == []


async def test_an_unverified_phone_does_not_merge_but_a_verified_one_does(runtime, tenant):
    number, email = phone(), f"{uid('m')}@example.com"
    typed = await resolve(runtime, tenant, ("phone", number), name="表单客户")
    mailer = await resolve(runtime, tenant, ("email", email))
    unverified = await resolve(runtime, tenant, ("phone", number), ("email", email))
    assert unverified.customer_id == mailer.customer_id and not unverified.merges
    assert await owner_of(runtime, tenant, "phone", number) == typed.customer_id

    verified = await resolve(runtime, tenant, ("phone", number, True), ("email", email))
    assert verified.customer_id == typed.customer_id  # the older one survives
    [merge] = await merges_of(runtime, tenant)
    assert (merge.survivor_id, merge.merged_id, merge.mode) == (typed.customer_id, mailer.customer_id, "auto")
    assert {tuple(k.values()) for k in merge.moved["keys"]} == {("phone", number), ("email", email)}
    assert (await customer(runtime, tenant, mailer.customer_id)).merged_into_id == typed.customer_id
    async with runtime.db.read(tenant.id) as session:
        identity = (
            await session.execute(select(CustomerIdentity).where(CustomerIdentity.value == number))
        ).scalar_one()
    assert identity.verified and identity.customer_id == typed.customer_id


async def test_email_matching_two_customers_merges_them(runtime, tenant):
    email, union = f"{uid('m')}@example.com", uid("oU")
    older = await resolve(runtime, tenant, ("email", email), name="韩梅梅")
    await resolve(runtime, tenant, ("wechat_unionid", union), name="梅梅")
    result = await resolve(runtime, tenant, ("wechat_unionid", union), ("email", email.upper()))
    assert result.customer_id == older.customer_id and len(result.merges) == 1
    assert await owner_of(runtime, tenant, "wechat_unionid", union) == older.customer_id
    survivor = await customer(runtime, tenant, older.customer_id)
    assert survivor.name == "韩梅梅"  # the survivor's own values win


async def test_weak_keys_attach_to_the_first_match_only(runtime, tenant):
    visitor, device, number = uid("v"), "SN" + uid("")[:10].upper(), phone()
    web = await resolve(runtime, tenant, ("web_visitor", visitor))
    other = await resolve(runtime, tenant, ("phone", number))
    result = await resolve(
        runtime, tenant, ("web_visitor", visitor), ("phone", number), ("device_sn", device)
    )
    assert result.customer_id == web.customer_id and not result.merges
    assert await owner_of(runtime, tenant, "device_sn", device) == web.customer_id
    assert await owner_of(runtime, tenant, "phone", number) == other.customer_id


async def test_three_customers_chained_by_strong_keys_merge_and_each_merge_undoes(runtime, tenant, admin):
    union, email, number = uid("oU"), f"{uid('m')}@example.com", phone()
    a = await resolve(runtime, tenant, ("wechat_unionid", union), name="甲")
    b = await resolve(runtime, tenant, ("email", email), name="乙")
    c = await resolve(runtime, tenant, ("phone", number), name="丙")
    before = await snapshot(runtime, tenant)
    result = await resolve(
        runtime, tenant, ("phone", number, True), ("email", email), ("wechat_unionid", union)
    )
    assert result.customer_id == a.customer_id and len(result.merges) == 2
    assert {m.merged_id for m in await merges_of(runtime, tenant)} == {b.customer_id, c.customer_id}
    for kind, value in (("email", email), ("phone", number)):
        assert await owner_of(runtime, tenant, kind, value) == a.customer_id
    for merge_id in result.merges:
        async with runtime.db.uow(tenant.id) as uow:
            await merges.undo_merge(uow, admin.actor, merge_id)
    after = await snapshot(runtime, tenant)
    # Exactly as before, except the phone identity, which the resolution marked verified.
    assert after["customers"] == before["customers"]
    assert [i for i in after["identities"] if i[3] != number] == [
        i for i in before["identities"] if i[3] != number
    ]
    assert await owner_of(runtime, tenant, "phone", number) == c.customer_id


async def test_resolve_customer_keeps_its_signature_and_returns_none_without_anything(runtime, tenant):
    async with runtime.db.uow(tenant.id) as uow:
        assert await resolve_customer(uow, None, []) is None
        named = await resolve_customer(uow, "只有姓名", [])
        await uow.commit()
    assert named is not None


async def test_bad_identities_fail_resolution_and_write_nothing(runtime, tenant):
    with pytest.raises(ValidationFailed):
        await resolve(runtime, tenant, ("phone", phone()), ("email", "not-an-email"))
    assert (await snapshot(runtime, tenant))["customers"] == []


# --- merges move tickets, undo restores exactly ---------------------------------------------------


async def test_merge_moves_tickets_with_events_and_undo_restores_exactly(runtime, tenant, admin):
    first_phone, email = phone(), f"{uid('m')}@example.com"
    t1 = await make_ticket(runtime, admin, customer={"name": "王芳", "phone": first_phone})
    t2 = await make_ticket(runtime, admin, customer={"name": "王芳(邮件)", "email": email})
    survivor_id, merged_id = t1["customer_id"], t2["customer_id"]
    assert survivor_id and merged_id and survivor_id != merged_id
    customer_actor = Actor(
        ActorKind.CUSTOMER, tenant.id, merged_id, "王芳", frozenset({"ticket.reply"}), DataScope.ALL
    )
    async with runtime.db.uow(tenant.id) as uow:
        message = await tickets.add_message(uow, customer_actor, t2["id"], "还没有收到退款", public=True)
    async with runtime.db.uow(tenant.id) as uow:
        await uow.session.execute(
            Customer.__table__.update()
            .where(Customer.id == merged_id)
            .values(level="vip", attributes={"城市": "杭州"})
        )
        await uow.commit()
    before = await snapshot(runtime, tenant)

    async with runtime.db.uow(tenant.id) as uow:
        merge = await merges.merge_customers(uow, admin.actor, survivor_id, merged_id, "同一个人")
    assert merge.mode == "manual" and merge.moved["tickets"] == [str(t2["id"])]
    after_merge = await snapshot(runtime, tenant)
    assert dict(after_merge["tickets"])[t2["id"]] == survivor_id
    assert dict(after_merge["messages"])[message.id] == survivor_id
    moved_customer = await customer(runtime, tenant, survivor_id)
    assert moved_customer.level == "vip" and moved_customer.attributes == {"城市": "杭州"}
    async with runtime.db.read(tenant.id) as session:
        events = list(
            (
                await session.execute(
                    select(TicketEvent).where(
                        TicketEvent.ticket_id == t2["id"], TicketEvent.type == "ticket.updated"
                    )
                )
            ).scalars()
        )
        outbox = list(
            (
                await session.execute(
                    select(OutboxRow).where(
                        OutboxRow.event_type == "ticket.updated", OutboxRow.kind == "event"
                    )
                )
            ).scalars()
        )
        history = list((await session.execute(select(CustomerEvent.customer_id, CustomerEvent.type))).all())
    assert [e.changes["customer_id"] for e in events] == [{"from": str(merged_id), "to": str(survivor_id)}]
    assert {row.event_id for row in outbox} == {events[0].id}
    assert (survivor_id, "customer.merged") in history and (merged_id, "customer.merged_into") in history

    # A ticket raised after the merge belongs to the survivor and stays with it after the undo.
    t3 = await make_ticket(runtime, admin, customer={"email": email})
    assert t3["customer_id"] == survivor_id
    async with runtime.db.uow(tenant.id) as uow:
        undone = await merges.undo_merge(uow, admin.actor, merge.id)
    assert undone.undone_at is not None and undone.undone_by_name == admin.actor.name
    restored = await snapshot(runtime, tenant)
    assert restored["customers"] == before["customers"]
    assert restored["identities"] == before["identities"]
    assert [t for t in restored["tickets"] if t[0] != t3["id"]] == before["tickets"]
    assert dict(restored["tickets"])[t3["id"]] == survivor_id
    assert restored["messages"] == before["messages"]
    async with runtime.db.uow(tenant.id) as uow:
        with pytest.raises(Conflict):
            await merges.undo_merge(uow, admin.actor, merge.id)


async def test_undo_waits_for_a_later_merge_of_the_survivor(runtime, tenant, admin):
    oldest = await resolve(runtime, tenant, ("email", f"{uid('m')}@example.com"), name="最早")
    middle = await resolve(runtime, tenant, ("phone", phone()), name="中间")
    newest = await resolve(runtime, tenant, ("phone", phone()), name="最新")
    before = await snapshot(runtime, tenant)
    async with runtime.db.uow(tenant.id) as uow:
        first = await merges.merge_customers(uow, admin.actor, middle.customer_id, newest.customer_id, None)
    async with runtime.db.uow(tenant.id) as uow:
        second = await merges.merge_customers(uow, admin.actor, oldest.customer_id, middle.customer_id, None)
    assert set(second.moved["identities"]) > set(first.moved["identities"])
    async with runtime.db.uow(tenant.id) as uow:
        with pytest.raises(Conflict) as blocked:
            await merges.undo_merge(uow, admin.actor, first.id)
    assert blocked.value.extra["blocking_merge_id"] == str(second.id)
    for merge in (second, first):
        async with runtime.db.uow(tenant.id) as uow:
            await merges.undo_merge(uow, admin.actor, merge.id)
    assert await snapshot(runtime, tenant) == before


async def test_merging_a_merged_customer_or_itself_is_refused(runtime, tenant, admin):
    a = await resolve(runtime, tenant, ("phone", phone()))
    b = await resolve(runtime, tenant, ("phone", phone()))
    c = await resolve(runtime, tenant, ("phone", phone()))
    async with runtime.db.uow(tenant.id) as uow:
        await merges.merge_customers(uow, admin.actor, a.customer_id, b.customer_id, None)
    for survivor, other, error in (
        (c.customer_id, b.customer_id, Conflict),
        (b.customer_id, c.customer_id, Conflict),
        (a.customer_id, a.customer_id, ValidationFailed),
    ):
        async with runtime.db.uow(tenant.id) as uow:
            with pytest.raises(error):
                await merges.merge_customers(uow, admin.actor, survivor, other, None)


async def test_tenants_never_see_or_merge_each_others_customers(runtime, tenant, admin):
    other_tenant = await make_tenant(runtime)
    other_admin = await make_member(runtime, other_tenant, "admin")
    email = f"{uid('m')}@example.com"
    mine = await resolve(runtime, tenant, ("email", email))
    theirs = await resolve(runtime, other_tenant, ("email", email))
    assert mine.created and theirs.created and mine.customer_id != theirs.customer_id
    extra = await resolve(runtime, tenant, ("phone", phone()))
    async with runtime.db.uow(tenant.id) as uow:
        with pytest.raises(NotFound):
            await merges.merge_customers(uow, admin.actor, mine.customer_id, theirs.customer_id, None)
    async with runtime.db.uow(tenant.id) as uow:
        merge = await merges.merge_customers(uow, admin.actor, mine.customer_id, extra.customer_id, None)
    async with runtime.db.uow(other_tenant.id) as uow:
        with pytest.raises(NotFound):
            await merges.undo_merge(uow, other_admin.actor, merge.id)


async def test_concurrent_resolutions_of_the_same_pair_merge_once(runtime, tenant, settings):
    if not is_postgres(settings.database_url):
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL")
    union, email = uid("oU"), f"{uid('m')}@example.com"
    older = await resolve(runtime, tenant, ("wechat_unionid", union))
    await resolve(runtime, tenant, ("email", email))
    results = await asyncio.gather(
        *(resolve(runtime, tenant, ("wechat_unionid", union), ("email", email)) for _ in range(4))
    )
    assert {r.customer_id for r in results} == {older.customer_id}
    assert len(await merges_of(runtime, tenant)) == 1
