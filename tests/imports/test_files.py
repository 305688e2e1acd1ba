"""Reading uploads: encodings, XLSX, header recognition, and every kind of bad file refused."""

from __future__ import annotations

import io
import zipfile

import pytest

from huiliu.core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from huiliu.imports.customers import COLUMNS, IDENTITY_FIELDS, parse_customer_row
from huiliu.imports.domain import RowInvalid, map_header, normalize_header
from huiliu.imports.files import read_table
from tests.imports.samples import PNG, csv_gbk, csv_utf8, xlsx

ROWS = [
    ["姓名", "手机号", "邮箱", "城市"],
    ["李雷", "138 0013 8000", "li@example.com", "深圳"],
    ["韩梅梅", "", "", ""],
]
MB = 1024 * 1024


def read(name: str, data: bytes, *, max_bytes: int = MB, max_rows: int = 1000):
    return read_table(name, data, max_bytes=max_bytes, max_rows=max_rows)


@pytest.mark.parametrize(
    "data",
    [
        csv_utf8(ROWS),
        csv_utf8(ROWS, bom=True),
        csv_gbk(ROWS),
        "\r\n".join(",".join(r) for r in ROWS).encode("utf-16"),
    ],
    ids=["utf-8", "utf-8-bom", "gbk", "utf-16"],
)
def test_csv_in_every_supported_encoding_reads_the_same(data):
    table = read("客户.csv", data)
    assert table.format == "csv" and table.headers == ROWS[0]
    assert table.rows == [(2, ROWS[1]), (3, ROWS[2])]


def test_xlsx_reads_the_first_sheet_with_numbers_as_text_and_spreadsheet_row_numbers():
    table = read(
        "客户.xlsx", xlsx([[None], ["姓名", "手机"], ["李雷", 13800138000], [None, None], ["韩梅梅", 1.5]])
    )
    assert table.format == "xlsx" and table.headers == ["姓名", "手机"]
    assert table.rows == [(3, ["李雷", "13800138000"]), (5, ["韩梅梅", "1.5"])]


def test_tab_separated_csv_and_quoted_newlines():
    data = b'name\tphone\tnote\n"Li Lei"\t13800138000\t"two\nlines"\n'
    table = read("export.csv", data)
    assert table.headers == ["name", "phone", "note"] and table.rows == [
        (2, ["Li Lei", "13800138000", "two\nlines"])
    ]


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("客户.csv", b"", ValidationFailed),
        ("客户.csv", "姓名,手机\r\n".encode(), ValidationFailed),
        ("客户.csv", b"\r\n ,\r\n", ValidationFailed),
        ("客户.csv", PNG, UnsupportedMediaType),
        ("客户.csv", xlsx(ROWS), UnsupportedMediaType),
        ("客户.xlsx", csv_utf8(ROWS), UnsupportedMediaType),
        ("客户.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 64, UnsupportedMediaType),
        ("客户.pdf", b"%PDF-1.7", UnsupportedMediaType),
        ("客户", csv_utf8(ROWS), UnsupportedMediaType),
        ("客户.csv", b"\xff\xfe\xfd bad \x81", ValidationFailed),
        ("客户.xlsx", b"PK\x03\x04 not really a zip", UnsupportedMediaType),
    ],
    ids=[
        "empty",
        "header-only",
        "blank",
        "png-as-csv",
        "xlsx-as-csv",
        "csv-as-xlsx",
        "xls",
        "pdf",
        "no-ext",
        "bad-bytes",
        "broken-zip",
    ],
)
def test_bad_files_are_refused_with_a_clear_error(name, data, error):
    with pytest.raises(error):
        read(name, data)


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(UnsupportedMediaType):
        read("客户.xlsx", buffer.getvalue())


def test_size_and_row_limits():
    with pytest.raises(PayloadTooLarge):
        read("客户.csv", csv_utf8(ROWS), max_bytes=20)
    with pytest.raises(PayloadTooLarge):
        read("客户.csv", csv_utf8(ROWS), max_rows=1)


def test_headers_in_chinese_and_english_with_noise_are_recognised():
    assert normalize_header(" 微信 UnionID： ") == normalize_header("微信unionid")
    header = map_header(
        ["客户名称", "Mobile Phone", "E-mail", "等级", "微信 UnionID", "备注", ""],
        COLUMNS,
        needs_one_of=IDENTITY_FIELDS,
    )
    assert {c["header"]: c["field"] for c in header.describe()} == {
        "客户名称": "name",
        "Mobile Phone": "phone",
        "E-mail": "email",
        "等级": "level",
        "微信 UnionID": "wechat_unionid",
        "备注": None,
    }


def test_a_header_without_identity_columns_or_with_duplicates_is_refused():
    with pytest.raises(ValidationFailed) as missing:
        map_header(["李雷", "13800138000"], COLUMNS, needs_one_of=IDENTITY_FIELDS)
    assert "手机号" in missing.value.extra["expected_any_of"]
    with pytest.raises(ValidationFailed):
        map_header(["手机", "phone"], COLUMNS, needs_one_of=IDENTITY_FIELDS)


def test_customer_rows_are_validated_column_by_column():
    header = map_header(["姓名", "手机", "邮箱", "等级", "城市"], COLUMNS, needs_one_of=IDENTITY_FIELDS)
    good = parse_customer_row(
        header.row(2, ["李雷", "+86 138-0013-8000/13900139000", "LI@example.com", "VIP", "深圳"])
    )
    assert good.identities == [
        ("phone", "13800138000"),
        ("phone", "13900139000"),
        ("email", "li@example.com"),
    ]
    assert good.level == "vip" and good.attributes == {"城市": "深圳"}
    with pytest.raises(RowInvalid) as bad:
        parse_customer_row(header.row(3, ["王五", "call me", "wang@", "", ""]))
    assert [column for column, _ in bad.value.problems] == ["手机", "邮箱"]
    with pytest.raises(RowInvalid) as nothing:
        parse_customer_row(header.row(4, ["赵六", "", "", "", "北京"]))
    assert nothing.value.problems[0][0] is None
