"""Chart builders: every chart is checked through its schema-validated ``to_dict()`` spec.

No browser is needed for that (Altair's own test habit): the spec says which marks are drawn, what
each channel encodes, which data rows are embedded and how the city is singled out. Hand-made
frames pin the details; one pass over the real demo scores (through the real engine) checks the
builders fit what the engine produces, and one inline HTML save checks the output works offline.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

import altair as alt
import polars as pl
import pytest

from benchmarkkit.columns import text_keys
from benchmarkkit.reporting import charts
from benchmarkkit.reporting.charts import (
    HIGHLIGHT,
    MAX_ROWS,
    MEDIAN,
    NO_DATA,
    PEER,
    THEME_NAME,
    coverage_bars,
    focus_area_heatmap,
    indicator_history,
    indicator_strip,
    ranking_bars,
    slope_chart,
    theme,
    themed,
    trend_lines,
    vega_locale,
    vstack,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

CITY = "C1"


# ------------------------------------------------------------------------------- spec helpers


def spec(chart: Any) -> dict[str, Any]:
    """The validated spec, also checked to be strict JSON (no NaN) as the HTML embeds it."""
    out = chart.to_dict()
    json.dumps(out, allow_nan=False)
    return out


def units(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every single-mark view in a spec, depth first, in drawing order."""
    if "mark" in node:
        yield node
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for child in node.get(key, []):
            yield from units(child)
    if "spec" in node:
        yield from units(node["spec"])


def marks(d: dict[str, Any]) -> list[str]:
    return [u["mark"]["type"] if isinstance(u["mark"], dict) else u["mark"] for u in units(d)]


def rows(d: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """The data rows a view (or, for a facet, the top level) embeds."""
    data = node.get("data") or d.get("data")
    return data["values"] if "values" in data else d["datasets"][data["name"]]


def unit(d: dict[str, Any], mark: str, nth: int = 0) -> dict[str, Any]:
    return [
        u
        for u in units(d)
        if (u["mark"]["type"] if isinstance(u["mark"], dict) else u["mark"]) == mark
    ][nth]


def title_text(d: dict[str, Any]) -> tuple[str, str]:
    title = d["title"]
    return (title, "") if isinstance(title, str) else (title["text"], title.get("subtitle", ""))


# ------------------------------------------------------------------------------- small frames


@pytest.fixture
def ranking() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "city_id": ["C1", "C2", "C3", "C4", "C5"],
            "city_name": ["Alpha", "Beta", "Gamma", "Delta", "Eps"],
            "score": [55.0, 80.0, None, 20.0, 61.5],
            "rank": pl.Series([3, 1, None, 4, 2], dtype=pl.UInt32),
        }
    )


@pytest.fixture
def heat() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "city_id": ["C1", "C1", "C1", "C2", "C2", "C2"],
            "city_name": ["Alpha"] * 3 + ["Beta"] * 3,
            "focus_area": ["industry_innovation", "Civic & social", "quality_environment"] * 2,
            "score": [40.0, 90.0, None, 70.0, 75.0, 72.0],
        }
    )


@pytest.fixture
def strip() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "indicator_name": ["Air", "Air", "Air", "Jobs", "Jobs", "Jobs", "Parks", "Parks"],
            "city_id": ["C1", "C2", "C3", "C1", "C2", "C3", "C2", "C3"],
            "city_name": ["Alpha", "Beta", "Gamma"] * 2 + ["Beta", "Gamma"],
            "score": [30.0, 10.0, 50.0, 90.0, 60.0, float("nan"), 40.0, 80.0],
        }
    )


@pytest.fixture
def series() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "index": ["livability"] * 6 + ["sustainability"] * 4,
            "year": [2021, 2022, 2023] * 2 + [2022, 2023] * 2,
            "series": ["city"] * 3 + ["peer median"] * 3 + ["city"] * 2 + ["peer median"] * 2,
            "score": [50.0, None, 60.0, 55.0, 56.0, 58.0, 40.0, 45.0, 41.0, 44.0],
        }
    )


@pytest.fixture
def coverage() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "node_label": ["Livability", "Civic & social", "Safety & security"],
            "n_present": pl.Series([13, 7, 0], dtype=pl.UInt32),
            "n_children": pl.Series([14, 7, 0], dtype=pl.UInt32),
        }
    )


# ---------------------------------------------------------------------------------------- theme


