"""Every command on bad arguments: one line starting "error:", a non-zero exit, no traceback.

Commands today: ``validate``, ``indicators``, ``plugins``, ``methods``, ``score`` (plus the global
options); any command added later is at least covered by the unknown-option test. Problems with
a *data file* passed to ``validate`` (missing, a folder, unknown format or encoding, bad sheet) are
by design not fatal: the README promises them as one ``file_unusable`` rejected entry and exit 2,
so those cases check that line instead of an ``error:`` line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import write

LONG = "city_id,city_name,country,year,indicator,value\nVN001,Huế,VN,2023,life_expectancy,76.5\n"
BAD_VALUE = "city_id,year,indicator,value\nVN001,2023,life_expectancy,abc\n"


def cli(*args: object):
    from benchmarkkit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def no_crash(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output


def assert_error(result, *fragments: str) -> str:
    """Exactly one line starting with 'error:', holding every fragment; a non-zero exit."""
    no_crash(result)
    assert result.exit_code != 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], result.output
    return lines[0]


def assert_unusable(result, *fragments: str) -> str:
    """A data file refused as a whole: exit 2 and one [file_unusable] line naming the problem."""
    no_crash(result)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if "[file_unusable]" in ln]
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], result.output
    return lines[0]


@pytest.fixture
def data(tmp_path) -> Path:
    return write(tmp_path / "data.csv", LONG)


@pytest.fixture
def bad_data(tmp_path) -> Path:
    return write(tmp_path / "bad.csv", BAD_VALUE)


def _commands() -> list[str]:
    from benchmarkkit.cli import main

    return sorted(main.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_refuses_an_unknown_option(command):
    result = cli(command, "--no-such-option")
    no_crash(result)
    assert result.exit_code == 2, result.output
    assert "No such option" in result.output


# ---------------------------------------------------------------------------------------------
# indicators


@pytest.mark.parametrize(
    "args,fragments",
    [
        (
            ("--focus-area", "safety_securty"),
            ("unknown focus area", "did you mean 'safety_security'"),
        ),
        (("--focus-area", "health"), ("unknown focus area 'health'", "focus areas:")),
        (("--index", "livabilty"), ("unknown index", "did you mean 'livability'")),
        (("--index", "Competitivness"), ("unknown index", "did you mean 'competitiveness'")),
        (("--set", "iso_u4sc"), ("unknown indicator set", "did you mean 'iso_u4ssc'")),
        (("--set", "zzz"), ("unknown indicator set 'zzz'", "sets:")),
    ],
)
def test_indicators_unknown_names(args, fragments):
    assert_error(cli("indicators", *args), *fragments)


# ---------------------------------------------------------------------------------------------
# Click's own usage errors: non-zero and no traceback today, but not the one-line format


CLICK_USAGE = [
    ("indicators", "--format", "xml"),
    ("methods", "--kind", "scorer"),
    ("score", "--year", "last"),
    ("score", "--reference", "global"),
    ("indicators", "--kind", "everything"),
    ("plugins", "--format", "yaml"),
    ("validate", "--shape", "tall", "x.csv"),
    ("validate", "--show", "many", "x.csv"),
    ("validate", "--bogus"),
    ("nosuchcommand",),
]


@pytest.mark.parametrize("args", CLICK_USAGE, ids=" ".join)
def test_usage_errors_exit_2_without_traceback(args):
    result = cli(*args)
    no_crash(result)
    assert result.exit_code == 2
    assert re.search(r"^error: ", result.output, re.MULTILINE), result.output


@pytest.mark.parametrize("args", CLICK_USAGE, ids=" ".join)
def test_usage_errors_are_one_error_line(args):
    result = cli(*args)
    assert_error(result)
    assert len(result.output.strip().splitlines()) == 1, result.output


# ---------------------------------------------------------------------------------------------
# plugins and the global options


def test_plugins_dir_that_does_not_exist(tmp_path):
    assert_error(cli("--plugins-dir", tmp_path / "nope", "plugins"), "is not a directory")


def test_plugins_dir_that_is_a_file(data):
    assert_error(cli("--plugins-dir", data, "plugins"), "is not a directory")


@pytest.mark.parametrize(
    "body,fragment",
    [
        (None, "does not exist"),
        ("def oops(:\n", "SyntaxError"),
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ],
    ids=["missing", "syntax-error", "raises"],
)
def test_broken_plugin_is_one_error_line_and_the_command_still_runs(tmp_path, body, fragment):
    """By design a broken plugin is reported and skipped, not fatal: the command finishes and
    exits 4 ("finished, but a plugin failed"), see cli.PLUGIN_FAILED and the README."""
    path = tmp_path / "myplugin.py"
    if body is not None:
        path.write_text(body)
    result = cli("--plugin", path, "plugins")
    no_crash(result)
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "myplugin" in lines[0] and fragment in lines[0], result.output
    assert result.exit_code == 4


def test_disable_unknown_plugin_is_named():
    result = cli("--disable-plugin", "nosuch", "plugins")
    no_crash(result)
    assert any(ln.startswith("error:") and "nosuch" in ln for ln in result.output.splitlines())
    assert result.exit_code == 4  # every "error:" line ends in a non-zero exit


# ---------------------------------------------------------------------------------------------
# validate: arguments


def test_validate_without_files():
    assert_error(cli("validate"), "give one or more data files")


@pytest.mark.parametrize(
    "option,value",
    [
        ("--column", "city_id"),
        ("--column", "=x"),
        ("--column", " =x"),
        ("--column", ""),
        ("--constant", "year"),
        ("--constant", "=2023"),
    ],
)
def test_bad_pair_syntax(data, option, value):
    assert_error(cli("validate", data, option, value), option, "NAME=VALUE")


@pytest.mark.parametrize(
    "option,value,fragments",
    [
        ("--column", "citi_id=code", ("unknown role 'citi_id'", "did you mean 'city_id'")),
        ("--column", "valeu=v", ("unknown role 'valeu'", "did you mean 'value'")),
        ("--constant", "contry=PT", ("unknown role 'contry'", "did you mean 'country'")),
        ("--constant", "zzz=1", ("unknown role 'zzz'", "roles:")),
    ],
)
def test_unknown_role(data, option, value, fragments):
    assert_error(cli("validate", data, option, value), *fragments)


def test_column_mapped_to_a_header_that_is_not_there(data):
    line = assert_unusable(
        cli("validate", data, "--column", "city_id=ctiy_id"), "mapped column 'ctiy_id'"
    )
    assert "did you mean 'city_id'" in line


def test_missing_mapping_file(data, tmp_path):
    assert_error(
        cli("validate", data, "--mapping", tmp_path / "map.toml"), "mapping file not found"
    )


@pytest.mark.parametrize(
    "text,fragments",
    [
        ("shape = [\n", ("not valid TOML",)),
        ("[columns\ncity_id = 'a'\n", ("not valid TOML",)),
        ("shap = 'wide'\n", ("unknown key 'shap'", "did you mean 'shape'")),
        ("colums = {}\n", ("unknown key 'colums'", "did you mean 'columns'")),
        ("shape = 'tall'\n", ("shape 'tall' is not one of",)),
        ("[columns]\nciti_id = 'x'\n", ("unknown role 'citi_id'", "did you mean 'city_id'")),
        ("[constants]\nyeer = 2023\n", ("unknown role 'yeer'",)),
        ("[indicators]\n'x' = 5\n", ("[indicators] 'x' must be an id",)),
        ("[indicators]\n'x' = { scale = 2 }\n", ("[indicators] 'x' must be an id",)),
        ("[scale]\nlife_expectancy = 'ten'\n", ("[scale] life_expectancy must be a number",)),
    ],
    ids=[
        "toml-array",
        "toml-table",
        "unknown-key",
        "unknown-section",
        "bad-shape",
        "unknown-role",
        "unknown-constant",
        "indicator-int",
        "indicator-no-id",
        "scale-text",
    ],
)
def test_bad_mapping_file(data, tmp_path, text, fragments):
    mapping = write(tmp_path / "map.toml", text)
    assert_error(cli("validate", data, "--mapping", mapping), str(mapping), *fragments)


def test_mapping_file_not_utf8(data, tmp_path):
    mapping = write(tmp_path / "map.toml", '[columns]\ncity_id = "城市"\n', "gbk")
    assert_error(cli("validate", data, "--mapping", mapping), "not valid TOML")


@pytest.mark.parametrize("text", ["indicators = 5\n", "scale = [1]\n", "constants = 3\n"])
def test_bug_mapping_section_of_the_wrong_type(data, tmp_path, text):
    mapping = write(tmp_path / "map.toml", text)
    assert_error(cli("validate", data, "--mapping", mapping), "must be a table")


def test_bug_mapping_columns_as_a_string(data, tmp_path):
    mapping = write(tmp_path / "map.toml", 'columns = "city"\n')
    line = assert_error(cli("validate", data, "--mapping", mapping))
    assert "role 'c'" not in line


def test_bug_boolean_scale_is_accepted(data, tmp_path):
    mapping = write(tmp_path / "map.toml", "[scale]\nlife_expectancy = true\n")
    assert_error(cli("validate", data, "--mapping", mapping), "must be a number")


def test_bug_mapping_is_a_folder(data, tmp_path):
    assert_error(cli("validate", data, "--mapping", tmp_path))


def test_missing_cities_file(data, tmp_path):
    assert_error(cli("validate", data, "--cities", tmp_path / "cities.csv"), "not found")


@pytest.mark.parametrize("sep", [";;", "abc"])
def test_bug_multi_character_separator(data, sep):
    assert_error(cli("validate", data, "--separator", sep), "separator")


def test_bug_negative_show(bad_data):
    result = cli("validate", bad_data, "--show", "-1")
    no_crash(result)
    assert result.exit_code == 2 and "and 2 more" not in result.output, result.output


# ---------------------------------------------------------------------------------------------
# validate: the data files themselves (file_unusable, exit 2)


def test_missing_file(tmp_path):
    assert_unusable(cli("validate", tmp_path / "nope.csv"), "file not found")


def test_directory_instead_of_file(tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert_unusable(cli("validate", folder), "is a folder")


@pytest.mark.parametrize("name", ["data.doc", "data", "data.json", "data.CSV.bak"])
def test_unknown_format(tmp_path, name):
    path = write(tmp_path / name, LONG)
    assert_unusable(cli("validate", path), "no loader for", "supported:")


def test_uppercase_suffix_is_a_known_format(tmp_path):
    result = cli("validate", write(tmp_path / "DATA.CSV", LONG))
    no_crash(result)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("encoding", ["klingon", "rot13", "base64", "utf-99"])
def test_unknown_encoding(data, encoding):
    assert_unusable(cli("validate", data, "--encoding", encoding), f"unknown encoding '{encoding}'")


def test_wrong_encoding_names_the_option(tmp_path):
    path = write(tmp_path / "gbk.csv", LONG.replace("Huế", "杭州"), "gbk")
    assert_unusable(cli("validate", path), "not valid utf-8", "--encoding")


@pytest.fixture
def workbook(tmp_path) -> Path:
    import xlsxwriter

    path = tmp_path / "book.xlsx"
    book = xlsxwriter.Workbook(path)
    book.add_worksheet("notes").write(0, 0, "nothing here")
    sheet = book.add_worksheet("data")
    for r, row in enumerate(line.split(",") for line in LONG.splitlines()):
        sheet.write_row(r, 0, row)
    book.close()
    return path


@pytest.mark.parametrize("sheet", ["dat", "DATA", "Sheet1", ""])
def test_bad_sheet(workbook, sheet):
    line = assert_unusable(cli("validate", workbook, "--sheet", sheet), "no sheet named")
    assert "sheets are: notes, data" in line


def test_good_sheet(workbook):
    result = cli("validate", workbook, "--sheet", "data")
    no_crash(result)
    assert result.exit_code == 0, result.output


def test_one_unusable_file_does_not_stop_the_others(data, tmp_path):
    result = cli("validate", data, tmp_path / "nope.csv")
    assert_unusable(result, "file not found")
    assert "accepted: 1" in result.stdout


def test_bug_unusable_message_repeats_the_path(tmp_path):
    missing = tmp_path / "nope.csv"
    line = assert_unusable(cli("validate", missing), "file not found")
    assert line.count(str(missing)) == 1, line


def test_bug_unreadable_excel_message_is_one_line(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip file at all" * 10)
    result = cli("validate", path)
    assert_unusable(result, "not a readable Excel file")
    start = result.output.index("[file_unusable]")
    assert "Context:" not in result.output[start:], result.output


# ---------------------------------------------------------------------------------------------
# validate: where the output goes


def test_rejected_into_missing_directory(bad_data, tmp_path):
    out = tmp_path / "no" / "such" / "rejected.csv"
    assert_error(cli("validate", bad_data, "--rejected", out), "output folder does not exist")
    assert not out.parent.exists()


@pytest.mark.parametrize("name", ["rejected.txt", "rejected", "rejected.xls"])
def test_rejected_with_unknown_suffix(bad_data, tmp_path, name):
    assert_error(cli("validate", bad_data, "--rejected", tmp_path / name), "cannot write")
    assert not (tmp_path / name).exists()


def test_warnings_into_missing_directory(tmp_path):
    data = write(
        tmp_path / "s.csv", "city_id,year,indicator,value\nA,2023,homicides_per_100k,500\n"
    )
    assert_error(
        cli("validate", data, "--warnings", tmp_path / "no" / "w.csv"),
        "output folder does not exist",
    )


def _writable(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return False
    probe.unlink()
    return True


def test_rejected_into_read_only_directory(bad_data, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if _writable(folder):
            pytest.skip("running as root: a read-only folder is still writable")
        result = cli("validate", bad_data, "--rejected", folder / "rejected.csv")
        assert_error(result, "permission denied")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_bug_read_only_directory_simulated(bad_data, tmp_path, monkeypatch):
    """Root ignores chmod, so the refusal is simulated where the OS would raise it."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert_error(
        cli("validate", bad_data, "--rejected", tmp_path / "rejected.csv"), "permission denied"
    )


