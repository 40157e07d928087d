"""Normalisation methods as Polars expressions, each matching its COINr 1.1.14 ``n_*`` function.

Every method is ``fn(x, params) -> pl.Expr`` where ``x`` is the indicator value already multiplied
by its direction (COINr's ``Normalise.numeric`` does ``x <- x * direction`` before calling
``f_n``). The engine evaluates the expression with ``.over(partition)``; column statistics (min,
max, mean, sd, ranks) are therefore those of the partition, computed over non-missing values only.
``NaN`` counts as missing, as ``na.rm = TRUE`` does in R, and missing stays missing.

Why formulas are copied operation by operation: scores are checked against COINr to 1e-12
relative, so ``(x - min) / (max - min) * (u - l) + l`` is kept in COINr's order of operations, the
mean gets R's second-pass correction (:func:`r_mean`) and the sd is the two-pass sample sd.

What the engine must pass, per normaliser (direction ``d`` = +1 or -1, raw value ``v``, the engine
computes ``x = d * v``):

* ``minmax`` (params ``low``, ``high``), ``zscore`` (``mean``, ``sd``): the parameters are
  *output* ranges, identical for both directions (COINr's ``use_iMeta`` passes ``minmax_lower``,
  ``minmax_upper``, ``zscore_mean``, ``zscore_sd`` unchanged). Nothing to convert.
* ``scaled`` (``lower``, ``upper``, ``scale_factor``): applied to ``x`` as given, exactly as COINr
  does, which does **not** flip ``npara`` even with ``use_iMeta``. For a ``d = -1`` indicator the
  bounds therefore describe ``-v``. Nothing to convert (and the bounds are global, not per
  indicator).
* ``goalposts``: columns ``goalpost_lower``, ``goalpost_upper`` given by the user in the
  indicator's own units (``L < U``) and ``goalpost_scale`` (may be null: the ``scale`` param is
  used). The engine must pass, for ``d = +1``: ``goalpost_lower = L``, ``goalpost_upper = U``; for
  ``d = -1``: ``goalpost_lower = -U``, ``goalpost_upper = -L`` (swap *and* negate);
  ``goalpost_scale`` unchanged. This is what COINr's ``get_iMeta_norm_paras`` builds for
  ``use_iMeta`` (``gposts = c(U * d, L * d, a)`` when ``d = -1``) and it reproduces
  ``n_goalposts(v, c(L, U, a), direction = -1) = (U - v) / (U - L)``, i.e. "how far from the
  worst goalpost towards the best one".
* ``dist2targ``: column ``target`` given in the indicator's own units ``T``; the engine must pass
  ``target = d * T``. COINr's ``use_iMeta`` does exactly this (``targ = Target * Direction``) and
  then gives ``(max(v) - v) / (max(v) - T)`` for ``d = -1``, the formula of COINr's own test.
* ``dist2ref`` (param ``ref`` = a city id; the expression reads ``pl.col("city_id")``),
  ``dist2max``, ``fracmax``, ``rank``, ``prank``, ``borda``: no per-indicator columns.
  ``fracmax`` is ``x / max(x)`` of the flipped value, as in COINr, so it is the one method where
  "higher is better" does not hold for ``d = -1``.

Constant or degenerate partitions behave as in COINr: ``minmax``, ``dist2max`` and ``zscore`` of a
constant column give ``NaN`` (0/0), ``zscore`` of a single value gives null (R's ``sd`` is ``NA``),
``rank`` gives all 1, ``borda`` all 0, ``prank`` all 0 (``NaN`` for a single value). The engine
should warn about ``NaN`` results: aggregation treats them as missing.

Boolean parameters (``cap_max``, ``trunc2posts``) are declared with ``kind=bool``; the methods
also accept 0/1 and ``true``/``false``/``yes``/``no`` strings, whoever parsed them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.errors import MethodError
from benchmarkkit.methods.spec import IndicatorParam, Normaliser, Param

if TYPE_CHECKING:
    from benchmarkkit.hookspecs import Register

_Method = Callable[[pl.Expr, Mapping[str, Any]], pl.Expr]

_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off", ""})


# --- helpers shared with impute.py and treat.py -------------------------------------------------


def clean(x: pl.Expr) -> pl.Expr:
    """``x`` with ``NaN`` turned into null: R's ``na.rm = TRUE`` drops both."""
    return x.fill_nan(None)


