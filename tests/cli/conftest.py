"""CLI tests run commands against fresh databases chosen through HUILIU_* environment variables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from huiliu.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """Settings are cached per process; each CLI test reads its own environment."""
    monkeypatch.setenv("HUILIU_FILES_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("HUILIU_HUEY_SQLITE_PATH", str(tmp_path / "huey.db"))
    monkeypatch.delenv("HUILIU_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
