"""The statistical audit equals COINr 1.1.14's on its ASEM example (min-max 0–100, arithmetic
mean, no imputation, no treatment) to 1e-9 relative.

The reference numbers are COINr's own output, made by ``scripts/coinr_audit.R`` and committed in
tests/fixtures/coinr_audit/ (see SOURCE.md there); R is never needed here.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from benchmarkkit.analysis import audit as au
from benchmarkkit.io.framework import read_imeta
from tests.conftest import FIXTURES

ASEM = FIXTURES / "asem"
COINR = FIXTURES / "coinr_audit"
REL = 1e-9
NULL_SPACE = 1e-20


def load_asem() -> tuple:
    """COINr's ASEM iData/iMeta as benchmarkkit's observations, cities and framework."""
    framework = read_imeta(ASEM / "iMeta.csv")
    data = pl.read_csv(ASEM / "iData.csv", infer_schema_length=None)
    leaves = framework.nodes.filter(pl.col("level") == 1)["node"].to_list()
    observations = data.unpivot(leaves, index="uCode", variable_name="indicator").select(
        pl.col("uCode").alias("city_id"),
        pl.lit(0, pl.Int32).alias("year"),
        "indicator",
        pl.col("value").cast(pl.Float64),
    )
    cities = data.select(pl.col("uCode").alias("city_id"), "EurAsia_group")
    return framework, observations, cities


@pytest.fixture(scope="module")
def result(registry):
    framework, observations, cities = load_asem()
    return au.audit(framework, observations, cities, framework.pipeline, registry)


def coinr(name: str) -> pl.DataFrame:
    return pl.read_csv(COINR / name, infer_schema_length=None)


def close(got: float | None, want: float | None, rel: float = REL) -> bool:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None or math.isnan(got)
    return got is not None and got == pytest.approx(want, rel=rel, abs=1e-300)


def assert_columns_close(got: pl.DataFrame, want: pl.DataFrame, pairs: dict[str, str]) -> None:
    assert got.height == want.height
    for mine, theirs in pairs.items():
        bad = [
            (row, a, b)
            for row, (a, b) in enumerate(zip(got[mine], want[theirs], strict=True))
            if not close(a, b)
        ]
        assert not bad, (mine, bad[:5])


STATS = {
    "min": "Min",
    "max": "Max",
    "mean": "Mean",
    "median": "Median",
    "sd": "Std",
    "skew": "Skew",
    "kurtosis": "Kurt",
    "n_available": "N.Avail",
    "n_nonzero": "N.NonZero",
    "n_unique": "N.Unique",
    "n_same": "N.Same",
    "frc_available": "Frc.Avail",
    "frc_nonzero": "Frc.NonZero",
    "frc_unique": "Frc.Unique",
    "frc_same": "Frc.Same",
}
FLAGS = {
    "flag_available": "Flag.Avail",
    "flag_nonzero": "Flag.NonZero",
    "flag_unique": "Flag.Unique",
    "flag_skew_kurtosis": "Flag.SkewKurt",
}


@pytest.mark.parametrize(
    ("stage", "file"), [("raw", "stats_raw.csv"), ("scored", "stats_scored.csv")]
)
def test_stats_equal_get_stats(result, stage, file):
    want = coinr(file)
    got = result.stats.filter(pl.col("stage") == stage)
    got = want.select(pl.col("iCode").alias("node")).join(
        got, on="node", how="left", maintain_order="left"
    )
    assert_columns_close(got, want, STATS)
    for mine, theirs in FLAGS.items():
        assert got[mine].to_list() == want[theirs].str.to_lowercase().to_list(), mine
    assert "out" in got["flag_skew_kurtosis"].to_list()


def test_correlations_with_the_parent_equal_get_corr(result):
    want = coinr("corr_parent.csv").sort("method", "node_b")
    got = result.correlations.filter(pl.col("stage") == "scored", pl.col("relation") == "parent")
    got = want.select("method", pl.col("node_b").alias("node_a"), pl.col("node_a").alias("node_b"))
    got = got.join(
        result.correlations.filter(pl.col("stage") == "scored", pl.col("relation") == "parent"),
        on=["method", "node_a", "node_b"],
        how="left",
        maintain_order="left",
    )
    assert_columns_close(got, want, {"r": "r"})
    # every parent link of the tree, both methods, and nothing else
    assert got.height == 2 * (result.effective_weights.height - 1)


@pytest.mark.parametrize("stage", ["raw", "scored"])
def test_sibling_correlations_equal_get_corr_within_groups(result, stage):
    want = (
        coinr("corr_siblings.csv")
        .filter(pl.col("stage") == stage, pl.col("node_a") < pl.col("node_b"))
        .sort("method", "node_a", "node_b")
    )
    mine = result.correlations.filter(pl.col("stage") == stage, pl.col("relation") == "sibling")
    assert mine.height == want.height
    got = want.select("method", "node_a", "node_b").join(
        mine, on=["method", "node_a", "node_b"], how="left", maintain_order="left"
    )
    assert_columns_close(got, want, {"r": "r"})


def test_p_values_and_n_equal_cor_test(result):
    """R's cor.test through COINr's get_pvals: the t test (Pearson), AS 89 (Spearman without
    ties) and the t approximation (Spearman with ties) all occur in ASEM."""
    want = coinr("corr_pvalues.csv")
    mine = result.correlations.select(
        "stage",
        "method",
        pl.min_horizontal("node_a", "node_b").alias("_a"),
        pl.max_horizontal("node_a", "node_b").alias("_b"),
        "p_value",
        "n",
    ).unique()
    want = want.with_columns(
        pl.min_horizontal("node_a", "node_b").alias("_a"),
        pl.max_horizontal("node_a", "node_b").alias("_b"),
    ).unique(["stage", "method", "_a", "_b"])
    got = want.select("stage", "method", "_a", "_b").join(
        mine, on=["stage", "method", "_a", "_b"], how="left", maintain_order="left"
    )
    assert got["n"].to_list() == want["n"].to_list()
    assert_columns_close(got, want, {"p_value": "p_value"})
    assert got["p_value"].min() < 1e-10  # the tails are checked too, not only p near 1


def test_cronbach_equals_get_cronbach(result):
    want = coinr("cronbach.csv").sort("group", "level")
    got = want.select("group", pl.col("level").cast(pl.Int32)).join(
        result.cronbach.filter(pl.col("stage") == "scored"),
        on=["group", "level"],
        how="left",
        maintain_order="left",
    )
    assert got["k"].to_list() == want["k"].to_list()
    assert_columns_close(got, want, {"alpha": "alpha"})
    assert result.cronbach.filter(pl.col("stage") == "scored").height == want.height


def test_pca_equals_prcomp_on_complete_rows(result):
    want = coinr("pca.csv")
    keys = ["group", "level", "component"]
    got = (
        want.select(*keys)
        .with_columns(pl.col("level").cast(pl.Int32))
        .join(
            result.pca.filter(pl.col("stage") == "scored"),
            on=keys,
            how="left",
            maintain_order="left",
        )
    )
    assert got["n_rows"].to_list() == want["n_rows"].to_list()
    # a group with fewer complete rows than members (Index over its 49 indicators: 31 rows) has
    # components beyond the data's rank whose variance is rounding noise (1e-29 in R, 1e-29
    # here): those are equal to zero, the others to 1e-9 relative
    null = want["variance"] < NULL_SPACE
    assert null.sum() == 1
    assert (got["variance"].filter(null) < NULL_SPACE).all()
    assert_columns_close(got.filter(~null), want.filter(~null), {"variance": "variance"})
    share = want.with_columns(pl.col("variance") / pl.col("variance").sum().over("group", "level"))
    assert_columns_close(got.filter(~null), share.filter(~null), {"variance_share": "variance"})


def test_pca_loadings_equal_prcomp_rotation_up_to_the_documented_sign(result):
    want = coinr("pca_loadings.csv").with_columns(pl.col("level").cast(pl.Int32))
    # prcomp's signs are LAPACK's choice: give R's the documented convention (largest loading
    # positive, the first node by name on a tie within 1e-9) before comparing
    key = ["group", "level", "component"]
    size = pl.col("loading").abs()
    first_big = pl.col("loading").filter(size >= size.max() - 1e-9).first()
    want = want.sort(*key, "node").with_columns(
        (pl.col("loading") * first_big.sign()).over(key).alias("loading")
    )
    got = want.select(*key, "node").join(
        result.pca_loadings.filter(pl.col("stage") == "scored"),
        on=[*key, "node"],
        how="left",
        maintain_order="left",
    )
    # a null-space component (variance ~1e-29, see above) has no defined direction
    null = (
        coinr("pca.csv")
        .filter(pl.col("variance") < NULL_SPACE)
        .select("group", pl.col("level").cast(pl.Int32), "component")
    )
    got = got.join(null, on=key, how="anti", maintain_order="left")
    want = want.join(null, on=key, how="anti", maintain_order="left")
    assert_columns_close(got, want, {"loading": "loading"})


def test_effective_weights_equal_get_eff_weights(result):
    want = coinr("eff_weights.csv")
    got = want.select(pl.col("iCode").alias("node")).join(
        result.effective_weights, on="node", how="left", maintain_order="left"
    )
    assert got["level"].to_list() == want["Level"].to_list()
    assert_columns_close(got, want, {"weight": "Weight", "effective_weight": "EffWeight"})


def test_small_spearman_p_values_are_exact_enumeration():
    """n ≤ 9 without ties: the exact permutation distribution (R: cor.test(1:5, c(2,1,4,3,5),
    method = "spearman")$p.value = 0.1333… = 16/120)."""
    values = pl.DataFrame(
        {
            "node": ["a"] * 5 + ["b"] * 5,
            "city_id": list("vwxyz") * 2,
            "value": [1.0, 2, 3, 4, 5, 2, 1, 4, 3, 5],
        }
    )
    pairs = pl.DataFrame({"node_a": ["a"], "node_b": ["b"]})
    got = au.correlations(values, pairs).filter(pl.col("method") == "spearman")
    assert got["r"][0] == pytest.approx(0.8)
    assert got["p_value"][0] == pytest.approx(16 / 120, rel=1e-12)


def test_audit_refuses_a_year_without_data(registry):
    from benchmarkkit.errors import InputError

    framework, observations, cities = load_asem()
    with pytest.raises(InputError, match="no observations of iMeta's indicators in 2031"):
        au.audit(framework, observations, cities, framework.pipeline, registry, year=2031)


def test_stats_work_in_one_pass_on_many_nodes():
    """Vectorised: 2,000 nodes × 50 units are one grouped pass (no Python loop over nodes)."""
    rng = np.random.default_rng(1)
    values = pl.DataFrame(
        {
            "node": np.repeat([f"n{i}" for i in range(2000)], 50),
            "city_id": np.tile([f"c{j}" for j in range(50)], 2000),
            "value": rng.normal(size=100_000),
        }
    )
    out = au.stats(values)
    assert out.height == 2000 and out["n_available"].min() == 50


def test_cronbach_of_members_that_never_vary_is_undefined_not_a_crash():
    """Two indicators at 50 and 40 in every city: every covariance is 0, so alpha is 0 / 0
    (COINr: NaN). The audit says "undefined" (null) for that group and still computes the
    others; it once raised ZeroDivisionError (exit 3)."""
    values = pl.DataFrame(
        {
            "node": ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["d"] * 3,
            "city_id": list("xyz") * 4,
            "value": [50.0] * 3 + [40.0] * 3 + [1.0, 2.0, 3.0, 1.0, 3.0, 2.0],
        }
    )
    members = pl.DataFrame(
        {"group": ["flat", "flat", "g", "g"], "level": [1] * 4, "node": ["a", "b", "c", "d"]}
    )
    alpha = dict(au.cronbach(values, members).select("group", "alpha").iter_rows())
    assert alpha == {"flat": None, "g": pytest.approx(2 / 3)}


def test_warnings_name_what_the_methodology_section_lists(result):
    w = au.audit_warnings(result)
    assert w.columns == list(au.WARNINGS)
    alpha = result.cronbach.filter(
        pl.col("stage") == "scored", pl.col("group") == "Physical", pl.col("level") == 1
    )["alpha"][0]
    assert alpha > 0.7  # COINr: 0.738…
    low = w.filter(pl.col("kind") == "low_alpha")
    assert "Physical" not in low["group"].to_list()
    assert (
        low.height
        == result.cronbach.filter(
            pl.col("stage") == "scored",
            pl.col("alpha") < 0.7,
            pl.col("level") + 1
            == pl.col("group").replace_strict(
                dict(result.effective_weights.select("node", "level").iter_rows()), default=None
            ),
        ).height
    )
    out = w.filter(pl.col("kind") == "skew_kurtosis")["node"].to_list()
    assert "Flights" in out  # COINr's Flag.SkewKurt is "OUT" for Flights
    assert (w["message"].str.len_chars() > 0).all()
