"""Group commit of single intake messages: who shares a transaction, what each caller is answered,
and what happens when a shared transaction fails."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from huiliu.auth.domain import system_actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, ValidationFailed
from huiliu.intake import coalesce
from huiliu.intake.coalesce import IntakeCoalescer
from huiliu.intake.domain import Deferred, InboundMessage, SenderIdentity


def message(text: str) -> InboundMessage:
    return InboundMessage(channel="api", text=text, received_at=utcnow())


class FakePipeline:
    """Answers each message with its text upper-cased; "bad" is refused, "boom" breaks the transaction."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.running = 0
        self.most_running = 0

    async def __call__(self, actor, messages):
        self.batches.append([m.text for m in messages])
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.gate.wait()
            if any(m.text == "boom" for m in messages):
                raise RuntimeError("database went away")
            return [ValidationFailed("refused") if m.text == "bad" else m.text.upper() for m in messages]
        finally:
            self.running -= 1


async def test_an_idle_sender_runs_at_once_alone():
    pipeline = FakePipeline()
    coalescer = IntakeCoalescer(pipeline)
    actor = system_actor(uuid.uuid4())
    assert await coalescer.submit(actor, message("a")) == "A"
    assert await coalescer.submit(actor, message("b")) == "B"
    assert pipeline.batches == [["a"], ["b"]]


async def test_messages_arriving_while_slots_are_busy_share_the_next_transaction():
    pipeline = FakePipeline()
    coalescer = IntakeCoalescer(pipeline, concurrency=1)
    actor = system_actor(uuid.uuid4())
    pipeline.gate.clear()
    first = asyncio.create_task(coalescer.submit(actor, message("first")))
    await asyncio.sleep(0.01)
    rest = [asyncio.create_task(coalescer.submit(actor, message(f"m{i}"))) for i in range(5)]
    await asyncio.sleep(0.01)
    pipeline.gate.set()
    assert await first == "FIRST"
    assert await asyncio.gather(*rest) == [f"M{i}" for i in range(5)]
    # In arrival order, the five waiting ones in one transaction.
    assert pipeline.batches == [["first"], [f"m{i}" for i in range(5)]]
    assert (coalescer.transactions, coalescer.messages) == (2, 6)


async def test_concurrency_and_batch_size_are_bounded():
    pipeline = FakePipeline()
    coalescer = IntakeCoalescer(pipeline, concurrency=2, max_batch=3)
    actor = system_actor(uuid.uuid4())
    pipeline.gate.clear()
    tasks = [asyncio.create_task(coalescer.submit(actor, message(f"m{i}"))) for i in range(10)]
    await asyncio.sleep(0.01)
    pipeline.gate.set()
    assert await asyncio.gather(*tasks) == [f"M{i}" for i in range(10)]
    assert pipeline.most_running <= 2
    assert all(len(batch) <= 3 for batch in pipeline.batches)
    assert sorted(text for batch in pipeline.batches for text in batch) == sorted(f"m{i}" for i in range(10))


async def test_senders_do_not_share_transactions():
    pipeline = FakePipeline()
    coalescer = IntakeCoalescer(pipeline, concurrency=1)
    one, other = system_actor(uuid.uuid4()), system_actor(uuid.uuid4())
    pipeline.gate.clear()
    tasks = [
        asyncio.create_task(coalescer.submit(actor, message(f"{n}{i}")))
        for i in range(3)
        for n, actor in (("x", one), ("y", other))
    ]
    await asyncio.sleep(0.01)
    pipeline.gate.set()
    await asyncio.gather(*tasks)
    for batch in pipeline.batches:
        assert len({text[0] for text in batch}) == 1


