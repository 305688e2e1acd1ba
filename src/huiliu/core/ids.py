"""Identifiers: UUIDv7 (time-ordered, RFC 9562), generated in the application so inserts need no round
trip.

Layout (RFC 9562 §5.7 with the "fixed bit-length dedicated counter" of §6.2, method 1): 48 bits of Unix
milliseconds, version 7, a 12-bit counter in ``rand_a`` that starts at a random value below 2048 each
new millisecond and counts up within it, the variant, and 62 random bits. Ids of one process are
strictly increasing; their time part is the real clock's (a library that adds a millisecond per id
within the same millisecond runs ahead of the clock under load: at 4,000 ids/s, seconds per second).
The random bits come from the operating system's CSPRNG read 4 KiB at a time (one system call per 512
ids instead of one per id); a forked child discards the parent's buffer."""

from __future__ import annotations

import os
import threading
import time
import uuid

from huiliu.core import clock

_RANDOM_BYTES = 4096
_COUNTER_START = 0x7FF  # the counter starts at most here, so 2,048 ids fit in one millisecond
_RAND_B = (1 << 62) - 1


class _Generator:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.buffer = b""
        self.offset = 0
        self.last_ms = -1
        self.counter = 0

    def random_bits(self) -> int:
        """64 random bits (caller holds the lock)."""
        if self.offset + 8 > len(self.buffer):
            self.buffer = os.urandom(_RANDOM_BYTES)
            self.offset = 0
        start = self.offset
        self.offset = start + 8
        return int.from_bytes(self.buffer[start : start + 8], "big")

    def next(self) -> uuid.UUID:
        now_ms = time.time_ns() // 1_000_000
        with self.lock:
            bits = self.random_bits()
            if now_ms > self.last_ms:
                self.last_ms = now_ms
                self.counter = (bits >> 52) & _COUNTER_START
            else:
                self.counter += 1
                if self.counter > 0xFFF:  # more than ~2,000 ids in one millisecond: borrow the next
                    self.last_ms += 1
                    self.counter = (bits >> 52) & _COUNTER_START
            moment_ms, counter = self.last_ms, self.counter
        return uuid.UUID(int=moment_ms << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | bits & _RAND_B)


_generator = _Generator()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_generator.reset)


def new_id() -> uuid.UUID:
    """A new time-ordered UUID (v7); newer ids sort after older ones. Inside ``clock.at`` the time
    part follows the overridden clock, so back-dated rows sort where their timestamps say."""
    moment = clock.override()
    if moment is not None:
        return new_id_at(int(moment.timestamp() * 1000))
    return _generator.next()


def new_id_at(moment_ms: int) -> uuid.UUID:
    """A UUIDv7 whose time part is ``moment_ms`` (Unix milliseconds): for back-dated imports and seeds."""
    random_part = uuid.uuid4().int & ((1 << 74) - 1)
    rand_a = (random_part >> 62) & 0xFFF
    rand_b = random_part & ((1 << 62) - 1)
    value = (moment_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)
