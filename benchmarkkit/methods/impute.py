"""Imputation methods as Polars expressions, matching COINr 1.1.14's ``i_*`` and ``impute_panel``.

Each method is ``fn(x, params) -> pl.Expr`` returning ``x`` with its missing values filled (or left
missing when the method has nothing to fill them with); present values are never changed. ``NaN``
counts as missing, as ``is.na`` does in R, so the engine should flag a cell as imputed when it was
null *or NaN* before and is a number after.

Cross-sectional methods (``panel=False``) run with ``.over("indicator", "year")``; the group
methods need the group column in the partition too: ``.over("indicator", "year", group)``.
Panel methods (``panel=True``) run with ``.over("city_id", "indicator")`` on a frame sorted by year
with one row per year of the panel for every city and indicator (the grid of all years present in
the data, gaps included as null rows); ``linear`` reads ``pl.col("year")`` to interpolate in
calendar time, as ``stats::approx`` does.

Where we differ from COINr, on purpose: COINr stops with an error when a column (``Impute.numeric``)
or a panel series (``imp_type = "linear"`` with one observed point) cannot be imputed; here those
cells simply stay missing, so the rest of the data is still imputed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.errors import MethodError
from benchmarkkit.methods.normalise import clean, keeps_name, r_mean
from benchmarkkit.methods.spec import Imputer, Param

if TYPE_CHECKING:
    from collections.abc import Mapping

    from benchmarkkit.hookspecs import Register


def _group(params: Mapping[str, Any]) -> str:
    """The grouping column of the group methods."""
    group = str(params.get("group", "country") or "")
    if not group:
        raise MethodError("group imputation needs a grouping column: group=<column>")
    return group


def _max_time(params: Mapping[str, Any]) -> int | None:
    """How many time points back ``latest`` may look; None (or 0) means no limit."""
    value = params.get("max_time")
    if value is None or value == "" or str(value).lower() == "none":
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise MethodError(f"max_time must be a whole number of years, got {value!r}") from None
    if n < 0:
        raise MethodError(f"max_time must be >= 0, got {n}")
    return n or None


# --- cross-sectional (across cities, within an indicator and year) ------------------------------


@keeps_name
def mean(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``i_mean``: fill with the mean of the present values (R's two-pass mean)."""
    x = clean(x)
    return x.fill_null(r_mean(x))


@keeps_name
def median(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``i_median``: fill with the median of the present values (mean of the middle two)."""
    x = clean(x)
    return x.fill_null(x.median())


@keeps_name
def group_mean(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``i_mean_grp``: the mean of the city's group; cities with no group stay missing.

    The engine puts the group column in the partition. A null group would form a group of its
    own there; COINr (``skip_f_na = TRUE``) leaves those cities untouched, so do we. A group whose
    values are all missing stays missing (COINr gives NaN).
    """
    group = pl.col(_group(params))
    x = clean(x)
    return pl.when(group.is_null()).then(x).otherwise(x.fill_null(r_mean(x)))


@keeps_name
def group_median(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``i_median_grp``: the median of the city's group; cities with no group stay missing."""
    group = pl.col(_group(params))
    x = clean(x)
    return pl.when(group.is_null()).then(x).otherwise(x.fill_null(x.median()))


# --- panel (along the years of one city and indicator) ------------------------------------------


@keeps_name
def latest(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``impute_panel(imp_type = "latest")``: carry the last observed value forward.

    Only backwards in time: a gap before the first observation stays missing (COINr's "latest"
    never looks forward). ``max_time`` limits how many time points back a value may come from,
    counted in rows of the panel grid as COINr counts the time points of the data; with yearly
    data that is years.
    """
    return clean(x).fill_null(strategy="forward", limit=_max_time(params))


def _constant(x: pl.Expr) -> pl.Expr:
    """``approx(method = "constant", rule = 2)``: last value forward, then first value backward."""
    return pl.coalesce(x, x.fill_null(strategy="forward"), x.fill_null(strategy="backward"))


def _linear(x: pl.Expr) -> pl.Expr:
    """``approx(year, x, method = "linear", rule = 2)`` on a series with two or more points.

    Between observations: R's ``y[i] + (y[j] - y[i]) * ((v - x[i]) / (x[j] - x[i]))`` in calendar
    years; before the first and after the last observation: the nearest observed value (rule 2).
    """
    t = pl.col("year").cast(pl.Float64)
    t_seen = pl.when(x.is_not_null()).then(t)
    t0, t1 = t_seen.fill_null(strategy="forward"), t_seen.fill_null(strategy="backward")
    y0, y1 = x.fill_null(strategy="forward"), x.fill_null(strategy="backward")
    between = y0 + (y1 - y0) * ((t - t0) / (t1 - t0))
    return pl.coalesce(x, between, y0, y1)


@keeps_name
def constant(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``impute_panel(imp_type = "constant")``: previous value, and the first one for early gaps."""
    return _constant(clean(x))


@keeps_name
def linear(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``impute_panel(imp_type = "linear")``: interpolation in time, nearest value at the ends.

    A series with a single observation cannot be interpolated: COINr stops with an error, we leave
    it missing (use ``linear_constant`` to fill it with that one value).
    """
    x = clean(x)
    return pl.when(x.count() >= 2).then(_linear(x)).otherwise(x)


@keeps_name
def linear_constant(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``impute_panel(imp_type = "linear-constant")``: linear, or constant for one observation."""
    x = clean(x)
    return pl.when(x.count() >= 2).then(_linear(x)).otherwise(_constant(x))


_GROUP = Param("group", str, "country", "column whose groups the mean/median is taken in")

IMPUTERS: tuple[Imputer, ...] = (
    Imputer("mean", mean, summary="Mean of the other cities (COINr i_mean)"),
    Imputer("median", median, summary="Median of the other cities (COINr i_median)"),
    Imputer(
        "group_mean",
        group_mean,
        (_GROUP,),
        summary="Mean of the cities in the same group (COINr i_mean_grp)",
    ),
    Imputer(
        "group_median",
        group_median,
        (_GROUP,),
        summary="Median of the cities in the same group (COINr i_median_grp)",
    ),
    Imputer(
        "latest",
        latest,
        (Param("max_time", int, None, "look back at most this many years (none: no limit)"),),
        panel=True,
        summary="Latest earlier value of the city (COINr impute_panel 'latest')",
    ),
    Imputer(
        "constant",
        constant,
        panel=True,
        summary="Previous value, first value for early gaps (COINr impute_panel 'constant')",
    ),
    Imputer(
        "linear",
        linear,
        panel=True,
        summary="Linear interpolation in time, nearest value at the ends (COINr 'linear')",
    ),
    Imputer(
        "linear_constant",
        linear_constant,
        panel=True,
        summary="Linear, or the single value of a one-point series (COINr 'linear-constant')",
    ),
)


@hookimpl
def register_imputers(register: Register) -> None:
    """Register every built-in imputer."""
    for imputer in IMPUTERS:
        register(imputer)
