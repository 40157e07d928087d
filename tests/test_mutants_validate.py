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
