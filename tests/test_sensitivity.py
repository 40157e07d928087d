"""Uncertainty and Sobol sensitivity analysis: intervals worked out by hand, SALib's estimators
on a function with known indices, determinism, failures as data, one-line errors."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from benchmarkkit.analysis import sensitivity as sa
from benchmarkkit.errors import InputError, MethodError
from benchmarkkit.scorer import FRAMEWORK_NODES, Framework, Pipeline
from tests.test_audit import load_asem


def framework(rows: list[tuple[str, int, str | None, float]]) -> Framework:
    """A framework from (node, level, parent, weight) rows; other columns empty."""
    nodes = pl.DataFrame(
        {
            "node": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "parent": [r[2] for r in rows],
            "weight": [r[3] for r in rows],
            "direction": [1 if r[1] == 1 else None for r in rows],
        }
    )
    schema = {name: getattr(pl, dtype) for name, dtype in FRAMEWORK_NODES.items()}
    nodes = nodes.with_columns(
        pl.lit(None, schema[name]).alias(name) for name in schema if name not in nodes.columns
    )
    return Framework(name="hand", nodes=nodes.select(list(schema)).cast(schema))


def observations(values: dict[str, dict[str, float]]) -> pl.DataFrame:
    """{indicator: {city: value}} as long observations in year 2024."""
    return pl.DataFrame(
        [
            {"city_id": city, "year": 2024, "indicator": ind, "value": v}
            for ind, per_city in values.items()
            for city, v in per_city.items()
        ],
        schema={
            "city_id": pl.String,
            "year": pl.Int32,
            "indicator": pl.String,
            "value": pl.Float64,
        },
    )


# Two indicators, three cities. Min-max 0–100 makes x = (A 100, B 0, C 50), y = (A 0, B 100,
# C 40). With x's weight w and y's weight 1 the index is
#   A = 100w / (1 + w),  B = 100 / (1 + w),  C = (50w + 40) / (1 + w).
# For w in [0, 1): B leads (B > C needs w < 1.2); A passes C exactly when 100w > 50w + 40, i.e.
# w > 0.8. Nominal w = 0.5: B 1st, C 2nd, A 3rd.
HAND = framework([("I", 2, None, 1.0), ("x", 1, "I", 0.5), ("y", 1, "I", 1.0)])
HAND_DATA = observations({"x": {"A": 10, "B": 0, "C": 5}, "y": {"A": 0, "B": 10, "C": 4}})
CITIES = pl.DataFrame({"city_id": ["A", "B", "C"], "size": ["s", "s", "l"]})


def run(vary, fw=HAND, data=HAND_DATA, registry=None, **kw):
    return sa.sensitivity(fw, data, CITIES, Pipeline(), registry, vary, **kw)


def test_hand_worked_weight_over_zero_to_one(registry):
    """weights:1@x multiplies x's weight 0.5 by U(0, 2): w ~ U(0, 1). A is 2nd when w > 0.8
    (probability 0.2), else 3rd; C the other way round; B always 1st."""
    res = run(["weights:1@x"], registry=registry, samples=2000, seed=7)
    ranks = {r["city_id"]: r for r in res.ranks.iter_rows(named=True)}
    assert [ranks[c]["nominal_rank"] for c in "ABC"] == [3, 1, 2]
    assert [(ranks["A"][k], ranks["C"][k]) for k in ("rank_p05", "rank_median", "rank_p95")] == [
        (2, 2),
        (3, 2),
        (3, 3),
    ]
    assert (ranks["B"]["rank_p05"], ranks["B"]["rank_p95"]) == (1, 1)
    assert ranks["B"]["mean_abs_rank_shift"] == 0
    # P(w > 0.8) = 0.2; the estimate's sd is sqrt(0.16 / 2000) = 0.009
    for city in "AC":
        assert ranks[city]["mean_abs_rank_shift"] == pytest.approx(0.2, abs=0.03)
    # A's score 100w/(1+w) is increasing in w: its quantiles are those of w (0.05, 0.5, 0.95)
    score_a = res.scores.filter(pl.col("city_id") == "A").row(0, named=True)
    assert score_a["nominal_score"] == pytest.approx(100 / 3)
    a = [100 * w / (1 + w) for w in (0.05, 0.5, 0.95)]
    got = [score_a[k] for k in ("score_p05", "score_median", "score_p95")]
    assert got == pytest.approx(a, abs=1.0)
    assert res.n_failed == 0 and res.n_samples == 2000
    assert res.design["weight:x"].min() >= 0 and res.design["weight:x"].max() <= 2


def test_nothing_varied_gives_zero_width_intervals_at_the_nominal_ranks(registry):
    """Imputation choices on complete data change nothing: every interval is the nominal."""
    res = run(["impute:none,mean"], registry=registry, samples=50, seed=1)
    assert set(res.design["impute"]) == {"none", "mean"}
    r = res.ranks
    assert (r["rank_p05"] == r["nominal_rank"]).all()
    assert (r["rank_p95"] == r["nominal_rank"]).all()
    assert (r["rank_median"] == r["nominal_rank"]).all()
    assert (r["mean_abs_rank_shift"] == 0).all()
    s = res.scores
    assert (s["score_p05"] == s["nominal_score"]).all() and (
        s["score_p95"] == s["nominal_score"]
    ).all()


def test_sobol_of_an_input_that_moves_nothing_is_null(registry):
    res = run(["impute:none,mean"], registry=registry, samples=16, method="sobol")
    assert res.sobol.height == 1 and res.sobol["s1"].is_null().all()
    assert res.sobol["st"].is_null().all()


def test_drop_indicator_leaves_each_one_out(registry):
    res = run(["drop-indicator"], registry=registry, samples=30, seed=3)
    assert set(res.design["drop-indicator"]) == {"none", "x", "y"}
    # without x the index is y's score: A 0, B 100, C 40 → A is last in every case but "drop y"
    a = res.ranks.filter(pl.col("city_id") == "A").row(0, named=True)
    assert a["rank_p05"] == 1 and a["rank_p95"] == 3  # dropping y puts A first (x = 100)


def test_failing_samples_are_counted_and_reported_not_dropped(registry):
    """A geometric mean meets min-max zeros: those samples fail, the others are summarised."""
    res = run(["aggregate:arithmetic,geometric"], registry=registry, samples=40, seed=2)
    geometric = res.design.filter(pl.col("aggregate") == "geometric")
    assert 0 < res.n_failed == geometric.height < 40
    assert res.failures["sample"].to_list() == geometric["sample"].to_list()
    assert res.failures["message"].str.contains("geometric").all()
    # the engine's message names the nodes as the user knows them, not the batch's tree copies
    assert not res.failures["message"].str.contains(r"\x1f|\\x1f").any()
    assert res.failures["message"].str.contains("'I'").all()
    assert (res.design["ok"] == (res.design["aggregate"] == "arithmetic")).all()
    assert (res.ranks["n_samples"] == 40 - res.n_failed).all()
    with pytest.raises(MethodError, match=r"Sobol runs failed"):
        run(["aggregate:arithmetic,geometric"], registry=registry, samples=16, method="sobol")


def test_every_sample_failing_is_an_error(registry):
    with pytest.raises(MethodError, match="all 5 samples failed"):
        run(["aggregate:geometric,harmonic"], registry=registry, samples=5)


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_estimator_path_recovers_ishigami_indices():
    """Analytic indices of the Ishigami function (a = 7, b = 0.1) lie within SALib's bootstrap
    confidence intervals, through the same design and estimator functions the analysis uses."""
    a, b, pi = 7.0, 0.1, math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    s1 = [v1 / v, v2 / v, 0.0]
    st = [(v1 + v13) / v, v2 / v, v13 / v]
    prob = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-pi, pi]] * 3}
    x = sa.sobol_design(prob, 1024, seed=11)
    assert x.shape == (1024 * 5, 3)
    out = sa.sobol_indices(prob, pl.DataFrame({"y": ishigami(x)}), seed=11)
    assert out["input"].to_list() == ["x1", "x2", "x3"]
    for i in range(3):
        row = out.row(i, named=True)
        assert abs(row["s1"] - s1[i]) <= row["s1_conf"], (i, row, s1[i])
        assert abs(row["st"] - st[i]) <= row["st_conf"], (i, row, st[i])


def test_sobol_on_asem_reports_every_input_and_node(registry):
    fw, obs, cities = load_asem()
    res = sa.sensitivity(
        fw,
        obs,
        cities,
        fw.pipeline,
        registry,
        ["weights:0.25@2", "normalise:minmax,rank"],
        method="sobol",
        samples=16,
        seed=5,
        levels=[4],
    )
    assert res.n_samples == 16 * 4 and res.n_failed == 0
    assert res.sobol.columns == list(sa.SOBOL)
    assert res.sobol["input"].to_list() == ["weights", "normalise"]
    assert res.sobol["node"].to_list() == ["Index", "Index"]
    assert res.ranks.height == 51


def test_same_seed_same_results_other_seed_other_design(registry):
    fw, obs, cities = load_asem()
    vary = ["weights:0.25", "normalise:minmax,zscore", "impute:none,group-mean:EurAsia_group"]

    def go(seed: int) -> sa.Sensitivity:
        return sa.sensitivity(
            fw, obs, cities, fw.pipeline, registry, vary, samples=24, seed=seed, levels=[2, 4]
        )

    one, two, other = go(3), go(3), go(4)
    assert one.design.equals(two.design) and not one.design.equals(other.design)
    assert one.ranks.equals(two.ranks) and one.failures.equals(two.failures)
    same_scores(one, two)
    # batching is invisible: one sample per engine call gives the same numbers
    small = sa.sensitivity(
        fw,
        obs,
        cities,
        fw.pipeline,
        registry,
        vary,
        samples=24,
        seed=3,
        levels=[2, 4],
        batch_cells=1,
    )
    assert small.engine_calls > one.engine_calls
    assert small.ranks.equals(one.ranks)
    same_scores(small, one)


def same_scores(a: sa.Sensitivity, b: sa.Sensitivity) -> None:
    """Equal to the last bits: the engine's own aggregation is not bit-reproducible from run to
    run (differences of one unit in the last place at levels 2+, seen in repeated ``score``
    calls on ASEM), so scores are compared to 1e-12 and ranks exactly."""
    assert a.scores.select("city_id", "node").equals(b.scores.select("city_id", "node"))
    for column in ("nominal_score", "score_p05", "score_median", "score_p95"):
        assert a.scores[column].to_list() == pytest.approx(b.scores[column].to_list(), rel=1e-12)
    shift = "mean_abs_score_shift"
    assert a.scores[shift].to_list() == pytest.approx(b.scores[shift].to_list(), abs=1e-9)


def test_every_sample_is_the_full_score_of_its_settings(registry):
    """A sample's rows equal ``score`` run on its own: its methods, its weights, its indicator
    left out — the batching (tree copies over one encoding) changes nothing."""
    from benchmarkkit.engine.score import score

    fw, obs, cities = load_asem()
    vary = ["weights:0.5@2", "normalise:minmax,zscore", "drop-indicator", "impute:none,mean"]
    res = sa.sensitivity(fw, obs, cities, fw.pipeline, registry, vary, samples=12, seed=8)
    for row in res.design.head(4).iter_rows(named=True):
        factors = {k.removeprefix("weight:"): v for k, v in row.items() if k.startswith("weight:")}
        nodes = fw.nodes.filter(pl.col("node") != row["drop-indicator"]).with_columns(
            pl.col("weight") * pl.col("node").replace_strict(factors, default=1.0)
        )
        pipeline = fw.pipeline.with_options(normalise=row["normalise"], impute=row["impute"])
        alone = score(
            fw.__class__(fw.name, nodes), obs, cities, pipeline, registry, levels=[2, 3, 4]
        )
        want = alone.scores.filter(pl.col("level") >= 2).sort("node", "city_id")
        got = res.runs.filter(pl.col("sample") == row["sample"]).sort("node", "city_id")
        assert got["node"].to_list() == want["node"].to_list()
        assert got["rank"].to_list() == want["rank"].cast(pl.Int64).to_list()
        assert got["score"].to_list() == pytest.approx(want["score"].to_list(), rel=1e-12)


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("wieghts:0.2", InputError, "did you mean 'weights'"),
        ("weights:abc", InputError, "noise must be a number from 0 to 1"),
        ("weights:0.2@7", InputError, "no weights at level 7"),
        ("weights:0.2@z", InputError, "no node 'z' with a weight"),
        ("normalise:minmax,zscroe", MethodError, "did you mean 'zscore'"),
        ("normalise:", InputError, "lists no choices"),
        ("drop-indicator:q", InputError, "'q' is not an indicator"),
        ("normalise:minmax", InputError, "nothing to vary"),
        ("weights:0", InputError, "nothing to vary"),
    ],
)
def test_bad_specs_are_one_line_errors_with_a_hint(registry, spec, error, message):
    with pytest.raises(error, match=message) as info:
        sa.parse_vary([spec], HAND, registry)
    assert "\n" not in str(info.value) and info.value.hint


def test_choices_with_parameters_and_explicit_separators(registry):
    (norm,) = sa.parse_vary(["normalise:minmax:1,100,zscore:10,2,rank"], HAND, registry)
    assert norm.choices == ("minmax:1,100", "zscore:10,2", "rank")
    (imp,) = sa.parse_vary(["impute:none|group-mean:size|mean"], HAND, registry)
    assert imp.choices == ("none", "group-mean:size", "mean")
    (w,) = sa.parse_vary(["weights:0.25@1"], HAND, registry)
    assert w.nodes == ("x", "y") and w.factors == ("weight:x", "weight:y")


def test_other_refusals(registry, monkeypatch):
    with pytest.raises(InputError, match="nothing to vary"):
        sa.parse_vary([], HAND, registry)
    with pytest.raises(InputError, match="given 2 times"):
        sa.parse_vary(["treat:none,jrc", "treat:jrc,none"], HAND, registry)
    with pytest.raises(InputError, match=r"too few for Sobol.*at least 16"):
        run(["weights:0.5"], registry=registry, method="sobol", samples=8)
    with pytest.raises(InputError, match="not a power of 2") as info:
        run(["weights:0.5"], registry=registry, method="sobol", samples=100)
    assert "use 64 or 128" in str(info.value)
    with pytest.raises(InputError, match="no observations of hand's indicators in 1999"):
        run(["weights:0.5"], registry=registry, year=1999)
    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    with pytest.raises(InputError, match=r"pip install 'benchmarkkit\[ray\]'"):
        run(["weights:0.5"], registry=registry, samples=4, executor="ray")


@pytest.mark.slow
def test_ray_executor_gives_the_same_results_as_local(registry):
    ray = pytest.importorskip("ray")
    fw, obs, cities = load_asem()
    vary = ["weights:0.25@2", "normalise:minmax,zscore"]
    kw = {"samples": 20, "seed": 9, "levels": [4]}
    local = sa.sensitivity(fw, obs, cities, fw.pipeline, registry, vary, **kw)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = sa.sensitivity(fw, obs, cities, fw.pipeline, registry, vary, executor="ray", **kw)
    finally:
        ray.shutdown()
    for name in ("design", "ranks", "failures"):
        assert getattr(local, name).equals(getattr(remote, name)), name
    same_scores(local, remote)


def test_input_effects_name_the_input_that_moves_the_ranks(registry):
    """The hand case: x's weight decides the order (A and C swap when w > 0.8, a decile edge),
    imputation on complete data changes nothing."""
    res = run(["weights:1@x", "impute:none,mean"], registry=registry, samples=400, seed=4)
    effects = sa.input_effects(res)
    assert effects.columns == list(sa.EFFECTS)
    assert effects["input"].to_list() == ["weights", "impute"]  # largest first
    by_input = dict(zip(effects["input"], effects["effect"], strict=True))
    assert by_input["weights"] > 0.8 and by_input["impute"] == 0
