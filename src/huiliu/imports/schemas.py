"""Response models of the import API (the upload itself is multipart form data)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class RowErrorOut(BaseModel):
    row_number: int = Field(description="as a spreadsheet shows it: the header is row 1")
    column: str | None = Field(description="the column's header, or null for a problem of the whole row")
    message: str


class ColumnOut(BaseModel):
    header: str
    field: str | None = Field(description="what the column was read as; null: kept as a customer attribute")


class ImportJobOut(BaseModel):
    id: uuid.UUID
    kind: str
    file_name: str
    file_format: str
    status: str = Field(description="queued, running, done or failed")
    total_rows: int
    processed_rows: int
    succeeded_rows: int
    failed_rows: int
    created_rows: int
    updated_rows: int
    percent: float
    columns: list[ColumnOut] = Field(description="the header row in file order")
    error: str | None = Field(description="why the whole job failed (row problems are row errors)")
    created_by_name: str
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    errors_url: str


class ImportJobDetail(ImportJobOut):
    errors: list[RowErrorOut] = Field(description="the first 50 row errors; all of them in errors.csv")


class ImportJobPage(BaseModel):
    items: list[ImportJobOut]