def test_theme_is_registered_but_not_enabled() -> None:
    assert THEME_NAME in alt.theme.names()
    assert alt.theme.active != THEME_NAME


def test_themed_carries_the_theme_and_keeps_the_charts_own_config(ranking: pl.DataFrame) -> None:
    before = alt.theme.active
    chart = ranking_bars(ranking, CITY, "Livability").configure_axis(labelFontSize=20)
    d = spec(themed(chart))
    assert alt.theme.active == before
    assert d["config"]["font"] == theme()["config"]["font"]
    assert d["config"]["range"]["category"][0] == HIGHLIGHT
    assert d["config"]["axis"]["labelFontSize"] == 20  # the chart's own setting wins
    assert d["config"]["axis"]["gridColor"] == theme()["config"]["axis"]["gridColor"]  # type: ignore[index]


def test_theme_works_as_a_context_manager(ranking: pl.DataFrame) -> None:
    before = alt.theme.active
    with alt.theme.enable(THEME_NAME):
        d = ranking_bars(ranking, CITY, "Livability").to_dict()
    assert d["config"]["font"] == theme()["config"]["font"]
    assert alt.theme.active == before
    assert "font" not in ranking_bars(ranking, CITY, "Livability").to_dict().get("config", {})


# ------------------------------------------------------------------------------------- builders


def test_ranking_bars(ranking: pl.DataFrame) -> None:
    d = spec(ranking_bars(ranking, CITY, "Livability 2023"))
    assert marks(d) == ["bar", "rule", "text"]
    bars = unit(d, "bar")
    enc = bars["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"]) == ("score", "quantitative")
    assert enc["x"]["scale"]["domain"] == [0.0, 100.0]
    assert enc["y"]["sort"] == ["Beta", "Eps", "Alpha", "Delta"]  # best first, null left out
    assert enc["color"]["scale"] == {"domain": ["Alpha", "Peers"], "range": [HIGHLIGHT, PEER]}
    assert "Alpha" in enc["y"]["axis"]["labelFontWeight"]["expr"]
    assert {t["field"] for t in enc["tooltip"]} == {"city_name", "city_id", "score", "rank"}
    data = rows(d, bars)
    assert {(r["city_id"], r["score"]) for r in data} == {
        ("C1", 55.0),
        ("C2", 80.0),
        ("C4", 20.0),
        ("C5", 61.5),
    }
    assert next(r for r in data if r["city_id"] == CITY)["group"] == "Alpha"
    rule = unit(d, "rule")
    assert rule["mark"]["color"] == MEDIAN
    assert rows(d, rule)[0]["median"] == 61.5  # peers only: 80, 61.5, 20
    text, subtitle = title_text(d)
    assert text == "Livability 2023"
    assert "Alpha: 55.0, rank 3" in subtitle
    assert "1 without a score" in subtitle


def test_ranking_bars_tells_apart_cities_that_share_a_name() -> None:
    frame = pl.DataFrame(
        {
            "city_id": ["C1", "C2"],
            "city_name": ["Valencia", "Valencia"],
            "score": [50.0, 60.0],
            "rank": [2, 1],
        }
    )
    d = spec(ranking_bars(frame, CITY, "x"))
    assert unit(d, "bar")["encoding"]["y"]["sort"] == ["Valencia (C2)", "Valencia (C1)"]


def test_ranking_bars_without_the_city_still_draws_the_peers(ranking: pl.DataFrame) -> None:
    d = spec(ranking_bars(ranking, "ZZ", "x"))
    assert unit(d, "bar")["encoding"]["color"]["scale"]["domain"] == ["Peers"]
    assert "ZZ is not among these cities" in title_text(d)[1]


