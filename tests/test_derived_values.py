"""Derived indicators hold the values their definition gives, worked out by hand (issue 19).

Cities report counts (unemployed persons, foreign-born residents, tourist nights); the catalog
declares the rates compared across cities as ``scale × numerator / denominator`` of the same
city and year (``indicators/eurostat_urban_audit.csv``: ``numerator``, ``denominator``,
``scale``; computed by ``methods.denominate.derive``). A multiplication in place of the division
passed the whole suite once, as no test read a derived value: these do, through ``bk.load`` and
the CLI on files written here, beside the cases around it — a zero or missing denominator, a
value the user supplied, and a derived value outside its hard bounds.
"""

from __future__ import annotations

import csv

import polars as pl
import pytest

import benchmarkkit as bk
from tests.conftest import write

DATA = """city_id,city_name,country,year,indicator,value
A,Alpha,ZZ,2023,population,100000
A,Alpha,ZZ,2023,unemployed_persons,5000
A,Alpha,ZZ,2023,tourist_nights,2000000
A,Alpha,ZZ,2023,foreign_born_persons,150000
B,Beta,ZZ,2023,population,0
B,Beta,ZZ,2023,unemployed_persons,700
C,Gamma,ZZ,2022,population,250000
C,Gamma,ZZ,2023,unemployed_persons,900
D,Delta,ZZ,2023,population,200000
D,Delta,ZZ,2023,unemployed_persons,8000
D,Delta,ZZ,2023,unemployed_per_1000,42
D,Delta,ZZ,2023,foreign_born_persons,30000
"""
"""Rows 2–13 of the file (row 1 is the header), as ``source``/``row`` number them."""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("derived") / "counts.csv", DATA)
    return path, bk.load(path)


def _derived(loaded, indicator: str) -> dict[tuple[str, int], dict]:
    rows = loaded.observations.filter(pl.col("indicator") == indicator)
    return {(r["city_id"], r["year"]): r for r in rows.iter_rows(named=True)}


def test_the_catalog_defines_the_rates_tested_here(data):
    """The premise of the hand-worked values below, read from the catalog itself."""
    _, loaded = data
    defined = {
        r["id"]: (r["numerator"], r["denominator"], r["scale"])
        for r in loaded.catalog.filter(pl.col("numerator").is_not_null()).iter_rows(named=True)
    }
    assert defined["unemployed_per_1000"] == ("unemployed_persons", "population", 1000.0)
    assert defined["tourist_nights_per_resident"] == ("tourist_nights", "population", 1.0)
    assert defined["foreign_born_share"] == ("foreign_born_persons", "population", 100.0)


def test_a_rate_is_scale_times_numerator_over_denominator(data):
    """Unemployed 5,000 in a city of 100,000: 1,000 × 5,000 / 100,000 = 50 per 1,000 (not
    5.0e11); 2,000,000 tourist nights / 100,000 residents = 20 per resident (scale 1); 30,000
    foreign-born of 200,000 residents: 100 × 30,000 / 200,000 = 15 %. Each is flagged derived
    and points at its numerator's row."""
    path, loaded = data
    unemployed = _derived(loaded, "unemployed_per_1000")[("A", 2023)]
    assert unemployed["value"] == pytest.approx(50.0)
    assert unemployed["flag"] == "derived"
    assert (unemployed["source"], unemployed["row"]) == (str(path), 3)
    nights = _derived(loaded, "tourist_nights_per_resident")[("A", 2023)]
    assert nights["value"] == pytest.approx(20.0)
    share = _derived(loaded, "foreign_born_share")[("D", 2023)]
    assert share["value"] == pytest.approx(15.0)
    assert (share["flag"], share["row"]) == ("derived", 13)


def test_a_zero_denominator_gives_no_value(data):
    """Beta's population is 0: 700 unemployed per 1,000 of nobody is not data — no value (it
    shows as missing in coverage), not an infinity, and no warning."""
    _, loaded = data
    assert ("B", 2023) not in _derived(loaded, "unemployed_per_1000")
    assert loaded.warnings.filter(pl.col("message").str.starts_with("B ")).height == 0


