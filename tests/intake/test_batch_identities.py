"""Identity resolution for a whole batch (``customers.service.resolve_identities_many``, used by
``intake.service.ingest_many``): the same outcomes as resolving message by message — new customers,
repeats within the batch, automatic merges on strong keys and identities joining a known customer —
with a number of statements that does not grow with the batch."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from huiliu.auth.domain import Actor
from huiliu.core.errors import ValidationFailed
from huiliu.customers.domain import IdentityClaim
from huiliu.customers.models import Customer, CustomerIdentity
from huiliu.customers.service import ResolutionFailed, resolve_identities, resolve_identities_many
from huiliu.entry_points.models import EntryPoint
from huiliu.intake.domain import IngestOutcome, SenderIdentity
from huiliu.tickets.models import Message, Ticket
from tests.factories import make_tenant, unique
from tests.intake.test_pipeline import count, inbound, ingest_many, integration, make_entry_point, phone


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
def actor(tenant: Any) -> Actor:
    return integration(tenant.id)


@pytest.fixture
async def entry_point(runtime: Any, tenant: Any) -> EntryPoint:
    return await make_entry_point(runtime, tenant.id)


def claim(kind: str, value: str, verified: bool = False) -> IdentityClaim:
    return IdentityClaim(kind, value, verified)


async def owners(runtime: Any, tenant_id: Any) -> dict[tuple[str, str], Any]:
    async with runtime.db.read(tenant_id) as session:
        rows = await session.execute(
            select(CustomerIdentity.kind, CustomerIdentity.value, CustomerIdentity.customer_id)
        )
        return {(r.kind, r.value): r.customer_id for r in rows}


async def test_a_batch_resolves_like_one_message_at_a_time(runtime, tenant):
    union, email, first, second = unique("union"), f"{unique('a')}@example.com", phone(), phone()
    async with runtime.db.uow(tenant.id) as uow:
        older = (await resolve_identities(uow, "老客户", [claim("wechat_unionid", union)])).customer_id
        await uow.commit()
    async with runtime.db.uow(tenant.id) as uow:
        younger = (await resolve_identities(uow, "新客户", [claim("email", email)])).customer_id
        await uow.commit()

    async with runtime.db.uow(tenant.id) as uow:
        results = await resolve_identities_many(
            uow,
            [
                ("甲", [claim("phone", first)]),  # new customer
                ("甲", [claim("phone", first)]),  # the same sender again: no second customer
                ("乙", [claim("wechat_unionid", union), claim("email", email)]),  # strong keys: merge
                ("甲", [claim("phone", first), claim("phone", second)]),  # a second phone joins 甲
                ("丙", [claim("email", email)]),  # the merged customer's e-mail: the survivor now
                ("只有姓名", []),  # a name alone: a new customer without identities
                (None, []),  # nothing at all: no customer
                ("丁", [claim("phone", first, verified=True)]),  # verified now
            ],
        )
        await uow.commit()
    new, again, merged, joined, by_email, named, nobody, verified = results
    assert new.created and new.attached == (("phone", first),)
    assert again.customer_id == new.customer_id and not again.created
    assert merged.customer_id == older and merged.merges and not merged.created
    assert joined.customer_id == new.customer_id and joined.attached == (("phone", second),)
    assert by_email.customer_id == older
    assert named.created and named.customer_id not in {new.customer_id, older}
    assert nobody.customer_id is None
    assert verified.customer_id == new.customer_id

    found = await owners(runtime, tenant.id)
    assert found[("phone", first)] == found[("phone", second)] == new.customer_id
    assert found[("email", email)] == found[("wechat_unionid", union)] == older
    async with runtime.db.read(tenant.id) as session:
        assert (
            await session.execute(select(Customer.merged_into_id).where(Customer.id == younger))
        ).scalar_one() == older
        assert (
            await session.execute(select(CustomerIdentity.verified).where(CustomerIdentity.value == first))
        ).scalar_one()
    assert await count(runtime, tenant.id, Customer, Customer.merged_into_id.is_(None)) == 3


async def test_a_refused_request_names_its_position(runtime, tenant, monkeypatch):
    from huiliu.customers import service as customers

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ValidationFailed("refused")

    known = phone()
    async with runtime.db.uow(tenant.id) as uow:
        await resolve_identities(uow, "老客户", [claim("phone", known)])
        await uow.commit()
    monkeypatch.setattr(customers, "resolve_identities", refuse)
    async with runtime.db.uow(tenant.id) as uow:
        try:
            await resolve_identities_many(
                uow,
                [("甲", [claim("phone", phone())]), ("乙", [claim("phone", known), claim("phone", phone())])],
            )
        except ResolutionFailed as failed:
            assert failed.position == 1 and failed.error.detail == "refused"
        else:
            raise AssertionError("expected ResolutionFailed")


async def test_a_batch_of_new_customers_costs_the_same_statements_at_any_size(
    runtime, tenant, actor, entry_point, monkeypatch
):
    # The intake pipeline's own statements: reactors (rules, routing, SLA) look their tenant's
    # configuration up through caches that may or may not be warm, which is not what is counted here.
    monkeypatch.setattr(runtime.db, "reactors", [])
    engine = runtime.db.engine.sync_engine
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The API process's inbox relay (notifications/relay.py) polls on the same engine once a
        # second; its reads are not the pipeline's.
        if "FROM notifications" not in statement:  # the relay reads the inbox table only
            statements.append(statement)

    async def statements_for(size: int) -> int:
        messages = [inbound(entry_point, f"第 {n} 位顾客：快递还没到", phone=phone()) for n in range(size)]
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            results = await ingest_many(runtime, actor, messages)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert [r.outcome for r in results] == [IngestOutcome.CREATED] * size
        return len(statements)

    assert await statements_for(25) == await statements_for(75)
    assert await count(runtime, tenant.id, Customer) == 100
    assert await count(runtime, tenant.id, Ticket) == 100
    assert await count(runtime, tenant.id, Message) == 100


async def test_a_batch_with_a_merge_keeps_every_message(runtime, tenant, actor, entry_point):
    union, email = unique("union"), f"{unique('b')}@example.com"
    async with runtime.db.uow(tenant.id) as uow:
        older = (await resolve_identities(uow, "老客户", [claim("wechat_unionid", union)])).customer_id
        await uow.commit()
    async with runtime.db.uow(tenant.id) as uow:
        await resolve_identities(uow, "新客户", [claim("email", email)])
        await uow.commit()
    messages = [
        inbound(entry_point, "第一条：洗衣机漏水", phone=phone()),
        inbound(
            entry_point,
            "第二条：我的会员积分不见了",
            identities=(SenderIdentity("wechat_unionid", union), SenderIdentity("email", email)),
        ),
        inbound(entry_point, "第三条：发票开错了", identities=(SenderIdentity("email", email),)),
    ]
    results = await ingest_many(runtime, actor, messages)
    assert [r.outcome for r in results] == [
        IngestOutcome.CREATED,
        IngestOutcome.CREATED,
        IngestOutcome.THREADED,
    ]
    async with runtime.db.read(tenant.id) as session:
        customer_of = {
            row.id: row.customer_id for row in await session.execute(select(Ticket.id, Ticket.customer_id))
        }
    assert customer_of[results[1].ticket_id] == older
    assert results[2].ticket_id == results[1].ticket_id


async def test_an_identity_claimed_twice_in_one_request_is_one_row(runtime, tenant):
    number = phone()
    async with runtime.db.uow(tenant.id) as uow:
        [resolution] = await resolve_identities_many(
            uow, [("甲", [claim("phone", number), claim("phone", number, verified=True)])]
        )
        await uow.commit()
    assert resolution.created
    async with runtime.db.read(tenant.id) as session:
        rows = (await session.execute(select(CustomerIdentity.verified))).scalars().all()
    assert rows == [True]
