"""Every setting, typed, read from HUILIU_* environment variables (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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
    # Where the worker may send requests (core/netguard.py): public addresses only unless private
    # networks are allowed; single hosts may be allowed by name (comma-separated).
    outbound_allow_private_networks: bool = False
    outbound_allowed_hosts: str = ""
    # Notifications (docs/notifications.md): rows of one worker task (fan-out and delivery together),
    # sends in flight per worker process and per provider, and the flood guards: an identical message
    # to the same recipient and channel within the dedupe window is dropped; past the hourly limit of
    # non-critical messages per recipient and push channel the rest join a digest of that many minutes.
    notification_batch_size: int = 25
    notification_send_threads: int = 16
    notification_provider_concurrency: int = 4
    notification_dedupe_minutes: float = 10.0
    notification_hourly_limit: int = 30
    notification_rate_limit_digest_minutes: int = 15
    # Single-message intake: messages of one sender that arrive while its transactions are busy share
    # the next one (group commit, docs/decisions/0020); at most this many transactions per sender and
    # API process at once.
    intake_group_commit: bool = True
    intake_group_commit_concurrency: int = 2
    # Ticket creates on the PostgreSQL driver pool: creates that arrive while this many grouped
    # transactions are in flight in the API process share the next one (docs/decisions/0048); one at
    # a time makes the groups, and so the set-based statement's savings, largest (decision 0059).
    create_group_commit_concurrency: int = Field(default=1, ge=1)
    # The common successful requests of POST /api/v1/tickets and POST /api/v1/intake/messages are
    # answered without FastAPI's routing and dependency layers (huiliu.direct_routes, decision 0055).
    direct_routes: bool = True
    # Ticket timers (SLA warnings and breaches, time-based rules): how often the worker sweeps due ones.
    timer_sweep_seconds: float = 10.0
    # Analytics: how often the worker brings the ticket facts up to the new audit events (dashboards
    # lag by about this plus the 30 s settle window; see docs/analytics.md).
    analytics_refresh_seconds: float = 15.0
    # Analytics alerts and weekly reports: how often the worker looks for rules whose hour (or day) has
    # completed and reports that are due (docs/analytics-alerts.md).
    analytics_alert_seconds: float = 60.0
    # Per API process. A few connections keep two cores busy; more only queue inside PostgreSQL and
    # run N processes x (pool + overflow) into max_connections. Requests beyond them wait up to
    # db_pool_timeout_seconds for a free connection.
    db_pool_size: int = 10
    # Overflow connections are opened and closed at every peak (a PostgreSQL backend fork each): keep 0
    # unless peaks are rare.
    db_max_overflow: int = 0
    db_pool_timeout_seconds: float = 10.0
    # Imports (CSV/XLSX, docs/imports.md): upload limits, rows per transaction, and the lease a running
    # job holds (renewed every chunk); the sweep resumes jobs whose lease ran out, up to max attempts.
    import_max_bytes: int = 10 * 1024 * 1024
    import_max_rows: int = 50_000
    import_chunk_rows: int = 200
    import_lease_seconds: float = 60.0
    import_sweep_seconds: float = 15.0
    import_max_attempts: int = 3
    import_concurrency: int = 2
    # Order lookup in an ERP/OMS for order numbers intake finds that are not known locally
    # (docs/orders.md): GET {url}?number=… with an optional bearer token. Unset url: local orders only.
    order_lookup_url: str | None = None
    order_lookup_token: str | None = None
    order_lookup_timeout_seconds: float = 2.0
    order_lookup_cache_seconds: float = 300.0
    order_lookup_negative_cache_seconds: float = 60.0
    order_lookup_failure_backoff_seconds: float = 30.0
    # Intake pipeline (docs/intake.md): windows for entry points that do not set their own. A message
    # joins its customer's open ticket on the same entry point when that ticket saw a message within
    # the thread window; near-identical text within the fold window folds onto the earlier ticket.
    intake_thread_window_hours: float = 24.0
    intake_fold_window_minutes: float = 10.0
    log_level: str = "info"
    web_dist_dir: Path | None = None
    # Public intake (H5 forms, progress pages, signed webhooks); see docs/channels/.
    # The address customers reach this server at: form, progress and QR code URLs are built on it.
    # Unset: http://<host>:<port> of this server (right for a local `make run`, wrong behind a proxy).
    public_base_url: str | None = None
    # Rate limits in the ``limits`` notation ("N per second|minute|hour|day", ";" between several):
    # writes (submissions, progress messages) per client IP and per entry point, reads (form
    # definitions, progress pages) per client IP. Shared through Redis when redis_url is set,
    # per process otherwise.
    public_rate_limit_per_ip: str = "10/minute;100/hour"
    public_rate_limit_per_entry_point: str = "600/minute"
    public_read_rate_limit_per_ip: str = "120/minute"
    # Largest photo a public form accepts (each); the general upload limit still applies.
    public_max_photo_bytes: int = 10 * 1024 * 1024
    # A customer's progress link (H5 page, notices) works while the ticket is open and this many days
    # after it was closed; then it answers 410. 0 keeps links working for ever.
    progress_link_days_after_close: int = Field(default=90, ge=0)
    webhook_intake_max_bytes: int = 1024 * 1024
    webhook_intake_tolerance_seconds: int = 300
    # Ticket classifier (docs/intelligence.md): the model file (trained from the dataset at first use
    # or by `huiliu train`), the labelled dataset directory (default: the repository's data/classifier)
    # and the confidence under which a prediction is reported as low.
    classifier_model_path: Path = Path("./var/models/classifier.joblib")
    classifier_dataset_dir: Path | None = None
    classifier_low_confidence: float = 0.5

    @property
    def public_url(self) -> str:
        """Base of every URL handed to customers (forms, QR codes, progress pages, webhook endpoints)."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