def test_focus_area_heatmap(heat: pl.DataFrame) -> None:
    d = spec(focus_area_heatmap(heat, CITY))
    assert marks(d) == ["rect", "rect", "text", "rect"]
    empty, cells, text, outline = units(d)
    # ASCN keys become labels; columns follow ASCN's order, not the frame's
    assert cells["encoding"]["x"]["sort"] == [
        "Civic & social",
        "Quality environment",
        "Industry & innovation",
    ]
    assert cells["encoding"]["color"]["field"] == "score"
    assert {r["score"] for r in rows(d, cells)} == {40.0, 90.0, 70.0, 75.0, 72.0}  # no null
    assert {r["focus_area"] for r in rows(d, empty)} == {
        "Civic & social",
        "Quality environment",
        "Industry & innovation",
    }
    assert next(r["cell"] for r in rows(d, text) if r["score"] is None) == "–"
    # the city's row: outlined, bold, even though its mean is lower than Beta's
    assert rows(d, outline) == [{"label": "Alpha"}]
    assert outline["mark"]["filled"] is False
    assert "Alpha" in cells["encoding"]["y"]["axis"]["labelFontWeight"]["expr"]
    assert cells["encoding"]["y"]["sort"] == ["Beta", "Alpha"]
    assert {t["field"] for t in cells["encoding"]["tooltip"]} == {
        "city_name",
        "focus_area",
        "score",
    }


def test_indicator_strip(strip: pl.DataFrame) -> None:
    d = spec(indicator_strip(strip, CITY))
    assert marks(d) == ["circle", "tick"]
    dots, ticks = units(d)
    # the city's strengths first; "Parks", which the city lacks, last
    assert dots["encoding"]["y"]["sort"] == ["Jobs", "Air", "Parks"]
    assert dots["encoding"]["color"]["scale"]["domain"] == ["Alpha", "Peers"]
    big, small = dots["encoding"]["size"]["scale"]["range"]
    assert big > small
    data = rows(d, dots)
    assert len(data) == 7  # the NaN score is dropped
    assert [r for r in data if r["is_city"]] == [
        {
            "indicator_name": "Air",
            "city_id": "C1",
            "city_name": "Alpha",
            "score": 30.0,
            "label": "Alpha",
            "group": "Alpha",
            "is_city": True,
        },
        {
            "indicator_name": "Jobs",
            "city_id": "C1",
            "city_name": "Alpha",
            "score": 90.0,
            "label": "Alpha",
            "group": "Alpha",
            "is_city": True,
        },
    ]
    medians = {r["indicator_name"]: r["median"] for r in rows(d, ticks)}
    assert medians == {"Air": 30.0, "Jobs": 60.0, "Parks": 60.0}  # peers only
    assert ticks["mark"]["color"] == MEDIAN


def test_trend_lines(series: pl.DataFrame) -> None:
    d = spec(trend_lines(series, CITY, city_name="Alpha"))
    assert d["facet"]["field"] == "index"
    assert marks(d) == ["line", "point"]
    line, point = units(d)
    assert line["mark"]["invalid"] == "break-paths-show-path-domains"  # a gap stays a gap
    # years on a quantitative axis with a handful of labels: "2014201520162017" never again
    assert line["encoding"]["x"]["type"] == "quantitative"
    assert len(line["encoding"]["x"]["axis"]["values"]) <= 7
    assert line["encoding"]["detail"]["field"] == "_path"  # a stretch per line: breaks between
    colour = line["encoding"]["color"]["scale"]
    assert colour == {"domain": ["Alpha", "Peer median"], "range": [HIGHLIGHT, MEDIAN]}
    assert line["encoding"]["strokeDash"]["scale"]["range"][1] != [1, 0]
    data = rows(d, d)
    assert len(data) == series.height
    assert {
        (r["series_label"], r["year"], r["score"])
        for r in data
        if r["index"] == "livability" and r["series"] == "city"
    } == {("Alpha", 2021, 50.0), ("Alpha", 2022, None), ("Alpha", 2023, 60.0)}
    assert {t["field"] for t in point["encoding"]["tooltip"]} >= {"year", "score"}


def test_trend_lines_break_between_stretches_and_speak_the_language(series: pl.DataFrame) -> None:
    """Two stretches (the indicators changed in 2023): two paths, never one line across; the
    texts and number format are the language's."""
    framed = series.with_columns(
        pl.when(pl.col("year") == 2023).then(2).otherwise(1).cast(pl.Int32).alias("stretch")
    )
    labels = {"score": "Điểm", "peer_median": "Trung vị nhóm", "decimal": ",", "thousands": "."}
    d = spec(trend_lines(framed, CITY, city_name="Alpha", labels=labels))
    data = rows(d, d)
    paths = {r["_path"] for r in data if r["index"] == "livability"}
    assert paths == {"Alpha·1", "Alpha·2", "Trung vị nhóm·1", "Trung vị nhóm·2"}
    line, _ = units(d)
    assert line["encoding"]["y"]["title"] == "Điểm"
    locale = vega_locale(labels)
    assert locale["number"]["decimal"] == "," and locale["number"]["thousands"] == "."
    themed_spec = themed(trend_lines(framed, CITY, labels=labels), locale=locale).to_dict()
    assert themed_spec["config"]["locale"] == locale


