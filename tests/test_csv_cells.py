"""No CSV benchmarkkit writes holds a cell a spreadsheet would run as a formula (issue 19).

A CSV is opened in Excel or LibreOffice, where a cell starting with ``=``, ``+``, ``-``, ``@``
(or a tab or CR) is a formula: a city named ``=HYPERLINK("http://x","y")`` would become a live
link. Every text a user controls — city ids and names, countries, indicator names, units, focus
areas and codes, framework and node names, file names, the rejected cells quoted in messages —
starts with one of those characters here, and every CSV output path is run on them: the files of
``--out``, ``--rejected``, ``--warnings``, ``--weights``, the folders of ``audit`` and
``sensitivity``, the ``template`` sheet, and ``--format csv`` on the terminal. Each must hold no
formula-like cell that is not a plain number, and must show the guard at work (a cell made safe
with a leading ``'``), so a path the hostile text never reaches cannot pass unnoticed. A new
option or command that writes files fails the inventory test until it is listed here.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import click
import pytest

from tests.conftest import write

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = '=HYPERLINK("http://x","y")'
DATA_FILE = "@SUM(1+1).csv"
"""The data file's name, given relative: it is the ``source`` of every rejected row."""


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _inputs(folder: Path) -> None:
    """An indicator CSV, a data file and a framework whose texts all start like formulas, and
    values that make validation write messages starting with ``-`` (a negative number)."""
    write(
        folder / "mine.csv",
        "id,name,unit,direction,focus_area,indices,bound_type,lower,upper,code\n"
        f"fx_a,{_q(HYPERLINK)},+1 per resident,1,@area,-idx,soft,-10,1000,=1+1\n"
        "fx_b,@SUM(1+1),-unit,-1,area_b,mine,soft,0,1000,\n"
        "fx_c,plain,%,1,area_b,mine,soft,0,1000,\n",
    )
    rows = ["city_id,city_name,country,year,indicator,value"]
    cities = [
        ("C0", HYPERLINK),
        ("C1", "+cmd"),
        ("C2", "-2+3"),
        ("C3", "@SUM(1+1)"),
        ("-C4", "\tTab"),
        ("C5", "Plain"),
    ]
    for i, (city, name) in enumerate(cities):
        for year in (2022, 2023):
            values = (10 + 3 * i, 12 + (7 * i) % 5, 20 - i + (i * i) % 3)
            for indicator, value in zip(("fx_a", "fx_b", "fx_c"), values, strict=True):
                rows.append(f"{city},{_q(name)},=ZZ,{year},{indicator},{value + year - 2022}")
    rows += [
        f"C0,{_q(HYPERLINK)},=ZZ,2023,fx_b,-5",  # rejected: "-5.0 is negative"
        "C1,+cmd,=ZZ,2021,fx_a,-20",  # warned: "-20.0 is outside the plausible range …"
        "C1,+cmd,=ZZ,2023,fx_c,=1+1",  # rejected: "'=1+1' is not a number"
    ]
    write(folder / DATA_FILE, "\n".join(rows) + "\n")
    write(
        folder / "framework.toml",
        'name = "=fw"\ntitle = "+Title"\n'
        '[[node]]\nid = "=fw"\n'
        '[[node]]\nid = "-pillar"\nparent = "=fw"\n'
        '[[node]]\nid = "@other"\nparent = "=fw"\n'
        '[[indicator]]\nid = "fx_a"\nparent = "-pillar"\n'
        '[[indicator]]\nid = "fx_b"\nparent = "-pillar"\n'
        '[[indicator]]\nid = "fx_c"\nparent = "@other"\n',
    )


MINE = ["--indicators", "mine.csv"]
FRAMEWORK = [*MINE, "--framework", "framework.toml"]
ALL = ["--peers", "all"]
COMMANDS = {
    "validate": ["validate", DATA_FILE, *MINE, "--rejected", "rej.csv", "--warnings", "warn.csv"],
    "score": ["score", DATA_FILE, *FRAMEWORK, "--out", "scores.csv", "--weights", "weights.csv"],
    "compare --out": [
        "compare",
        DATA_FILE,
        *FRAMEWORK,
        "--city",
        "C0",
        *ALL,
        "--out",
        "compare.csv",
    ],
    "compare --format csv": [
        "compare",
        DATA_FILE,
        *FRAMEWORK,
        "--city",
        "C0",
        *ALL,
        "--format",
        "csv",
    ],
    "indicators --format csv": ["indicators", *MINE, "--format", "csv"],
    "audit": ["audit", DATA_FILE, *FRAMEWORK, "--out", "audit"],
    "sensitivity": [
        "sensitivity",
        DATA_FILE,
        *FRAMEWORK,
        "--vary",
        "weights:0.2",
        "--vary",
        "normalise:minmax,zscore",
        "--method",
        "sobol",  # so that sobol.csv has rows too
        "--samples",
        "16",
        "--out",
        "sensitivity",
    ],
    "template": [
        "template",
        *MINE,
        "--indicator",
        "fx_a",
        "--city",
        f"T1={HYPERLINK}",
        "--city",
        "T2=-1+2",
        "--year",
        "2024",
        "--out",
        "template.csv",
    ],
}
"""Every CSV output path, once each: name → the command line (run in the inputs' folder)."""

