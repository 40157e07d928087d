"""The scoring engine, pinned down where mutation testing found it loose (TESTING.md).

Each expected value is worked out by hand from a few cities and indicators.
"""

from __future__ import annotations

import polars as pl
import pytest

from benchmarkkit.engine.assemble import tolerant_rank
from benchmarkkit.engine.catalog_index import BUILTIN_PIPELINE, catalog_framework, catalog_scorer
from benchmarkkit.engine.score import effective_weights, score
from benchmarkkit.io.framework import NODE_SCHEMA
from benchmarkkit.scorer import Framework, Pipeline


def test_ranks_share_ties_within_the_tolerance_and_skip_after_them():
    frame = pl.DataFrame(
        {"_rk": [0, 0, 0, 0, 0, 1, 1], "score": [5.0, 9.0, 9.0 * (1 + 1e-13), None, 1.0, -3.0, 2.0]}
    )
    assert tolerant_rank(frame).to_list() == [3, 1, 1, None, 4, 2, 1]
    assert tolerant_rank(frame.clear()).to_list() == []


def test_effective_weights_multiply_down_the_tree():
    nodes = pl.DataFrame(
        {
            "node": ["I", "A", "B", "a1", "a2", "b1"],
            "parent": [None, "I", "I", "A", "A", "B"],
            "weight": [1.0, 3.0, 1.0, 1.0, None, 2.0],
            "level": [3, 2, 2, 1, 1, 1],
        }
    )
    got = effective_weights(nodes)
    assert got["node"].to_list() == ["I", "A", "B", "a1", "a2", "b1"]
    assert got["level"].to_list() == [3, 2, 2, 1, 1, 1]
    assert got["effective_weight"].to_list() == [1.0, 0.75, 0.25, 0.375, 0.375, 0.25]


# --- frameworks small enough to score by hand ------------------------------------------------


def framework(tree: dict[str, tuple[str | None, int, float | None]], name: str = "toy"):
    """``tree``: node → (parent, level, weight); level-1 nodes are indicators, higher is better."""
    rows = [
        {"node": n, "parent": p, "level": lv, "weight": w, "direction": 1 if lv == 1 else None}
        for n, (p, lv, w) in tree.items()
    ]
    nodes = pl.DataFrame(rows, schema=NODE_SCHEMA).with_columns(
        pl.col("name").fill_null(pl.col("node"))
    )
    return Framework(name, nodes)