def test_indicator_history_small_multiples() -> None:
    frame = pl.DataFrame(
        {
            "indicator_name": ["Jobs · %"] * 4 + ["Air · µg/m³"] * 2,
            "year": [2021, 2022, 2021, 2022, 2022, 2023],
            "series": ["city", "city", "peer median", "peer median", "city", "city"],
            "value": [1.0, 2.0, 1.5, 1.5, 10.0, 9.0],
        }
    )
    d = spec(indicator_history(frame, CITY, city_name="Alpha"))
    assert d["facet"]["field"] == "indicator_name" and d["resolve"]["scale"]["y"] == "independent"
    assert d["facet"]["sort"] == ["Jobs · %", "Air · µg/m³"]  # the frame's order is kept
    assert len(rows(d, d)) == 6


def test_slope_chart_keeps_the_latest_two_years_and_spreads_labels(series: pl.DataFrame) -> None:
    d = spec(slope_chart(series, CITY, city_name="Alpha"))
    assert marks(d) == ["line", "point", "text", "text"]
    data = rows(d, d)
    assert {r["year"] for r in data} == {2022, 2023}
    first, last = list(units(d))[2:]
    assert first["transform"] == [{"filter": "(datum.year === 2022)"}]
    assert last["encoding"]["text"]["field"] == "end_label"
    assert last["encoding"]["y"]["field"] == "label_y"
    # 41 vs 40 and 44 vs 45 would overprint: their labels are pushed apart, centred
    for year in (2022, 2023):
        ys = sorted(
            r["label_y"] for r in data if r["index"] == "sustainability" and r["year"] == year
        )
        assert ys[1] - ys[0] == pytest.approx(8.0)
    end = {
        (r["series_label"], r["year"]): r["end_label"]
        for r in data
        if r["index"] == "sustainability"
    }
    assert end[("Alpha", 2023)] == "45.0"
    comma = spec(slope_chart(series, CITY, city_name="Alpha", labels={"decimal": ","}))
    assert "45,0" in {r["end_label"] for r in rows(comma, comma)}


def test_coverage_bars(coverage: pl.DataFrame) -> None:
    d = spec(coverage_bars(coverage))
    assert marks(d) == ["bar", "bar", "text"]
    track, bar, text = units(d)
    assert track["encoding"]["x"]["field"] == "track"
    assert text["encoding"]["text"]["field"] == "cover_label"
    assert bar["mark"]["color"] == HIGHLIGHT
    assert bar["encoding"]["x"]["scale"]["domain"] == [0, 1]
    assert bar["encoding"]["y"]["sort"] == ["Livability", "Civic & social", "Safety & security"]
    data = rows(d, bar)
    assert [r["cover_label"] for r in data] == ["13 of 14", "7 of 7", "no indicators"]
    assert math.isclose(data[0]["share"], 13 / 14)
    assert data[2]["share"] is None
    assert [(r["n_present"], r["n_children"]) for r in data] == [(13, 14), (7, 7), (0, 0)]


def test_vstack_keeps_each_charts_legend_its_own(
    ranking: pl.DataFrame, series: pl.DataFrame
) -> None:
    """Shared colour scales would merge "Alpha/Peers" and "Alpha/Peer median" into one legend."""
    d = spec(themed(vstack(ranking_bars(ranking, CITY, "a"), trend_lines(series, CITY))))
    assert len(d["vconcat"]) == 2
    assert d["resolve"]["scale"]["color"] == "independent"
    assert d["resolve"]["legend"]["color"] == "independent"
    assert "font" in d["config"]


# -------------------------------------------------------------------------- empty, bad, large

