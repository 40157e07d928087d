"""The lean load path (#13): a typed file's columns go through validation without a copy, and
the rules give the same answers whichever way a file arrives (text or typed, one row group or
many)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import write

ROWS = """city_id,city_name,country,year,indicator,value
PT001C,Lisboa,PT,2021,unemployment_rate,7.1
PT001C,Lisboa,PT,2022,unemployment_rate,6.9
PT001C,Lisboa,PT,2022,unemployment_rate,6.9
PT002C,Porto,PT,2021,unemployment_rate,8.0
PT002C,Porto,PT,2021,unemployment_rate,8.5
PT002C,Oporto,PT,2022,life_expectancy,80.1
PT003C,Braga,PT,2021,unemployment_rate,140
PT003C,Braga,PT,1850,life_expectancy,79.0
PT003C,Braga,PT,2021,unemployment_rat,5.0
PT004C,Coimbra,PT,2021,life_expectancy,-3
PT004C,Coimbra,PT,2021,unemployment_rate,5.5
PT004C,Coimbra,PT,2022,unemployment_rate,5.4
,Nowhere,PT,2021,unemployment_rate,5.4
PT005C,Faro,PT,2021,,5.4
"""


def _rejections(path, run, tmp_path):
    out = tmp_path / f"rejected-{path.suffix[1:]}.csv"
    result = run("validate", path, "--rejected", out)
    assert result.exit_code == 1, result.output
    rejected = pl.read_csv(out, schema_overrides={"column": pl.String})
    return result.stdout.splitlines()[0], rejected.drop("source").sort("row", "rule")


@pytest.mark.parametrize("row_group_size", [1, 3, 1000])
def test_typed_file_in_row_groups_is_judged_like_its_csv(tmp_path, run, row_group_size):
    """The same rows as CSV (text, one chunk) and as Parquet in row groups (typed, chunked):
    the same counts, the same rejected rows with the same messages — row rules and set rules
    (a repeat, a conflict, a city with two names) alike."""
    csv = write(tmp_path / "d.csv", ROWS)
    frame = pl.read_csv(csv, schema_overrides={"year": pl.Int32, "value": pl.Float64})
    parquet = tmp_path / "d.parquet"
    frame.write_parquet(parquet, row_group_size=row_group_size)
    line_csv, from_csv = _rejections(csv, run, tmp_path)
    line_parquet, from_parquet = _rejections(parquet, run, tmp_path)
    assert line_csv == line_parquet == ("rows read: 14   accepted: 4   rejected: 10   warnings: 0")
    # Parquet rows are records (1-based), CSV rows are lines (header = 1); a set rule's message
    # says where the first occurrence is, so its file and row differ by design
    where = pl.col("message").str.replace(r"(at |repeats )\S+ row \d+", "${1}FIRST")
    from_parquet = from_parquet.with_columns(pl.col("row") + 1, where)
    assert from_parquet.equals(from_csv.with_columns(where))
    assert set(from_csv["rule"]) == {
        "duplicate",
        "duplicate_conflict",
        "city_name_conflict",
        "hard_bounds",
        "year_out_of_range",
        "unknown_indicator",
        "below_physical_minimum",
        "missing_city",
        "missing_indicator",
    }


def test_an_unknown_indicator_with_spaces_around_it_is_rejected(tmp_path, run):
    """Found while rewriting the rules: ' foo ' was looked up unstripped for its 'did you mean'
    but joined stripped, so it matched nothing and the row was accepted as indicator 'foo'."""
    data = write(
        tmp_path / "d.csv",
        "city_id,city_name,country,year,indicator,value\n"
        "A,Aa,PT,2021, foo ,1\n"
        "A,Aa,PT,2021, unemployment_rate ,5\n",
    )
    out = tmp_path / "rejected.csv"
    result = run("validate", data, "--rejected", out)
    assert result.exit_code == 1, result.output
    assert "rows read: 2   accepted: 1   rejected: 1" in result.stdout
    rejected = pl.read_csv(out)
    assert rejected.select("row", "rule", "message").row(0) == (
        2,
        "unknown_indicator",
        "unknown indicator 'foo'",
    )


def test_row_numbers_come_in_the_file_chunks(tmp_path):
    """``_row`` is cut into the same chunks as the columns read from a Parquet file's row groups:
    Polars copies a frame whose columns are chunked differently into one chunk, which on 27 M
    rows was 2 GiB of the peak."""
    from benchmarkkit.io.read import ReadOptions, read_parquet

    frame = pl.DataFrame({"city_id": [f"C{i}" for i in range(10)], "value": list(range(10))})
    path = tmp_path / "d.parquet"
    frame.write_parquet(path, row_group_size=3)
    table = read_parquet(path, ReadOptions())
    lengths = table["city_id"].chunk_lengths()
    assert len(lengths) > 1
    assert table["_row"].chunk_lengths() == lengths
    assert table["_row"].to_list() == list(range(1, 11))


def test_typed_candidates_are_the_file_columns_not_copies(tmp_path):
    """A typed long file with clean ids: the accepted columns keep the file's chunks (they are
    handed through, not copied), and the whole frame stays aligned, so no later step copies it."""
    from benchmarkkit.api import load_plugins
    from benchmarkkit.io.catalog import catalog_from_registry
    from benchmarkkit.io.load import map_table, read_table
    from benchmarkkit.io.mapping import Mapping
    from benchmarkkit.io.read import ReadOptions
    from benchmarkkit.io.validate import check_rows

    rows = [
        (f"C{i % 7:02d}", "City", "PT", 2000 + i % 20, "unemployment_rate", float(i % 50))
        for i in range(140)
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            "city_id": pl.String,
            "city_name": pl.String,
            "country": pl.String,
            "year": pl.Int32,
            "indicator": pl.String,
            "value": pl.Float64,
        },
        orient="row",
    )
    path = tmp_path / "d.parquet"
    frame.write_parquet(path, row_group_size=40)
    registry = load_plugins()
    table = read_table(path, registry, ReadOptions())
    mapped = map_table(table, Mapping(), str(path))
    candidates, rejected, _, _ = check_rows(
        mapped.long, mapped.headers, catalog_from_registry(registry)
    )
    assert rejected.height == 0 and candidates.height == 140
    chunks = table["value"].chunk_lengths()
    assert len(chunks) == 4
    for name in ("city_id", "city_name", "year", "indicator", "value", "row"):
        assert candidates[name].chunk_lengths() == chunks, name


def test_naming_the_scores_leaves_them_as_they_were():
    """``cli._with_names`` used ``insert_column``, which works in place: the caller's scores
    gained a ``city_name`` column and a second call raised DuplicateError (found by a helper)."""
    import benchmarkkit as bk
    from benchmarkkit.cli import _with_names

    result = bk.score()
    before = result.scores.columns
    named = _with_names(result.scores, result.loaded.cities)
    assert "city_name" in named.columns and result.scores.columns == before
    assert _with_names(result.scores, result.loaded.cities).equals(named)
