"""Validation, pinned down where mutation testing found it loose (TESTING.md).

The rules over several rows (a repeated row, a conflicting value, a city with two names) are
checked through ``bk.load`` on a file written here, message by message, as worked out by hand.
"""

from __future__ import annotations

import polars as pl

import benchmarkkit as bk
from benchmarkkit.io.validate import RULES, YEAR_RANGE
from tests.conftest import write

SET_RULES = """city_id,city_name,country,year,indicator,value
A,Alpha,ZZ,2023,population,100
A,Alpha,ZZ,2023,population,100
B,Beta,ZZ,2023,population,5
B,Beta,ZZ,2023,population,6
C,Gamma,ZZ,2023,population,7
C,Gamma,ZZ,2022,population,8
C,Gama,ZZ,2021,population,9
D,,ZZ,2023,population,1
D,Delta,ZZ,2022,population,2
"""


def test_the_rules_are_named_and_the_years_bounded():
    assert YEAR_RANGE == (1900, 2100)
    assert list(RULES)[:3] == ["file_unusable", "ragged_row", "missing_city"]


def test_set_rules_say_where_the_first_occurrence_is(tmp_path):
    path = write(tmp_path / "set.csv", SET_RULES)
    loaded = bk.load(path)
    at = f"{path} row"
    two = "B 2023 population: 2 values for one city, year and indicator"
    assert loaded.rejected.select("row", "column", "rule", "message", "hint").rows() == [
        (3, "value", "duplicate", f"A 2023 population: repeats {at} 2", "remove the repeated row"),
        (
            4,
            "value",
            "duplicate_conflict",
            f"{two} (5.0 here, 5.0 at {at} 4)",
            "keep one value per city, year and indicator; all conflicting rows were set aside",
        ),
        (
            5,
            "value",
            "duplicate_conflict",
            f"{two} (6.0 here, 5.0 at {at} 4)",
            "keep one value per city, year and indicator; all conflicting rows were set aside",
        ),
        (
            8,
            "value",
            "city_name_conflict",
            "city 'C' is named 'Gama' here but 'Gamma' elsewhere",
            "use one name per city id (or distinct ids for distinct cities)",
        ),
    ]
    assert set(loaded.rejected["source"]) == {str(path)}
    # the first of a repeated row is kept; a missing name is taken from the city's other rows
    kept = loaded.observations.select("city_id", "city_name", "year", "value").rows()
    assert kept == [
        ("A", "Alpha", 2023, 100.0),
        ("C", "Gamma", 2023, 7.0),
        ("C", "Gamma", 2022, 8.0),
        ("D", "Delta", 2023, 1.0),
        ("D", "Delta", 2022, 2.0),
    ]
    assert loaded.observations.filter(pl.col("city_id") == "A")["row"].to_list() == [2]


ROW_RULES = """city_id,city_name,country,year,indicator,value
,Alpha,ZZ,2023,population,100
A,Alpha,ZZ,2023,,100
A,Alpha,ZZ,,population,100
A,Alpha,ZZ,20x3,population,100
A,Alpha,ZZ,1850,population,100
A,Alpha,ZZ,2023,populaton,100
A,Alpha,ZZ,2022,population,
A,Alpha,ZZ,2021,population,12 000
A,Alpha,ZZ,2020,population,inf
A,Alpha,ZZ,2023,foreign_born_share,130
A,Alpha,ZZ,2019,population,-5
A,Alpha,ZZ,2018,population,90000000
A,Alpha,ZZ,2017,population,1,2
 B ,Beta,ZZ,2023.0,population, 7\x20
"""