def r_mean(x: pl.Expr) -> pl.Expr:
    """Mean of the non-missing values with R's second pass: ``m + sum(x - m) / n``.

    R's ``mean()`` refines the first estimate with the mean residual; doing the same brings us to
    the correctly rounded mean in the cases where a plain ``sum / n`` is off by one ulp.
    """
    m = x.mean()
    return m + (x - m).sum() / x.count().cast(pl.Float64)


def r_sd(x: pl.Expr) -> pl.Expr:
    """Two-pass sample sd (denominator n-1) as R's ``sd``; null for fewer than two values."""
    n = x.count().cast(pl.Float64)
    ss = ((x - r_mean(x)) ** 2).sum()
    return pl.when(n > 1).then((ss / (n - 1)).sqrt())


def divide(numerator: pl.Expr, denominator: pl.Expr | float) -> pl.Expr:
    """``numerator / denominator`` as a true division of every value, as R computes it.

    Polars divides a column by a scalar (``max - min``, ``sd``, a literal) by multiplying with
    the scalar's reciprocal, one unit in the last place off for about one value in five: the
    maximum of a min-max then scores ``99.99999999999999``, not ``100``, and a city level with
    the best ranks below it (issue 14). Adding ``0 * numerator`` turns the scalar into a column
    (Polars' optimiser cannot drop it: ``0 * inf`` is NaN), so Polars divides value by value; an
    infinite numerator gives NaN instead of infinity, and a missing one stays missing.

    >>> import polars as pl
    >>> x = pl.col("x")
    >>> frame = pl.DataFrame({"x": [22.88, 106.595, 190.31]})
    >>> frame.select((x - x.min()) / (x.max() - x.min()) * 100)["x"].to_list()[1:]
    [49.99999999999999, 99.99999999999999]
    >>> frame.select(divide(x - x.min(), x.max() - x.min()) * 100)["x"].to_list()[1:]
    [50.0, 100.0]
    """
    return numerator / (numerator * 0.0 + denominator)


