"""Reading an uploaded table: CSV (UTF-8 with or without BOM, UTF-16 with BOM, GBK/GB18030 as
Chinese Excel saves it) or XLSX (the first worksheet). Everything that is not such a file gets a clear
4xx: wrong type or disguised content 415, empty or unreadable 422, too big 413."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath

from huiliu.core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

CSV = "csv"
XLSX = "xlsx"
MAX_COLUMNS = 200
MAX_CELL_CHARS = 10_000
# An XLSX is a zip of XML: refuse archives that would inflate far beyond the upload limit.
XLSX_INFLATION_LIMIT = 30
_ZIP_MAGIC = b"PK\x03\x04"
_BINARY_SIGNATURES = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"%PDF",
    b"\xd0\xcf\x11\xe0",  # OLE2: legacy .xls / .doc
    b"\x1f\x8b",
    b"Rar!",
    b"7z\xbc\xaf",
    b"MZ",
    b"\x7fELF",
)


@dataclass(frozen=True)
class Table:
    format: str
    headers: list[str]
    # (row number as a spreadsheet shows it — the header is row 1 —, cells) for non-blank rows.
    rows: list[tuple[int, list[str]]]


def file_format(file_name: str) -> str:
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix == ".csv":
        return CSV
    if suffix == ".xlsx":
        return XLSX
    if suffix == ".xls":
        raise UnsupportedMediaType("legacy .xls files are not supported: save the sheet as .xlsx or CSV")
    raise UnsupportedMediaType("upload a .csv or .xlsx file")


def read_table(file_name: str, data: bytes, *, max_bytes: int, max_rows: int) -> Table:
    """Parse the whole file (cheap next to importing it) so a bad file is refused before a job
    exists, and a job knows its row count."""
    if not data:
        raise ValidationFailed("the file is empty")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the file is larger than {max_bytes} bytes")
    fmt = file_format(file_name)
    rows = _read_csv(data) if fmt == CSV else _read_xlsx(data, max_bytes)
    return _table(fmt, rows, max_rows)


def _table(fmt: str, rows: list[tuple[int, list[str]]], max_rows: int) -> Table:
    if not rows:
        raise ValidationFailed("the file has no rows")
    _, headers = rows[0]
    if len(headers) > MAX_COLUMNS:
        raise ValidationFailed(f"the file has more than {MAX_COLUMNS} columns")
    data_rows = rows[1:]
    if not data_rows:
        raise ValidationFailed("the file has a header row but no data rows")
    if len(data_rows) > max_rows:
        raise PayloadTooLarge(f"the file has {len(data_rows)} rows; at most {max_rows} per import")
    return Table(format=fmt, headers=headers, rows=data_rows)


# --- CSV --------------------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (a superset of GBK and GB2312)."""
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[len(codecs.BOM_UTF8) :], "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16")
    if data.startswith(_ZIP_MAGIC) or data.startswith(_BINARY_SIGNATURES) or b"\x00" in data:
        raise UnsupportedMediaType("the file is not a text CSV file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("the file's text encoding is not UTF-8 or GBK") from exc


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"the file is not valid {encoding.upper()} text") from exc


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    text = decode_text(data)
    if "\x00" in text:
        raise UnsupportedMediaType("the file is not a text CSV file")
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=False)
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            if any(cell.strip() for cell in cells):
                rows.append((number, [_cell(cell) for cell in cells]))
    except csv.Error as exc:
        raise ValidationFailed(f"the CSV file cannot be read: {exc}") from exc
    return rows


def _cell(value: str) -> str:
    return value[:MAX_CELL_CHARS]


# --- XLSX -------------------------------------------------------------------------------------------


def _read_xlsx(data: bytes, max_bytes: int) -> list[tuple[int, list[str]]]:
    if not data.startswith(_ZIP_MAGIC):
        raise UnsupportedMediaType("the file is not an XLSX workbook")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise UnsupportedMediaType("the file is not an XLSX workbook") from exc
    if "xl/workbook.xml" not in names:
        raise UnsupportedMediaType("the file is a zip archive but not an XLSX workbook")
    if inflated > max(max_bytes, len(data)) * XLSX_INFLATION_LIMIT:
        raise PayloadTooLarge("the workbook expands to too much data")
    from openpyxl import load_workbook  # heavy import, only when a workbook arrives

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors for broken workbooks
        raise ValidationFailed(f"the workbook cannot be read: {exc.__class__.__name__}") from exc
    try:
        if not workbook.worksheets:
            raise ValidationFailed("the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        rows: list[tuple[int, list[str]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_xlsx_cell(v) for v in values[: MAX_COLUMNS + 1]]
            while cells and not cells[-1]:
                cells.pop()
            if any(cell.strip() for cell in cells):
                rows.append((number, cells))
        return rows
    finally:
        workbook.close()


def _xlsx_cell(value: object) -> str:
    """Cell values as the text a person sees: 13800138000 stays a phone number (no ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return _cell(str(value))
