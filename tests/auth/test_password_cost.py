"""The test suite hashes passwords with cheap argon2 parameters (tests/conftest.py); production keeps
argon2id at RFC 9106's low-memory cost. The timing-equaliser hash is made at import with the module's
own hasher, so its parameters are the production ones."""

from __future__ import annotations

import argon2
from argon2 import Type

from huiliu.auth import service


def test_production_password_hashes_are_argon2id_at_rfc_9106_low_memory_cost() -> None:
    parameters = argon2.extract_parameters(service._DUMMY_HASH)
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 65536
    assert parameters.time_cost >= 3
    assert parameters.salt_len >= 16 and parameters.hash_len >= 32


def test_the_suite_still_hashes_and_verifies_real_argon2id() -> None:
    hashed = service.hash_password("correct-horse-42")
    assert argon2.extract_parameters(hashed).type is Type.ID
    assert service.verify_password(hashed, "correct-horse-42")
    assert not service.verify_password(hashed, "correct-horse-43")
