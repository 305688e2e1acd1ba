"""Multi-row writes on PostgreSQL with a fixed statement text: the rows travel as one JSON document,
``INSERT … SELECT … FROM jsonb_to_recordset(:rows)``.

A multi-row ``VALUES`` list has a different text for every row count and one bind parameter per row
and column: SQLAlchemy compiles it again on each execution, and psycopg splits, converts and dumps
every parameter each time (it caches and prepares only statements below 4 KB and 50 parameters).
Here the text depends only on the columns, so it is built once, compiled once by SQLAlchemy and
prepared once per connection by psycopg, and the rows are one parameter whatever their number,
encoded by orjson and decoded by PostgreSQL into the columns' types. (``unnest`` of one
array per column was measured too: psycopg dumps arrays in Python, escaping every element with a
regular expression, which cost more than the statements it saved.)
Decision record: docs/decisions/0041-intake-set-based-writes.md."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Boolean, DateTime, Integer, String, Table, Text, Uuid
from sqlalchemy.sql import sqltypes

from huiliu.core.clock import ensure_utc


@functools.lru_cache(maxsize=512)
def column_type(table: Table, key: str) -> str:
    """The PostgreSQL type ``jsonb_to_recordset`` decodes ``table.key`` as."""
    column = table.c[key]
    type_ = column.type
    if isinstance(type_, sqltypes.NullType) and column.foreign_keys:
        type_ = next(iter(column.foreign_keys)).column.type
    if isinstance(type_, sqltypes.TypeDecorator):
        type_ = type_.impl_instance
    if isinstance(type_, sqltypes.JSON):
        return "jsonb"
    if isinstance(type_, Uuid):
        return "uuid"
    if isinstance(type_, DateTime):
        return "timestamptz"
    if isinstance(type_, Boolean):
        return "boolean"
    if isinstance(type_, Integer):
        return "bigint" if isinstance(type_, sqltypes.BigInteger) else "integer"
    if isinstance(type_, String | Text):
        return "text"
    raise TypeError(f"{table.name}.{key}: no recordset type for {type_!r}")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rows_source(table: Table, keys: Sequence[str], param: str, alias: str) -> str:
    """The rows of parameter ``param`` (see ``rows``) as a relation ``alias(key, …, ord)``, ``ord``
    being each row's position (1-based)."""
    columns = ", ".join(f"{_quoted(key)} {column_type(table, key)}" for key in keys)
    names = ", ".join(_quoted(key) for key in keys)
    return (
        f"ROWS FROM (jsonb_to_recordset(CAST(:{param} AS jsonb)) AS ({columns})) "
        f"WITH ORDINALITY AS {alias}({names}, ord)"
    )


def insert_columns(table: Table, keys: Sequence[str], extra: Sequence[str] = ()) -> str:
    """``table (key, …)`` for the INSERT."""
    return f"{_quoted(table.name)} ({', '.join(_quoted(k) for k in [*keys, *extra])})"


def select_columns(keys: Sequence[str], alias: str) -> str:
    return ", ".join(f"{alias}.{_quoted(key)}" for key in keys)


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value for a recordset")


# orjson encodes ids itself (as ``str(id)`` does) and hands timestamps to ``_plain`` (UTC, as before);
# it is several times faster than ``json.dumps`` on these documents (the timer sweep encodes ~7 KB per
# ticket: decision 0044).
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def rows(rows: Sequence[dict[str, Any]]) -> str:
    """The bind parameter of ``rows_source``: the rows as one JSON array (ids and timestamps as
    text, decoded into their columns' types by PostgreSQL; JSON columns as nested JSON)."""
    return orjson.dumps(rows, default=_plain, option=_ORJSON_OPTIONS).decode()