def observations(rows: list[tuple[str, int, str, float | None]]) -> pl.DataFrame:
    schema = {"city_id": pl.String, "year": pl.Int32, "indicator": pl.String, "value": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def by_key(frame: pl.DataFrame, node: str, column: str = "score") -> dict[tuple[str, int], object]:
    rows = frame.filter(pl.col("node") == node)
    return {(r["city_id"], r["year"]): r[column] for r in rows.iter_rows(named=True)}


TWO_YEARS = observations(
    [
        # 2022: x 10 20 30 → 0 50 100; y 1 3 2 → 0 100 50; z 7 5 — → 100 0 —
        ("c1", 2022, "x", 10),
        ("c2", 2022, "x", 20),
        ("c3", 2022, "x", 30),
        ("c1", 2022, "y", 1),
        ("c2", 2022, "y", 3),
        ("c3", 2022, "y", 2),
        ("c1", 2022, "z", 7),
        ("c2", 2022, "z", 5),
        # 2023: x 5 5 9 → 0 0 100; y — 4 8 → — 0 100; z 1 2 3 → 0 50 100
        ("c1", 2023, "x", 5),
        ("c2", 2023, "x", 5),
        ("c3", 2023, "x", 9),
        ("c2", 2023, "y", 4),
        ("c3", 2023, "y", 8),
        ("c1", 2023, "z", 1),
        ("c2", 2023, "z", 2),
        ("c3", 2023, "z", 3),
    ]
)
CITIES = pl.DataFrame({"city_id": ["c1", "c2", "c3"]})


def test_a_null_weight_leaves_its_child_out_of_the_flat_weighted_mean(registry):
    """A null weight sends the built-in mean down the flat ``group_by`` path (not the dense
    one); the child then counts as present but adds nothing, so A is (3·x + 1·y) / 4."""
    tree = {
        "I": (None, 3, 1.0),
        "A": ("I", 2, 1.0),
        "B": ("I", 2, 1.0),
        "x": ("A", 1, 3.0),
        "y": ("A", 1, 1.0),
        "z": ("B", 1, None),
        "w": ("B", 1, 1.0),
    }
    w = TWO_YEARS.filter(pl.col("indicator") == "x").with_columns(indicator=pl.lit("w"))
    data = pl.concat([TWO_YEARS, w])
    got = score(framework(tree), data, CITIES, Pipeline(), registry).scores
    assert by_key(got, "A") == {
        ("c1", 2022): 0.0,
        ("c2", 2022): (150 + 100) / 4,
        ("c3", 2022): (300 + 50) / 4,
        ("c1", 2023): 0.0,  # y missing: x alone
        ("c2", 2023): 0.0,
        ("c3", 2023): 100.0,
    }
    # B holds w (= x) and z, whose weight is null: B = w
    assert by_key(got, "B") == by_key(got, "x")
    assert by_key(got, "B", "n_present") == {
        ("c1", 2022): 2,
        ("c2", 2022): 2,
        ("c3", 2022): 1,
        ("c1", 2023): 2,
        ("c2", 2023): 2,
        ("c3", 2023): 2,
    }


PANEL = observations(
    [
        # x: c1 10 20 30; c2 40 — 80 (→ 60 between); c3 only 2023
        ("c1", 2021, "x", 10),
        ("c1", 2022, "x", 20),
        ("c1", 2023, "x", 30),
        ("c2", 2021, "x", 40),
        ("c2", 2023, "x", 80),
        ("c3", 2023, "x", 50),
        # y: c1 — 5 9 (→ 5 before the first); c2 1 2 — (→ 2 after the last); c3 none
        ("c1", 2022, "y", 5),
        ("c1", 2023, "y", 9),
        ("c2", 2021, "y", 1),
        ("c2", 2022, "y", 2),
    ]
)


@pytest.mark.parametrize(
    ("spec", "filled"),
    [
        ("linear", [("c1", 2021, "y", 5.0), ("c2", 2022, "x", 60.0), ("c2", 2023, "y", 2.0)]),
        ("latest", [("c2", 2022, "x", 40.0), ("c2", 2023, "y", 2.0)]),
        # c3's lone x and empty y: a one-point series is its own constant; no y in 2021-22
        ("constant", [("c1", 2021, "y", 5.0), ("c2", 2022, "x", 40.0), ("c2", 2023, "y", 2.0)]),
    ],
)
def test_panel_imputation_fills_along_each_citys_years(registry, spec, filled):
    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 1.0), "y": ("I", 1, 1.0)}
    got = score(framework(tree), PANEL, CITIES, Pipeline(impute=spec), registry)
    assert sorted(got.imputed.rows()) == filled
    # the filled values are scored: x in 2022 is min-maxed over 20 and the filled c2 value
    x2022 = by_key(got.scores, "x")
    assert (x2022[("c1", 2022)], x2022[("c2", 2022)]) == (0.0, 100.0)


# --- plugin treatments that return the wrong shape -------------------------------------------

TREATMENTS = """
import polars as pl
from benchmarkkit import hookimpl
from benchmarkkit.methods.spec import Imputer, Treatment


def log(frame):
    return frame.select("_part").unique()


SHAPES = {
    "no_imputed": lambda f, p: (f.drop("_imputed"), log(f)),
    "no_part_log": lambda f, p: (f, log(f).rename({"_part": "part"})),
    "short": lambda f, p: (f.head(2), log(f)),
    "not_a_pair": lambda f, p: f,
    "not_frames": lambda f, p: (f, "log"),
    "keys_ok": lambda f, p: (f.with_columns(pl.col("x") * 2).reverse(), log(f)),
}
LEAN = {
    "lean_not_a_pair": lambda f, p: [f],
    "lean_not_frames": lambda f, p: (f.lazy(), log(f)),
    "lean_short": lambda f, p: (f.head(1), log(f)),
    "lean_no_part_log": lambda f, p: (f, log(f).rename({"_part": "part"})),
    "lean_ok": lambda f, p: (f.with_columns(pl.col("x") * 2), log(f)),
}


@hookimpl
def register_treatments(register):
    for name, fn in SHAPES.items():
        register(Treatment(name, fn))
    for name, fn in LEAN.items():
        register(Treatment(name, fn, lean=True))


@hookimpl
def register_imputers(register):
    register(Imputer("nan_fill", lambda x, p: pl.lit(float("nan"))))
    # a panel imputer reading every key: 10 × the city's number + years after 2020 + 1 per
    # letter of the indicator's id
    keys = (
        pl.col("city_id").str.slice(1).cast(pl.Float64) * 10
        + (pl.col("year") - 2020).cast(pl.Float64)
        + pl.col("indicator").str.len_chars().cast(pl.Float64)
    )
    register(Imputer("by_keys", lambda x, p: keys, panel=True))
"""


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    from benchmarkkit.plugins import build_registry

    path = tmp_path_factory.mktemp("plugins") / "shapes.py"
    path.write_text(TREATMENTS, encoding="utf-8")
    registry = build_registry(plugin_files=[path])
    assert not registry.problems, registry.problems
    return registry


