"""Import files built in the tests: CSV in several encodings and XLSX workbooks."""

from __future__ import annotations

import codecs
import io
from collections.abc import Sequence

from openpyxl import Workbook


def csv_text(rows: Sequence[Sequence[object]], delimiter: str = ",") -> str:
    return "\r\n".join(delimiter.join("" if v is None else str(v) for v in row) for row in rows) + "\r\n"


def csv_utf8(rows: Sequence[Sequence[object]], *, bom: bool = False) -> bytes:
    data = csv_text(rows).encode("utf-8")
    return codecs.BOM_UTF8 + data if bom else data


def csv_gbk(rows: Sequence[Sequence[object]]) -> bytes:
    return csv_text(rows).encode("gbk")


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
