"""Imputers against values worked out by hand.

Cross-sectional methods run ``.over("indicator", "year"[, group])``; panel methods run
``.over("city_id", "indicator")`` on a frame sorted by year with one row per year of the panel, as
the engine runs them. The panel cases include COINr's own ``test-impute_panel.R`` examples.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from benchmarkkit.errors import MethodError
from benchmarkkit.methods.impute import IMPUTERS, register_imputers

METHODS = {m.name: m for m in IMPUTERS}


def across(
    name: str,
    values: list[float | None],
    params: dict[str, Any] | None = None,
    groups: list[str | None] | None = None,
) -> list[Any]:
    """Impute one indicator-year across cities (optionally within ``groups``)."""
    frame = pl.DataFrame(
        {
            "indicator": ["i"] * len(values),
            "year": [2024] * len(values),
            "x": pl.Series(values, dtype=pl.Float64),
            "grp": pl.Series(groups or [None] * len(values), dtype=pl.String),
        }
    )
    partition = ["indicator", "year"] + (["grp"] if groups else [])
    return frame.select(METHODS[name].fn(pl.col("x"), params or {}).over(partition))["x"].to_list()


def along(
    name: str,
    values: list[float | None],
    years: list[int] | None = None,
    params: dict[str, Any] | None = None,
) -> list[Any]:
    """Impute one city's series of one indicator along the years."""
    years = years or list(range(2020, 2020 + len(values)))
    frame = pl.DataFrame(
        {
            "city_id": ["A"] * len(values),
            "indicator": ["i"] * len(values),
            "year": years,
            "x": pl.Series(values, dtype=pl.Float64),
        }
    ).sort("year")
    expr = METHODS[name].fn(pl.col("x"), params or {}).over("city_id", "indicator")
    return frame.select(expr)["x"].to_list()


def approx(values: list[float | None]) -> list[Any]:
    return [None if v is None else pytest.approx(v, rel=1e-12) for v in values]


# --- cross-sectional ----------------------------------------------------------------------------


def test_mean_fills_with_the_mean_of_the_others():
    # present 1, 2, 6: mean 3
    assert across("mean", [1, 2, None, 6]) == approx([1, 2, 3, 6])


def test_mean_treats_nan_as_missing():
    assert across("mean", [1, math.nan, 3]) == approx([1, 2, 3])


def test_median_odd_and_even_counts():
    # present 1, 2, 10: median 2; present 1, 2, 4, 10: (2 + 4) / 2 = 3
    assert across("median", [1, 2, None, 10]) == approx([1, 2, 2, 10])
    assert across("median", [1, 2, 4, 10, None]) == approx([1, 2, 4, 10, 3])


def test_nothing_to_fill_with_stays_missing():
    # COINr stops ("Input is all NAs"); we leave the cells missing
    for name in ("mean", "median"):
        assert across(name, [None, None]) == [None, None], name


def test_group_mean_uses_the_city_group():
    # g1: 1, 3 -> 2; g2: 10 -> 10; g3 all missing -> stays missing;
    # a city with no group is left alone (COINr skip_f_na = TRUE)
    values = [1, 3, None, 10, None, None, None, None]
    groups = ["g1", "g1", "g1", "g2", "g2", "g3", "g3", None]
    want = [1, 3, 2, 10, 10, None, None, None]
    assert across("group_mean", values, {"group": "grp"}, groups) == approx(want)


def test_group_median_uses_the_city_group():
    # g1: 1, 2, 9 -> median 2; g2: 4, 8 -> 6
    values = [1, 2, 9, None, 4, 8, None]
    groups = ["g1", "g1", "g1", "g1", "g2", "g2", "g2"]
    want = [1, 2, 9, 2, 4, 8, 6]
    assert across("group_median", values, {"group": "grp"}, groups) == approx(want)


def test_group_methods_need_a_column():
    with pytest.raises(MethodError, match="group"):
        across("group_mean", [1, None], {"group": ""}, ["a", "a"])


# --- panel --------------------------------------------------------------------------------------


def test_latest_carries_forward_only():
    # 2020 has nothing earlier: stays missing; 2021 = 1 carried to 2022, 2023
    assert along("latest", [None, 1, None, None, 4]) == approx([None, 1, 1, 1, 4])


def test_latest_respects_max_time():
    # max_time = 1: 2022 may use 2021 (1), 2023 would need 2021 (two back): stays missing
    got = along("latest", [None, 1, None, None, 4], params={"max_time": 1})
    assert got == approx([None, 1, 1, None, 4])


def test_latest_matches_coinr_panel_test():
    # COINr: an NA in 2022 takes the 2021 value
    assert along("latest", [3.5, 4.0, None]) == approx([3.5, 4.0, 4.0])


def test_latest_refuses_a_negative_max_time():
    with pytest.raises(MethodError, match="max_time"):
        along("latest", [1, None], params={"max_time": -1})


def test_constant_matches_coinr_tests():
    # COINr test-impute_panel.R "constant_imp_works" (years 2020:2022)
    assert along("constant", [1, 2, 3]) == approx([1, 2, 3])
    assert along("constant", [3, None, 5]) == approx([3, 3, 5])
    assert along("constant", [None, 5, 6]) == approx([5, 5, 6])
    assert along("constant", [7, 8, None]) == approx([7, 8, 8])


def test_linear_matches_coinr_tests():
    # COINr test-impute_panel.R "linear_imp_works": interpolation inside, nearest value outside
    assert along("linear", [3, None, 5]) == approx([3, 4, 5])
    assert along("linear", [None, 5, 6]) == approx([5, 5, 6])
    assert along("linear", [7, 8, None]) == approx([7, 8, 8])


def test_linear_interpolates_in_calendar_years():
    # years 2018, 2019, 2022 (the grid has a gap): 2019 = 1 + (7 - 1) * (1 / 4) = 2.5
    assert along("linear", [1, None, 7], years=[2018, 2019, 2022]) == approx([1, 2.5, 7])


def test_linear_needs_two_points_linear_constant_does_not():
    # one observation: COINr's "linear" stops with an error, we leave the gaps;
    # "linear-constant" falls back to the constant method
    assert along("linear", [None, 4, None]) == [None, 4, None]
    assert along("linear_constant", [None, 4, None]) == approx([4, 4, 4])
    assert along("linear_constant", [2, None, None, 8]) == approx([2, 4, 6, 8])


def test_panel_series_with_no_data_stay_missing():
    for name in ("latest", "constant", "linear", "linear_constant"):
        assert along(name, [None, None]) == [None, None], name


def test_panel_series_are_independent():
    frame = pl.DataFrame(
        {
            "city_id": ["A", "A", "A", "B", "B", "B"],
            "indicator": ["i"] * 6,
            "year": [2020, 2021, 2022] * 2,
            "x": [1.0, None, 3.0, None, 10.0, None],
        }
    )
    expr = METHODS["linear"].fn(pl.col("x"), {}).over("city_id", "indicator")
    # A: 1, 2, 3; B has one point: unchanged
    assert frame.select(expr)["x"].to_list() == approx([1, 2, 3, None, 10, None])


def test_hook_register_imputers():
    got: list[Any] = []
    register_imputers(got.append)
    names = [m.name for m in got]
    assert names == [
        "mean",
        "median",
        "group_mean",
        "group_median",
        "latest",
        "constant",
        "linear",
        "linear_constant",
    ]
    assert [m.name for m in got if m.panel] == names[4:]
