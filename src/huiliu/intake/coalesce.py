"""Group commit for single-message intake (docs/decisions/0020).

Under load many single-message requests of one tenant arrive together; each as its own transaction
pays the pipeline's fixed cost (about ten statements, a commit) per message. ``IntakeCoalescer``
gathers the single messages of one sender (tenant and actor) that arrive while that sender's
transactions are busy and runs them as one ``ingest_many`` transaction, then answers every request
with its own result once that transaction has committed: the same answers, rows, events and outbox
rows as one transaction per message, in arrival order (a later message sees an earlier one, exactly
as in a batch request).

- Nothing waits on a timer: a message that finds a free slot (fewer than ``concurrency`` transactions
  of its sender in flight) starts a transaction at once, taking every message queued by then; only
  messages that arrive while all slots are busy wait, and they leave together when a slot frees. So an
  idle system answers as fast as before and a busy one does more per transaction.
- One message's refusal (unknown entry point, malformed identity) is that message's answer only, as in
  a batch request. Should the whole transaction fail unexpectedly, each of its messages is tried again
  alone, so one poisonous message cannot fail the others.
- Nothing is acknowledged before its transaction committed: every request awaits its own answer.
- Two transactions of a sender in flight never carry messages of the same sender identity (phone,
  openid …) or the same external message id: such a message waits for the transaction holding the
  other one and goes in a later one (in arrival order), so it sees what the first wrote — a
  follow-up threads onto the ticket its predecessor opened — instead of both transactions creating
  the same customer and one starting over (decision 0064). Across API processes the database decides:
  a message whose sender identity another transaction holds is answered ``Deferred`` by
  ``ingest_many`` and goes back to the front of the queue for the next transaction, so the rest of its
  group does not wait (decision 0066).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from huiliu.auth.domain import Actor
from huiliu.core.errors import HuiliuError
from huiliu.intake.domain import Deferred, InboundMessage

log = logging.getLogger(__name__)

# ingest_many(actor, messages) -> one answer per message (a result or the error that refused it).
RunBatch = Callable[[Actor, list[InboundMessage]], Awaitable[list[object]]]

DEFAULT_CONCURRENCY = 1
DEFAULT_MAX_BATCH = 100
# When a transaction carried only messages that had to wait for another transaction, the slot pauses
# this long before it tries them again (the other transaction is usually done within tens of ms).
DEFERRED_PAUSE = 0.005
# A message deferred this many times is answered with its ``Deferred`` (a 409 to retry; nothing of it
# was written), so a sender whose identity other processes keep holding cannot keep it waiting forever.
MAX_DEFERRALS = 20

_SenderKey = tuple[uuid.UUID, str, uuid.UUID | None]


@dataclass
class _Waiting:
    message: InboundMessage
    answer: asyncio.Future[object]
    # What two transactions in flight at once must not share (``_keys``).
    keys: frozenset[Hashable] = frozenset()
    # How many transactions left it for a later one (``Deferred``).
    deferrals: int = 0


@dataclass
class _Sender:
    actor: Actor
    queue: list[_Waiting] = field(default_factory=list)
    in_flight: int = 0
    # Keys of the messages in the sender's transactions in flight.
    busy: Counter[Hashable] = field(default_factory=Counter)


def _keys(message: InboundMessage) -> frozenset[Hashable]:
    """The sender's identities as given and the delivery's external id: messages sharing one would
    contend in the database (the same new customer, the same unique message key), so they do not run
    in two transactions at once. Not normalised (a phone written two ways is two keys): a miss only
    costs the retry the database forces anyway."""
    keys: set[Hashable] = {("identity", i.kind, i.value) for i in message.identities}
    if message.external_id is not None:
        keys.add(("message", message.channel, message.entry_point_id, message.external_id))
    return frozenset(keys)


class IntakeCoalescer:
    """Runs single messages through ``run_batch`` in shared transactions (see the module docstring).
    One per process; safe for any number of concurrent callers on one event loop."""

    def __init__(
        self,
        run_batch: RunBatch,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if concurrency < 1 or max_batch < 1:
            raise ValueError("concurrency and max_batch must be at least 1")
        self._run_batch = run_batch
        self.concurrency = concurrency
        self.max_batch = max_batch
        self._senders: dict[_SenderKey, _Sender] = {}
        # Transactions run so far and the messages they carried (for tests and the benchmark's report).
        self.transactions = 0
        self.messages = 0

    async def submit(self, actor: Actor, message: InboundMessage) -> object:
        """This message's answer: an ``IngestResult``; a refusal (``HuiliuError``) is raised."""
        key: _SenderKey = (actor.tenant_id, actor.kind.value, actor.id)
        sender = self._senders.get(key)
        if sender is None:
            sender = self._senders[key] = _Sender(actor)
        waiting = _Waiting(message, asyncio.get_running_loop().create_future(), _keys(message))
        sender.queue.append(waiting)
        # A message sharing a key with a transaction in flight waits for that transaction's slot.
        if sender.in_flight < self.concurrency and not any(k in sender.busy for k in waiting.keys):
            self._start(key, sender)
        answer = await waiting.answer
        if isinstance(answer, HuiliuError):
            raise answer
        return answer

    def _start(self, key: _SenderKey, sender: _Sender) -> None:
        sender.in_flight += 1
        task = asyncio.get_running_loop().create_task(self._drain(key, sender))
        task.add_done_callback(_log_crash)

    async def _drain(self, key: _SenderKey, sender: _Sender) -> None:
        try:
            # Let requests that are already running reach the queue before this transaction takes it.
            await asyncio.sleep(0)
            while taken := self._take(sender):
                claimed = Counter(k for waiting in taken for k in waiting.keys)
                sender.busy.update(claimed)
                try:
                    deferred = await self._run(sender.actor, taken)
                finally:
                    sender.busy.subtract(claimed)
                    sender.busy = +sender.busy  # drop the keys no transaction holds any more
                if deferred:
                    # Back to the front, in order: the next transaction takes them first.
                    sender.queue[:0] = deferred
                    if len(deferred) == len(taken):
                        await asyncio.sleep(DEFERRED_PAUSE)
        finally:
            sender.in_flight -= 1
            if sender.in_flight == 0 and not sender.queue:
                self._senders.pop(key, None)

    def _take(self, sender: _Sender) -> list[_Waiting]:
        """The next transaction's messages, in arrival order: up to ``max_batch`` of the queue, leaving
        those that share a key with a transaction in flight (the slot running it takes them when it
        is done; nothing is left behind with no slot to take it, since keys are only busy while a
        slot runs). A request that gave up (client gone) while queued is dropped: nothing was
        acknowledged."""
        taken: list[_Waiting] = []
        left: list[_Waiting] = []
        # Keys of messages left behind: a later message sharing one stays behind too, so messages of
        # one sender identity keep their arrival order.
        held: set[Hashable] = set()
        for waiting in sender.queue:
            if waiting.answer.cancelled():
                continue
            if len(taken) < self.max_batch and not any(k in sender.busy or k in held for k in waiting.keys):
                taken.append(waiting)
            else:
                left.append(waiting)
                held.update(waiting.keys)
        sender.queue = left
        return taken

    async def _run(self, actor: Actor, taken: list[_Waiting]) -> list[_Waiting]:
        """Run one transaction and answer its messages; returns those it deferred (``Deferred``)."""
        self.transactions += 1
        self.messages += len(taken)
        try:
            answers = await self._run_batch(actor, [w.message for w in taken])
        except HuiliuError as exc:
            # The transaction as a whole was refused (a permission, a race that kept recurring).
            for waiting in taken:
                _settle(waiting, exc)
            return []
        except Exception as exc:
            if len(taken) == 1:
                if not taken[0].answer.done():
                    taken[0].answer.set_exception(exc)
                return []
            log.exception("intake transaction of %d messages failed; trying each alone", len(taken))
            deferred = []
            for waiting in taken:
                deferred += await self._run(actor, [waiting])
            return deferred
        deferred = []
        for waiting, answer in zip(taken, answers, strict=True):
            if isinstance(answer, Deferred) and waiting.deferrals + 1 < MAX_DEFERRALS:
                waiting.deferrals += 1
                deferred.append(waiting)
            else:
                _settle(waiting, answer)
        return deferred


def _settle(waiting: _Waiting, answer: object) -> None:
    if not waiting.answer.done():
        waiting.answer.set_result(answer)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("intake coalescer task crashed", exc_info=task.exception())
