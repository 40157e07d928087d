"""Loading: every format and shape a CSCO's data arrives in, through the real CLI and real files."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import write

LONG = (
    "city_id,city_name,country,year,indicator,value\nVN001,Đà Nẵng,VN,2023,life_expectancy,76.5\n"
)


def _accepted(result) -> int:
    return int(result.stdout.split("accepted: ")[1].split()[0])


@pytest.mark.parametrize("encoding,bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf")])
def test_utf8_with_and_without_bom(tmp_path, run, encoding, bom):
    path = tmp_path / "d.csv"
    path.write_bytes(bom + LONG.encode(encoding))
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    assert _accepted(result) == 1


def test_gbk_needs_and_honours_encoding(tmp_path, run):
    text = (
        "city_id,city_name,country,year,indicator,value\nCN001,杭州,CN,2023,life_expectancy,82.1\n"
    )
    path = write(tmp_path / "gbk.csv", text, "gbk")
    bad = run("validate", path)
    assert bad.exit_code == 2
    assert "--encoding" in bad.stderr + bad.stdout
    good = run("validate", path, "--encoding", "gbk")
    assert good.exit_code == 0, good.output


@pytest.mark.parametrize("sep", [";", "\t"])
def test_separators_are_sniffed(tmp_path, run, sep):
    path = write(tmp_path / "d.csv", LONG.replace(",", sep))
    assert run("validate", path).exit_code == 0


def test_parquet_arrow_and_excel(tmp_path, run):
    frame = pl.read_csv(LONG.encode())
    frame.write_parquet(tmp_path / "d.parquet")
    frame.write_ipc(tmp_path / "d.feather")
    import xlsxwriter

    book = xlsxwriter.Workbook(tmp_path / "d.xlsx")
    book.add_worksheet("notes").write(0, 0, "nothing here")
    sheet = book.add_worksheet("data")
    for r, row in enumerate([frame.columns, *frame.rows()]):
        for c, v in enumerate(row):
            sheet.write(r, c, v)
    book.close()
    for name in ("d.parquet", "d.feather"):
        result = run("validate", tmp_path / name)
        assert result.exit_code == 0 and _accepted(result) == 1, result.output
    result = run("validate", tmp_path / "d.xlsx", "--sheet", "data")
    assert result.exit_code == 0 and _accepted(result) == 1, result.output
    missing = run("validate", tmp_path / "d.xlsx", "--sheet", "dat")
    assert missing.exit_code == 2 and "sheets are: notes, data" in missing.stdout


def test_wide_chinese_headers_with_unit_scaling(tmp_path, run):
    """A table with Chinese headers, population in units of ten thousand persons."""
    text = "城市代码,城市,年份,常住人口（万人）,人均预期寿命（岁）\nCN001,杭州,2023,1252.2,82.1\n"
    data = write(tmp_path / "wide.csv", text)
    mapping = write(
        tmp_path / "map.toml",
        """
