"""``huiliu import customers FILE --tenant SLUG``: the same job as the API, run in the command."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from huiliu.cli import app
from huiliu.settings import get_settings
from tests.demo.databases import fresh_database
from tests.imports.samples import csv_gbk, xlsx

runner = CliRunner()


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[str]:
    monkeypatch.setenv("HUILIU_FILES_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("HUILIU_HUEY_SQLITE_PATH", str(tmp_path / "huey.db"))
    monkeypatch.setenv("HUILIU_IMPORT_CHUNK_ROWS", "2")
    monkeypatch.delenv("HUILIU_REDIS_URL", raising=False)
    with fresh_database(tmp_path) as url:
        monkeypatch.setenv("HUILIU_DATABASE_URL", url)
        get_settings.cache_clear()
        created = runner.invoke(
            app,
            ["createadmin", "--tenant", "acme", "--email", "boss@acme.cn", "--password", "correct-horse-42"],
        )
        assert created.exit_code == 0, created.output
        yield url
    get_settings.cache_clear()


def test_import_customers_from_a_gbk_csv_writes_the_error_report(database, tmp_path):
    source = tmp_path / "客户.csv"
    source.write_bytes(
        csv_gbk(
            [
                ["姓名", "手机号码", "邮箱"],
                ["李雷", "13800138000", ""],
                ["韩梅梅", "", "han@"],
                ["王五", "13900139000", ""],
            ]
        )
    )
    report = tmp_path / "errors.csv"
    result = runner.invoke(
        app, ["import", "customers", str(source), "--tenant", "acme", "--errors", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "imported 2 of 3 rows (2 created, 0 updated, 1 with errors)" in result.output
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert rows[1][:2] == ["3", "邮箱"] and "han@" in rows[1][2] and rows[1][3:] == ["韩梅梅", "", "han@"]

    again = tmp_path / "again.xlsx"
    again.write_bytes(xlsx([["name", "phone"], ["Li Lei", 13800138000]]))
    result = runner.invoke(app, ["import", "customers", str(again), "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    assert "(0 created, 1 updated, 0 with errors)" in result.output


def test_bad_files_unknown_tenants_and_kinds_fail_clearly(database, tmp_path):
    good = tmp_path / "ok.csv"
    good.write_text("手机\n13800138000\n", encoding="utf-8")
    picture = tmp_path / "photo.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    for args, message in (
        (["import", "customers", str(picture), "--tenant", "acme"], "not a text CSV"),
        (["import", "customers", str(good), "--tenant", "nobody"], "no tenant nobody"),
        (["import", "spaceships", str(good), "--tenant", "acme"], "unknown import kind"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and message in result.output, result.output
