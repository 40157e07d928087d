"""A mapping never misses silently (issue 10): headers compared after NFKC and whitespace
normalisation, a key matching nothing is an error with the closest headers, ignored columns are
counted as ignored, attributes feed the cities table, a mapping section per file, and indicators
declared without code — through the real CLI on files written to disk."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import write

HEADER = '城市代码,城市,省份,年份,"地区生产总值\r\n（万元）","常住人口\r\n（万人）"\r\n'
ROWS = [
    ("C1", "甲市", "广东省", 2021, 100, 10),
    ("C1", "甲市", "广东省", 2022, 110, 10),
    ("C1", "甲市", "广东省", 2023, 121, 11),
    ("C2", "乙市", "浙江省", 2022, 50, 2),
    ("C2", "乙市", "浙江省", 2023, 60, 2.5),
]
COLUMNS = """
[columns]
city_id = "城市代码"
city_name = "城市"
year = "年份"
"""
GDP = """
[indicators.gdp]
column = "地区生产总值\\n（万元）"
scale = 10000
unit = "CNY"
lower = 0
bound_type = "hard"
"""


@pytest.fixture
def panel(tmp_path):
    body = "".join(",".join(map(str, r)) + "\r\n" for r in ROWS)
    path = tmp_path / "panel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + body).encode("utf-8"))
    return path


def mapping(tmp_path, text: str, name: str = "map.toml"):
    return write(tmp_path / name, text)


def counts(result) -> dict[str, int]:
    first = result.output.splitlines()[0]
    parts = first.replace(":", "").split()
    return {parts[i]: int(parts[i + 1]) for i in range(len(parts) - 1) if parts[i + 1].isdigit()}


def load(panel, mapping_path):
    import benchmarkkit as bk

    return bk.load(panel, mapping=mapping_path)


def test_header_normalisation():
    from benchmarkkit.io.mapping import Headers, normalise_header, shown

    assert normalise_header("地区生产总值\r\n（万元）") == "地区生产总值 (万元)"
    assert normalise_header("GDP\u3000（万元）") == "GDP (万元)"
    headers = Headers(["地区生产总值\r\n（万元）", "Year "])
    assert headers.find("地区生产总值\n（万元）") == "地区生产总值\r\n（万元）"
    assert headers.find("地区生产总值(万元)") == "地区生产总值\r\n（万元）"  # no space, ASCII
    assert headers.find("year") == "Year "
    assert headers.find("人口") is None
    assert shown("a\r\nb") == "a\\r\\nb"


def test_key_written_with_lf_matches_a_crlf_header(tmp_path, run, panel):
    path = mapping(
        tmp_path,
        f'ignore = ["省份", "常住人口（万人）"]\n{COLUMNS}{GDP}',
    )
    result = run("validate", panel, "--mapping", path)
    assert result.exit_code == 0, result.output
    data = load(panel, path)
    gdp = data.observations.filter(data.observations["indicator"] == "gdp")
    assert sorted(gdp["value"].to_list()) == [500_000, 600_000, 1_000_000, 1_100_000, 1_210_000]


def test_a_key_matching_no_header_is_an_error_with_the_closest(tmp_path, run, panel):
    path = mapping(tmp_path, f'{COLUMNS}\n[indicators]\n"地区生产总量（万元）" = "gdp_x"\n')
    result = run("validate", panel, "--mapping", path)
    assert result.exit_code == 2, result.output
    line = next(ln for ln in result.output.splitlines() if "[file_unusable]" in ln)
    assert "'地区生产总量（万元）'" in line
    assert "did you mean '地区生产总值\\r\\n（万元）'" in line  # escaped: one line
    assert "\r" not in result.output


def test_an_optional_key_may_match_nothing(tmp_path, run, panel):
    text = f'optional = ["失业人数"]\nignore = ["省份"]\n{COLUMNS}{GDP}'
    text += '[indicators]\n"失业人数" = "unemployed_persons"\n"常住人口\\n（万人）" = '
    text += '{ id = "population", scale = 10000 }\n'
    result = run("validate", panel, "--mapping", mapping(tmp_path, text))
    assert result.exit_code == 0, result.output


def test_ignored_columns_are_counted_as_ignored_not_rejected(tmp_path, run, panel):
    text = f'ignore = ["省份"]\n{COLUMNS}{GDP}[indicators]\n"常住人口（万人）" = '
    text += '{ id = "population", scale = 10000 }\n'
    path = mapping(tmp_path, text)
    result = run("validate", panel, "--mapping", path)
    assert result.exit_code == 0, result.output
    data = load(panel, path)
    row = data.counts.row(0, named=True)
    assert (row["read"], row["accepted"], row["rejected"], row["ignored"]) == (15, 10, 0, 5)
    assert row["read"] == row["accepted"] + row["rejected"] + row["ignored"]


def test_unmapped_columns_without_ignore_are_still_rejected(tmp_path, run, panel):
    result = run("validate", panel, "--mapping", mapping(tmp_path, f"{COLUMNS}{GDP}"))
    assert result.exit_code == 1  # 省份 and 常住人口 read as unknown indicators
    assert "unknown_indicator" in result.output


def test_only_named_ignores_every_other_column(tmp_path, run, panel):
    path = mapping(tmp_path, f"only_named = true\n{COLUMNS}{GDP}")
    result = run("validate", panel, "--mapping", path)
    assert result.exit_code == 0, result.output
    row = load(panel, path).counts.row(0, named=True)
    assert (row["read"], row["accepted"], row["ignored"]) == (15, 5, 10)


def test_attributes_feed_the_cities_table_and_size_peers(tmp_path, run, panel):
    text = f'only_named = true\n{COLUMNS}{GDP}[attributes]\nprovince = "省份"\n'
    text += 'population = { column = "常住人口（万人）", scale = 10000 }\n'
    path = mapping(tmp_path, text)
    cities = load(panel, path).cities
    got = {r["city_id"]: (r["province"], r["population"]) for r in cities.iter_rows(named=True)}
    assert got == {"C1": ("广东省", 110_000.0), "C2": ("浙江省", 25_000.0)}  # latest year


def test_population_in_the_data_feeds_size_peers(tmp_path, run, panel):
    text = f'ignore = ["省份"]\n{COLUMNS}{GDP}[indicators]\n"常住人口（万人）" = '
    text += '{ id = "population", scale = 10000 }\n'
    cities = load(panel, mapping(tmp_path, text)).cities
    assert dict(zip(cities["city_id"], cities["population"], strict=True)) == {
        "C1": 110_000.0,
        "C2": 25_000.0,
    }


def test_a_mapping_per_file(tmp_path, run, panel):
    other = write(tmp_path / "old.csv", "code,name,yr,GDP\r\nC3,丙市,2023,7\r\n")
    text = f'only_named = true\n{COLUMNS}{GDP}\n[files."old*.csv"]\n'
    text += 'columns = { city_id = "code", city_name = "name", year = "yr" }\n'
    text += 'indicators = { "GDP" = { id = "gdp", scale = 10000 } }\n'
    path = mapping(tmp_path, text)
    result = run("validate", panel, other, "--mapping", path)
    assert result.exit_code == 0, result.output
    obs = load([panel, other], path).observations
    assert obs.filter(obs["city_id"] == "C3")["value"].to_list() == [70_000.0]


def test_a_file_section_matching_no_file_is_an_error(tmp_path, run, panel):
    text = f'only_named = true\n{COLUMNS}{GDP}\n[files."data-2023.csv"]\nshape = "wide"\n'
    result = run("validate", panel, "--mapping", mapping(tmp_path, text))
    assert result.exit_code == 2
    assert '[files."data-2023.csv"] matches none of the files given' in result.output


DERIVED = f"""only_named = true
{COLUMNS}{GDP}
[indicators]
"常住人口（万人）" = {{ id = "population", scale = 10000 }}
[indicators.gdp_pc]
derivation = "ratio"
numerator = "gdp"
denominator = "population"
direction = "higher"
[indicators.gdp_growth]
derivation = "growth"
numerator = "gdp"
direction = "higher"
lower = -5
upper = 5
[indicators.gdp_cagr2]
derivation = "cagr"
numerator = "gdp"
periods = 2
direction = "higher"
[indicators.gdp_change]
derivation = "difference"
numerator = "gdp"
kind = "raw"
[indicators.gdp_lag]
derivation = "lag"
numerator = "gdp"
kind = "raw"
[indicators.pc_growth]
derivation = "growth"
numerator = "gdp_pc"
direction = "higher"
"""


def test_derived_kinds_worked_out_by_hand(tmp_path, panel):
    data = load(panel, mapping(tmp_path, DERIVED))
    obs = data.observations.filter(data.observations["city_id"] == "C1")
    got = {(r["indicator"], r["year"]): r["value"] for r in obs.iter_rows(named=True)}
    assert got[("gdp_pc", 2023)] == pytest.approx(1_210_000 / 110_000)
    assert got[("gdp_growth", 2022)] == pytest.approx(10.0)
    assert got[("gdp_growth", 2023)] == pytest.approx(10.0)
    assert ("gdp_growth", 2021) not in got  # no earlier year: no value, shows in coverage
    assert got[("gdp_cagr2", 2023)] == pytest.approx(10.0)
    assert got[("gdp_change", 2023)] == pytest.approx(110_000)
    assert got[("gdp_lag", 2024)] == pytest.approx(1_210_000)  # shown a year later
    assert got[("pc_growth", 2023)] == pytest.approx((121 / 11) / (110 / 10) * 100 - 100)
    warned = data.warnings.filter(data.warnings["rule"] == "soft_bounds")["message"].to_list()
    assert any("gdp_growth" in m for m in warned)  # 10 % is outside its soft [-5, 5]


@pytest.mark.parametrize(
    ("declaration", "fragments"),
    [
        (
            '[indicators.x]\nderivation = "growth"\nnumerator = "gpd"\ndirection = "higher"\n',
            ("indicators.x", "unknown numerator 'gpd'", "did you mean 'gdp'?"),
        ),
        (
            '[indicators.a]\nderivation = "lag"\nnumerator = "b"\nkind = "raw"\n'
            '[indicators.b]\nderivation = "lag"\nnumerator = "a"\nkind = "raw"\n',
            ("cycle", "a → b → a"),
        ),
        (
            '[indicators.population]\nunit = "persons"\nkind = "raw"\n',
            ("indicators.population", "already in the catalog", "rename it"),
        ),
        (
            '[indicators.x]\ncolumn = "省份"\ndirection = "up"\n',
            ("indicators.x, direction", "unknown direction 'up'", "higher or lower"),
        ),
        (
            '[indicators.x]\nderivation = "grwoth"\nnumerator = "gdp"\n',
            ("unknown derivation 'grwoth'", "did you mean 'growth'?"),
        ),
    ],
    ids=["missing-input", "cycle", "duplicate", "direction", "derivation"],
)
def test_declaration_mistakes_are_one_line(tmp_path, run, panel, declaration, fragments):
    path = mapping(tmp_path, f"only_named = true\n{COLUMNS}{GDP}{declaration}")
    result = run("validate", panel, "--mapping", path)
    assert result.exit_code == 2, result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.output
    assert str(path) in errors[0]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_the_indicator_csv_is_the_listing_read_back(catalog, tmp_path):
    """One schema in and out: the catalog written as the listing's CSV reads back the same."""
    from polars.testing import assert_frame_equal

    from benchmarkkit.io.catalog import CSV_COLUMNS, catalog_csv_frame, read_indicator_csv

    path = tmp_path / "all.csv"
    listed = catalog_csv_frame(catalog)
    assert tuple(listed.columns) == CSV_COLUMNS
    listed.write_csv(path)
    back = catalog_csv_frame(read_indicator_csv(path))
    assert_frame_equal(back, listed, check_dtypes=False)