def test_bug_rejected_is_an_existing_directory(bad_data, tmp_path):
    out = tmp_path / "out.csv"
    out.mkdir()
    try:
        assert_error(cli("validate", bad_data, "--rejected", out))
    finally:
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# ---------------------------------------------------------------------------------------------
# score


SCORE_DATA = "city_id,year,indicator,value\n" + "".join(
    f"C{i},2023,life_expectancy,{70 + i}\nC{i},2023,unemployment_rate,{5 + i}\n" for i in range(5)
)


@pytest.fixture
def score_data(tmp_path) -> Path:
    return write(tmp_path / "scores-in.csv", SCORE_DATA)


@pytest.mark.parametrize(
    "args,fragments",
    [
        (("--scorer", "livabilty"), ("unknown scorer 'livabilty'", "did you mean 'livability'")),
        (("--normalise", "zscor"), ("unknown normaliser 'zscor'", "did you mean 'zscore'")),
        (("--normalise", "minmax:a,b"), ("minmax", "must be float")),
        (("--impute", "bogus"), ("unknown imputer 'bogus'",)),
        (("--impute", "latest:x"), ("latest", "must be int")),
        (("--aggregate", "genmean:x"), ("genmean", "must be float")),
        (("--aggregate", "arithmetic/bogus"), ("unknown aggregator 'bogus'",)),
        (("--treat", "jrc:-1"), ("winmax",)),
        (("--min-coverage", "2"), ("--min-coverage is a share between 0 and 1",)),
        (("--min-coverage", "nan"), ("--min-coverage is a share between 0 and 1",)),
        (("--screen", "-0.1"), ("--screen is a share between 0 and 1",)),
        (("--year", "1999"), ("no data for year 1999",)),
        (("--column", "citi_id=x"), ("unknown role 'citi_id'",)),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) and v and v[0].startswith("--") else None,
)
def test_score_bad_options(score_data, args, fragments):
    assert_error(cli("score", score_data, *args), *fragments)