BUILDERS: dict[str, Callable[[pl.DataFrame], Any]] = {
    "ranking": lambda f: ranking_bars(f, CITY, "Empty"),
    "heat": lambda f: focus_area_heatmap(f, CITY, title="Empty"),
    "strip": lambda f: indicator_strip(f, CITY, title="Empty"),
    "trend": lambda f: trend_lines(f, CITY, title="Empty"),
    "slope": lambda f: slope_chart(f, CITY, title="Empty"),
    "coverage": lambda f: coverage_bars(f, title="Empty"),
}
FIXTURE = {
    "ranking": "ranking",
    "heat": "heat",
    "strip": "strip",
    "trend": "series",
    "slope": "series",
    "coverage": "coverage",
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_empty_input_gives_a_no_data_chart(name: str, request: pytest.FixtureRequest) -> None:
    frame = request.getfixturevalue(FIXTURE[name]).head(0)
    d = spec(BUILDERS[name](frame))
    assert marks(d) == ["text"]
    assert d["data"]["values"] == [{"message": NO_DATA}]
    assert d["encoding"]["text"]["field"] == "message"
    assert title_text(d)[0] == "Empty"


@pytest.mark.parametrize("name", ["ranking", "heat", "strip", "trend", "slope"])
def test_all_missing_scores_give_a_no_data_chart(name: str, request: pytest.FixtureRequest) -> None:
    frame = request.getfixturevalue(FIXTURE[name]).with_columns(
        pl.lit(None, pl.Float64).alias("score")
    )
    assert marks(spec(BUILDERS[name](frame))) == ["text"]


@pytest.mark.parametrize("name", ["trend", "slope", "coverage"])
def test_a_frame_too_large_to_chart_is_refused(name: str, request: pytest.FixtureRequest) -> None:
    """Builders of summaries (index × series × year, nodes) refuse an unsummarised frame; the
    per-city builders take any group and summarise it themselves (test_large_groups.py)."""
    frame = request.getfixturevalue(FIXTURE[name])
    big = pl.concat([frame] * (MAX_ROWS // frame.height + 1))
    with pytest.raises(ValueError, match="more than 5,000 rows"):
        BUILDERS[name](big)
    with pytest.raises(ValueError, match="more than 5,000 rows"):
        BUILDERS[name](big.lazy())


@pytest.mark.parametrize("name", list(BUILDERS))
def test_a_missing_column_is_named(name: str, request: pytest.FixtureRequest) -> None:
    frame = request.getfixturevalue(FIXTURE[name])
    dropped = frame.columns[-1]
    with pytest.raises(ValueError, match=f"missing column\\(s\\) {dropped}"):
        BUILDERS[name](frame.drop(dropped))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_unsummarised_duplicates_are_refused(name: str, request: pytest.FixtureRequest) -> None:
    frame = request.getfixturevalue(FIXTURE[name])
    with pytest.raises(ValueError, match="expected one row per"):
        BUILDERS[name](pl.concat([frame, frame]))


def test_lazy_frames_and_enum_columns_are_accepted(heat: pl.DataFrame) -> None:
    labels = heat["focus_area"].unique().sort().to_list()
    lazy = heat.lazy().with_columns(pl.col("focus_area").cast(pl.Enum(labels)))
    d = spec(focus_area_heatmap(lazy, CITY))
    assert "Industry & innovation" in unit(d, "rect", 1)["encoding"]["x"]["sort"]


def test_builders_leave_altairs_global_state_alone(ranking: pl.DataFrame) -> None:
    theme_before, transformer_before = alt.theme.active, alt.data_transformers.active
    spec(ranking_bars(ranking, CITY, "x"))
    assert (alt.theme.active, alt.data_transformers.active) == (theme_before, transformer_before)
    assert set(charts.__all__) >= {"ranking_bars", "themed", "THEME_NAME"}


# ------------------------------------------------------------------------- the real demo scores


@pytest.fixture(scope="module")
def demo(registry: Any, catalog: pl.DataFrame) -> dict[str, Any]:
    """Sustainability scores of the embedded demo for 2022–2023, through the real engine.

    One scorer (the quickest of the three built-ins) covers every chart: an index, its focus
    areas and indicators over two years; all three would triple the fixture's run time."""
    from benchmarkkit.engine.score import score
    from benchmarkkit.io.demo import DEFAULT_CITY, load_demo

    loaded = load_demo(registry, catalog)
    scorer = registry.of("scorer")["sustainability"]
    framework = scorer.build(catalog, loaded.observations)
    result = score(
        framework, loaded.observations, loaded.cities, scorer.pipeline, registry, years=[2022, 2023]
    )
    return {
        "scores": result.scores,
        "cities": loaded.cities,
        "nodes": framework.nodes,
        "city": DEFAULT_CITY,
    }


@pytest.fixture(scope="module")
def demo_frames(demo: dict[str, Any]) -> dict[str, pl.DataFrame]:
    """The summaries a report would pass: Spanish peers of Madrid, 2023 unless a trend."""
    city = demo["city"]
    names = demo["nodes"].select("node", pl.col("name").alias("node_label"))
    peers = demo["cities"].filter(pl.col("country") == "ES").select("city_id", "city_name")
    scores = text_keys(demo["scores"]).join(peers, on="city_id")
    now = scores.filter(pl.col("year") == 2023)
    index = scores.filter(pl.col("level") == 3)
    peer_median = (
        index.filter(pl.col("city_id") != city)
        .group_by("scorer", "year")
        .agg(pl.col("score").median())
        .with_columns(pl.lit("peer median").alias("series"))
    )
    mine = index.filter(pl.col("city_id") == city).with_columns(pl.lit("city").alias("series"))
    trend = pl.concat(
        [
            f.select(pl.col("scorer").alias("index"), "year", "series", "score")
            for f in (mine, peer_median)
        ]
    ).sort("index", "series", "year")
    return {
        "ranking": now.filter(pl.col("level") == 3).select("city_id", "city_name", "score", "rank"),
        "heat": now.filter(pl.col("level") == 2).select(
            "city_id", "city_name", pl.col("node").alias("focus_area"), "score"
        ),
        "strip": now.filter(pl.col("level") == 1)
        .join(names, on="node")
        .select(pl.col("node_label").alias("indicator_name"), "city_id", "city_name", "score"),
        "trend": trend,
        "coverage": now.filter(pl.col("city_id") == city, pl.col("level") >= 2)
        .join(names, on="node")
        .sort("level", "node", descending=[True, False])
        .select("node_label", "n_present", "n_children"),
    }


def test_charts_of_the_real_demo_scores(
    demo: dict[str, Any], demo_frames: dict[str, pl.DataFrame]
) -> None:
    city = demo["city"]
    label = demo["cities"].filter(pl.col("city_id") == city)["city_name"][0]
    f = demo_frames
    built = {
        "ranking": ranking_bars(f["ranking"], city, "Sustainability 2023"),
        "heat": focus_area_heatmap(f["heat"], city),
        "strip": indicator_strip(f["strip"], city),
        "trend": trend_lines(f["trend"], city, city_name=label),
        "slope": slope_chart(f["trend"], city, city_name=label),
        "coverage": coverage_bars(f["coverage"]),
    }
    d = {name: spec(chart) for name, chart in built.items()}
    assert all(marks(s) != ["text"] for s in d.values())  # real data: no "No data" chart

    # ~100 Spanish cities, of which those with a sustainability score are few enough for a bar
    # each (the rule counts the peers a chart draws: charts.chart_form)
    assert "vconcat" not in d["ranking"]
    bars = unit(d["ranking"], "bar")
    assert bars["encoding"]["color"]["scale"]["domain"][0] == label
    assert sorted(r["score"] for r in rows(d["ranking"], bars)) == sorted(
        f["ranking"]["score"].drop_nulls().to_list()
    )
    assert rows(d["heat"], unit(d["heat"], "rect", 2)) == [{"label": label}]
    heat_areas = set(unit(d["heat"], "rect")["encoding"]["x"]["sort"])
    assert heat_areas <= set(charts.FOCUS_AREA_LABELS.values())
    assert any(r["is_city"] for r in rows(d["strip"], unit(d["strip"], "circle")))
    assert {r["series_label"] for r in rows(d["trend"], d["trend"])} == {label, "Peer median"}
    assert {r["year"] for r in rows(d["slope"], d["slope"])} == {2022, 2023}
    cover = rows(d["coverage"], unit(d["coverage"], "bar", 1))
    assert cover[0]["node_label"] == "Sustainability"
    assert [r["n_present"] for r in cover] == f["coverage"]["n_present"].to_list()


def test_inline_html_needs_no_network(
    demo: dict[str, Any], demo_frames: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    """The report must open offline: Vega is inlined, no script comes from a CDN."""
    city = demo["city"]
    page = themed(
        vstack(
            ranking_bars(demo_frames["ranking"], city, "Sustainability"),
            trend_lines(demo_frames["trend"], city),
        )
    )
    out = tmp_path / "x.html"
    page.save(out, inline=True)
    html = out.read_text(encoding="utf-8")
    assert "https://cdn" not in html
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert "Sustainability" in html
