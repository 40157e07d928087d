"""Your framework in every command: ``--framework`` on score, compare, report and chart (a COINr
iMeta here), and city names beside ids in what ``score`` writes."""

from __future__ import annotations

import json

import polars as pl

from tests.conftest import FIXTURES

IDATA = FIXTURES / "asem" / "iData.csv"
IMETA = FIXTURES / "asem" / "iMeta.csv"


def test_compare_report_and_chart_take_a_framework(tmp_path, run):
    scored = run("score", IDATA, "--framework", IMETA, "--out", tmp_path / "s.csv")
    assert scored.exit_code == 0, scored.output
    index = pl.read_csv(tmp_path / "s.csv").filter(pl.col("node") == "Index")
    germany = index.filter(pl.col("city_id") == "DEU").row(0, named=True)

    compared = run(
        "compare",
        IDATA,
        "--framework",
        IMETA,
        "--city",
        "DEU",
        "--peers",
        "all",
        "--no-levers",
        "--format",
        "json",
    )
    assert compared.exit_code == 0, compared.output
    rows = {r["node"]: r for r in json.loads(compared.stdout)}
    assert rows["Index"]["score"] == germany["score"]  # one number, the same in both commands
    assert rows["Index"]["n_ranked"] == index.height  # rank "of N": every city scored
    assert rows["Index"]["n_peers"] == index.height - 1  # peers leave the city out

    out = tmp_path / "r.html"
    reported = run(
        "report", IDATA, "--framework", IMETA, "--city", "DEU", "--peers", "all", "--out", out
    )
    assert reported.exit_code == 0, reported.output
    assert "Germany" in out.read_text(encoding="utf-8")

    spec = tmp_path / "c.json"
    charted = run(
        "chart",
        "ranking",
        IDATA,
        "--framework",
        IMETA,
        "--city",
        "DEU",
        "--peers",
        "all",
        "--index",
        "iMeta",
        "--out",
        spec,
    )
    assert charted.exit_code == 0, charted.output
    assert json.loads(spec.read_text(encoding="utf-8"))["$schema"].startswith(
        "https://vega.github.io/schema/vega-lite/"
    )


def test_score_output_names_the_cities(tmp_path, run):
    result = run("score", IDATA, "--framework", IMETA, "--out", tmp_path / "s.parquet")
    assert result.exit_code == 0, result.output
    scores = pl.read_parquet(tmp_path / "s.parquet")
    assert scores.columns[:6] == ["city_id", "city_name", "year", "scorer", "node", "level"]
    assert scores.filter(pl.col("city_id") == "DEU")["city_name"].unique().to_list() == ["Germany"]


def test_an_aggregate_with_nothing_under_it_is_named_not_dropped(tmp_path, run):
    """A node with no indicator and no child node used to vanish from every output without a
    word (found by mutation testing: TESTING.md). It is the user's mistake in the file: one line
    naming the node, exit 2, for a TOML framework and for a COINr iMeta alike."""
    toml = tmp_path / "framework.toml"
    toml.write_text(
        'name = "x"\n[[node]]\nid = "x"\n[[node]]\nid = "a"\nparent = "x"\n'
        '[[node]]\nid = "b"\nparent = "x"\n[[node]]\nid = "c"\nparent = "b"\n'
        '[[indicator]]\nid = "cars_per_capita"\nparent = "a"\ndirection = -1\n',
        encoding="utf-8",
    )
    data = tmp_path / "data.csv"
    data.write_text(
        "city_id,year,indicator,value\nA,2023,cars_per_capita,0.4\nB,2023,cars_per_capita,0.5\n",
        encoding="utf-8",
    )
    result = run("score", data, "--framework", toml)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"error: {toml}: node 'c' has nothing under it: no indicator and no other node names it "
        'as its parent (give it an indicator (parent = "c") or remove it)'
    ]

    meta = pl.read_csv(IMETA)
    empty = (
        meta.filter(pl.col("Type") == "Aggregate")
        .head(1)
        .with_columns(pl.lit("Lonely").alias("iCode"), pl.lit("Lonely").alias("iName"))
    )
    imeta = tmp_path / "iMeta.csv"
    pl.concat([meta, empty]).write_csv(imeta)
    result = run("score", IDATA, "--framework", imeta)
    assert result.exit_code == 2, result.output
    assert "node 'Lonely' has nothing under it" in result.output, result.output