@pytest.mark.parametrize(
    ("treat", "why"),
    [
        ("no_imputed", "ValueError: it returned a frame without the column '_imputed'"),
        ("no_part_log", "ValueError: its log has no '_part' column"),
        ("short", "ValueError: it returned 2 rows for 9"),
        (
            "not_a_pair",
            "TypeError: treatment 'not_a_pair' must return (frame, log) with frame keeping every "
            "column; it returned DataFrame",
        ),
        (
            "not_frames",
            "TypeError: treatment 'not_frames' must return (frame, log) with frame keeping every "
            "column; it returned (DataFrame, str)",
        ),
        (
            "lean_not_a_pair",
            "TypeError: treatment declared lean must return (frame, log) with x, row for row; it "
            "returned list",
        ),
        (
            "lean_not_frames",
            "TypeError: treatment declared lean must return (frame, log) with x, row for row; it "
            "returned (LazyFrame, DataFrame)",
        ),
        (
            "lean_short",
            "ValueError: treatment declared lean must return (frame, log) with x, row for row; it "
            "returned 1 rows for 9",
        ),
        ("lean_no_part_log", "ValueError: its log has no '_part' column"),
    ],
)
def test_a_treatment_of_the_wrong_shape_is_named(shapes, treat, why):
    from benchmarkkit.errors import PluginError

    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 1.0), "y": ("I", 1, 1.0), "z": ("I", 1, 1.0)}
    data = TWO_YEARS.filter(pl.col("year") == 2022)
    with pytest.raises(PluginError) as err:
        score(framework(tree), data, CITIES, Pipeline(treat=treat), shapes)
    assert err.value.message == f"plugin 'shapes': treatment '{treat}' failed ({why})"


@pytest.mark.parametrize("treat", ["lean_ok", "keys_ok"])
def test_a_treatment_that_doubles_every_value_changes_no_score(shapes, treat):
    """Doubling every value leaves min-max scores as they were (a treatment given the full frame
    may return its rows in any order: they are put back by key); one log row per partition —
    (indicator, year), or the indicator alone when the reference is pooled over the years."""
    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 1.0), "y": ("I", 1, 1.0), "z": ("I", 1, 1.0)}
    plain = score(framework(tree), TWO_YEARS, CITIES, Pipeline(treat="none"), shapes)
    doubled = score(framework(tree), TWO_YEARS, CITIES, Pipeline(treat=treat), shapes)
    assert doubled.scores.equals(plain.scores)
    assert doubled.treatment.sort("indicator", "year").rows() == [
        (i, y) for i in "xyz" for y in (2022, 2023)
    ]
    pooled = Pipeline(treat=treat, reference="pooled")
    got = score(framework(tree), TWO_YEARS, CITIES, pooled, shapes)
    assert got.treatment.sort("indicator").rows() == [("x",), ("y",), ("z",)]


