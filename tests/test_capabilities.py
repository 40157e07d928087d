"""Capabilities, not identities: every fast path the engine takes is chosen from a declaration on
the method, and gives the same scores as the generic path.

The undeclared twins come from a real one-file plugin loaded by the registry (as a third party's
would): ``plain_mean`` is the built-in arithmetic mean without ``weighted_mean`` (so the engine
evaluates its expression in a ``group_by``), ``jrc_keys``/``none_keys`` are the built-in treatments
without ``lean`` (so they get the full frame with string keys), and ``my_mean`` is a third party's
own weighted mean that *declares* ``weighted_mean`` and so gets the dense path. Hypothesis draws
small panels — missing and NaN values, outliers that make the JRC rule winsorise, null weights
that send the declared mean down the flat ``group_by`` path — and the scores must agree.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarkkit.engine.score import score
from benchmarkkit.errors import MethodError
from benchmarkkit.io.framework import NODE_SCHEMA
from benchmarkkit.plugins import build_registry
from benchmarkkit.scorer import Framework, Pipeline

PLUGIN = '''\
"""Undeclared twins of built-in methods, and a third party's declared weighted mean."""
from dataclasses import replace

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.methods.aggregate import AGGREGATORS
from benchmarkkit.methods.spec import Aggregator, IndicatorParam, Normaliser
from benchmarkkit.methods.treat import TREATMENTS


def my_mean(x, w, params):
    ok = x.is_not_null() & x.is_not_nan()
    w, x = w.filter(ok), x.filter(ok)
    return pl.when(ok.any()).then((w / (w * 0.0 + w.sum()) * x).sum())


def dist2goal(x, params):
    x = x.fill_nan(None)
    return (x - x.min()) / (pl.col("goal") - x.min())


@hookimpl
def register_aggregators(register):
    arithmetic = next(a for a in AGGREGATORS if a.name == "arithmetic")
    register(replace(arithmetic, name="plain_mean", weighted_mean=False))
    register(Aggregator("my_mean", my_mean, weighted_mean=True))
    register(Aggregator("my_positive_mean", my_mean, domain="positive"))


@hookimpl
def register_treatments(register):
    for treatment in TREATMENTS:
        register(replace(treatment, name=treatment.name + "_keys", lean=False))


@hookimpl
def register_normalisers(register):
    register(
        Normaliser(
            "dist2goal", dist2goal, indicator_params=(IndicatorParam("goal", units="indicator"),)
        )
    )