async def test_a_refused_message_is_only_its_own_answer():
    pipeline = FakePipeline()
    coalescer = IntakeCoalescer(pipeline, concurrency=1)
    actor = system_actor(uuid.uuid4())
    pipeline.gate.clear()
    blocker = asyncio.create_task(coalescer.submit(actor, message("x")))
    await asyncio.sleep(0.01)
    good = asyncio.create_task(coalescer.submit(actor, message("ok")))
    bad = asyncio.create_task(coalescer.submit(actor, message("bad")))
    await asyncio.sleep(0.01)
    pipeline.gate.set()
    assert await blocker == "X"
    assert await good == "OK"
    with pytest.raises(ValidationFailed):
        await bad
    assert pipeline.batches[1] == ["ok", "bad"]


async def test_a_failed_shared_transaction_is_retried_message_by_message():
    pipeline = FakePipeline()
    coalescer = IntakeCoalescer(pipeline, concurrency=1)
    actor = system_actor(uuid.uuid4())
    pipeline.gate.clear()
    blocker = asyncio.create_task(coalescer.submit(actor, message("x")))
    await asyncio.sleep(0.01)
    tasks = [asyncio.create_task(coalescer.submit(actor, message(t))) for t in ("a", "boom", "b")]
    await asyncio.sleep(0.01)
    pipeline.gate.set()
    await blocker
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == "A" and results[2] == "B"
    assert isinstance(results[1], RuntimeError)
    assert pipeline.batches[1:] == [["a", "boom", "b"], ["a"], ["boom"], ["b"]]


async def test_a_refusal_of_the_whole_transaction_reaches_every_caller():
    async def refuse(actor, messages):
        raise Conflict("being delivered concurrently")

    coalescer = IntakeCoalescer(refuse)
    actor = system_actor(uuid.uuid4())
    results = await asyncio.gather(
        *(coalescer.submit(actor, message(str(i))) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, Conflict) for result in results)


async def test_a_caller_that_gave_up_while_queued_is_not_run():
    pipeline = FakePipeline()
    coalescer = IntakeCoalescer(pipeline, concurrency=1)
    actor = system_actor(uuid.uuid4())
    pipeline.gate.clear()
    blocker = asyncio.create_task(coalescer.submit(actor, message("x")))
    await asyncio.sleep(0.01)
    gone = asyncio.create_task(coalescer.submit(actor, message("gone")))
    kept = asyncio.create_task(coalescer.submit(actor, message("kept")))
    await asyncio.sleep(0.01)
    gone.cancel()
    pipeline.gate.set()
    await blocker
    assert await kept == "KEPT"
    assert ["gone"] not in pipeline.batches and pipeline.batches[1] == ["kept"]


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        IntakeCoalescer(FakePipeline(), concurrency=0)


def from_sender(text: str, *phones: str, external_id: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel="api",
        text=text,
        received_at=utcnow(),
        identities=tuple(SenderIdentity("phone", phone) for phone in phones),
        external_id=external_id,
    )


class KeyedPipeline(FakePipeline):
    """Records, for every transaction, the phones and external ids of the other transactions running."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight: list[set[str]] = []
        self.overlaps: list[set[str]] = []

    async def __call__(self, actor, messages):
        mine = {i.value for m in messages for i in m.identities} | {
            m.external_id for m in messages if m.external_id
        }
        for other in self.in_flight:
            self.overlaps.append(mine & other)
        self.in_flight.append(mine)
        try:
            return await super().__call__(actor, messages)
        finally:
            self.in_flight.remove(mine)


async def test_two_transactions_in_flight_never_share_a_sender_identity_or_message():
    """A follow-up from a customer whose first message is in a transaction waits for that transaction
    (it will then see the ticket the first one opened); other customers' messages do not wait."""
    pipeline = KeyedPipeline()
    coalescer = IntakeCoalescer(pipeline, concurrency=2)
    actor = system_actor(uuid.uuid4())
    pipeline.gate.clear()
    first = asyncio.create_task(coalescer.submit(actor, from_sender("a1", "13900000001")))
    await asyncio.sleep(0.01)
    follow_up = asyncio.create_task(coalescer.submit(actor, from_sender("a2", "13900000001")))
    other = asyncio.create_task(coalescer.submit(actor, from_sender("b1", "13900000002")))
    again = asyncio.create_task(
        coalescer.submit(actor, from_sender("a1-again", "13900000003", external_id="x-1"))
    )
    twice = asyncio.create_task(
        coalescer.submit(actor, from_sender("a1-twice", "13900000004", external_id="x-1"))
    )
    await asyncio.sleep(0.01)
    # The second slot took the other customers' messages (not the follow-up) and runs beside the first.
    assert pipeline.most_running == 2
    assert pipeline.batches == [["a1"], ["b1", "a1-again", "a1-twice"]]
    pipeline.gate.set()
    assert await asyncio.gather(first, follow_up, other, again, twice) == [
        "A1",
        "A2",
        "B1",
        "A1-AGAIN",
        "A1-TWICE",
    ]
    assert pipeline.batches[2:] == [["a2"]]
    assert all(not overlap for overlap in pipeline.overlaps)


