"""The engine end to end on frameworks small enough to score by hand.

Framework: index ← {A (weight 1) ← {x (higher better), y (lower better)}, B (weight 3) ← {z}}.
Data for 2023 (cities c1, c2, c3):

    city  x    y    z
    c1    10   5    1
    c2    20   15   3
    c3    30   —    2

min-max to [0, 100] per year, direction applied first (y is multiplied by −1):
    x: c1 0, c2 50, c3 100          y: c1 100, c2 0, c3 —        z: c1 0, c2 100, c3 50
A = mean of present children:  c1 (0+100)/2 = 50, c2 (50+0)/2 = 25, c3 100/1 = 100
B = z:                          c1 0,  c2 100, c3 50
index = (1·A + 3·B) / 4:        c1 12.5, c2 81.25, c3 62.5  → ranks c2 1, c3 2, c1 3
"""

from __future__ import annotations

import re

import polars as pl
import pytest

from benchmarkkit.engine.score import effective_weights, score
from benchmarkkit.errors import InputError, MethodError
from benchmarkkit.io.framework import read_toml_framework
from benchmarkkit.scorer import Pipeline
from tests.conftest import write

FRAMEWORK = """
name = "toy"
[[node]]
id = "index"
[[node]]
id = "A"
parent = "index"
weight = 1
[[node]]
id = "B"
parent = "index"
weight = 3
[[indicator]]
id = "x"
parent = "A"
direction = 1
[[indicator]]
id = "y"
parent = "A"
direction = -1
[[indicator]]
id = "z"
parent = "B"
direction = 1
"""


