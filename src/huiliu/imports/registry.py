"""The importer registry: one ``Importer`` per kind of record (``customers`` here; ``orders`` and
``opportunities`` register from their own package with ``register_importer``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from huiliu.auth.domain import Actor
from huiliu.core.errors import ValidationFailed
from huiliu.db.session import UnitOfWork
from huiliu.imports.domain import ColumnSpec, MappedRow

RowOutcome = Literal["created", "updated"]


@dataclass(frozen=True)
class ImportContext:
    """What an importer may want to know about the job a row belongs to (e.g. to record the source)."""

    job_id: str
    file_name: str
    row_number: int


@dataclass(frozen=True)
class Importer:
    """How to import one kind of record.

    ``parse`` is pure: it turns a mapped row into the importer's own value or raises ``RowInvalid``
    (row errors: bad phone, bad e-mail …; the other rows go on). ``apply`` writes one parsed row in
    the job's unit of work without committing (the job commits a chunk of rows with its counters) and
    says whether it created or updated a record; a ``HuiliuError`` it raises becomes a row error."""

    columns: tuple[ColumnSpec, ...]
    # The header must name at least one of these fields, or the file is refused (422).
    needs_one_of: tuple[str, ...]
    parse: Callable[[MappedRow], Any]
    apply: Callable[[UnitOfWork, Actor, Any, ImportContext], Awaitable[RowOutcome]]
    # Uploading and reading jobs of this kind require this permission; the job runs with these.
    permission: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    label: dict[str, str] = field(default_factory=dict)


class ImporterRegistry:
    def __init__(self) -> None:
        self._importers: dict[str, Importer] = {}

    def register(self, kind: str, importer: Importer) -> None:
        if not kind or len(kind) > 32:
            raise ValueError("an import kind is 1 to 32 characters")
        self._importers[kind] = importer

    def get(self, kind: str) -> Importer:
        importer = self._importers.get(kind)
        if importer is None:
            raise ValidationFailed(f"unknown import kind {kind!r}", kinds=self.kinds())
        return importer

    def kinds(self) -> list[str]:
        return sorted(self._importers)


importers = ImporterRegistry()


def register_importer(kind: str, importer: Importer) -> None:
    """Plug an importer in: ``POST /api/v1/imports`` and ``huiliu import`` accept ``kind`` from then
    on. Registering a kind again replaces its importer."""
    importers.register(kind, importer)
