"""Ties that are ties, as a reader sees them (issue 14): cities level at the top of every
indicator score exactly 100, share rank 1 in ``compare`` and the report says "rank 1 of 5, with 2
others" — values chosen where Polars' reciprocal division used to land one ulp short."""

from __future__ import annotations

import json

from tests.conftest import write

FRAMEWORK = """name = "water"
[methods]
treat = "none"
reference = "year"
[[node]]
id = "water"
[[indicator]]
id = "unemployment_rate"
parent = "water"
[[indicator]]
id = "life_expectancy"
parent = "water"
"""
# min-max of [22.88, 23.595, 24.31] (the issue's 22.88 … 190.31 scaled into bounds): the leaders'
# scores used to be 99.99999999999999, and the leaders were ranked apart
DATA = """city_id,city_name,year,unemployment_rate,life_expectancy
L1,Leader one,2023,22.88,90.31
L2,Leader two,2023,22.88,90.31
L3,Leader three,2023,22.88,90.31
M1,Middle,2023,23.595,86.595
B1,Back,2023,24.31,82.88
"""


def test_leaders_share_rank_one_with_the_others_counted(tmp_path, run):
    data = write(tmp_path / "d.csv", DATA)
    framework = write(tmp_path / "fw.toml", FRAMEWORK)
    scored = tmp_path / "s.csv"
    assert run("score", data, "--framework", framework, "--out", scored).exit_code == 0
    import polars as pl

    index = pl.read_csv(scored).filter(pl.col("node") == "water").sort("city_id")
    leaders = index.filter(pl.col("city_id").str.starts_with("L"))
    assert leaders["score"].to_list() == [100.0, 100.0, 100.0]
    assert leaders["rank"].to_list() == [1, 1, 1]
    leader_two = [data, "--framework", framework, "--city", "L2", "--peers", "all"]
    leader_two += ["--min-peers", "1"]
    result = run("compare", *leader_two, "--no-levers", "--format", "json")
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(result.stdout) if r["node"] == "water")
    assert (row["rank"], row["n_ranked"], row["n_tied"]) == (1, 5, 2)
    out = tmp_path / "r.html"
    reported = run("report", *leader_two, "--out", out)
    assert reported.exit_code == 0, reported.output
    assert "rank 1 of 5, with 2 others" in out.read_text(encoding="utf-8")