def obs(rows: list[tuple[str, int, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "city_id": pl.String,
            "year": pl.Int32,
            "indicator": pl.String,
            "value": pl.Float64,
        },
        orient="row",
    )


DATA = obs(
    [
        ("c1", 2023, "x", 10),
        ("c1", 2023, "y", 5),
        ("c1", 2023, "z", 1),
        ("c2", 2023, "x", 20),
        ("c2", 2023, "y", 15),
        ("c2", 2023, "z", 3),
        ("c3", 2023, "x", 30),
        ("c3", 2023, "z", 2),
    ]
)
CITIES = pl.DataFrame({"city_id": ["c1", "c2", "c3"], "region": ["N", "N", "S"]})


@pytest.fixture(scope="module")
def framework(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("fw") / "toy.toml", FRAMEWORK)
    return read_toml_framework(path)


def node_scores(result, node: str, year: int = 2023) -> dict[str, float | None]:
    frame = result.scores.filter((pl.col("node") == node) & (pl.col("year") == year))
    return dict(zip(frame["city_id"], frame["score"], strict=True))


def test_hand_worked_index(framework, registry):
    result = score(framework, DATA, CITIES, Pipeline(), registry)
    assert node_scores(result, "y") == {"c1": 100.0, "c2": 0.0, "c3": None}
    assert node_scores(result, "A") == {"c1": 50.0, "c2": 25.0, "c3": 100.0}
    assert node_scores(result, "index") == pytest.approx({"c1": 12.5, "c2": 81.25, "c3": 62.5})
    ranks = result.scores.filter(pl.col("node") == "index").sort("city_id")["rank"].to_list()
    assert ranks == [3, 1, 2]
    a = result.scores.filter((pl.col("node") == "A") & (pl.col("city_id") == "c3"))
    a = a.row(0, named=True)
    assert (a["n_present"], a["n_children"], a["coverage"]) == (1, 2, 0.5)


def test_levels_returns_only_what_is_asked_and_always_the_index(framework, registry):
    """Levels not asked for are computed (parents need them) but not built into rows; the rows
    that are returned are exactly those of a full run."""
    full = score(framework, DATA, CITIES, Pipeline(), registry).scores
    top = score(framework, DATA, CITIES, Pipeline(), registry, levels=[3]).scores
    assert top.equals(full.filter(pl.col("level") == 3))
    assert top["score"].to_list() == pytest.approx([12.5, 81.25, 62.5])  # c1, c2, c3
    two = score(framework, DATA, CITIES, Pipeline(), registry, levels=[2]).scores
    assert two.equals(full.filter(pl.col("level") >= 2))
    one = score(framework, DATA, CITIES, Pipeline(), registry, levels=[1]).scores
    assert one.equals(full.filter(pl.col("level") != 2))


def test_score_command_level_option(tmp_path, run):
    out = tmp_path / "top.csv"
    result = run("score", "--level", "3", "--year", "2023", "--out", out)
    assert result.exit_code == 0, result.output
    written = pl.read_csv(out)
    assert set(written["level"]) == {3} and written.height > 200
    assert set(written["scorer"]) == {"livability", "competitiveness", "sustainability"}


def test_min_coverage_makes_a_thin_parent_missing(framework, registry):
    result = score(framework, DATA, CITIES, Pipeline(min_coverage=0.75), registry)
    # c3 has 1 of A's 2 children: 0.5 < 0.75 → A missing; then the index has 1 of its 2
    # children (B only): 0.5 < 0.75 → missing as well. c1 and c2 are complete and unchanged.
    assert node_scores(result, "A")["c3"] is None
    assert node_scores(result, "index") == pytest.approx({"c1": 12.5, "c2": 81.25, "c3": None})
    # at exactly the threshold a parent is kept (COINr: missing when strictly below)
    result = score(framework, DATA, CITIES, Pipeline(min_coverage=0.5), registry)
    assert node_scores(result, "A")["c3"] == 100.0


def test_effective_weights(framework):
    w = effective_weights(framework.nodes)
    got = dict(zip(w["node"], w["effective_weight"], strict=True))
    assert got == pytest.approx(
        {"index": 1.0, "A": 0.25, "B": 0.75, "x": 0.125, "y": 0.125, "z": 0.75}
    )


def test_ties_share_the_minimum_rank(framework, registry):
    data = obs(
        [(c, 2023, i, 1.0 if c != "c3" else 2.0) for c in ("c1", "c2", "c3") for i in ("x", "z")]
    )
    result = score(framework, data, CITIES, Pipeline(), registry)
    ranks = dict(
        zip(
            *result.scores.filter(pl.col("node") == "index")
            .select("city_id", "rank")
            .to_dict()
            .values(),
            strict=True,
        )
    )
    assert ranks == {"c3": 1, "c1": 2, "c2": 2}


def test_constant_column_is_warned_and_dropped(framework, registry):
    data = DATA.with_columns(
        pl.when(pl.col("indicator") == "z").then(7.0).otherwise(pl.col("value")).alias("value")
    )
    result = score(framework, data, CITIES, Pipeline(), registry)
    kinds = set(result.warnings["kind"])
    assert "constant_column" in kinds
    assert node_scores(result, "z") == {"c1": None, "c2": None, "c3": None}
    assert "empty_group" in kinds  # B has no usable child, for anyone
    # index rests on A alone: c1 50, c2 25, c3 100
    assert node_scores(result, "index") == pytest.approx({"c1": 50.0, "c2": 25.0, "c3": 100.0})


def test_one_city_alone(framework, registry):
    data = DATA.filter(pl.col("city_id") == "c1")
    result = score(framework, data, CITIES, Pipeline(), registry)
    # min-max of a single value is 0/0: NaN → missing everywhere, reported, no crash
    assert node_scores(result, "index") == {"c1": None}
    assert "constant_column" not in set(result.warnings["kind"])  # one value is not "constant"


def test_all_missing_indicator_in_a_year(framework, registry):
    result = score(framework, DATA.filter(pl.col("indicator") != "x"), CITIES, Pipeline(), registry)
    assert node_scores(result, "x") == {"c1": None, "c2": None, "c3": None}
    assert node_scores(result, "A") == {"c1": 100.0, "c2": 0.0, "c3": None}


def test_geometric_mean_refuses_zeros(framework, registry):
    with pytest.raises(MethodError, match="geometric aggregation needs"):
        score(framework, DATA, CITIES, Pipeline(aggregate="geometric"), registry)
    # on [1, 100] it works: x → 1, 50.5, 100; y → 100, 1; A(c1) = sqrt(1·100) = 10
    result = score(
        framework, DATA, CITIES, Pipeline(normalise="minmax:1,100", aggregate="geometric"), registry
    )
    assert node_scores(result, "A")["c1"] == pytest.approx(10.0)


def test_pooled_reference_moves_only_with_own_data(framework, registry):
    """A city whose data stand still keeps its score when another city changes (pooled)."""
    y2024 = DATA.with_columns(pl.lit(2024, pl.Int32).alias("year")).with_columns(
        pl.when((pl.col("city_id") == "c2") & (pl.col("indicator") == "x"))
        .then(25.0)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    both = pl.concat([DATA, y2024])
    pooled = score(framework, both, CITIES, Pipeline(reference="pooled"), registry)
    c1 = pooled.scores.filter((pl.col("node") == "index") & (pl.col("city_id") == "c1"))
    assert c1["score"][0] == pytest.approx(c1["score"][1])
    per_year = score(framework, both, CITIES, Pipeline(reference="year"), registry)
    assert node_scores(per_year, "index", 2024)["c2"] != node_scores(per_year, "index", 2023)["c2"]


def test_group_mean_imputation_is_flagged(framework, registry):
    result = score(framework, DATA, CITIES, Pipeline(impute="group-mean:region"), registry)
    # c3 is alone in region S with y missing: nothing to impute from → stays missing
    assert result.imputed.height == 0
    cities = CITIES.with_columns(pl.lit("all").alias("region"))
    result = score(framework, DATA, cities, Pipeline(impute="group-mean:region"), registry)
    assert result.imputed.rows() == [("c3", 2023, "y", 10.0)]  # mean of 5 and 15


def test_bad_method_names_and_parameters(framework, registry):
    with pytest.raises(MethodError, match="did you mean 'minmax'"):
        score(framework, DATA, CITIES, Pipeline(normalise="minmx"), registry)
    with pytest.raises(MethodError, match="must be float"):
        score(framework, DATA, CITIES, Pipeline(normalise="minmax:a,b"), registry)


# --- the order of the steps ---------------------------------------------------------------------


def test_screen_before_impute_drops_what_impute_after_it_would_fill(framework, registry):
    """c3 has 2 of 3 indicators (0.67). Screening at 0.9 first (benchmarkkit's default) drops it;
    COINr's recipe order imputes y first (mean of c1, c2 = 10), so c3 is complete and stays."""
    ours = score(framework, DATA, CITIES, Pipeline(screen=0.9, impute="mean"), registry)
    assert set(node_scores(ours, "index")) == {"c1", "c2"}
    assert ours.imputed.height == 0
    assert ours.warnings.filter(pl.col("kind") == "screened_out")["city_id"].to_list() == ["c3"]
    coinr = Pipeline(
        screen=0.9,
        impute="mean",
        steps=("denominate", "impute", "screen", "treat", "normalise", "aggregate"),
    )
    result = score(framework, DATA, CITIES, coinr, registry)
    assert set(node_scores(result, "index")) == {"c1", "c2", "c3"}
    assert result.imputed.rows() == [("c3", 2023, "y", 10.0)]
    assert result.methods["steps"] == "denominate,impute,screen,treat,normalise,aggregate"
    # y of c3 = 10 → -10 between -15 and -5: 50; A(c3) = (100 + 50) / 2
    assert node_scores(result, "A")["c3"] == pytest.approx(75.0)


def test_a_unit_screened_after_imputation_leaves_the_imputed_log(framework, registry):
    sparse = DATA.filter(~((pl.col("city_id") == "c3") & (pl.col("indicator") == "z")))
    coinr = Pipeline(
        screen=0.9, impute="mean", steps=("impute", "screen", "normalise", "aggregate")
    )
    # z of c3 is imputed (2 = mean of 1 and 3), y too: c3 is complete, nothing dropped
    result = score(framework, sparse, CITIES, coinr, registry)
    assert sorted(result.imputed["indicator"]) == ["y", "z"]
    # with a group mean over a region only c3 is in, nothing fills c3: screened out, no log
    grouped = Pipeline(
        screen=0.9, impute="group-mean:region", steps=("impute", "screen", "normalise", "aggregate")
    )
    result = score(framework, sparse, CITIES, grouped, registry)
    assert "c3" not in set(node_scores(result, "index"))
    assert result.imputed.filter(pl.col("city_id") == "c3").height == 0


def test_treat_may_come_before_impute(framework, registry):
    steps = ("treat", "impute", "normalise", "aggregate")
    result = score(framework, DATA, CITIES, Pipeline(impute="mean", steps=steps), registry)
    assert result.imputed.rows() == [("c3", 2023, "y", 10.0)]
    assert result.treatment.height > 0


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("impute,normalize,aggregate", "unknown step 'normalize' (did you mean 'normalise'?)"),
        ("impute,impute,normalise,aggregate", "step 'impute' is listed twice"),
        ("impute,screen,treat", "the steps lack 'normalise'"),
        ("normalise,aggregate,treat", "must end with normalise, then aggregate"),
        ("impute,denominate,normalise,aggregate", "denominate must be the first step"),
    ],
)
def test_bad_steps_are_one_line_errors(steps, message):
    with pytest.raises(MethodError, match=re.escape(message)):
        Pipeline(steps=tuple(steps.split(",")))