def flag(params: Mapping[str, Any], name: str, default: bool) -> bool:
    """A boolean parameter given as bool, 0/1 or a yes/no word."""
    value = params.get(name, default)
    if isinstance(value, bool | int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise MethodError(f"parameter '{name}' must be 0/1 or true/false, got {value!r}")


def number(params: Mapping[str, Any], name: str, default: float) -> float:
    """A numeric parameter, refused with a one-line message when it is not a number."""
    value = params.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MethodError(f"parameter '{name}' must be a number, got {value!r}") from None


def _cap_at_one(y: pl.Expr) -> pl.Expr:
    """COINr's ``y[y > 1] <- 1``; Polars orders NaN above 1, so NaN is kept explicitly."""
    return pl.when(y.is_nan().not_() & (y > 1)).then(pl.lit(1.0)).otherwise(y)


def keeps_name(fn: _Method) -> _Method:
    """Name the result like the input column, whatever the formula's leftmost leaf was.

    ``pl.when(...).then(pl.lit(1.0))`` would otherwise be called ``literal``; the engine can then
    select the result without aliasing it.
    """

    @functools.wraps(fn)
    def wrapper(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
        name = x.meta.output_name(raise_if_undetermined=False)
        result = fn(x, params)
        return result.alias(name) if name else result

    return wrapper


def _rank(x: pl.Expr) -> pl.Expr:
    """R's ``rank(x, ties.method = "min", na.last = "keep")`` as Float64."""
    return x.rank("min").cast(pl.Float64)


# --- the methods ------------------------------------------------------------------------------


@keeps_name
def minmax(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_minmax``: ``(x - min) / (max - min) * (high - low) + low``; constant column → NaN."""
    low, high = number(params, "low", 0.0), number(params, "high", 100.0)
    x = clean(x)
    lo, hi = x.min(), x.max()
    return divide(x - lo, hi - lo) * (high - low) + low


@keeps_name
def zscore(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_zscore``: ``(x - mean) / sd * sd_target + mean_target`` with the sample sd."""
    m, s = number(params, "mean", 0.0), number(params, "sd", 1.0)
    if not s > 0:
        raise MethodError(f"zscore: parameter 'sd' must be > 0, got {s}")
    x = clean(x)
    return divide(x - r_mean(x), r_sd(x)) * s + m


@keeps_name
def scaled(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_scaled``: ``(x - lower) / (upper - lower) * scale_factor``, a fixed linear map."""
    lower, upper = number(params, "lower", 0.0), number(params, "upper", 100.0)
    factor = number(params, "scale_factor", 100.0)
    if upper == lower:
        raise MethodError("scaled: 'lower' and 'upper' must differ")
    return divide(clean(x) - lower, upper - lower) * factor


@keeps_name
def rank(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_rank``: ranks 1..n over non-missing values, ties take the minimum, not rescaled."""
    return _rank(clean(x))


@keeps_name
def prank(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_prank``: ``(rank - 1) / (n - 1)``; constant column → 0, a single value → NaN."""
    x = clean(x)
    return divide(_rank(x) - 1, x.count().cast(pl.Float64) - 1)


@keeps_name
def borda(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_borda``: ``rank - 1`` (ties = min), i.e. how many cities this one beats."""
    return _rank(clean(x)) - 1


@keeps_name
def goalposts(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_goalposts``: share of the way from the lower to the upper goalpost, times the scale.

    Reads ``goalpost_lower``/``goalpost_upper`` (already direction-adjusted by the engine, see the
    module docstring), ``goalpost_scale`` (null → the ``scale`` parameter) and
    ``goalpost_trunc2posts`` (null → the ``trunc2posts`` parameter). With truncation (default
    true, as COINr) values beyond the posts are clipped to 0 and 1 before scaling.

    >>> import polars as pl
    >>> frame = pl.DataFrame({"x": [-5.0, 5.0, 15.0], "goalpost_lower": [0.0] * 3,
    ...     "goalpost_upper": [10.0] * 3, "goalpost_scale": [None, None, 1.0],
    ...     "goalpost_trunc2posts": [None, False, True]})
    >>> frame.select(goalposts(pl.col("x"), {}))["x"].to_list()
    [0.0, 50.0, 1.0]
    """
    lo, hi = pl.col("goalpost_lower"), pl.col("goalpost_upper")
    scale = pl.col("goalpost_scale").fill_null(number(params, "scale", 100.0))
    trunc = pl.col("goalpost_trunc2posts").fill_null(flag(params, "trunc2posts", True))
    y = (clean(x) - lo) / (hi - lo)
    y = pl.when(trunc).then(_clip(y)).otherwise(y)
    return y * scale


def _clip(y: pl.Expr) -> pl.Expr:
    """COINr's ``y[y > 1] <- 1; y[y < 0] <- 0`` (NaN kept)."""
    y = _cap_at_one(y)
    return pl.when(y < 0).then(pl.lit(0.0)).otherwise(y)


@keeps_name
def dist2targ(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_dist2targ`` (direction already applied): ``(x - min) / (target - min)``.

    Reads the ``target`` column (``direction * target`` from the engine) and
    ``dist2targ_cap_max`` (COINr's iMeta column; null → the ``cap_max`` parameter, default false
    as COINr): capped, a value beyond the target scores 1.

    >>> import polars as pl
    >>> frame = pl.DataFrame({"x": [0.0, 5.0, 20.0], "target": [10.0] * 3,
    ...     "dist2targ_cap_max": [None, True, None]})
    >>> frame.select(dist2targ(pl.col("x"), {}))["x"].to_list()
    [0.0, 0.5, 2.0]
    >>> frame.select(dist2targ(pl.col("x"), {"cap_max": True}))["x"].to_list()
    [0.0, 0.5, 1.0]
    """
    x = clean(x)
    lo = x.min()
    y = (x - lo) / (pl.col("target") - lo)
    cap = pl.col("dist2targ_cap_max").fill_null(flag(params, "cap_max", False))
    return pl.when(cap).then(_cap_at_one(y)).otherwise(y)


@keeps_name
def dist2ref(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_dist2ref``: ``1 - (x_ref - x) / (x_ref - min)``, the reference being city ``ref``.

    COINr names the reference by row number (``iref``); rows have no stable order here, so the
    reference is a city id. If that city is missing in a partition, the partition is all null
    (COINr returns NA with a warning).
    """
    ref = str(params.get("ref", "") or "")
    if not ref:
        raise MethodError("dist2ref needs the reference city: ref=<city_id>")
    x = clean(x)
    xref = x.filter(pl.col("city_id") == ref).first()
    y = 1 - divide(xref - x, xref - x.min())
    return _cap_at_one(y) if flag(params, "cap_max", False) else y


@keeps_name
def dist2max(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_dist2max``: ``1 - (max - x) / (max - min)``; constant column → NaN."""
    x = clean(x)
    lo, hi = x.min(), x.max()
    return 1 - divide(hi - x, hi - lo)


@keeps_name
def fracmax(x: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``n_fracmax``: ``x / max(x)`` of the direction-adjusted value, exactly as COINr."""
    x = clean(x)
    return divide(x, x.max())


_CAP = Param("cap_max", bool, False, "values beyond the reference/target score 1 (COINr cap_max)")

NORMALISERS: tuple[Normaliser, ...] = (
    Normaliser(
        "minmax",
        minmax,
        (
            Param("low", float, 0.0, "score of the worst value"),
            Param("high", float, 100.0, "score of the best value"),
        ),
        summary="Min-max rescaling onto [low, high] (COINr n_minmax, l_u = c(0, 100))",
    ),
    Normaliser(
        "zscore",
        zscore,
        (
            Param("mean", float, 0.0, "mean of the result"),
            Param("sd", float, 1.0, "standard deviation of the result (> 0)"),
        ),
        summary="Standardisation with the sample sd (COINr n_zscore, m_sd = c(0, 1))",
    ),
    Normaliser(
        "scaled",
        scaled,
        (
            Param("lower", float, 0.0, "value mapped to 0 (direction-adjusted scale)"),
            Param("upper", float, 100.0, "value mapped to scale_factor"),
            Param("scale_factor", float, 100.0, "multiplier of the result"),
        ),
        summary="Fixed linear map (x - lower) / (upper - lower) * scale_factor (COINr n_scaled)",
    ),
    Normaliser("rank", rank, summary="Rank 1..n, ties = min, not rescaled (COINr n_rank)"),
    Normaliser("prank", prank, summary="Percentile rank (rank - 1) / (n - 1) (COINr n_prank)"),
    Normaliser("borda", borda, summary="Borda score rank - 1 (COINr n_borda)"),
    Normaliser(
        "goalposts",
        goalposts,
        (
            Param("trunc2posts", bool, True, "clip values beyond the goalposts to 0 and 1"),
            Param("scale", float, 100.0, "scale used where goalpost_scale is missing"),
        ),
        indicator_params=(
            IndicatorParam("goalpost_lower", units="indicator", pair="goalpost_upper"),
            IndicatorParam("goalpost_upper", units="indicator", pair="goalpost_lower"),
            IndicatorParam("goalpost_scale", required=False, doc="null: the scale parameter"),
            IndicatorParam(
                "goalpost_trunc2posts", bool, required=False, doc="null: the trunc2posts parameter"
            ),
        ),
        summary="Share of the distance between goalposts, times the scale (COINr n_goalposts)",
    ),
    Normaliser(
        "dist2targ",
        dist2targ,
        (_CAP,),
        indicator_params=(
            IndicatorParam("target", units="indicator"),
            IndicatorParam(
                "dist2targ_cap_max", bool, required=False, doc="null: the cap_max parameter"
            ),
        ),
        summary="(x - min) / (target - min) (COINr n_dist2targ)",
    ),
    Normaliser(
        "dist2ref",
        dist2ref,
        (Param("ref", str, "", "city_id of the reference city"), _CAP),
        summary="1 - (x_ref - x) / (x_ref - min), reference = a city (COINr n_dist2ref)",
    ),
    Normaliser("dist2max", dist2max, summary="1 - (max - x) / (max - min) (COINr n_dist2max)"),
    Normaliser("fracmax", fracmax, summary="x / max(x) (COINr n_fracmax)"),
)


@hookimpl
def register_normalisers(register: Register) -> None:
    """Register every built-in normaliser."""
    for normaliser in NORMALISERS:
        register(normaliser)