def test_denominate_divides_by_the_same_city_and_year(registry):
    """x / pop of the same city-year; c3 has no pop: its x drops out. No city reports area, so
    y (per area) is missing everywhere; z has no denominator and keeps its value."""
    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 3.0), "y": ("I", 1, 1.0), "z": ("I", 1, 1.0)}
    fw = framework(tree)
    denominators = {"x": "pop", "y": "area"}
    nodes = fw.nodes.with_columns(
        pl.col("node").replace_strict(denominators, default=None).alias("denominator")
    )
    fw = Framework(fw.name, nodes)
    data = pl.concat(
        [
            TWO_YEARS.filter(pl.col("year") == 2022),
            observations([("c1", 2022, "pop", 2.0), ("c2", 2022, "pop", 10.0)]),
        ]
    )
    got = score(fw, data, CITIES, Pipeline(denominate=True), registry).scores
    # x / pop: 5, 2, — → 100, 0;  z: 7, 5 → 100, 0; c3 is left with nothing: no unit
    assert by_key(got, "x") == {("c1", 2022): 100.0, ("c2", 2022): 0.0}
    assert by_key(got, "y") == {("c1", 2022): None, ("c2", 2022): None}
    assert by_key(got, "I") == {("c1", 2022): 100.0, ("c2", 2022): 0.0}


def test_a_catalog_index_holds_the_indicators_in_the_data_by_focus_area():
    """a, b are tagged liv and present; c is another index's, d a group, e not in the data. The
    focus areas come in ASCN's order, with the weights given; the root carries the title."""
    catalog = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "name": ["A", "B", "C", "D", "E"],
            "kind": ["indicator", "indicator", "indicator", "group", "indicator"],
            "indices": [["liv"], ["liv", "comp"], ["comp"], ["liv"], ["liv"]],
            "focus_area": ["safety_security", "civic_social", "civic_social", "civic_social", "x"],
            "direction": [1, -1, 1, 1, 1],
            "unit": ["%", "n", "x", "y", "z"],
        }
    )
    data = pl.DataFrame({"indicator": ["a", "b", "c", "d", "a"]})
    fw = catalog_framework(
        "liv",
        "Livability",
        catalog,
        data,
        pipeline=BUILTIN_PIPELINE,
        focus_weights={"safety_security": 2.0},
    )
    assert (fw.name, fw.title, fw.pipeline) == ("liv", "Livability", BUILTIN_PIPELINE)
    got = fw.nodes.select(
        "node", "name", "level", "parent", "weight", "direction", "unit", "focus_area"
    )
    assert got.rows() == [
        ("a", "A", 1, "safety_security", 1.0, 1, "%", "safety_security"),
        ("b", "B", 1, "civic_social", 1.0, -1, "n", "civic_social"),
        ("civic_social", "Civic & social", 2, "liv", 1.0, None, None, "civic_social"),
        ("safety_security", "Safety & security", 2, "liv", 2.0, None, None, "safety_security"),
        ("liv", "Livability", 3, None, None, None, None, None),
    ]
    assert fw.nodes.schema == NODE_SCHEMA
    scorer = catalog_scorer("liv", "Livability", "what it means")
    assert (scorer.name, scorer.title, scorer.description) == ("liv", "Livability", "what it means")
    assert scorer.build(catalog, data).nodes.equals(
        catalog_framework("liv", "Livability", catalog, data, pipeline=BUILTIN_PIPELINE).nodes
    )


def test_coverage_sums_up_a_wide_tree_with_a_level_skipped(registry):
    """301 indicators over 2 city-years take the generic (not dense) coverage path. A holds
    a0…a149, B holds b0…b149, s hangs from the index directly. Nobody reports b149, so it does
    not count against anyone; c2 reports a0…a9 and s only."""
    tree: dict[str, tuple[str | None, int, float | None]] = {
        "I": (None, 3, 1.0),
        "A": ("I", 2, 1.0),
        "B": ("I", 2, 1.0),
        "s": ("I", 1, 1.0),
    }
    tree |= {f"a{i}": ("A", 1, 1.0) for i in range(150)}
    tree |= {f"b{i}": ("B", 1, 1.0) for i in range(150)}
    c1 = [("c1", 2023, n, float(k)) for k, n in enumerate(tree) if n[0] in "abs" and n != "b149"]
    c2 = [("c2", 2023, n, 1.0) for n in [*(f"a{i}" for i in range(10)), "s"]]
    got = score(framework(tree), observations(c1 + c2), CITIES, Pipeline(), registry).scores
    counts = {
        node: by_key(got, node, "n_present")
        | {("n", k): v for k, v in by_key(got, node, "n_children").items()}
        for node in ("A", "B", "I", "s", "b149")
    }
    assert counts["A"] == {
        ("c1", 2023): 150,
        ("c2", 2023): 10,
        ("n", ("c1", 2023)): 150,
        ("n", ("c2", 2023)): 150,
    }
    assert counts["B"] == {
        ("c1", 2023): 149,
        ("c2", 2023): 0,
        ("n", ("c1", 2023)): 149,
        ("n", ("c2", 2023)): 149,
    }
    assert counts["I"] == {
        ("c1", 2023): 300,
        ("c2", 2023): 11,
        ("n", ("c1", 2023)): 300,
        ("n", ("c2", 2023)): 300,
    }
    assert counts["s"] == {
        ("c1", 2023): 1,
        ("c2", 2023): 1,
        ("n", ("c1", 2023)): 1,
        ("n", ("c2", 2023)): 1,
    }
    assert counts["b149"] == {
        ("c1", 2023): 0,
        ("c2", 2023): 0,
        ("n", ("c1", 2023)): 0,
        ("n", ("c2", 2023)): 0,
    }
    assert by_key(got, "I", "coverage") == {("c1", 2023): 1.0, ("c2", 2023): 11 / 300}
    assert by_key(got, "b149", "coverage") == {("c1", 2023): None, ("c2", 2023): None}


