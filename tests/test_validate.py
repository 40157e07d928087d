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
    assert (
        "did you mean 'unemployment_rate'?"
        in rejected.filter(pl.col("rule") == "unknown_indicator")["hint"][0]
    )
    assert "140" in by_rule["hard_bounds"]
    assert set(rejected.columns) == {"source", "row", "column", "rule", "message", "hint"}


def test_set_rules_only_touch_suspect_rows_and_keep_order():
    """check_set finds suspects with integer codes, runs the full rules on them only, and keeps
    the accepted rows in input order with missing names filled — worked out by hand below."""
    from benchmarkkit.io.validate import check_set

    rows = [  # city_id, city_name, year, indicator, value
        ("A", "Alpha", 2023, "x", 1.0),  # 0 clean
        ("B", None, 2023, "x", 2.0),  # 1 clean city, name missing here: filled with "Beta"
        ("C", "Gamma", 2023, "x", 3.0),  # 2 repeated key, same value: first one kept
        ("B", "Beta", 2023, "y", 4.0),  # 3 clean
        ("C", "Gamma", 2023, "x", 3.0),  # 4 repeat of row 2: "duplicate"
        ("D", "Delta", 2023, "x", 5.0),  # 5 conflicting values: both rejected
        ("D", "Delta", 2023, "x", 6.0),  # 6
        ("E", "Eps", 2023, "x", 7.0),  # 7 city with two names, "Eps" the majority
        ("E", "Eps", 2023, "y", 8.0),  # 8
        ("E", "Epsilon", 2023, "z", 9.0),  # 9 the minority name: "city_name_conflict"
        ("E", None, 2022, "x", 1.5),  # 10 suspect city, name missing: filled with "Eps"
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            "city_id": pl.String,
            "city_name": pl.String,
            "year": pl.Int32,
            "indicator": pl.String,
            "value": pl.Float64,
        },
        orient="row",
    ).with_columns(
        pl.lit("f.csv").alias("source"),
        (pl.int_range(pl.len()) + 2).alias("row"),
        pl.lit("value").alias("column"),
        pl.lit(None, pl.String).alias("country"),
        pl.lit(None, pl.String).alias("flag"),
    )
    accepted, rejected = check_set(frame)
    assert accepted["row"].to_list() == [2, 3, 4, 5, 9, 10, 12]  # input order, header = row 1
    assert accepted["city_name"].to_list() == [
        "Alpha",
        "Beta",
        "Gamma",
        "Beta",
        "Eps",
        "Eps",
        "Eps",
    ]
    got = sorted(zip(rejected["row"].to_list(), rejected["rule"].to_list(), strict=True))
    assert got == [
        (6, "duplicate"),
        (7, "duplicate_conflict"),
        (8, "duplicate_conflict"),
        (11, "city_name_conflict"),
    ]
    clean, none = check_set(frame.filter(pl.col("city_id").is_in(["A", "B"])))
    assert none.height == 0 and clean["city_name"].to_list() == ["Alpha", "Beta", "Beta"]


def test_three_files_whose_columns_come_in_different_chunks(tmp_path, run):
    """Found by the fuzz test: candidates of several files, each collected by the streaming
    engine, had columns in different numbers of chunks, and a set rule then made Polars panic.
    These three files reproduced it every time."""
    head = "city_id,city_name,country,year,indicator,value\n"
    files = [
        head + "B,Beta,PT,2022,unemployment_rate,70\nB,Alfa,PT,20x3,unemployment_rate,70\n"
        "C,Alpha,PT,2022,unemployment_rate,71\n",
        head + "B,,PT,2022,life_expectancy,\nC,Alfa,PT,2023,life_expectancy,1e308\n"
        ",,PT,2022,,71\n A,,PT,20x3,xx,71\n,,PT,,life_expectancy,NaN\n"
        "A,,PT,2023,unemployment_rate,1e308\nB,,PT,20x3,xx,NaN\n",
        head + ",Alpha,PT,20x3,unemployment_rate,NaN\nA,Alpha,PT,,,\nC,,PT,,xx,NaN\n"
        "B,,PT,2022,xx,71\n,,PT,2022,,70.0\nB,Alfa,PT,2022,life_expectancy,\n"
        "A,Alpha,PT,2023,,70.0\n",
    ]
    paths = [write(tmp_path / f"f{i}.csv", text) for i, text in enumerate(files)]
    out = tmp_path / "rejected.csv"
    result = run("validate", *paths, "--rejected", out)
    assert result.exit_code == 1, result.output
    # candidates after the row rules: B 2022 (f0 r2), C 2022 (f0 r4, "Alpha"), C 2023 (f1 r3,
    # "Alfa"); C has two names, one row each, so the first seen ("Alpha") wins
    assert "rows read: 17   accepted: 2   rejected: 15" in result.stdout
    rejected = pl.read_csv(out)
    conflict = rejected.filter(pl.col("rule") == "city_name_conflict")
    assert conflict.height == 1 and conflict["row"].item() == 3
    assert conflict["source"].item().endswith("f1.csv")


def test_read_is_accepted_plus_rejected_plus_ignored(tmp_path, run):
    """Ignored columns count as read and as ignored, never as rejected — per file and in total,
    beside rejected rows of every kind (unknown indicator, bad number, duplicate)."""
    import benchmarkkit as bk

    data = write(
        tmp_path / "wide.csv",
        "city_id,year,province,note,population,unemployed_persons,mystery\n"
        "C1,2023,P1,x,1000,10,1\n"
        "C1,2023,P1,,1000,12,\n"
        "C2,2023,P2,y,abc,5,2\n",
    )
    mapping = write(tmp_path / "map.toml", 'ignore = ["province", "note"]\n')
    loaded = bk.load(data, mapping=mapping)
    row = loaded.counts.row(0, named=True)
    assert row["ignored"] == 5  # 3 provinces + 2 notes (the empty note is not a cell read)
    assert row["read"] == 5 + 8
    assert row["read"] == row["accepted"] + row["rejected"] + row["ignored"]
    assert loaded.loaded.validated.ignored == 5
    assert "province" not in loaded.rejected["column"].to_list()
    result = run("validate", data, "--mapping", mapping)
    assert result.exit_code == 1  # the bad number, the unknown column, the duplicates
