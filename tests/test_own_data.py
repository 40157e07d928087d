"""docs/own-data.md runs: every ``$ benchmarkkit …`` line of its console blocks, in order, through
the real CLI, in a copy of tests/fixtures/own-data/ (issue 10). The doc's TOML blocks are the
fixture's files, so the doc and the test cannot drift apart."""

from __future__ import annotations

import re
import shlex
import shutil

import polars as pl
import pytest

from tests.conftest import FIXTURES, ROOT

DOC = ROOT / "docs" / "own-data.md"
OWN = FIXTURES / "own-data"
PENDING: tuple[str, ...] = ()
"""Options the CLI does not have yet: a command using one is not run until it is removed here."""


def _commands() -> list[tuple[list[str], int]]:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if not line.startswith("$ benchmarkkit "):
                continue
            command, _, comment = line[2:].partition("#")
            code = re.search(r"exit (\d+)", comment)
            out.append((shlex.split(command)[1:], int(code.group(1)) if code else 0))
    return out


def _ready(args: list[str]) -> bool:
    return not any(p in args for p in PENDING)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    for path in OWN.iterdir():
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_docs_toml_blocks_are_the_fixture_files():
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert blocks == [
        (OWN / "mapping.toml").read_text(encoding="utf-8"),
        (OWN / "framework.toml").read_text(encoding="utf-8"),
    ]


def test_the_fixture_is_shaped_like_a_yearbook_export():
    raw = (OWN / "city-panel.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    header = raw.decode("utf-8-sig").split('"\r\n', 1)[0]
    assert "年末户籍人口\r\n（万人）" in raw.decode("utf-8-sig") and "省份代码" in header


def test_own_data_doc_runs(folder, run):
    commands = _commands()
    assert len(commands) >= 6
    ran = 0
    for args, code in commands:
        if not _ready(args):
            continue
        result = run(*args)
        assert result.exit_code == code, f"{args}\n{result.output}"
        if args[0] == "validate" and code == 0 and "city-panel.csv" in args:
            assert result.output.startswith("rows read: 192   accepted: 128   rejected: 0")
        if args[0] == "compare":
            assert "深圳市 (440300), 2023" in result.output
            assert "peers (size:2)" in result.output
        ran += 1
    assert ran >= 5
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "深圳市" in html


def test_own_data_doc_pending_commands(folder, run):
    for args, code in _commands():
        if not _ready(args):
            result = run(*args)
            assert result.exit_code == code, f"{args}\n{result.output}"


def test_read_equals_accepted_rejected_ignored(folder):
    import benchmarkkit as bk

    data = bk.load("city-panel.csv", mapping="mapping.toml")
    row = data.counts.row(0, named=True)
    assert (row["read"], row["accepted"], row["rejected"], row["ignored"]) == (192, 128, 0, 64)
    cities = data.cities.sort("city_id")
    assert cities.filter(pl.col("city_id") == "440300").row(0, named=True)["province"] == "广东省"
    assert cities["population"].null_count() == 0


def test_the_indicator_csv_says_what_the_mapping_says(folder, registry, catalog):
    """columns.toml + indicators.csv (the pending --indicators) load as mapping.toml does."""
    from pathlib import Path

    from benchmarkkit.io.catalog import CSV_COLUMNS
    from benchmarkkit.io.load import load
    from benchmarkkit.io.mapping import read_mapping

    inline = load(
        [Path("city-panel.csv")], registry, catalog, mapping=read_mapping(Path("mapping.toml"))
    )
    split = load(
        [Path("city-panel.csv")],
        registry,
        catalog,
        mapping=read_mapping(Path("columns.toml")),
        indicator_files=[Path("indicators.csv")],
    )
    columns = [c for c in CSV_COLUMNS if c != "set"]
    own = ~pl.col("id").is_in(catalog["id"].to_list())
    assert (
        inline.catalog.filter(own).select(columns).equals(split.catalog.filter(own).select(columns))
    )
    key = ["city_id", "year", "indicator"]
    assert (
        inline.observations.sort(key)
        .select(*key, "value")
        .equals(split.observations.sort(key).select(*key, "value"))
    )
    assert inline.validated.counts.drop("source").equals(split.validated.counts.drop("source"))