shape = "wide"
[columns]
city_id = "城市代码"
city_name = "城市"
year = "年份"
[constants]
country = "CN"
[indicators]
"常住人口（万人）" = { id = "population", scale = 10000 }
"人均预期寿命（岁）" = "life_expectancy"
""",
    )
    import benchmarkkit as bk

    loaded = bk.load(data, mapping=mapping)
    got = dict(zip(loaded.observations["indicator"], loaded.observations["value"], strict=True))
    assert got == {"population": pytest.approx(12_522_000.0), "life_expectancy": 82.1}
    assert run("validate", data, "--mapping", mapping).exit_code == 0


def test_years_as_columns(tmp_path, run):
    text = "city,indicator,2021,2022,2023\nVN001,life_expectancy,75.9,,76.5\n"
    data = write(tmp_path / "years.csv", text)
    result = run("validate", data)
    assert result.exit_code == 0, result.output
    assert _accepted(result) == 2  # the empty 2022 cell is no observation


def test_cli_column_mapping(tmp_path, run):
    text = "ma,nam,chi_so,gia_tri\nVN001,2023,life_expectancy,76.5\n"
    data = write(tmp_path / "vi.csv", text)
    result = run(
        "validate",
        data,
        "--column",
        "city_id=ma",
        "--column",
        "year=nam",
        "--column",
        "indicator=chi_so",
        "--column",
        "value=gia_tri",
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("", "empty"),
        ("city_id,year,indicator,value\n", "no rows"),
        ("city_id,year,indicator,valeu\nA,2020,life_expectancy,1\n", "did you mean 'valeu'"),
        ("city_id,year,year,value\nA,2020,2020,1\n", "appears twice"),
    ],
)
def test_unusable_files_exit_2_with_one_line(tmp_path, run, text, fragment):
    result = run("validate", write(tmp_path / "bad.csv", text))
    assert result.exit_code == 2
    assert fragment in result.stdout
    assert "Traceback" not in result.output


def test_ragged_rows_are_rejected_not_padded(tmp_path, run):
    text = LONG + "VN002,Huế,VN,2023,life_expectancy\nVN003,Hội An,VN,2023,life_expectancy,74,9\n"
    out = tmp_path / "rej.csv"
    result = run("validate", write(tmp_path / "r.csv", text), "--rejected", out)
    assert result.exit_code == 1
    rej = pl.read_csv(out)
    assert rej["rule"].to_list() == ["ragged_row", "ragged_row"]
    assert rej["row"].to_list() == [3, 4]


def test_missing_file_and_unknown_format(tmp_path, run):
    result = run("validate", tmp_path / "nope.csv")
    assert result.exit_code == 2 and "file not found" in result.stdout
    result = run("validate", write(tmp_path / "x.doc", "hello"))
    assert result.exit_code == 2 and "no loader for '.doc'" in result.stdout


def test_city_with_two_names_keeps_the_majority(tmp_path, run):
    text = (
        "city_id,city_name,country,year,indicator,value\n"
        "VN001,Da Nang,VN,2021,life_expectancy,76\nVN001,Da Nang,VN,2022,life_expectancy,76.2\n"
        "VN001,Danang,VN,2023,life_expectancy,76.5\n"
    )
    out = tmp_path / "rej.csv"
    result = run("validate", write(tmp_path / "n.csv", text), "--rejected", out)
    assert result.exit_code == 1
    rej = pl.read_csv(out)
    assert rej.select("rule", "row").rows() == [("city_name_conflict", 4)]
    assert "'Danang' here but 'Da Nang' elsewhere" in rej["message"][0]


def test_soft_bounds_warn_and_keep(tmp_path, run):
    text = "city_id,year,indicator,value\nA,2023,homicides_per_100k,500\n"
    result = run("validate", write(tmp_path / "s.csv", text))
    assert result.exit_code == 0
    assert "warnings: 1" in result.stdout


# ---------------------------------------------------------------------------------------------
# size limits (benchmarkkit/io/limits.py): ordinary files pass, each limit holds to the byte


def _unusable(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    [line] = [ln for ln in result.stdout.splitlines() if "[file_unusable]" in ln]
    return line


def test_csv_size_limit_holds_to_the_byte(tmp_path, run, monkeypatch):
    path = write(tmp_path / "d.csv", LONG)
    size = path.stat().st_size
    monkeypatch.setenv("BENCHMARKKIT_MAX_INPUT_SIZE", str(size))
    assert run("validate", path).exit_code == 0
    monkeypatch.setenv("BENCHMARKKIT_MAX_INPUT_SIZE", str(size - 1))
    line = _unusable(run("validate", path))
    assert f"the file is {size} bytes, more than the limit of {size - 1} bytes" in line
    assert "BENCHMARKKIT_MAX_INPUT_SIZE" in line


def test_columns_limit_in_every_format(tmp_path, run, monkeypatch):
    frame = pl.read_csv(LONG.encode())
    frame.write_parquet(tmp_path / "d.parquet")
    frame.write_ipc(tmp_path / "d.arrow")
    write(tmp_path / "d.csv", LONG)
    monkeypatch.setenv("BENCHMARKKIT_MAX_COLUMNS", "5")
    for name in ("d.csv", "d.parquet", "d.arrow"):
        line = _unusable(run("validate", tmp_path / name))
        assert "6 columns, more than the limit of 5" in line, line
    monkeypatch.setenv("BENCHMARKKIT_MAX_COLUMNS", "6")
    for name in ("d.csv", "d.parquet", "d.arrow"):
        assert run("validate", tmp_path / name).exit_code == 0


def test_cells_limit_counts_rows_from_the_footer(tmp_path, run, monkeypatch):
    frame = pl.concat([pl.read_csv(LONG.encode())] * 3)  # 3 rows × 6 columns
    frame.write_parquet(tmp_path / "d.parquet", row_group_size=1)
    frame.write_ipc(tmp_path / "d.arrow")
    monkeypatch.setenv("BENCHMARKKIT_MAX_CELLS", "17")
    for name in ("d.parquet", "d.arrow"):
        line = _unusable(run("validate", tmp_path / name))
        assert "3 rows × 6 columns = 18 cells, more than the limit of 17" in line, line


def test_a_bad_limit_in_the_environment_is_one_error_line(tmp_path, run, monkeypatch):
    monkeypatch.setenv("BENCHMARKKIT_MAX_LINE", "lots")
    result = run("validate", write(tmp_path / "d.csv", LONG))
    assert result.exit_code == 2
    assert "error: BENCHMARKKIT_MAX_LINE='lots' is not a positive number" in result.output


@pytest.mark.parametrize("end", [b"\n", b"\r"])
@pytest.mark.parametrize("limit", [1, 5, 7, 8, 9, 30, 64])
def test_longest_line_is_found_exactly_across_blocks(tmp_path, limit, end):
    """The scan reads pieces ``limit`` long, so lines of every length around it fall across
    their edges; the first line over the limit is named with its exact length (lines end in LF,
    or in CR alone as old Mac exports do)."""
    from benchmarkkit.errors import InputError
    from benchmarkkit.io.limits import Limits, check_csv

    lengths = [3, 8, 0, 7, 9, 1, 16, 8, 30, 2, 64, 5, 65]
    path = tmp_path / "l.csv"
    for cut in range(1, len(lengths) + 1):
        lines = lengths[:cut]
        path.write_bytes(b"".join(b"x" * n + end for n in lines[:-1]) + b"y" * lines[-1])
        over = [(i, n) for i, n in enumerate(lines, start=1) if n > limit]
        try:
            check_csv(path, Limits(line=limit), ",")
        except InputError as err:
            assert over, (lines, limit)
            assert f"line {over[0][0]} is {over[0][1]} bytes long" in str(err), (lines, str(err))
        else:
            assert not over, (lines, limit)


def test_xlsx_unpacked_size_limit_is_a_quarter_of_the_input_size(tmp_path, run, monkeypatch):
    import zipfile

    import xlsxwriter

    path = tmp_path / "d.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    frame = pl.read_csv(LONG.encode())
    for r, row in enumerate([frame.columns, *frame.rows()]):
        sheet.write_row(r, 0, row)
    book.close()
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    monkeypatch.setenv("BENCHMARKKIT_MAX_INPUT_SIZE", str(4 * unpacked))
    assert "[file_unusable]" not in run("validate", path).output
    monkeypatch.setenv("BENCHMARKKIT_MAX_INPUT_SIZE", str(4 * unpacked - 4))
    line = _unusable(run("validate", path))
    assert f"the workbook unpacks to {unpacked / 1024:.1f} KiB, more than the limit" in line


def test_a_parquet_list_column_reads_like_a_csv_list(tmp_path, run):
    """A cities file's ``networks`` as a Parquet list column works for ``network:`` peers, as
    the same column written ';'-separated in a CSV does (it used to arrive as a Python repr)."""
    cities = tmp_path / "cities.parquet"
    pl.DataFrame(
        {
            "city_id": ["A", "B", "C"],
            "population": [1e6, 2e6, 3e6],
            "networks": [["ASEAN", "ASCN"], ["ASEAN", "ASCN"], ["ASEAN"]],
        }
    ).write_parquet(cities)
    data = tmp_path / "data.csv"
    data.write_text(
        "city_id,year,unemployment_rate\nA,2023,5\nB,2023,6\nC,2023,7\n", encoding="utf-8"
    )
    import benchmarkkit as bk

    scores = bk.score(bk.load(data, cities=cities))
    assert bk.compare(scores, city="A", peers="network:ASCN", levers=False).peers == ("A", "B")
    result = run("compare", data, "--cities", cities, "--city", "A", "--peers", "network:ASEAN")
    assert result.exit_code == 0, result.output
    assert "A (A), 2023: 2 peers (network:ASEAN)" in result.stdout
