"""Writing the SLA rows of a timer-sweep batch with one statement (PostgreSQL).

The sweep's SLA handler changes the same few columns of every due ticket's ``ticket_slas`` row (the
clocks with the fired threshold, the deadlines, ``updated_at``). Through the ORM that is one UPDATE
per row at flush, each with its parameters processed one by one. Here the new values go into the
loaded row objects as their committed state (``set_committed_value``: the objects stay what the
database will hold, and the flush has nothing to write for them) and into one ``UPDATE … FROM
jsonb_to_recordset`` statement of fixed text at the end of the batch (``db.bulk``, decisions 0041
and 0044). A reaction later in the same unit of work that changes a row again (an escalated
priority moves the deadlines) changes it through the ORM as usual, after this statement."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from huiliu.db import bulk
from huiliu.sla.domain.policy import METRICS
from huiliu.sla.models import TicketSla

# The columns the timer handler writes (``reactor._row_values``), besides the key.
COLUMNS: tuple[str, ...] = (
    "clocks",
    "paused",
    *(f"{name}_{suffix}" for name in METRICS for suffix in ("due_at", "breached", "breached_at")),
    "next_due_at",
    "next_response_breaches",
    "updated_at",
)
_KEYS = ("ticket_id", *COLUMNS)


@functools.cache
def _update_statement() -> TextClause:
    table: Table = TicketSla.__table__  # type: ignore[assignment]
    assignments = ", ".join(f'"{key}" = r."{key}"' for key in COLUMNS)
    return text(
        f"""
        UPDATE ticket_slas SET {assignments}
        FROM {bulk.rows_source(table, _KEYS, "rows", "r")}
        WHERE ticket_slas.ticket_id = r.ticket_id AND ticket_slas.tenant_id = :tenant_id
        """
    )


class SlaRowWrites:
    """The SLA rows one batch changed, written by ``write`` in one statement."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self._rows: list[dict[str, Any]] = []

    def store(self, row: TicketSla, values: dict[str, Any]) -> None:
        """Give ``row`` the ``values`` (every key of ``COLUMNS``) now, as already written."""
        state = instance_state(row)
        loaded, changed = state.dict, state.committed_state
        for key, value in values.items():
            # Most columns keep their value (a warning moves the clocks and ``updated_at`` only).
            if key in changed or key not in loaded or loaded[key] != value:
                set_committed_value(row, key, value)
        self._rows.append({"ticket_id": row.ticket_id, **values})

    async def write(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            await self.session.execute(
                _update_statement(), {"rows": bulk.rows(rows), "tenant_id": self.tenant_id}
            )
