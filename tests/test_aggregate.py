"""Aggregators against values worked out by hand.

The means run as the engine runs them, inside ``group_by(city_id, year, parent).agg(...)``; the
numbers come from COINr's formulas and, where COINr's own tests have a worked example
(``test-aggregate.R``: ``a_gmean``, ``a_hmean``, ``outrankMatrix``), from those.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from benchmarkkit.errors import MethodError
from benchmarkkit.methods.aggregate import (
    AGGREGATORS,
    check_positive,
    copeland_scores,
    invalid_values,
    register_aggregators,
)

METHODS = {a.name: a for a in AGGREGATORS}


def children(
    x: list[float | None], w: list[float], city: str = "A", year: int = 2024
) -> pl.DataFrame:
    """The children of one parent for one city: child k{i} has value x[i] and weight w[i]."""
    return pl.DataFrame(
        {
            "city_id": [city] * len(x),
            "year": [year] * len(x),
            "parent": ["P"] * len(x),
            "child": [f"k{i}" for i in range(len(x))],
            "x": pl.Series(x, dtype=pl.Float64),
            "w": pl.Series(w, dtype=pl.Float64),
        }
    )


def agg(name: str, frame: pl.DataFrame, params: dict[str, Any] | None = None) -> list[Any]:
    """Aggregate ``frame`` per city, year and parent with method ``name``; scores by city."""
    expr = METHODS[name].fn(pl.col("x"), pl.col("w"), params or {})
    out = frame.group_by("city_id", "year", "parent").agg(expr).sort("city_id")
    return out["x"].to_list()


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-12)


# --- arithmetic ---------------------------------------------------------------------------------


def test_arithmetic_weighted_mean():
    # weights 1, 1, 2 sum to 4: (1*1 + 1*2 + 2*3) / 4 = 9/4
    assert agg("arithmetic", children([1, 2, 3], [1, 1, 2])) == [approx(2.25)]


def test_arithmetic_renormalises_over_present_children():
    # k1 missing: weights 1 and 2 left, sum 3: (1*1 + 2*3) / 3 = 7/3 (COINr a_amean)
    assert agg("arithmetic", children([1, None, 3], [1, 1, 2])) == [approx(7 / 3)]
    # NaN counts as missing too
    assert agg("arithmetic", children([1, math.nan, 3], [1, 1, 2])) == [approx(7 / 3)]


def test_a_group_with_one_child_is_that_child():
    for name in ("arithmetic", "geometric", "harmonic", "genmean"):
        assert agg(name, children([5], [0.3])) == [approx(5)], name


def test_all_children_missing_gives_missing():
    for name in ("arithmetic", "geometric", "harmonic", "genmean"):
        assert agg(name, children([None, None], [1, 1])) == [None], name


def test_cities_are_aggregated_independently():
    frame = pl.concat([children([1, 3], [1, 1], "A"), children([2, None], [1, 1], "B")])
    # A: (1 + 3) / 2 = 2; B: only k0 present -> 2
    assert agg("arithmetic", frame) == [approx(2), approx(2)]


# --- geometric and harmonic ---------------------------------------------------------------------


def test_geometric_matches_coinr_tests():
    # COINr: a_gmean(c(1, 2, 3)) == (1*2*3)^(1/3); with w = c(1, 1, 2): (1 * 2 * 3^2)^(1/4)
    assert agg("geometric", children([1, 2, 3], [1, 1, 1])) == [approx(6 ** (1 / 3))]
    assert agg("geometric", children([1, 2, 3], [1, 1, 2])) == [approx(18**0.25)]


def test_geometric_skips_missing_children():
    # k1 missing: weights 1 and 2: (1 * 3^2)^(1/3) = 9^(1/3)
    assert agg("geometric", children([1, None, 3], [1, 1, 2])) == [approx(9 ** (1 / 3))]


def test_harmonic_matches_coinr_tests():
    # COINr: a_hmean(c(1, 2, 3), c(2, 1, 1)) == 4 / (2/1 + 1/2 + 1/3) = 4 / (17/6) = 24/17
    assert agg("harmonic", children([1, 2, 3], [2, 1, 1])) == [approx(24 / 17)]


# --- generalised mean ---------------------------------------------------------------------------


def test_genmean_power_two():
    # p = 2, weights 1, 1, 2: sqrt((1*1 + 1*4 + 2*9) / 4) = sqrt(23/4)
    assert agg("genmean", children([1, 2, 3], [1, 1, 2]), {"p": 2}) == [approx(math.sqrt(23 / 4))]


def test_genmean_skips_missing_children_unlike_coinr():
    # COINr's a_genmean returns NA here (no na.rm); we renormalise like the other means:
    # p = 2, k1 missing, weights 1 and 2: sqrt((1*1 + 2*9) / 3) = sqrt(19/3)
    got = agg("genmean", children([1, None, 3], [1, 1, 2]), {"p": 2})
    assert got == [approx(math.sqrt(19 / 3))]


def test_genmean_special_cases():
    frame = children([1, 2, 3], [2, 1, 1])
    # p = 1 is the arithmetic mean (2 + 2 + 3) / 4 = 7/4; p = -1 the harmonic mean 24/17
    assert agg("genmean", frame, {"p": 1}) == [approx(7 / 4)]
    assert agg("genmean", frame, {"p": -1}) == [approx(24 / 17)]


def test_genmean_refuses_p_zero():
    with pytest.raises(MethodError, match="geometric"):
        agg("genmean", children([1, 2], [1, 1]), {"p": 0})


# --- domain checks ------------------------------------------------------------------------------


def test_geometric_refuses_zero_and_negative_values():
    assert METHODS["geometric"].domain == "positive"
    for bad in (0.0, -1.0):
        frame = children([1, bad, None], [1, 1, 1], city="Hanoi")
        with pytest.raises(MethodError, match="geometric") as err:
            check_positive(frame, "geometric")
        assert "'Hanoi'" in str(err.value)
        assert "'k1'" in str(err.value)
        assert "minmax" in str(err.value)  # the hint says how to fix it


def test_harmonic_refuses_zero_but_not_negative_values():
    assert METHODS["harmonic"].domain == "nonzero"
    with pytest.raises(MethodError, match="harmonic"):
        check_positive(children([1, 0], [1, 1]), "harmonic")
    check_positive(children([1, -2], [1, 1]), "harmonic")  # COINr accepts negatives


def test_checks_skip_missing_values_and_other_methods():
    check_positive(children([1, None, math.nan], [1, 1, 1]), "geometric")
    check_positive(children([0, -1], [1, 1]), "arithmetic")
    assert invalid_values("arithmetic", {}, pl.col("x")) is None


def test_genmean_domain_depends_on_p():
    negative, zero = children([1, -1], [1, 1]), children([1, 0], [1, 1])
    check_positive(negative, "genmean", {"p": 2})  # (-1)^2 is fine
    with pytest.raises(MethodError):
        check_positive(negative, "genmean", {"p": 0.5})  # (-1)^0.5 is not a number
    with pytest.raises(MethodError):
        check_positive(zero, "genmean", {"p": -1})  # 1/0


def test_check_positive_accepts_lazy_frames():
    with pytest.raises(MethodError, match="1 child value"):
        check_positive(children([0, 1], [1, 1]).lazy(), "geometric")


# --- Copeland -----------------------------------------------------------------------------------


def long_frame(rows: dict[str, list[float | None]], weights: list[float]) -> pl.LazyFrame:
    """Cities as keys, their child values as lists (children k0, k1, ...), one parent, one year."""
    parts = [children(values, weights, city) for city, values in rows.items()]
    return pl.concat(parts).lazy()


def copeland(rows: dict[str, list[float | None]], weights: list[float]) -> dict[str, Any]:
    out = copeland_scores(long_frame(rows, weights), {}).collect()
    assert out.columns == ["city_id", "year", "parent", "score"]
    return dict(zip(out["city_id"], out["score"], strict=True))


def test_copeland_matches_coinr_outranking_example():
    # COINr's test data: x1 = 1:4, x2 = c(3, 2, 1, 5), x3 = c(2, 3, 1, 4), equal weights.
    # u1 = (1,3,2), u2 = (2,2,3), u3 = (3,1,1), u4 = (4,5,4)
    # u2 beats u1 on x1, x3 (orm[2,1] = 2/3); u1 beats u3 on x2, x3 (orm[3,1] = 1/3);
    # u2 beats u3 on x2, x3; u4 beats everyone on every indicator (orm[4,1] = 1).
    # wins - losses: u1 = -1 + 1 - 1 = -1; u2 = 1 + 1 - 1 = 1; u3 = -3; u4 = 3
    rows = {"u1": [1, 3, 2], "u2": [2, 2, 3], "u3": [3, 1, 1], "u4": [4, 5, 4]}
    assert copeland(rows, [1, 1, 1]) == {"u1": -1, "u2": 1, "u3": -3, "u4": 3}


def test_copeland_weights_decide_and_ties_score_zero():
    # A wins k0, B wins k1: equal weights -> orm = 0.5, a tie (0 each)
    assert copeland({"A": [2, 1], "B": [1, 2]}, [1, 1]) == {"A": 0, "B": 0}
    # k0 weighs 2 of 3: A's share is 2/3 > 0.5, A wins
    assert copeland({"A": [2, 1], "B": [1, 2]}, [2, 1]) == {"A": 1, "B": -1}
    # three equal weights (1/3 each), one win each and a draw: 1/3 + (1/3)/2 = 0.5 -> tie
    assert copeland({"A": [2, 1, 5], "B": [1, 2, 5]}, [1, 1, 1]) == {"A": 0, "B": 0}


def test_copeland_missing_values_count_for_neither_side():
    # B lacks k1: A-B is decided on k0 alone (B wins); A-C on k0, k1 (A wins both);
    # B-C on k0 (B wins). D has no data: no score. A = -1 + 1 = 0, B = 2, C = -2
    rows = {"A": [2, 5], "B": [3, None], "C": [1, 4], "D": [None, None]}
    assert copeland(rows, [1, 1]) == {"A": 0, "B": 2, "C": -2, "D": None}


def test_copeland_coinr_option_credits_a_missing_comparison_to_the_later_city():
    """COINr 1.1.14's ``outrankMatrix``: weights normalised (0.5 each); for i before j,
    orm[i, j] counts only children both have, and orm[j, i] = 1 - orm[i, j].
    A-B: k0 B higher, k1 B missing → orm 0: A -1, B +1. A-C: A higher on both → A +1, C -1.
    B-C: k0 B higher (0.5), k1 dropped → orm 0.5, a tie. D (no data) before no one: orm[·, D] = 0
    for A, B, C, so D wins all three. A = -1, B = 0, C = -2, D = 3."""
    rows = {"A": [2, 5], "B": [3, None], "C": [1, 4], "D": [None, None]}
    out = copeland_scores(long_frame(rows, [1, 1]), {"coinr": True}).collect()
    got = dict(zip(out["city_id"], out["score"], strict=True))
    assert got == {"A": -1, "B": 0, "C": -2, "D": 3}
    # nothing missing: the same as the default
    full = {"u1": [1, 3, 2], "u2": [2, 2, 3], "u3": [3, 1, 1], "u4": [4, 5, 4]}
    out = copeland_scores(long_frame(full, [1, 1, 1]), {"coinr": True}).collect()
    assert dict(zip(out["city_id"], out["score"], strict=True)) == copeland(full, [1, 1, 1])


def test_genmean_coinr_option_makes_a_parent_with_a_missing_child_missing():
    frame = children([1, 3, None], [1, 1, 1])
    assert agg("genmean", frame, {"p": 1}) == [approx(2.0)]
    assert agg("genmean", frame, {"p": 1, "coinr": True}) == [None]
    assert agg("genmean", children([1, 3], [1, 3]), {"p": 1, "coinr": True}) == [approx(2.5)]
    assert not METHODS["genmean"].skips({"coinr": True})
    assert METHODS["genmean"].skips({})


def test_copeland_one_city_alone_scores_zero():
    assert copeland({"A": [1, 2]}, [1, 1]) == {"A": 0}


def test_copeland_years_and_parents_are_separate():
    frame = pl.concat(
        [
            children([1], [1], "A", 2023),
            children([2], [1], "B", 2023),
            children([3], [1], "A", 2024),
            children([2], [1], "B", 2024),
        ]
    ).lazy()
    out = copeland_scores(frame, {}).collect().sort("year", "city_id")
    assert out["score"].to_list() == [-1, 1, 1, -1]


def test_hook_register_aggregators():
    got: list[Any] = []
    register_aggregators(got.append)
    assert [a.name for a in got] == ["arithmetic", "geometric", "harmonic", "genmean", "copeland"]
    assert METHODS["copeland"].frame_fn is copeland_scores
    assert METHODS["copeland"].fn is None
    assert [a.name for a in got if a.domain_for({"p": -1}) != "any"] == [
        "geometric",
        "harmonic",
        "genmean",
    ]
    assert [a.name for a in got if a.weighted_mean] == ["arithmetic"]
