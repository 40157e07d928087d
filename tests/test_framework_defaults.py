"""A native framework that says nothing about its methods is computed as the built-in indices
are (JRC treatment, min-max pooled over the years, an index withheld under half its indicators),
as the README promises — not by quieter defaults; and every output says which methods ran."""

from __future__ import annotations

import polars as pl

from benchmarkkit.io.framework import read_toml_framework
from benchmarkkit.scorer import RECOMMENDED
from tests.conftest import write

FRAMEWORK = """name = "mine"
[[node]]
id = "mine"
[[indicator]]
id = "unemployment_rate"
parent = "mine"
[[indicator]]
id = "pm25_concentration"
parent = "mine"
[[indicator]]
id = "life_expectancy"
parent = "mine"
"""


def test_a_silent_framework_gets_the_built_in_methods(tmp_path):
    fw = read_toml_framework(write(tmp_path / "fw.toml", FRAMEWORK))
    assert fw.pipeline == RECOMMENDED
    assert (fw.pipeline.treat, fw.pipeline.reference) == ("jrc", "pooled")
    said = read_toml_framework(
        write(tmp_path / "said.toml", FRAMEWORK + '[methods]\ntreat = "none"\nreference = "year"\n')
    )
    assert (said.pipeline.treat, said.pipeline.reference) == ("none", "year")


def test_an_index_on_one_of_three_indicators_is_withheld(tmp_path, run):
    data = write(
        tmp_path / "d.csv",
        "city_id,year,unemployment_rate,pm25_concentration,life_expectancy\n"
        "A,2023,5,,\nB,2023,10,12,80\nC,2023,15,20,78\n",
    )
    out = tmp_path / "s.csv"
    result = run("score", data, "--framework", write(tmp_path / "fw.toml", FRAMEWORK), "--out", out)
    assert result.exit_code == 0, result.output
    assert "thin_coverage" in result.stderr  # said, with the index named
    index = pl.read_csv(out).filter(pl.col("node") == "mine")
    scored = dict(zip(index["city_id"], index["score"], strict=True))
    assert scored["A"] is None and scored["B"] is not None


def test_every_output_states_the_methods_that_ran(tmp_path, run):
    """``score --out`` writes the methods beside the scores; every ``compare`` row names them."""
    import json

    framework = write(tmp_path / "fw.toml", FRAMEWORK + '[methods]\nimpute = "mean"\n')
    data = write(
        tmp_path / "d.csv",
        "city_id,year,unemployment_rate,pm25_concentration,life_expectancy\n"
        "A,2023,5,,79\nB,2023,10,12,80\nC,2023,15,20,78\nD,2023,7,9,81\n",
    )
    out = tmp_path / "s.csv"
    assert run("score", data, "--framework", framework, "--out", out).exit_code == 0
    methods = json.loads((tmp_path / "s.methods.json").read_text(encoding="utf-8"))
    assert methods == {
        "mine": "impute mean; treat jrc; normalise minmax:0,100 (pooled); aggregate arithmetic; "
        "index withheld under 50% of its indicators"
    }
    compared = run(
        "compare",
        data,
        "--framework",
        framework,
        "--city",
        "A",
        "--peers",
        "all",
        "--min-peers",
        "1",
        "--no-levers",
        "--format",
        "json",
    )
    assert compared.exit_code == 0, compared.output
    assert {r["methods"] for r in json.loads(compared.stdout)} == {methods["mine"]}
