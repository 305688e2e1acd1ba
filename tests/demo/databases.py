"""Fresh, empty databases for tests that need a whole installation of their own (the demo tenant and its
logins are unique per installation, so seeding cannot share the session database)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from huiliu.db.migrate import upgrade


@contextmanager
def fresh_database(directory: Path, *, migrate: bool = True) -> Iterator[str]:
    """A new database (SQLite file in ``directory``, or a new database on the server named by
    HUILIU_TEST_DATABASE_URL), migrated to head unless ``migrate`` is False; dropped afterwards."""
    server_url = os.environ.get("HUILIU_TEST_DATABASE_URL")
    if not server_url:
        url = f"sqlite:///{directory / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        if migrate:
            upgrade(url)
        yield url
        return
    base = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"huiliu_fresh_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
