"""Validation: every rule named, every rejected row located, rows read = accepted + rejected."""

from __future__ import annotations

import polars as pl

from tests.conftest import write

FIVE_ERRORS = """city_id,city_name,country,year,indicator,value
PT001C,Lisboa,PT,2023,unemployment_rate,7.1
PT001C,Lisboa,PT,2023,life_expectancy,81.2
PT002C,Porto,PT,2023,unemployment_rate,abc
PT002C,Porto,PT,20x3,life_expectancy,80.1
PT002C,Porto,PT,2023,unemployment_rat,6.0
PT003C,Braga,PT,2023,unemployment_rate,140
PT003C,Braga,PT,2023,life_expectancy,79.0
PT003C,Braga,PT,2023,life_expectancy,79.5
PT004C,Coimbra,PT,2023,life_expectancy,NaN
PT004C,Coimbra,PT,2023,unemployment_rate,5.5
"""


def test_five_kinds_of_error_are_each_located_and_written(tmp_path, run):
    data = write(tmp_path / "cities.csv", FIVE_ERRORS)
    out = tmp_path / "rejected.csv"
    result = run("validate", data, "--rejected", out)
    assert result.exit_code == 1, result.output
    assert "rows read: 10   accepted: 3   rejected: 7" in result.stdout
    rejected = pl.read_csv(out)
    got = {(r["rule"], r["row"], r["column"]) for r in rejected.iter_rows(named=True)}
    # line numbers count the header as line 1, as a spreadsheet shows them
    assert got == {
        ("non_numeric", 4, "value"),
        ("bad_year", 5, "year"),
        ("unknown_indicator", 6, "indicator"),
        ("hard_bounds", 7, "value"),
        ("duplicate_conflict", 8, "value"),
        ("duplicate_conflict", 9, "value"),
        ("not_finite", 10, "value"),
    }


def test_counts_add_up_and_messages_name_the_cell(tmp_path, run):
    data = write(tmp_path / "cities.csv", FIVE_ERRORS)
    out = tmp_path / "rejected.csv"
    result = run("validate", data, "--rejected", out)
    rejected = pl.read_csv(out)
    read = int(result.stdout.split("rows read: ")[1].split()[0])
    accepted = int(result.stdout.split("accepted: ")[1].split()[0])
    assert read == accepted + rejected.height
    by_rule = dict(zip(rejected["rule"], rejected["message"], strict=False))
    assert by_rule["non_numeric"] == "'abc' is not a number"
    assert "did you mean 'unemployment_rate'?" in rejected.filter(
        pl.col("rule") == "unknown_indicator")["hint"][0]
    assert "140" in by_rule["hard_bounds"]
    assert set(rejected.columns) == {"source", "row", "column", "rule", "message", "hint"}