def test_a_step_asked_for_must_be_among_the_steps():
    with pytest.raises(MethodError, match="impute is asked for but is not among the steps"):
        Pipeline(impute="mean", steps=("treat", "normalise", "aggregate"))
    with pytest.raises(MethodError, match="impute is asked for"):
        Pipeline(steps=("normalise", "aggregate")).with_options(impute="mean")
    assert Pipeline(steps=("normalise", "aggregate")).with_options(steps=None).steps == (
        "normalise",
        "aggregate",
    )


def test_toml_framework_sets_the_steps(tmp_path):
    text = FRAMEWORK.replace(
        'name = "toy"',
        'name = "toy"\n[methods]\nsteps = ["impute", "screen", "normalise", "aggregate"]',
    )
    fw = read_toml_framework(write(tmp_path / "toy.toml", text))
    assert fw.pipeline.steps == ("impute", "screen", "normalise", "aggregate")
    bad = text.replace('"screen"', '"scren"')
    with pytest.raises(InputError, match=r"\[methods\]: unknown step 'scren'"):
        read_toml_framework(write(tmp_path / "bad.toml", bad))


def test_imeta_framework_defaults_to_coinrs_recipe_order():
    from benchmarkkit.io.framework import read_imeta
    from benchmarkkit.scorer import COINR_STEPS
    from tests.conftest import FIXTURES

    fw = read_imeta(FIXTURES / "asem" / "iMeta.csv")
    assert (
        fw.pipeline.steps
        == COINR_STEPS
        == (
            "denominate",
            "impute",
            "screen",
            "treat",
            "normalise",
            "aggregate",
        )
    )


