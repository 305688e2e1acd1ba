"""Every setting, typed, read from HUILIU_* environment variables (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUILIU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/huiliu.db"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    api_workers: int = 1
    secret_key: str = "change-me-in-production-please-32bytes"
    access_token_minutes: int = 12 * 60
    cookie_secure: bool = False
    files_dir: Path = Path("./var/files")
    max_upload_bytes: int = 20 * 1024 * 1024
    display_timezone: str = "Asia/Shanghai"
    # Worker / outbox delivery
    huey_sqlite_path: Path = Path("./var/huey.db")
    outbox_max_attempts: int = 8
    outbox_backoff_base_seconds: float = 2.0
    outbox_lease_seconds: float = 60.0
    outbox_sweep_seconds: float = 5.0
    outbox_backoff_max_seconds: float = 3600.0
    outbox_poll_seconds: float = 0.25
    outbox_batch_size: int = 50
    worker_threads: int = 4
    webhook_timeout_seconds: float = 10.0
    # Per API process. A few connections keep two cores busy; more only queue inside PostgreSQL and
    # run N processes x (pool + overflow) into max_connections. Requests beyond them wait up to
    # db_pool_timeout_seconds for a free connection.
    db_pool_size: int = 10
    # Overflow connections are opened and closed at every peak (a PostgreSQL backend fork each): keep 0
    # unless peaks are rare.
    db_max_overflow: int = 0
    db_pool_timeout_seconds: float = 10.0
    log_level: str = "info"
    web_dist_dir: Path | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
