"""Exports, pinned down where mutation testing found them loose (TESTING.md).

Plain tables for the terminal, nested columns flattened for CSV, every file format by its suffix
and a written file's permissions: each value below is worked out by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from benchmarkkit.errors import InputError
from benchmarkkit.io.export import _cell, atomic_write, text_table, write_frame


def test_cells_of_a_text_table():
    assert _cell(None) == ""
    assert _cell(0.123456) == "0.1235"  # four significant digits
    assert _cell(999_999.4) == "1e+06"  # still under a million: the short form
    assert _cell(1_000_000.0) == "1000000"  # a million and above: whole digits
    assert _cell(-2_500_000.4) == "-2500000"  # the size, not the sign, decides
    assert _cell(12) == "12"
    assert _cell("Lisboa") == "Lisboa"


def test_a_text_table_lines_up_and_cuts_long_cells():
    frame = pl.DataFrame({"city": ["Porto", "Lisboa"], "v": [1.5, None]})
    assert text_table(frame) == "city    v\n------  ---\nPorto   1.5\nLisboa"
    assert text_table(frame, max_width=3) == "city  v\n----  ---\nPor   1.5\nLis"
    # a header wider than every cell sets the width
    wide = pl.DataFrame({"population": [7]})
    assert text_table(wide) == "population\n----------\n7"


def test_list_columns_are_joined_with_semicolons_in_csv(tmp_path):
    frame = pl.DataFrame({"id": ["a", "b"], "tags": [["x", "=y"], [1, 2]]}, strict=False)
    out = tmp_path / "t.csv"
    write_frame(frame, out)
    assert out.read_text(encoding="utf-8").splitlines() == ["id,tags", "a,x;=y", "b,1;2"]


@pytest.mark.parametrize("suffix", [".csv", ".CSV", ".parquet", ".json", ".xlsx"])
def test_every_format_is_written_by_its_suffix(tmp_path, suffix):
    frame = pl.DataFrame({"city": ["=A", "B"], "v": [1.0, -2.0]})
    out = tmp_path / f"out{suffix}"
    write_frame(frame, out)
    kind = suffix.lower()
    if kind == ".csv":
        assert out.read_text(encoding="utf-8") == "city,v\n'=A,1.0\nB,-2.0\n"
    elif kind == ".parquet":
        assert pl.read_parquet(out).equals(frame)  # machine formats keep the raw text
    elif kind == ".json":
        assert pl.read_json(out).equals(frame)
    else:
        back = pl.read_excel(out)
        assert back["city"].to_list() == ["'=A", "B"]
        assert back["v"].to_list() == [1.0, -2.0]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_an_unknown_suffix_is_named(tmp_path):
    with pytest.raises(InputError) as err:
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / "out.txt")
    assert err.value.message == f"{tmp_path / 'out.txt'}: cannot write '.txt' files"
    assert err.value.hint == "use .csv, .parquet, .json or .xlsx"
    with pytest.raises(InputError) as err:
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / "README")
    assert err.value.message.endswith("README: cannot write 'README' files")


def test_a_written_file_has_ordinary_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        out = tmp_path / "f.txt"
        atomic_write(out, lambda p: p.write_text("x", encoding="utf-8"))
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o640
    assert os.umask(old) == old  # the umask is left as it was
    os.umask(old)


def test_refusals_name_the_folder_and_the_fix(tmp_path):
    with pytest.raises(InputError) as err:
        atomic_write(tmp_path / "no" / "f.csv", lambda p: None)
    assert err.value.message.endswith("f.csv: the output folder does not exist")
    assert err.value.hint == f"create {tmp_path / 'no'} first"
    with pytest.raises(InputError) as err:
        atomic_write(tmp_path, lambda p: None)
    assert err.value.message == f"{tmp_path}: the output is a folder, not a file"
    assert err.value.hint == "give a file name, e.g. out/rejected.csv"


def test_a_bare_file_name_is_written_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    atomic_write(Path("plain.txt"), lambda p: p.write_text("ok", encoding="utf-8"))
    assert (tmp_path / "plain.txt").read_text(encoding="utf-8") == "ok"


def test_a_write_that_fails_names_the_file_and_the_reason(tmp_path):
    def fail(path: Path) -> None:
        raise PermissionError(13, "Permission denied")

    out = tmp_path / "f.csv"
    with pytest.raises(InputError) as err:
        atomic_write(out, fail)
    assert err.value.message == f"{out}: cannot write the file (Permission denied)"
    assert err.value.hint == "check the path and its permissions"
    assert list(tmp_path.iterdir()) == []