def test_repeated_observations_take_the_sorted_path(registry):
    """A frame given to ``score`` directly may repeat a key (validation would have refused it):
    the grid is then joined, not scattered, and the rows are sorted into the output order —
    level (index first), node, year, city."""
    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 1.0), "y": ("I", 1, 1.0), "z": ("I", 1, 1.0)}
    data = pl.concat([TWO_YEARS, TWO_YEARS.head(1)])
    got = score(framework(tree), data, CITIES, Pipeline(), registry).scores
    keys = got.select("level", "node", "year", "city_id").rows()
    assert keys == sorted(keys, key=lambda r: (-r[0], r[1], r[2], r[3]))
    assert got.filter(pl.col("level") == 2).select("year", "city_id").rows() == [
        (2022, "c1"),
        (2022, "c2"),
        (2022, "c3"),
        (2023, "c1"),
        (2023, "c2"),
        (2023, "c3"),
    ]


def test_the_warnings_of_a_run(registry):
    """v is constant in 2022 (3 cities), w has no value in 2023, which leaves its group G empty;
    with 90 % needed, c3 (x and v of the 3 indicators reported in 2022) and c2, c3 in 2023 (x of
    the 2 reported) are thin."""
    tree = {
        "I": (None, 3, 1.0),
        "A": ("I", 2, 1.0),
        "G": ("I", 2, 1.0),
        "x": ("A", 1, 1.0),
        "v": ("A", 1, 1.0),
        "w": ("G", 1, 1.0),
    }
    extra = observations(
        [
            ("c1", 2022, "v", 3.0),
            ("c2", 2022, "v", 3.0),
            ("c3", 2022, "v", 3.0),
            ("c1", 2022, "w", 1.0),
            ("c2", 2022, "w", 2.0),
            ("c1", 2023, "v", 1.0),
        ]
    )
    data = pl.concat([TWO_YEARS.filter(pl.col("indicator") == "x"), extra])
    got = score(framework(tree), data, CITIES, Pipeline(min_index_coverage=0.9), registry)
    thin = "too thin to score (needs 90 %)"
    assert got.warnings.rows() == [
        (
            "toy",
            2022,
            "v",
            None,
            "constant_column",
            "all 3 cities have the same value: the indicator cannot tell them apart and is left "
            "out of the aggregate",
        ),
        ("toy", 2023, "w", None, "all_missing", "no city has a value this year"),
        ("toy", 2023, "G", None, "empty_group", "no city has any data under this node this year"),
        ("toy", 2022, "I", "c3", "thin_coverage", f"only 2 of 3 indicators: {thin}"),
        ("toy", 2023, "I", "c2", "thin_coverage", f"only 1 of 2 indicators: {thin}"),
        ("toy", 2023, "I", "c3", "thin_coverage", f"only 1 of 2 indicators: {thin}"),
    ]
    assert by_key(got.scores, "I")[("c3", 2022)] is None


def test_an_imputer_filling_nan_is_named_with_its_plugin(shapes):
    from benchmarkkit.errors import PluginError

    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 1.0), "y": ("I", 1, 1.0), "z": ("I", 1, 1.0)}
    with pytest.raises(PluginError) as err:
        score(framework(tree), TWO_YEARS, CITIES, Pipeline(impute="nan_fill"), shapes)
    assert err.value.message == (
        "plugin 'shapes': imputer 'nan_fill' filled 2 cells with NaN or infinity "
        "(first: c1, 2023, y)"
    )
    assert err.value.hint == "an imputer should leave a gap missing"


