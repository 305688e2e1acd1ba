"""Identifiers: UUIDv7 (time-ordered), generated in the application so inserts need no round trip."""

from __future__ import annotations

import uuid

import uuid6

from huiliu.core import clock


def new_id() -> uuid.UUID:
    """A new time-ordered UUID (v7); newer ids sort after older ones. Inside ``clock.at`` the time
    part follows the overridden clock, so back-dated rows sort where their timestamps say."""
    moment = clock.override()
    if moment is not None:
        return new_id_at(int(moment.timestamp() * 1000))
    return uuid.UUID(int=uuid6.uuid7().int)


def new_id_at(moment_ms: int) -> uuid.UUID:
    """A UUIDv7 whose time part is ``moment_ms`` (Unix milliseconds): for back-dated imports and seeds."""
    random_part = uuid.uuid4().int & ((1 << 74) - 1)
    rand_a = (random_part >> 62) & 0xFFF
    rand_b = random_part & ((1 << 62) - 1)
    value = (moment_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)
