"""The data-entry template (issue 10): written for chosen indicators, cities and years, read back
unchanged by ``load`` and ``validate`` with no mapping — xlsx and CSV, labels in en/vi/zh."""

from __future__ import annotations

import zipfile

import polars as pl
import pytest

CITIES = ["ES001C", "DE001C"]
YEARS = [2021, 2022]


@pytest.fixture(scope="module")
def demo():
    import benchmarkkit as bk

    return bk.load()


def _known(demo, indicators):
    obs = demo.observations.filter(
        pl.col("city_id").is_in(CITIES)
        & pl.col("year").is_in(YEARS)
        & pl.col("indicator").is_in(indicators)
    )
    return obs.select("city_id", "city_name", "year", "indicator", "value")


def _indicators(demo):
    from benchmarkkit.io.template import template_indicators

    return template_indicators(
        demo.catalog, ids=["population", "unemployed_persons", "tourist_nights"]
    )


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_template_round_trip(demo, tmp_path, run, suffix, lang):
    import benchmarkkit as bk
    from benchmarkkit.io.template import write_template

    ids = _indicators(demo)
    known = _known(demo, ids)
    assert known.height > 4
    path = write_template(
        tmp_path / f"template{suffix}", demo.catalog, ids, CITIES, YEARS, lang, values=known
    )
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    back = bk.load(path).observations.filter(pl.col("flag").is_null())
    got = back.select("city_id", "year", "indicator", "value").sort("city_id", "year", "indicator")
    want = known.select(pl.exclude("city_name")).sort("city_id", "year", "indicator")
    assert got.rows() == [(c, y, i, pytest.approx(v)) for c, y, i, v in want.rows()]


def test_template_labels_units_directions_and_validation(demo, tmp_path):
    from benchmarkkit.io.template import write_template

    row = demo.catalog.filter(pl.col("id") == "unemployment_rate").row(0, named=True)
    path = write_template(
        tmp_path / "t.xlsx", demo.catalog, ["unemployment_rate"], CITIES, YEARS, "vi"
    )
    with zipfile.ZipFile(path) as book:
        names = book.namelist()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "xl/worksheets/sheet2.xml" in names  # the instructions
    assert sheet.count("<dataValidation ") == 2  # the indicator (numbers) and the year
    assert 'type="decimal"' in sheet and 'type="whole"' in sheet
    assert f"unemployment_rate\n{row['name']} ({row['unit']}) ↓" in strings
    assert "Cách điền bảng này" in strings and "càng thấp càng tốt" in strings


def test_empty_template_reads_as_nothing_rejected(demo, tmp_path, run):
    from benchmarkkit.io.template import write_template

    path = write_template(tmp_path / "t.xlsx", demo.catalog, ["population"], ["X1"], [2023])
    result = run("validate", path)
    assert "rejected: 0" in result.output, result.output


def test_template_of_a_derived_indicator_asks_for_its_inputs(demo):
    from benchmarkkit.io.template import template_indicators

    derived = demo.catalog.filter(pl.col("numerator").is_not_null()).row(0, named=True)
    ids = template_indicators(demo.catalog, ids=[derived["id"]])
    assert ids == [derived["numerator"], derived["denominator"]]


def test_template_mistakes(demo, tmp_path):
    from benchmarkkit.errors import InputError
    from benchmarkkit.io.template import template_indicators, write_template

    with pytest.raises(InputError, match="did you mean 'population'"):
        template_indicators(demo.catalog, ids=["populaton"])
    with pytest.raises(InputError, match="unknown language 'fr'"):
        write_template(tmp_path / "t.xlsx", demo.catalog, ["population"], ["X"], [2023], "fr")
    with pytest.raises(InputError, match=r"an \.xlsx or a \.csv"):
        write_template(tmp_path / "t.ods", demo.catalog, ["population"], ["X"], [2023])