def test_an_indicator_csv_with_the_legacy_columns_says_how_to_write_them(tmp_path):
    from benchmarkkit.errors import InputError
    from benchmarkkit.io.catalog import read_indicator_csv

    path = write(tmp_path / "mine.csv", "id,unit,higher_is_better\nx,%,true\n")
    with pytest.raises(InputError, match="write it as 'direction'"):
        read_indicator_csv(path)


def test_an_indicator_csv_with_its_own_grouping(tmp_path, panel):
    from benchmarkkit.io.catalog import read_indicator_csv

    path = write(
        tmp_path / "mine.csv",
        "id,name,name_zh,unit,direction,focus_area,indices,derivation,numerator,periods\n"
        "gdp_growth,GDP growth,地区生产总值增长率,%,higher,economy,economy;growth,growth,gdp,1\n",
    )
    row = read_indicator_csv(path).row(0, named=True)
    assert (row["direction"], row["focus_area"], row["indices"]) == (
        1,
        "economy",
        ["economy", "growth"],
    )
    assert (row["derivation"], row["periods"], row["set"], row["name_zh"]) == (
        "growth",
        1,
        "mine",
        "地区生产总值增长率",
    )


def test_the_indicator_readme_example_reads(catalog, tmp_path):
    import re

    from benchmarkkit.io.catalog import extend_catalog, read_indicator_csv
    from tests.conftest import ROOT

    text = (ROOT / "indicators" / "README.md").read_text(encoding="utf-8")
    block = re.findall(r"```csv\n(.*?)```", text, flags=re.S)[0]
    mine = read_indicator_csv(write(tmp_path / "mine.csv", block))
    assert mine["derivation"].to_list() == [None, "ratio", "growth"]
    assert extend_catalog(catalog, mine).height == catalog.height + 3