def test_each_row_rule_names_the_cell_and_the_fix(tmp_path):
    """One row per rule, in the rules' order; the last two rows are kept (one with a warning)."""
    loaded = bk.load(write(tmp_path / "rows.csv", ROW_RULES))
    assert loaded.rejected.select("row", "column", "rule", "message", "hint").rows() == [
        (2, "city_id", "missing_city", "no city id", "every row needs the city's id"),
        (3, "indicator", "missing_indicator", "no indicator id", "every value needs an indicator"),
        (4, "year", "bad_year", "the year is empty", "write the year as four digits, e.g. 2023"),
        (
            5,
            "year",
            "bad_year",
            "year '20x3' is not a whole number",
            "write the year as four digits, e.g. 2023",
        ),
        (6, "year", "year_out_of_range", "year 1850 is outside 1900–2100", "check the year column"),
        (
            7,
            "indicator",
            "unknown_indicator",
            "unknown indicator 'populaton'",
            "did you mean 'population'?",
        ),
        (
            8,
            "value",
            "missing_value",
            "the value is empty",
            "fill it or leave the row out: an empty cell is not a zero",
        ),
        (
            9,
            "value",
            "non_numeric",
            "'12 000' is not a number",
            "use '.' as the decimal mark, no thousands separators, no units in the cell",
        ),
        (
            10,
            "value",
            "not_finite",
            "'inf' is not a finite number",
            "leave the cell out instead of writing NaN or inf",
        ),
        (
            11,
            "value",
            "hard_bounds",
            "130.0 is outside the physical bounds [0.0, 100.0] % of population",
            "check the unit and scale (e.g. a share as 0–100, not 0–1)",
        ),
        (
            12,
            "value",
            "below_physical_minimum",
            "-5.0 is negative",
            "this indicator cannot be negative; check the sign",
        ),
        (
            14,
            None,
            "ragged_row",
            "the row has 7 fields, the header has 6",
            "check the separator and the quoting of cells that contain it",
        ),
    ]
    assert loaded.warnings.select("row", "column", "rule", "message", "hint").rows() == [
        (
            13,
            "value",
            "soft_bounds",
            "90000000.0 is outside the plausible range [0.0, 20000000.0] persons",
            "kept; check the value and its unit",
        )
    ]
    kept = loaded.observations.select("city_id", "year", "indicator", "value", "row").rows()
    assert kept == [("A", 2018, "population", 9e7, 13), ("B", 2023, "population", 7.0, 15)]
    assert loaded.counts.select("read", "accepted", "rejected", "ignored").rows() == [
        (14, 2, 12, 0)
    ]


def test_repeated_keys_of_a_million_rows_are_counted_not_hashed():
    """From 2**20 rows the repeats are found with one slot per folded key (NumPy): the same
    rows as Polars' own ``is_duplicated`` on the three columns, and none on unique keys."""
    import numpy as np

    from benchmarkkit.io.validate import _repeated

    rng = np.random.default_rng(19)
    n = 1 << 20
    codes = pl.DataFrame(
        {
            "city_id": rng.integers(0, 3000, n).astype(np.uint32),
            "year": rng.integers(2000, 2020, n).astype(np.int32),
            "indicator": rng.integers(0, 40, n).astype(np.uint32),
        }
    )
    want = codes.select(pl.struct("city_id", "year", "indicator").is_duplicated()).to_series()
    got = _repeated(codes, 3000, 40)
    assert got.to_list() == want.to_list()
    assert 0 < got.sum() < n
    every_key_once = pl.DataFrame(
        {
            "city_id": np.repeat(np.arange(3000, dtype=np.uint32), 20 * 40),
            "year": np.tile(np.repeat(np.arange(2000, 2020, dtype=np.int32), 40), 3000),
            "indicator": np.tile(np.arange(40, dtype=np.uint32), 3000 * 20),
        }
    ).sample(fraction=1.0, shuffle=True, seed=19)
    assert every_key_once.height > n
    assert _repeated(every_key_once, 3000, 40).sum() == 0


def test_a_year_is_read_as_a_number_below_a_million_only(tmp_path):
    text = "city_id,year,indicator,value\nA,1000000,population,1\nA,999999,population,1\n"
    loaded = bk.load(write(tmp_path / "years.csv", text))
    assert loaded.rejected.select("row", "rule", "message").rows() == [
        (2, "bad_year", "year '1000000' is not a whole number"),
        (3, "year_out_of_range", "year 999999 is outside 1900–2100"),
    ]
