"""An extension is one file: the examples in ``examples/one-file/`` (shown in docs/plugins.md)
load with ``--plugin`` through the real CLI and do what they say, next to the built-ins."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.conftest import ROOT

ONE_FILE = ROOT / "examples" / "one-file"
CLIMATE = ONE_FILE / "climate_peers.py"
SUMMER = ONE_FILE / "summer_section.py"


def _expected(spec_filter: pl.Expr) -> set[str]:
    import benchmarkkit as bk

    data = bk.load()
    cities, obs = data.cities, data.observations
    madrid = cities.filter(pl.col("city_id") == "ES001C").row(0, named=True)
    with_data = obs.filter(pl.col("year") == 2023)["city_id"].unique().implode()
    env = {"own": madrid}
    chosen = cities.filter(pl.col("city_id").is_in(with_data) & spec_filter(env)).filter(
        pl.col("city_id") != "ES001C"
    )
    return set(chosen["city_id"])


def test_a_peer_rule_plugin_combines_with_builtin_rules(run):
    """``climate:2+size:3``: the plugin's rule and the built-in size rule intersect."""
    import benchmarkkit as bk

    registry = bk.load_plugins(files=[CLIMATE])
    scores = bk.score(bk.load(registry=registry))
    both = bk.compare(scores, city="ES001C", year=2023, peers="climate:2+size:3", levers=False)
    climate = bk.compare(scores, city="ES001C", year=2023, peers="climate:2", levers=False)
    size = bk.compare(scores, city="ES001C", year=2023, peers="size:3", levers=False)

    pop = pl.col("population")
    warm = pl.col("temp_warmest_month")
    want_climate = _expected(lambda e: (warm - e["own"]["temp_warmest_month"]).abs() <= 2)
    want_size = _expected(
        lambda e: pop.is_between(e["own"]["population"] / 3, e["own"]["population"] * 3)
    )
    assert set(climate.peers[1:]) == want_climate
    assert set(size.peers[1:]) == want_size
    assert set(both.peers[1:]) == want_climate & want_size
    assert 0 < len(both.peers) - 1 < min(len(want_climate), len(want_size))
    # and through the CLI, with the rule listed in --peers help
    result = run("--plugin", CLIMATE, "compare", "--help")
    assert "climate:D" in result.output
    result = run("--plugin", CLIMATE, "compare", "--peers", "climate:x", "--no-levers")
    assert result.exit_code == 2 and "climate:x needs degrees" in result.stderr


def test_a_report_section_plugin_draws_its_own_chart(tmp_path, run):
    out = tmp_path / "r.html"
    result = run("--plugin", SUMMER, "report", "--out", out)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert '<section id="summer">' in html and 'data-chart="summer:peers"' in html
    start = html.index("var BK_SPECS = ") + len("var BK_SPECS = ")
    specs, _ = json.JSONDecoder().raw_decode(html[start:])
    spec = specs["summer:peers"]
    values = next(iter(spec["datasets"].values()))
    names = {v["city_name"] for v in values}
    assert "Madrid (greater city)" in names and len(names) >= 3
    assert spec["config"] == specs["heatmap"]["config"]  # themed like the built-in charts


@pytest.mark.parametrize(
    "body,fragment",
    [
        ("return {'heatmap': {}}", "declares a chart named 'heatmap', which another chart"),
        ("return {'x': 42}", "chart 'x' is not an Altair chart or a Vega-Lite dict"),
        ("raise ValueError('no data')", "drawing the charts of report section 'bad' failed"),
    ],
)
def test_a_section_whose_charts_fail_is_named_and_the_report_still_renders(
    tmp_path, run, body, fragment
):
    plugin = tmp_path / "bad.py"
    plugin.write_text(
        "from benchmarkkit import ReportSection, hookimpl\n"
        f"def charts(context):\n    {body}\n"
        "def render(context):\n    return '<p>bad section</p>' + context.chart('x')\n"
        "@hookimpl\ndef register_report_sections(register):\n"
        "    register(ReportSection('bad', 96, render, charts=charts))\n",
        encoding="utf-8",
    )
    out = tmp_path / "r.html"
    result = run("--plugin", plugin, "report", "--out", out)
    assert result.exit_code == 4, result.output  # done, but a plugin failed
    assert fragment in result.stderr and "Traceback" not in result.output
    assert 'data-chart="heatmap"' in out.read_text(encoding="utf-8")


BENCHMARK = ONE_FILE / "benchmark_normaliser.py"


def test_a_normaliser_plugin_reads_its_per_indicator_parameter(tmp_path, run):
    """``benchmark`` reads a ``benchmark`` key of each TOML indicator, in the indicator's units:
    worked out by hand, with a lower-is-better indicator (PM2.5) converted by the engine."""
    data = tmp_path / "d.csv"
    data.write_text(
        "city_id,year,pm25_concentration,unemployment_rate\n"
        "A,2023,30,5\nB,2023,10,10\nC,2023,20,15\n",
        encoding="utf-8",
    )
    framework = tmp_path / "fw.toml"
    framework.write_text(
        'name = "air_jobs"\n[[node]]\nid = "air_jobs"\n'
        '[[indicator]]\nid = "unemployment_rate"\nparent = "air_jobs"\nbenchmark = 5\n'
        '[[indicator]]\nid = "pm25_concentration"\nparent = "air_jobs"\nbenchmark = 15\n',
        encoding="utf-8",
    )
    out = tmp_path / "s.csv"
    result = run(
        "--plugin",
        BENCHMARK,
        "score",
        data,
        "--framework",
        framework,
        "--normalise",
        "benchmark",
        "--treat",
        "none",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    got = {(r["node"], r["city_id"]): r["score"] for r in pl.read_csv(out).iter_rows(named=True)}
    # PM2.5, lower is better: worst 30, benchmark 15 → A 0, B (30-10)/15 = 133 capped at 100,
    # C (30-20)/15 = 66.7; unemployment: worst 15, benchmark 5 → A 100, B 50, C 0
    assert got[("pm25_concentration", "A")] == 0.0
    assert got[("pm25_concentration", "B")] == 100.0
    assert got[("pm25_concentration", "C")] == pytest.approx(200 / 3, rel=1e-15)
    assert [got[("unemployment_rate", c)] for c in "ABC"] == [100.0, 50.0, 0.0]
    assert got[("air_jobs", "B")] == 75.0
    listed = run("--plugin", BENCHMARK, "score", "--help")
    assert "benchmark:CAP" in listed.output.replace("\n", "").replace(" ", "")
    missing = tmp_path / "nobench.toml"
    missing.write_text(
        'name = "air_jobs"\n[[node]]\nid = "air_jobs"\n'
        '[[indicator]]\nid = "unemployment_rate"\nparent = "air_jobs"\n',
        encoding="utf-8",
    )
    refused = run(
        "--plugin", BENCHMARK, "score", data, "--framework", missing, "--normalise", "benchmark"
    )
    assert refused.exit_code == 2 and "benchmark" in refused.stderr
    assert "Traceback" not in refused.output