OUTPUTS = {
    ("validate", "--rejected"): ["validate:rej.csv"],
    ("validate", "--warnings"): ["validate:warn.csv"],
    ("score", "--out"): ["score:scores.csv"],
    ("score", "--weights"): ["score:weights.csv"],
    ("compare", "--out"): ["compare --out:compare.csv"],
    ("compare", "--format"): ["compare --format csv:-"],
    ("indicators", "--format"): ["indicators --format csv:-"],
    ("audit", "--out"): [
        f"audit:audit/{name}.csv"
        for name in (
            "stats",
            "correlations",
            "cronbach",
            "pca",
            "pca_loadings",
            "effective_weights",
            "warnings",
        )
    ],
    ("sensitivity", "--out"): [
        f"sensitivity:sensitivity/{name}.csv"
        for name in ("ranks", "scores", "sobol", "design", "failures")
    ],
    ("template", "--out"): ["template:template.csv"],
}
"""Each option that writes CSV (a file, a folder of files, or the terminal with ``-``) → the
outputs checked below, as ``command name:path``."""
NOT_CSV = {("chart", "--out"), ("report", "--out"), ("report", "--all")}
"""Options that write files other than CSV (HTML, images, Vega-Lite JSON); the ``--out`` ones
are checked to refuse ``.csv``."""
INPUT_OPTIONS = {
    "--plugin",
    "--plugins-dir",
    "--mapping",
    "--indicators",
    "--cities",
    "--framework",
    "--encoding",
    "--separator",
    "--fill",
}
"""Options that name or describe files read, never written."""


def _file_options() -> set[tuple[str, str]]:
    """(command, option) for every option of the CLI that names a path, offers a csv/tsv
    format, or whose help speaks of CSV, writing or folders; ``""`` is the group itself."""
    from benchmarkkit.cli import main

    found = set()
    for name, command in [("", main), *sorted(main.commands.items())]:
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            choices = [str(c).lower() for c in getattr(param.type, "choices", ())]
            text = (param.help or "").lower()
            if (
                isinstance(param.type, click.Path)
                or {"csv", "tsv"} & set(choices)
                or re.search(r"\b(csv|tsv|writes?|written|folder)\b|\.csv", text)
            ):
                found.add((name, max(param.opts, key=len)))
    return found


def test_every_option_that_writes_a_file_is_known_here():
    """A new command or option that writes (CSV or not) fails here until it is added to
    ``OUTPUTS`` (and run in ``COMMANDS``), ``NOT_CSV`` or ``INPUT_OPTIONS``; one that is gone
    fails too, so the lists stay the CLI's."""
    found = _file_options()
    known = set(OUTPUTS) | NOT_CSV
    unknown = sorted((c, o) for c, o in found if (c, o) not in known and o not in INPUT_OPTIONS)
    assert unknown == [], f"options that may write CSV, unknown to this test: {unknown}"
    assert known <= found, sorted(known - found)


@pytest.mark.parametrize(("command", "option"), [("chart", "--out"), ("report", "--out")])
def test_the_commands_writing_html_or_images_refuse_a_csv(tmp_path, run, command, option):
    args = ["ranking"] if command == "chart" else []
    result = run(command, *args, option, tmp_path / "x.csv")
    assert result.exit_code == 2 and "must" in result.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, str]:
    """Every output of ``COMMANDS`` as text: ``command name:path`` → the file (or stdout)."""
    from click.testing import CliRunner

    from benchmarkkit.cli import main

    folder = tmp_path_factory.mktemp("csv-cells")
    _inputs(folder)
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for name, args in COMMANDS.items():
            result = CliRunner().invoke(main, args, catch_exceptions=False)
            assert result.exit_code == (1 if name == "validate" else 0), (name, result.output)
            out[f"{name}:-"] = result.stdout
        for paths in OUTPUTS.values():
            for key in paths:
                name, path = key.split(":", 1)
                if path != "-":
                    out[key] = (folder / path).read_text(encoding="utf-8-sig")
    return out


def formula_like(cell: str) -> bool:
    """A cell a spreadsheet would run: starts like a formula and is not a plain number."""
    if not cell.startswith(FORMULA_START):
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize(
    "key",
    [key for paths in OUTPUTS.values() for key in paths],
)
def test_no_csv_output_holds_a_formula_cell(written, key):
    """Every cell of every CSV output: none formula-like; and where the output has rows, at
    least one made safe by the guard (``'`` before a text starting like a formula), which
    shows the hostile text reached it."""
    rows = list(csv.reader(io.StringIO(written[key], newline="")))
    assert rows, f"{key}: no CSV written"
    cells = [cell for row in rows for cell in row]
    assert [c for c in cells if formula_like(c)] == [], key
    if len(rows) > 1:
        guarded = [c for c in cells if c.startswith("'") and c[1:].startswith(FORMULA_START)]
        assert guarded, f"{key}: no hostile text reached this output"