def test_nothing_imputed_is_an_empty_log_of_the_same_shape(registry):
    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 1.0), "y": ("I", 1, 1.0)}
    got = score(framework(tree), TWO_YEARS, CITIES, Pipeline(), registry)
    assert got.imputed.height == 0
    assert got.imputed.schema == {
        "city_id": pl.String,
        "year": pl.Int32,
        "indicator": pl.String,
        "value": pl.Float64,
    }


def test_a_unit_screened_out_after_imputing_leaves_the_log(registry):
    """Imputed first (y of c1 in 2023 = mean of 4 and 8 = 6), then screened: nobody has w in
    2023, so every 2023 unit holds 2 of 3 indicators, below 0.9, and goes with its fills."""
    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 1.0), "y": ("I", 1, 1.0), "w": ("I", 1, 1.0)}
    w = [("c1", 2022, "w", 1.0), ("c2", 2022, "w", 2.0), ("c3", 2022, "w", 3.0)]
    data = pl.concat([TWO_YEARS.filter(pl.col("indicator") != "z"), observations(w)])
    steps = ("impute", "screen", "normalise", "aggregate")
    kept = Pipeline(impute="mean", steps=steps, screen=0.5)
    assert score(framework(tree), data, CITIES, kept, registry).imputed.rows() == [
        ("c1", 2023, "y", 6.0)
    ]
    strict = Pipeline(impute="mean", steps=steps, screen=0.9, min_coverage=0.25)
    got = score(framework(tree), data, CITIES, strict, registry)
    assert got.imputed.height == 0
    assert sorted(by_key(got.scores, "I")) == [("c1", 2022), ("c2", 2022), ("c3", 2022)]
    assert got.methods["min_coverage"] == "0.25"
    assert got.methods["screen"] == "0.9"
    assert got.methods["steps"] == "impute,screen,normalise,aggregate"


def test_a_nan_value_is_missing_not_present(registry):
    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 1.0), "y": ("I", 1, 1.0), "z": ("I", 1, 1.0)}
    data = pl.concat([TWO_YEARS, observations([("c3", 2022, "z", float("nan"))])])
    got = score(framework(tree), data, CITIES, Pipeline(), registry).scores
    assert by_key(got, "z")[("c3", 2022)] is None
    assert by_key(got, "I", "n_present")[("c3", 2022)] == 2
    assert by_key(got, "I", "coverage")[("c3", 2022)] == 2 / 3


def test_a_panel_imputer_may_read_the_city_the_year_and_the_indicator(shapes):
    tree = {"I": (None, 2, 1.0), "x": ("I", 1, 1.0), "y": ("I", 1, 1.0)}
    got = score(framework(tree), PANEL, CITIES, Pipeline(impute="by_keys"), shapes)
    assert sorted(got.imputed.rows()) == [
        ("c1", 2021, "y", 12.0),
        ("c2", 2022, "x", 23.0),
        ("c2", 2023, "y", 24.0),
        ("c3", 2023, "y", 34.0),
    ]


def test_coverage_of_a_wide_tree_without_a_level_skipped(registry):
    """As above without s: the index's counts come from A and B only (level 1 has no child of
    the index, level 2 has both)."""
    tree: dict[str, tuple[str | None, int, float | None]] = {
        "I": (None, 3, 1.0),
        "A": ("I", 2, 1.0),
        "B": ("I", 2, 1.0),
    }
    tree |= {f"a{i}": ("A", 1, 1.0) for i in range(150)}
    tree |= {f"b{i}": ("B", 1, 1.0) for i in range(150)}
    rows = [("c1", 2023, n, 1.0) for n in tree if n[0] in "ab"]
    rows += [("c2", 2023, f"a{i}", 1.0) for i in range(10)]
    got = score(framework(tree), observations(rows), CITIES, Pipeline(), registry).scores
    assert by_key(got, "I", "n_present") == {("c1", 2023): 300, ("c2", 2023): 10}
    assert by_key(got, "I", "n_children") == {("c1", 2023): 300, ("c2", 2023): 300}
