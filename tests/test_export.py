"""Exports that end up in a spreadsheet: formula injection is neutralised, writes are atomic.

A text cell starting with ``= + - @`` (or tab/CR) gets a leading ``'`` in CSV and Excel output, so
Excel shows it as text instead of running it; numeric columns (``row``) stay numbers. Every write
goes to a temporary file beside the target and is renamed: nothing half-written, nothing left over.
"""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from tests.conftest import write

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = ("source", "column", "rule", "message", "hint")
PAYLOADS = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)"]


def cli(*args: object):
    from benchmarkkit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def records(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def assert_formula_safe(rows: list[dict[str, str]], columns=TEXT_COLUMNS) -> None:
    for row in rows:
        for col in columns:
            value = row[col]
            assert not value.startswith(DANGEROUS), (col, value)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------------------------------------
# formula injection


def test_formula_headers_are_neutralised_in_rejected_csv(tmp_path):
    """Wide headers nobody knows become unknown_indicator rows whose `column` is the header."""
    header = ["city_id", "year", *PAYLOADS]
    text = ",".join(f'"{h.replace(chr(34), chr(34) * 2)}"' for h in header) + "\n"
    text += "PT001C,2023,1,2,3,4\n"
    out = tmp_path / "rejected.csv"
    result = cli("validate", write(tmp_path / "wide.csv", text), "--rejected", out)
    assert result.exit_code == 1, result.output
    rows = records(out)
    assert_formula_safe(rows)
    assert sorted(r["column"] for r in rows) == sorted("'" + p for p in PAYLOADS)
    assert {r["row"] for r in rows} == {"2"}


def test_city_ids_leading_a_message_are_neutralised(tmp_path):
    """duplicate_conflict messages start with the city id: '=cmd 2023 life_expectancy: …'."""
    lines = ["city_id,year,indicator,value"]
    for city in PAYLOADS:
        lines += [
            f'"{city.replace(chr(34), chr(34) * 2)}",2023,life_expectancy,70',
            f'"{city.replace(chr(34), chr(34) * 2)}",2023,life_expectancy,71',
        ]
    out = tmp_path / "rejected.csv"
    data = write(tmp_path / "dup.csv", "\n".join(lines) + "\n")
    result = cli("validate", data, "--rejected", out)
    assert result.exit_code == 1, result.output
    rows = records(out)
    assert {r["rule"] for r in rows} == {"duplicate_conflict"}
    assert_formula_safe(rows)
    starts = sorted(r["message"].split(" 2023 ")[0] for r in rows)
    assert starts == sorted(["'" + p for p in PAYLOADS] * 2)


def test_negative_numbers_in_messages_are_text_but_row_stays_a_number(tmp_path):
    text = "city_id,year,indicator,value\nA,2023,life_expectancy,-5\nB,2023,unemployment_rate,-1\n"
    out = tmp_path / "rejected.csv"
    result = cli("validate", write(tmp_path / "neg.csv", text), "--rejected", out)
    assert result.exit_code == 1, result.output
    rows = records(out)
    assert_formula_safe(rows)
    assert [r["row"] for r in rows] == ["2", "3"]  # plain digits, never '2
    assert any(r["message"].startswith("'-5") for r in rows), rows
    frame = pl.read_csv(out)
    assert frame.schema["row"].is_integer()


@pytest.mark.parametrize("name", ["=evil.csv", "+evil.csv", "@evil.csv", "-evil.csv", "\tevil.csv"])
def test_source_file_names_are_neutralised(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / name, "city_id,year,indicator,value\nA,2023,life_expectancy,abc\n")
    result = cli("validate", "--rejected", "rejected.csv", "--", name)
    assert result.exit_code == 1, result.output
    rows = records(tmp_path / "rejected.csv")
    assert [r["source"] for r in rows] == ["'" + name]
    assert_formula_safe(rows)


def test_unusable_file_row_is_empty_not_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("validate", "--rejected", "rejected.csv", "=missing.csv")
    assert result.exit_code == 2, result.output
    rows = records(tmp_path / "rejected.csv")
    assert [(r["source"], r["row"], r["rule"]) for r in rows] == [
        ("'=missing.csv", "", "file_unusable")
    ]
    assert_formula_safe(rows)


def test_warnings_csv_is_neutralised(tmp_path):
    data = write(tmp_path / "w.csv", 'city_id,year,"=cmd"\nA,2023,500\n')
    mapping = write(tmp_path / "map.toml", '[indicators]\n"=cmd" = "homicides_per_100k"\n')
    out = tmp_path / "warnings.csv"
    result = cli("validate", data, "--mapping", mapping, "--warnings", out)
    assert result.exit_code == 0, result.output
    rows = records(out)
    assert [(r["rule"], r["column"], r["row"]) for r in rows] == [("soft_bounds", "'=cmd", "2")]
    assert_formula_safe(rows)


def test_rejected_xlsx_is_neutralised_and_row_is_numeric(tmp_path):
    header = ["city_id", "year", *PAYLOADS]
    text = ",".join(f'"{h.replace(chr(34), chr(34) * 2)}"' for h in header) + "\nA,2023,1,2,3,4\n"
    out = tmp_path / "rejected.xlsx"
    result = cli("validate", write(tmp_path / "wide.csv", text), "--rejected", out)
    assert result.exit_code == 1, result.output
    frame = pl.read_excel(out)
    assert frame.schema["row"].is_numeric()
    for col in TEXT_COLUMNS:
        for value in frame[col].drop_nulls():
            assert not value.startswith(DANGEROUS), (col, value)
    assert sorted(frame["column"]) == sorted("'" + p for p in PAYLOADS)


@pytest.mark.parametrize("suffix", [".parquet", ".json"])
def test_machine_formats_keep_the_raw_text(tmp_path, suffix):
    """Parquet and JSON are not opened in Excel: the header is kept exactly as the user wrote it."""
    data = write(tmp_path / "w.csv", 'city_id,year,"=cmd"\nA,2023,1\n')
    out = tmp_path / f"rejected{suffix}"
    result = cli("validate", data, "--rejected", out)
    assert result.exit_code == 1, result.output
    frame = pl.read_parquet(out) if suffix == ".parquet" else pl.read_json(out)
    assert frame["column"].to_list() == ["=cmd"]
    assert frame.schema["row"].is_integer()


def test_indicators_csv_keeps_negative_numbers_numeric():
    """`direction` is -1/1: numbers, never quoted; text columns are formula-safe."""
    result = cli("indicators", "--format", "csv", "--kind", "all")
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(result.stdout.encode())
    assert frame.schema["direction"].is_integer()
    assert set(frame["direction"].drop_nulls().to_list()) <= {-1, 1}
    assert -1 in frame["direction"].to_list()
    for col, dtype in frame.schema.items():
        if dtype == pl.String:
            assert not frame[col].drop_nulls().str.starts_with("=").any(), col
            assert not frame[col].drop_nulls().str.contains(r"^[+\-@\t\r]").any(), col


def test_neutralise_formulas_unit():
    from benchmarkkit.io.export import neutralise_formulas

    frame = pl.DataFrame(
        {
            "text": [*PAYLOADS, "\tx", "\rx", "plain", " =x", "", None, "'=already"],
            "number": [-1, -2, 3, 4, -5, 6, 7, 8, 9, 10, -11],
            "float": [-1.5, 2.0, None, 4.0, -5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0],
        }
    )
    got = neutralise_formulas(frame)
    assert got["text"].to_list() == [
        *("'" + p for p in PAYLOADS),
        "'\tx",
        "'\rx",
        "plain",
        " =x",
        "",
        None,
        "'=already",
    ]
    assert got["number"].to_list() == frame["number"].to_list()
    assert got["float"].to_list() == frame["float"].to_list()
    assert got.schema == frame.schema


# ---------------------------------------------------------------------------------------------
# atomic writes


def test_successful_write_leaves_only_the_target(tmp_path):
    data = write(tmp_path / "d.csv", "city_id,year,indicator,value\nA,2023,life_expectancy,abc\n")
    outdir = tmp_path / "out"
    outdir.mkdir()
    for suffix in (".csv", ".parquet", ".json", ".xlsx"):
        result = cli(
            "validate",
            data,
            "--rejected",
            outdir / f"rejected{suffix}",
            "--warnings",
            outdir / f"warnings{suffix}",
        )
        assert result.exit_code == 1, result.output
    assert sorted(p.name for p in outdir.iterdir()) == sorted(
        f"{kind}{suffix}"
        for kind in ("rejected", "warnings")
        for suffix in (".csv", ".parquet", ".json", ".xlsx")
    )


def test_overwrite_replaces_the_whole_file_and_is_readable(tmp_path):
    data = write(tmp_path / "d.csv", "city_id,year,indicator,value\nA,2023,life_expectancy,abc\n")
    out = tmp_path / "rejected.csv"
    out.write_text("old content\n" * 1000)
    result = cli("validate", data, "--rejected", out)
    assert result.exit_code == 1, result.output
    assert "old content" not in out.read_text()
    assert len(records(out)) == 1
    assert stat.S_IMODE(out.stat().st_mode) & 0o044 == 0o044  # not mkstemp's private 0600
    assert leftovers(tmp_path) == []


def test_relative_output_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d.csv", "city_id,year,indicator,value\nA,2023,life_expectancy,abc\n")
    result = cli("validate", "d.csv", "--rejected", "rejected.csv")
    assert result.exit_code == 1, result.output
    assert len(records(tmp_path / "rejected.csv")) == 1
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "error", [RuntimeError("disk on fire"), KeyboardInterrupt()], ids=["error", "interrupt"]
)
def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch, error):
    data = write(tmp_path / "d.csv", "city_id,year,indicator,value\nA,2023,life_expectancy,abc\n")
    out = tmp_path / "rejected.csv"
    out.write_text("previous run\n")

    def half_then_fail(self, file=None, **kwargs):
        Path(file).write_text("source,row\nhalf")
        raise error

    monkeypatch.setattr(pl.DataFrame, "write_csv", half_then_fail)
    result = cli("validate", data, "--rejected", out)
    assert result.exit_code != 0
    assert out.read_text() == "previous run\n"
    assert leftovers(tmp_path) == []


def test_refused_target_leaves_no_temp(tmp_path):
    """Even when the rename fails (the target is a folder), the temporary file is removed."""
    data = write(tmp_path / "d.csv", "city_id,year,indicator,value\nA,2023,life_expectancy,abc\n")
    (tmp_path / "rejected.csv").mkdir()
    result = cli("validate", data, "--rejected", tmp_path / "rejected.csv")
    assert result.exit_code != 0
    assert leftovers(tmp_path) == []
    assert list((tmp_path / "rejected.csv").iterdir()) == []