def test_a_missing_denominator_of_that_year_gives_no_value(data):
    """Gamma reports its unemployed for 2023 and its population only for 2022: a rate is never
    built from another year's population."""
    _, loaded = data
    rates = _derived(loaded, "unemployed_per_1000")
    assert ("C", 2023) not in rates and ("C", 2022) not in rates


def test_a_supplied_value_wins_over_the_derived_one(data):
    """Delta supplies 42 per 1,000 itself; its counts would give 1,000 × 8,000 / 200,000 = 40.
    The user's value stays, once, unflagged, on its own row."""
    _, loaded = data
    rows = loaded.observations.filter(
        (pl.col("city_id") == "D") & (pl.col("indicator") == "unemployed_per_1000")
    )
    assert rows.height == 1
    assert rows.row(0, named=True) | {"source": None} == {
        "city_id": "D",
        "city_name": "Delta",
        "country": "ZZ",
        "year": 2023,
        "indicator": "unemployed_per_1000",
        "value": 42.0,
        "flag": None,
        "source": None,
        "row": 12,
    }


def test_a_derived_value_outside_its_hard_bounds_is_left_out_with_a_warning(data, run):
    """150,000 foreign-born in a city of 100,000 is a share of 100 × 150,000 / 100,000 = 150 %,
    outside the hard bounds [0, 100]: the raw counts disagree. The share is left out, and the
    warning names the city, year, value and bounds and points at the numerator's row — in
    ``bk.load`` and in ``validate --warnings``, where it is not a rejected row (exit 0)."""
    path, loaded = data
    assert ("A", 2023) not in _derived(loaded, "foreign_born_share")
    warned = loaded.warnings.filter(pl.col("rule") == "derived_out_of_bounds")
    assert warned.to_dicts() == [
        {
            "source": str(path),
            "row": 5,
            "column": "value",
            "rule": "derived_out_of_bounds",
            "message": "A 2023 foreign_born_share = 150.0 is outside [0.0, 100.0]: "
            "its raw counts disagree",
            "hint": "check foreign_born_persons and population of this city and year",
        }
    ]
    out = path.parent / "warnings.csv"
    result = run("validate", path, "--warnings", out)
    assert result.exit_code == 0, result.output
    assert "rejected: 0" in result.stdout and "warnings: 1" in result.stdout
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["rule"], r["row"], r["message"]) for r in rows] == [
        ("derived_out_of_bounds", "5", warned["message"][0])
    ]


def test_a_ratio_of_your_own_indicator_csv(tmp_path):
    """The same rule for an indicator you declare (``--indicators``): 100 × 25 / 200 = 12.5 %;
    a value outside the soft bounds is kept, a zero denominator still gives nothing."""
    indicators = write(
        tmp_path / "mine.csv",
        "id,name,unit,direction,bound_type,lower,upper,kind,numerator,denominator,scale\n"
        "bikes,Bikes,bikes,,hard,0,,raw,,,\n"
        "docks,Docks,docks,,hard,0,,raw,,,\n"
        "bike_share,Bikes per dock,%,1,soft,0,50,,bikes,docks,100\n",
    )
    data = write(
        tmp_path / "bikes.csv",
        "city_id,year,indicator,value\n"
        "A,2023,bikes,25\nA,2023,docks,200\n"
        "B,2023,bikes,90\nB,2023,docks,100\n"
        "C,2023,bikes,5\nC,2023,docks,0\n",
    )
    loaded = bk.load(data, indicators=indicators)
    values = {k: r["value"] for k, r in _derived(loaded, "bike_share").items()}
    assert values == {("A", 2023): pytest.approx(12.5), ("B", 2023): pytest.approx(90.0)}
    assert loaded.warnings.select("rule", "row", "message").rows() == [
        (
            "soft_bounds",
            4,
            "derived B 2023 bike_share = 90.0 is outside the plausible range [0.0, 50.0] %",
        )
    ]
