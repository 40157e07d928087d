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


def test_an_indicator_without_a_direction_is_named_not_guessed(tmp_path, run):
    """A +1 guessed for an indicator nobody gave a direction would score it backwards if lower
    is better: the framework file, or the scorer plugin, is named instead (the built-in
    normaliser used to be blamed)."""
    data = write(tmp_path / "d.csv", "city_id,year,unemployment_rate\nA,2023,5\nB,2023,6\n")
    framework = write(
        tmp_path / "fw.toml",
        'name = "mine"\n[[node]]\nid = "mine"\n[[indicator]]\nid = "my_own_thing"\n'
        'parent = "mine"\n[[indicator]]\nid = "unemployment_rate"\nparent = "mine"\n',
    )
    result = run("score", data, "--framework", framework)
    assert result.exit_code == 2
    assert "indicator 'my_own_thing' of 'mine' has no direction" in result.stderr
    plugin = write(
        tmp_path / "nodir.py",
        "import polars as pl\nfrom benchmarkkit import hookimpl\n"
        "from benchmarkkit.io.framework import NODE_SCHEMA\n"
        "from benchmarkkit.scorer import Framework, Scorer\n"
        "def build(catalog, observations):\n"
        "    rows = [{'node': 'nd', 'level': 2},\n"
        "            {'node': 'my_own_thing', 'level': 1, 'parent': 'nd', 'weight': 1.0},\n"
        "            {'node': 'unemployment_rate', 'level': 1, 'parent': 'nd', 'weight': 1.0}]\n"
        "    return Framework('nd', pl.DataFrame(rows, schema=NODE_SCHEMA))\n"
        "@hookimpl\ndef register_scorers(register):\n    register(Scorer('nd', build))\n",
    )
    result = run("--plugin", plugin, "score", data, "--scorer", "nd")
    assert result.exit_code == 2
    assert "plugin 'nodir'" in result.stderr and "has no direction" in result.stderr
    assert "normalise" not in result.stderr and "Traceback" not in result.output