def test_per_indicator_cap_from_a_toml_framework(tmp_path, registry):
    """dist2targ reads ``target`` (in the indicator's units, negated for y) and
    ``dist2targ_cap_max`` per indicator: x is capped, y and z are not (COINr's use_iMeta)."""
    text = (
        FRAMEWORK.replace('id = "x"\nparent = "A"', 'id = "x"\nparent = "A"\ntarget = 20\n'
                          "dist2targ_cap_max = true")
        .replace('id = "y"\nparent = "A"', 'id = "y"\nparent = "A"\ntarget = 10')
        .replace('id = "z"\nparent = "B"', 'id = "z"\nparent = "B"\ntarget = 2')
    )  # fmt: skip
    fw = read_toml_framework(write(tmp_path / "capped.toml", text))
    result = score(fw, DATA, CITIES, Pipeline(normalise="dist2targ"), registry)
    assert node_scores(result, "x") == {"c1": 0.0, "c2": 1.0, "c3": 1.0}  # (30-10)/(20-10) → 1
    # y: x' = -y = -5, -15; min -15; target -10: (-5+15)/(-10+15) = 2, uncapped
    assert node_scores(result, "y") == {"c1": 2.0, "c2": 0.0, "c3": None}
    assert node_scores(result, "z") == {"c1": 0.0, "c2": 2.0, "c3": 1.0}
    capped = score(fw, DATA, CITIES, Pipeline(normalise="dist2targ:cap_max=true"), registry)
    assert node_scores(capped, "z")["c2"] == 1.0  # where the column is empty, the option decides


# --- ties that are ties (issue 14) --------------------------------------------------------------

LEADERS = """
name = "leaders"
[[node]]
id = "index"
[[node]]
id = "G"
parent = "index"
[[node]]
id = "H"
parent = "index"
[[indicator]]
id = "p"
parent = "G"
direction = 1
[[indicator]]
id = "q"
parent = "G"
direction = 1
[[indicator]]
id = "r"
parent = "H"
direction = 1
"""


def test_cities_level_at_the_top_share_rank_1(tmp_path, registry):
    """c3, c4 and c5 have the best value of every indicator of G: each scores exactly 100 (a
    reciprocal-multiplied division gave 99.99999999999999) and all three rank 1st; c2, next,
    ranks 4th. The values are issue 14's own examples."""
    fw = read_toml_framework(write(tmp_path / "leaders.toml", LEADERS))
    p = [22.88, 106.595, 190.31, 190.31, 190.31]
    q = [0.3, 0.7, 2.3, 2.3, 2.3]
    r = [1.0, 2.0, 3.0, 4.0, 5.0]
    data = obs(
        [
            (f"c{k + 1}", 2023, name, values[k])
            for name, values in (("p", p), ("q", q), ("r", r))
            for k in range(5)
        ]
    )
    result = score(fw, data, CITIES, Pipeline(), registry)
    g = result.scores.filter(pl.col("node") == "G").sort("city_id")
    assert g["score"].to_list() == [0.0, (50.0 + 20.0) / 2, 100.0, 100.0, 100.0]
    assert g["rank"].to_list() == [5, 4, 1, 1, 1]
    p_scores = result.scores.filter(pl.col("node") == "p").sort("city_id")["score"].to_list()
    assert p_scores == [0.0, 50.0, 100.0, 100.0, 100.0]


def test_scores_within_the_tolerance_share_a_rank():
    from benchmarkkit.engine.assemble import RANK_TOLERANCE, tolerant_rank

    assert RANK_TOLERANCE == 1e-12
    frame = pl.DataFrame(
        {
            "_rk": [0] * 6,
            "score": [100.0, 99.99999999999999, 100.00000000000001, 99.9999, None, 0.0],
        }
    )
    assert tolerant_rank(frame).to_list() == [1, 1, 1, 4, None, 5]