def test_score_missing_framework(score_data, tmp_path):
    assert_error(cli("score", score_data, "--framework", tmp_path / "fw.toml"), "not found")


@pytest.mark.parametrize(
    "name,text,fragment",
    [
        ("fw.toml", "[[nodes\n", "not valid TOML"),
        ("fw.csv", "a,b\n1,2\n", "iMeta lacks the column"),
    ],
)
def test_score_bad_framework(score_data, tmp_path, name, text, fragment):
    framework = write(tmp_path / name, text)
    assert_error(cli("score", score_data, "--framework", framework), fragment)


@pytest.mark.parametrize(
    "out,fragment",
    [
        ("no/such/scores.csv", "output folder does not exist"),
        ("scores.txt", "cannot write"),
    ],
)
def test_score_bad_out(score_data, tmp_path, out, fragment):
    assert_error(cli("score", score_data, "--out", tmp_path / out), fragment)


def test_bug_score_missing_file_is_silent(tmp_path):
    result = cli("score", tmp_path / "nope.csv")
    no_crash(result)
    assert result.exit_code != 0 and "nope.csv" in result.output, result.output


@pytest.mark.parametrize(
    "option",
    [
        ["--cities", "cities.csv"],
        ["--mapping", "map.toml"],
        ["--column", "city_id=Stadt"],
        ["--sheet", "Data"],
        ["--encoding", "gbk"],
        ["--shape", "wide"],
    ],
)
@pytest.mark.parametrize("command", ["score", "compare --city ES001C", "report"])
def test_file_options_without_files_are_refused_not_ignored(command, option):
    """Without data files the demo is used; an option describing the user's files would be
    silently ignored there, so it is an error that says so."""
    result = cli(*command.split(), *option)
    assert_error(result, f"{option[0]} applies to your own data files", "demo")
    assert result.exit_code == 2


def test_a_panic_inside_polars_is_one_line_not_a_traceback(tmp_path):
    """pyo3's PanicException is a BaseException, which ``except Exception`` misses; the CLI
    still turns it into the one-line internal-error message (here raised from a plugin, the
    only way to provoke one on purpose)."""
    plugin = write(
        tmp_path / "panics.py",
        (
            "from polars.exceptions import PanicException\n"
            "from benchmarkkit import hookimpl\n"
            "@hookimpl\ndef select_peers(city_id, spec):\n"
            "    raise PanicException('assertion failed: i < self.len()')\n"
        ),
    )
    result = cli("--plugin", plugin, "compare", "--city", "ES001C")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 3, result.output
    [line] = [ln for ln in result.output.splitlines() if ln.startswith("internal error")]
    assert "assertion failed: i < self.len()" in line and "--debug" in line