'''

INDICATORS = ("i1", "i2", "i3", "i4", "i5")
PARENT = {"i1": "A", "i2": "A", "i3": "A", "i4": "B", "i5": "B"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("plugins") / "twins.py"
    path.write_text(PLUGIN, encoding="utf-8")
    registry = build_registry(plugin_files=[path])
    assert not registry.problems, registry.problems
    return registry


def framework(weights: dict[str, float | None], directions: dict[str, int]) -> Framework:
    rows = [{"node": "X", "level": 3, "weight": 1.0}]
    rows += [{"node": a, "level": 2, "parent": "X", "weight": weights.get(a, 1.0)} for a in "AB"]
    rows += [
        {
            "node": i,
            "level": 1,
            "parent": PARENT[i],
            "weight": weights.get(i, 1.0),
            "direction": directions.get(i, 1),
            "target": 50.0,
        }
        for i in INDICATORS
    ]
    nodes = pl.DataFrame(rows, schema=NODE_SCHEMA).with_columns(
        pl.col("name").fill_null(pl.col("node")), (pl.col("target") * 1).alias("goal")
    )
    return Framework("twin", nodes)


values = st.one_of(
    st.none(),
    st.just(math.nan),
    st.floats(-100, 100, allow_nan=False),
    st.sampled_from([1e6, -1e6, 0.0, 1.0]),  # outliers and ties: the JRC rule winsorises
)


@st.composite
def panels(draw: st.DrawFn) -> tuple[Framework, pl.DataFrame, pl.DataFrame]:
    n_cities = draw(st.integers(2, 9))
    years = draw(st.sampled_from([[2023], [2022, 2023]]))
    rows = [
        (f"c{c}", y, i, draw(values)) for c in range(n_cities) for y in years for i in INDICATORS
    ]
    weight = st.one_of(st.sampled_from([1.0, 2.0, 0.5, 1 / 3]), st.floats(0.1, 5))
    weights = {n: draw(st.one_of(st.none(), weight) if n == "i2" else weight) for n in PARENT}
    weights |= {a: draw(weight) for a in "AB"}
    directions = {i: draw(st.sampled_from([1, -1])) for i in INDICATORS}
    obs = pl.DataFrame(
        rows, schema={"city_id": pl.String, "year": pl.Int32, "indicator": pl.String,
                      "value": pl.Float64},
        orient="row",
    )  # fmt: skip
    cities = pl.DataFrame({"city_id": [f"c{c}" for c in range(n_cities)]})
    return framework(weights, directions), obs, cities


def scores(fw: Framework, obs: pl.DataFrame, cities: pl.DataFrame, registry, **methods: str):
    return score(fw, obs, cities, Pipeline(**methods), registry).scores


def same_scores(a: pl.DataFrame, b: pl.DataFrame) -> None:
    """Same rows, counts and coverage; scores equal to the last few bits.

    Not bit for bit: the dense path adds each parent's children left to right
    (``sum_horizontal``, as ``Series.sum`` does), while Polars' ``group_by(...).agg(sum)`` adds
    them otherwise: on three random floats it differs from the left fold in 1 case of 8, by one
    rounding (seen: 1 ulp on 16.5). Both keep COINr's order of operations,
    ``sum(w / sum(w) * x)``, and both agree with COINr to 1e-12 (``test_coinr.py``). Ranks are
    left out: a one-ulp difference may break a tie the other way.
    """
    keys = ["city_id", "year", "scorer", "node", "level", "n_present", "n_children", "coverage"]
    assert a.select(keys).equals(b.select(keys), null_equal=True)
    x, y = a["score"], b["score"]
    assert (x.is_null() == y.is_null()).all()
    assert (x.is_nan() == y.is_nan()).fill_null(True).all()
    ok = x.is_not_null() & ~x.is_nan()
    for u, v in zip(x.filter(ok), y.filter(ok), strict=True):
        assert u == pytest.approx(v, rel=1e-13, abs=1e-12)


SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(panels())
def test_dense_weighted_mean_equals_the_generic_expression(registry, panel):
    fw, obs, cities = panel
    fast = scores(fw, obs, cities, registry, aggregate="arithmetic")
    generic = scores(fw, obs, cities, registry, aggregate="plain_mean")
    same_scores(fast, generic)


@SETTINGS
@given(panels())
def test_a_third_party_declaring_weighted_mean_gets_the_same_bits(registry, panel):
    fw, obs, cities = panel
    declared = scores(fw, obs, cities, registry, aggregate="my_mean")
    builtin = scores(fw, obs, cities, registry, aggregate="arithmetic")
    assert declared.equals(builtin, null_equal=True)  # the same path: the same bits


@SETTINGS
@given(panels(), st.sampled_from(["jrc", "jrc:1,1,2", "none"]), st.booleans())
def test_lean_treatment_equals_the_full_frame(registry, panel, spec, pooled):
    fw, obs, cities = panel
    name, _, args = spec.partition(":")
    twin = f"{name}_keys" + (f":{args}" if args else "")
    reference = "pooled" if pooled else "year"
    lean = score(fw, obs, cities, Pipeline(treat=spec, reference=reference), registry)
    full = score(fw, obs, cities, Pipeline(treat=twin, reference=reference), registry)
    assert lean.scores.equals(full.scores, null_equal=True)
    assert lean.treatment.equals(full.treatment, null_equal=True)


def test_the_three_weighted_means_agree_on_null_weights(registry):
    """Dense (no null weight), flat ``group_by`` (a null weight), and the expression."""
    fw = framework({"i2": None}, {})
    obs = pl.DataFrame(
        {
            "city_id": ["a", "b", "c"] * 5,
            "year": [2023] * 15,
            "indicator": [i for i in INDICATORS for _ in range(3)],
            "value": [1.0, 5.0, None, 2.0, 3.0, 4.0, 7.0, math.nan, 1.0, 0.0, 2.0, 9.0, 3, 3, 4],
        }
    )
    cities = pl.DataFrame({"city_id": ["a", "b", "c"]})
    flat = scores(fw, obs, cities, registry, aggregate="arithmetic")
    generic = scores(fw, obs, cities, registry, aggregate="plain_mean")
    dense = scores(framework({}, {}), obs, cities, registry, aggregate="arithmetic")
    same_scores(flat, generic)
    # without the null weight, i2 counts: the dense path's own figures, worked out by hand
    a = dense.filter(pl.col("node") == "A").sort("city_id")["score"].to_list()
    assert a == pytest.approx([(0 + 0 + 100) / 3, (100 + 50) / 2, (100 + 0) / 2])


def test_a_declared_domain_is_enforced_for_a_third_party(registry):
    fw = framework({}, {})
    obs = pl.DataFrame(
        {
            "city_id": ["a", "b"] * 5,
            "year": [2023] * 10,
            "indicator": [i for i in INDICATORS for _ in range(2)],
            "value": [1.0, 2.0] * 5,
        }
    )
    cities = pl.DataFrame({"city_id": ["a", "b"]})
    with pytest.raises(MethodError, match=r"my_positive_mean aggregation needs values > 0.*'a'"):
        scores(fw, obs, cities, registry, aggregate="my_positive_mean")
    ok = scores(fw, obs, cities, registry, normalise="minmax:1,100", aggregate="my_positive_mean")
    assert ok["score"].null_count() == 0


def test_a_per_indicator_parameter_in_indicator_units_is_converted(registry):
    """``goal`` is declared in the indicator's units: for a lower-is-better indicator the engine
    negates it, exactly as it does ``target`` for the built-in dist2targ."""
    fw = framework({}, {"i1": -1, "i4": -1})
    obs = pl.DataFrame(
        {
            "city_id": ["a", "b", "c"] * 5,
            "year": [2023] * 15,
            "indicator": [i for i in INDICATORS for _ in range(3)],
            "value": [10.0, 40.0, 80.0] * 5,
        }
    )
    cities = pl.DataFrame({"city_id": ["a", "b", "c"]})
    mine = scores(fw, obs, cities, registry, normalise="dist2goal")
    builtin = scores(fw, obs, cities, registry, normalise="dist2targ")
    assert mine.equals(builtin, null_equal=True)
    i1 = mine.filter(pl.col("node") == "i1").sort("city_id")["score"].to_list()
    assert i1 == pytest.approx([(80 - 10) / (80 - 50), (80 - 40) / 30, 0.0])  # COINr's d = -1
    with pytest.raises(MethodError, match="needs per-indicator 'goal'"):
        scores(
            Framework("twin", fw.nodes.drop("goal")), obs, cities, registry, normalise="dist2goal"
        )