async def test_messages_of_one_identity_keep_their_order_when_one_must_wait():
    """m2 shares a phone with the busy transaction; m3 shares another phone with m2 only, so it waits
    behind m2 rather than overtaking it; m4 shares nothing and goes at once."""
    pipeline = KeyedPipeline()
    coalescer = IntakeCoalescer(pipeline, concurrency=2)
    actor = system_actor(uuid.uuid4())
    pipeline.gate.clear()
    first = asyncio.create_task(coalescer.submit(actor, from_sender("m1", "13900000001")))
    await asyncio.sleep(0.01)
    rest = [
        asyncio.create_task(coalescer.submit(actor, from_sender("m2", "13900000001", "13900000002"))),
        asyncio.create_task(coalescer.submit(actor, from_sender("m3", "13900000002"))),
        asyncio.create_task(coalescer.submit(actor, from_sender("m4", "13900000009"))),
    ]
    await asyncio.sleep(0.01)
    assert pipeline.batches == [["m1"], ["m4"]]
    pipeline.gate.set()
    assert await asyncio.gather(first, *rest) == ["M1", "M2", "M3", "M4"]
    later = [text for batch in pipeline.batches[2:] for text in batch]
    assert later == ["m2", "m3"]
    assert all(not overlap for overlap in pipeline.overlaps)


async def test_a_deferred_message_goes_back_to_the_front_and_is_answered_later():
    """``ingest_many`` defers a message whose sender another API process's transaction holds: the
    caller is not answered with that, the message runs again in the next transaction (first), and
    the rest of its group is answered at once."""
    calls: list[list[str]] = []
    held = {"held-1": 2}  # deferred twice, then the other process's transaction is done

    async def pipeline(actor, messages):
        calls.append([m.text for m in messages])
        answers: list[object] = []
        for m in messages:
            if held.get(m.text, 0) > 0:
                held[m.text] -= 1
                answers.append(Deferred())
            else:
                answers.append(m.text.upper())
        return answers

    coalescer = IntakeCoalescer(pipeline, concurrency=1)
    actor = system_actor(uuid.uuid4())
    tasks = [asyncio.create_task(coalescer.submit(actor, message(t))) for t in ("held-1", "free-1")]
    assert await asyncio.wait_for(asyncio.gather(*tasks), 5) == ["HELD-1", "FREE-1"]
    assert calls[0] == ["held-1", "free-1"]
    assert calls[1:] == [["held-1"], ["held-1"]]


async def test_a_message_deferred_too_often_is_answered_with_a_conflict_to_retry(monkeypatch):
    """A sender whose identity other processes keep holding: after ``MAX_DEFERRALS`` tries the caller
    gets the 409 (nothing of the message was written; a retry with the same external id is safe)."""
    monkeypatch.setattr(coalesce, "DEFERRED_PAUSE", 0)
    tries = []

    async def pipeline(actor, messages):
        tries.append(len(messages))
        return [Deferred() for _ in messages]

    coalescer = IntakeCoalescer(pipeline, concurrency=1)
    with pytest.raises(Conflict):
        await asyncio.wait_for(coalescer.submit(system_actor(uuid.uuid4()), message("held")), 5)
    assert len(tries) == coalesce.MAX_DEFERRALS