def test_an_attribute_that_is_not_a_number_is_a_warning(tmp_path, panel):
    raw = panel.read_bytes().replace(b"2023,60,2.5", b"2023,60,n/a")
    panel.write_bytes(raw)
    spec = f"only_named = true\n{COLUMNS}{GDP}[attributes]\n"
    spec += 'population = { column = "常住人口（万人）", scale = 10000 }\n'
    data = load(panel, mapping(tmp_path, spec))
    warned = data.warnings.filter(pl.col("rule") == "attribute_not_numeric").row(0, named=True)
    gdp = data.observations.filter((pl.col("city_id") == "C2") & (pl.col("year") == 2023))
    assert (warned["row"], warned["column"]) == (gdp["row"][0], "常住人口\\r\\n（万人）")
    assert "population 'n/a' is not a number" in warned["message"]
    got = dict(zip(data.cities["city_id"], data.cities["population"], strict=True))
    assert got == {"C1": 110_000.0, "C2": 20_000.0}  # C2's latest number: 2022


def test_rows_are_numbered_as_a_spreadsheet_when_headers_hold_line_breaks(tmp_path, panel):
    data = load(panel, mapping(tmp_path, f"only_named = true\n{COLUMNS}{GDP}"))
    assert sorted(data.observations["row"].to_list()) == [2, 3, 4, 5, 6]
