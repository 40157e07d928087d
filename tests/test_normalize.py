"""Normalisers against values worked out by hand, one small partition at a time.

Each case runs the expression the way the engine does, ``fn(pl.col("x"), params)`` evaluated
``.over("indicator")``, so partitioning is exercised too. Expected numbers come from COINr's
formulas (and, where COINr's own test suite has a worked example, from that test).
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarkkit.errors import MethodError
from benchmarkkit.methods.normalise import NORMALISERS, register_normalisers

NAN = float("nan")
METHODS = {n.name: n for n in NORMALISERS}


def run(name: str, values: list[float | None], params: dict[str, Any] | None = None, **cols: Any):
    """Normalise one indicator's values (cities c0, c1, ...) and return the result as a list.

    Per-indicator columns the method declares and the call does not give are null, as the engine
    passes them when the framework lacks them."""
    declared = {p.name: p.kind for p in METHODS[name].indicator_params}
    for param in declared:
        if param not in cols:
            cols[param] = None
    frame = pl.DataFrame(
        {
            "indicator": ["i"] * len(values),
            "city_id": [f"c{i}" for i in range(len(values))],
            "x": pl.Series(values, dtype=pl.Float64),
            **{
                k: pl.Series(
                    [v] * len(values),
                    dtype=pl.Boolean if declared.get(k) is bool else pl.Float64,
                )
                for k, v in cols.items()
            },
        }
    )
    expr = METHODS[name].fn(pl.col("x"), params or {}).over("indicator")
    return frame.select(expr)["x"].to_list()


def same(got: list[float | None], want: list[float | None]) -> bool:
    """Equal lists where None matches None, NaN matches NaN and numbers agree to 1e-12."""
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if w is None or g is None:
            if g is not w:
                return False
        elif math.isnan(w) or math.isnan(g):
            if not (math.isnan(w) and math.isnan(g)):
                return False
        elif not math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-12):
            return False
    return True


# --- min-max ------------------------------------------------------------------------------------


def test_minmax_default_scales_to_0_100_and_keeps_missing():
    # min 1, max 4, range 3: (x - 1) / 3 * 100 -> 0, 100/3, missing, 100
    assert same(run("minmax", [1, 2, None, 4]), [0, 100 / 3, None, 100])


def test_minmax_custom_bounds():
    # low 1, high 10: (x - 1) / 3 * 9 + 1 -> 1, 4, 10
    assert same(run("minmax", [1, 2, 4], {"low": 1, "high": 10}), [1, 4, 10])


def test_minmax_treats_nan_as_missing():
    # NaN drops out of min/max like NA in R: min 1, max 3 -> 0, missing, 100
    assert same(run("minmax", [1, NAN, 3]), [0, None, 100])


def test_minmax_constant_column_is_nan_as_coinr():
    # max - min = 0: 0/0 = NaN for every city (COINr warns and returns NaN)
    assert same(run("minmax", [5, 5, 5]), [NAN, NAN, NAN])


def test_minmax_all_missing_stays_missing():
    assert same(run("minmax", [None, None]), [None, None])


def test_minmax_one_city_alone_is_nan():
    # a single value is a constant column
    assert same(run("minmax", [7]), [NAN])


def test_partitions_are_independent():
    frame = pl.DataFrame(
        {"indicator": ["a", "a", "b", "b", "b"], "x": [1.0, 3.0, 10.0, 20.0, 40.0]}
    )
    got = frame.select(METHODS["minmax"].fn(pl.col("x"), {}).over("indicator"))["x"].to_list()
    # a: (1, 3) -> 0, 100; b: min 10, range 30 -> 0, 100/3, 100
    assert same(got, [0, 100, 0, 100 / 3, 100])


# --- z-score ------------------------------------------------------------------------------------


def test_zscore_uses_sample_sd():
    # x = 1, 2, 4: mean 7/3; deviations -4/3, -1/3, 5/3; squares 16/9 + 1/9 + 25/9 = 42/9
    # sample variance (n - 1 = 2): 42/18 = 7/3; sd = sqrt(7/3)
    sd = math.sqrt(7 / 3)
    assert same(run("zscore", [1, 2, None, 4]), [-4 / 3 / sd, -1 / 3 / sd, None, 5 / 3 / sd])


def test_zscore_target_mean_and_sd():
    # (x - mean) / sd * 2 + 10 with the same numbers as above
    sd = math.sqrt(7 / 3)
    want = [10 + 2 * d / sd for d in (-4 / 3, -1 / 3, 5 / 3)]
    assert same(run("zscore", [1, 2, 4], {"mean": 10, "sd": 2}), want)


def test_zscore_constant_is_nan_single_value_is_missing():
    # constant: (x - mean) / 0 = 0/0 = NaN; one value: R's sd() is NA (n - 1 = 0)
    assert same(run("zscore", [3, 3, 3]), [NAN, NAN, NAN])
    assert same(run("zscore", [3, None]), [None, None])


def test_zscore_refuses_non_positive_sd():
    with pytest.raises(MethodError, match="sd"):
        run("zscore", [1, 2], {"sd": 0})


# --- scaled -------------------------------------------------------------------------------------


def test_scaled_is_a_fixed_linear_map():
    # (x - 0) / (10 - 0) * 100 -> 10, 20, 40 (no dependence on the data's own range)
    assert same(run("scaled", [1, 2, 4], {"lower": 0, "upper": 10}), [10, 20, 40])
    # defaults c(0, 100) and factor 100 leave x unchanged, as in COINr
    assert same(run("scaled", [1, 2, 4]), [1, 2, 4])


# --- ranks --------------------------------------------------------------------------------------


def test_rank_ties_take_the_minimum_and_missing_stays_missing():
    # sorted: 1 (rank 1), 2 (rank 2), 3 and 3 (both rank 3); not rescaled
    assert same(run("rank", [3, 1, 3, None, 2]), [3, 1, 3, None, 2])


def test_prank_and_borda():
    # 4 values present: prank = (rank - 1) / 3; borda = rank - 1
    assert same(run("prank", [3, 1, 3, None, 2]), [2 / 3, 0, 2 / 3, None, 1 / 3])
    assert same(run("borda", [3, 1, 3, None, 2]), [2, 0, 2, None, 1])


def test_ranks_of_a_constant_column():
    # COINr: rank gives all 1, percentile rank all 0 (0 / (n - 1)), borda all 0
    assert same(run("rank", [5, 5, 5]), [1, 1, 1])
    assert same(run("prank", [5, 5, 5]), [0, 0, 0])
    assert same(run("borda", [5, 5, 5]), [0, 0, 0])


def test_prank_of_one_city_alone_is_nan():
    # (1 - 1) / (1 - 1) = 0/0
    assert same(run("prank", [5, None]), [NAN, None])


# --- goalposts ----------------------------------------------------------------------------------


def test_goalposts_truncate_and_scale():
    # posts 0 and 10: (x - 0) / 10 -> -0.5, 0.25, 1, 1.5; truncated to [0, 1]; times scale 100
    got = run(
        "goalposts", [-5, 2.5, 10, 15], goalpost_lower=0, goalpost_upper=10, goalpost_scale=None
    )
    assert same(got, [0, 25, 100, 100])


def test_goalposts_without_truncation_and_with_the_indicator_scale():
    got = run(
        "goalposts",
        [-5, 2.5, 10, 15],
        {"trunc2posts": 0},
        goalpost_lower=0,
        goalpost_upper=10,
        goalpost_scale=1,
    )
    assert same(got, [-0.5, 0.25, 1, 1.5])


def test_goalposts_negative_direction_matches_coinr_tests():
    # COINr: n_goalposts(v, c(0, 10, 1), direction = -1) gives 0.9, 1, 0 for v = 1, -1, 11.
    # Engine contract for direction -1: x = -v, goalpost_lower = -U = -10, goalpost_upper = -L = 0.
    # (x + 10) / 10: v = 1 -> 0.9; v = -1 -> 1.1 -> 1; v = 11 -> -0.1 -> 0
    got = run("goalposts", [-1, 1, -11], goalpost_lower=-10, goalpost_upper=0, goalpost_scale=1)
    assert same(got, [0.9, 1, 0])


# --- distances ----------------------------------------------------------------------------------


def test_dist2targ_matches_coinr_tests():
    # COINr test: x = 0, 5, 11, target 10: (x - 0) / (10 - 0) -> 0, 0.5, 1.1; capped -> 0, 0.5, 1
    assert same(run("dist2targ", [0, 5, 11], target=10), [0, 0.5, 1.1])
    assert same(run("dist2targ", [0, 5, 11], {"cap_max": 1}, target=10), [0, 0.5, 1])


def test_dist2targ_negative_direction_matches_coinr_tests():
    # COINr test: v = -1, 1, 10, target 0, direction -1 -> 1.1, 0.9, 0 (capped 1, 0.9, 0).
    # Engine contract: x = -v = 1, -1, -10 and target = -1 * 0 = 0.
    # (x - min) / (target - min) with min -10: 11/10, 9/10, 0
    assert same(run("dist2targ", [1, -1, -10], target=0), [1.1, 0.9, 0])
    assert same(run("dist2targ", [1, -1, -10], {"cap_max": "true"}, target=0), [1, 0.9, 0])


def test_dist2ref_uses_the_reference_city():
    # reference c1 = 2, min 1: 1 - (2 - x) / (2 - 1) -> 0, 1, 3; capped -> 0, 1, 1
    assert same(run("dist2ref", [1, 2, 4], {"ref": "c1"}), [0, 1, 3])
    assert same(run("dist2ref", [1, 2, 4], {"ref": "c1", "cap_max": 1}), [0, 1, 1])


def test_dist2ref_missing_reference_gives_missing():
    # c1 has no value: COINr returns NA for the whole column
    assert same(run("dist2ref", [1, None, 4], {"ref": "c1"}), [None, None, None])


def test_dist2ref_needs_a_reference():
    with pytest.raises(MethodError, match="ref"):
        run("dist2ref", [1, 2])


def test_dist2max_and_fracmax():
    # dist2max: 1 - (4 - x) / (4 - 1) -> 0, 1/3, 1; fracmax: x / 4
    assert same(run("dist2max", [1, 2, 4]), [0, 1 / 3, 1])
    assert same(run("dist2max", [2, 2]), [NAN, NAN])
    assert same(run("fracmax", [1, 2, None, 4]), [0.25, 0.5, None, 1])


# --- contract -----------------------------------------------------------------------------------


def test_result_keeps_the_input_column_name():
    frame = pl.DataFrame(
        {
            "indicator": ["i", "i"],
            "value": [1.0, 2.0],
            "target": [2.0, 2.0],
            "dist2targ_cap_max": pl.Series([None, None], dtype=pl.Boolean),
        }
    )
    for method in NORMALISERS:
        params = {"ref": "c0"} if method.name == "dist2ref" else {}
        if method.name in ("dist2ref", "goalposts"):
            continue
        expr = method.fn(pl.col("value"), params)
        assert expr.meta.output_name() == "value", method.name
        assert frame.select(expr.over("indicator")).columns == ["value"]


def test_boolean_parameters_refuse_nonsense():
    with pytest.raises(MethodError, match="cap_max"):
        run("dist2targ", [1, 2], {"cap_max": "maybe"}, target=2)


def test_hook_register_normalisers():
    got: list[Any] = []
    register_normalisers(got.append)
    assert [n.name for n in got] == [
        "minmax",
        "zscore",
        "scaled",
        "rank",
        "prank",
        "borda",
        "goalposts",
        "dist2targ",
        "dist2ref",
        "dist2max",
        "fracmax",
    ]
    names = {m.name: [p.name for p in m.indicator_params] for m in got}
    assert names["goalposts"] == [
        "goalpost_lower",
        "goalpost_upper",
        "goalpost_scale",
        "goalpost_trunc2posts",
    ]
    assert names["dist2targ"] == ["target", "dist2targ_cap_max"]
    assert {p.name: p.default for p in METHODS["minmax"].params} == {"low": 0.0, "high": 100.0}


# --- exact division (issue 14) ------------------------------------------------------------------

columns = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=2, max_size=12
).filter(lambda v: min(v) < max(v))


@settings(max_examples=150, deadline=None)
@given(columns, st.sampled_from([(0.0, 100.0), (1.0, 100.0), (-1.0, 1.0)]))
def test_minmax_is_the_published_formula_to_the_last_bit(values, bounds):
    low, high = bounds
    got = run("minmax", values, {"low": low, "high": high})
    lo, hi = min(values), max(values)
    assert got == [(v - lo) / (hi - lo) * (high - low) + low for v in values]
    assert got[values.index(hi)] == high
    assert got[values.index(lo)] == low


@settings(max_examples=100, deadline=None)
@given(columns)
def test_closed_forms_divide_exactly(values):
    lo, hi = min(values), max(values)
    assert run("dist2max", values) == [1 - (hi - v) / (hi - lo) for v in values]
    if hi > 0:
        assert run("fracmax", values) == [v / hi for v in values]
    target = hi + 1.0
    assert run("dist2targ", values, target=target) == [(v - lo) / (target - lo) for v in values]
    got = run(
        "goalposts",
        values,
        {"trunc2posts": False},
        goalpost_lower=lo,
        goalpost_upper=hi,
        goalpost_scale=100.0,
    )
    assert got == [(v - lo) / (hi - lo) * 100.0 for v in values]


def test_the_issue_14_examples_are_exact():
    assert run("minmax", [22.88, 106.595, 190.31]) == [0.0, 50.0, 100.0]
    assert run("minmax", [0.3, 0.7, 1.9, 2.3]) == [0.0, 20.0, 80.0, 100.0]
