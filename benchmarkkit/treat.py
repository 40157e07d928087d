"""Outlier treatment: COINr's default ``Treat`` (the JRC skew/kurtosis rule), vectorised.

The rule (COINr 1.1.14 ``Treat.numeric`` with ``winsorise``, ``log_CT`` and ``check_SkewKurt``):

1. A partition passes if ``|skew| < 2`` OR ``kurtosis < 3.5`` (bias-corrected sample skewness and
   excess kurtosis, COINr's ``skew``/``kurt``, i.e. e1071 type 2 / Excel). Passing → untouched.
2. Otherwise winsorise one step at a time on the side of the skew (``skew >= 0``: the maximum,
   else the minimum), every point tied at the extreme moving together to the next value, and
   re-test after each step, while it fails and fewer than ``winmax`` points have been moved.
3. If it still fails, drop the winsorisation and apply ``log_CT`` to the *original* values,
   ``log(x - min + 0.01 * (max - min))``; that result is kept even if it still fails.
4. When a test cannot be computed (fewer than 3-4 values, a constant column, or a winsorisation
   step that leaves all values equal), COINr returns the original values untreated; so do we.

Every partition is treated at once: the loop runs over winsorisation *steps* (at most ``winmax``,
because each step moves at least one more point), never over partitions.

COINr's point count (``nwin``) is matched exactly: it is the size of the last set moved at the top
plus the size of the last set moved at the bottom, which equals the number of points changed on
each side because points already moved are tied with the next extreme and move again with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.errors import MethodError
from benchmarkkit.methods import Param, Treatment
from benchmarkkit.normalize import clean, r_mean

if TYPE_CHECKING:
    from collections.abc import Mapping

    from benchmarkkit.hookspecs import Register

PART = "_part"
LOG_SCHEMA: dict[str, pl.DataType] = {
    "skew_before": pl.Float64(),
    "kurt_before": pl.Float64(),
    "winsorised": pl.Int64(),
    "log_transformed": pl.Boolean(),
    "skew_after": pl.Float64(),
    "kurt_after": pl.Float64(),
    "passed": pl.Boolean(),
}
"""Columns of the log frame after ``_part``; ``passed`` is null when the test cannot be computed."""

# working columns, prefixed so they cannot clash with the caller's own columns
_X0, _XW, _XL = "_bk_x0", "_bk_xw", "_bk_xlog"
_P0, _WPASS, _LPASS = "_bk_pass0", "_bk_wpass", "_bk_lpass"
_NHI, _NLO, _ACTIVE, _STUCK = "_bk_nhi", "_bk_nlo", "_bk_active", "_bk_stuck"


def skew(x: pl.Expr) -> pl.Expr:
    """COINr's ``skew``: ``sqrt(n) * sum(d^3) / sum(d^2)^1.5 * sqrt(n(n-1)) / (n-2)``.

    ``d`` are deviations from R's two-pass mean; null below 3 values and for a constant column
    (R's ``NaN``, which ``check_SkewKurt`` reads as ``NA``). Use inside ``.over(partition)``.
    """
    n = x.count().cast(pl.Float64)
    d = x - r_mean(x)
    s2, s3 = (d * d).sum(), d.pow(3).sum()
    value = n.sqrt() * s3 / s2.pow(1.5) * (n * (n - 1)).sqrt() / (n - 2)
    return pl.when(n >= 3).then(value).fill_nan(None)


def kurt(x: pl.Expr) -> pl.Expr:
    """COINr's ``kurt`` (excess): ``((n+1)(r-3)+6)(n-1) / ((n-2)(n-3))``.

    ``r = n * sum(d^4) / sum(d^2)^2`` with ``d`` the deviations from the mean. Null below 4
    values and for a constant column. Use inside ``.over(partition)``.
    """
    n = x.count().cast(pl.Float64)
    d = x - r_mean(x)
    s2, s4 = (d * d).sum(), d.pow(4).sum()
    r = n * s4 / (s2 * s2)
    value = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return pl.when(n >= 4).then(value).fill_nan(None)


def passes(x: pl.Expr, skew_thresh: float = 2.0, kurt_thresh: float = 3.5) -> pl.Expr:
    """``check_SkewKurt``: ``|skew| < skew_thresh | kurt < kurt_thresh`` with R's NA logic.

    Polars' Kleene logic is R's: ``null | true`` is true, ``null | false`` is null (untestable).
    """
    return (skew(x).abs() < skew_thresh) | (kurt(x) < kurt_thresh)


def log_ct(x: pl.Expr) -> pl.Expr:
    """COINr's ``log_CT``: ``log(x - min(x) + 0.01 * (max(x) - min(x)))``."""
    lo, hi = x.min(), x.max()
    return (x - lo + 0.01 * (hi - lo)).log()


def _settings(params: Mapping[str, Any]) -> tuple[int, float, float]:
    """``winmax``, ``skew_thresh`` and ``kurt_thresh``, checked."""
    try:
        winmax = int(params.get("winmax", 5))
        skew_thresh = float(params.get("skew_thresh", 2.0))
        kurt_thresh = float(params.get("kurt_thresh", 3.5))
    except (TypeError, ValueError) as err:
        raise MethodError(f"jrc treatment: bad parameter ({err})") from None
    if winmax < 0:
        raise MethodError(f"jrc treatment: winmax must be >= 0, got {winmax}")
    return winmax, skew_thresh, kurt_thresh


def _winsorise_step(df: pl.DataFrame, winmax: int, st: float, kt: float) -> pl.DataFrame:
    """One winsorisation step for every still-failing partition, then the re-test."""
    xw, active = pl.col(_XW), pl.col(_ACTIVE)
    high = (skew(xw) >= 0).over(PART)
    at_max = xw == xw.max().over(PART)
    at_min = xw == xw.min().over(PART)
    next_max = xw.filter(xw != xw.max()).max().over(PART)
    next_min = xw.filter(xw != xw.min()).min().over(PART)
    up, down = active & high, active & high.not_()
    df = df.with_columns(
        pl.when(up & at_max)
        .then(next_max)
        .when(down & at_min)
        .then(next_min)
        .otherwise(xw)
        .alias(_XW),
        pl.when(up).then(at_max.sum().over(PART)).otherwise(pl.col(_NHI)).alias(_NHI),
        pl.when(down).then(at_min.sum().over(PART)).otherwise(pl.col(_NLO)).alias(_NLO),
    )
    df = df.with_columns(
        pl.when(active).then(passes(xw, st, kt).over(PART)).otherwise(pl.col(_WPASS)).alias(_WPASS)
    )
    moved = pl.col(_NHI) + pl.col(_NLO)
    return df.with_columns(
        (pl.col(_STUCK) | (active & pl.col(_WPASS).is_null())).alias(_STUCK),
        (active & pl.col(_WPASS).not_().fill_null(False) & (moved < winmax)).alias(_ACTIVE),
    )


def _winsorise(df: pl.DataFrame, winmax: int, st: float, kt: float) -> pl.DataFrame:
    """COINr's ``winsorise`` loop, run for all failing partitions together."""
    df = df.with_columns(
        pl.col(_X0).alias(_XW),
        pl.lit(0, pl.Int64).alias(_NHI),
        pl.lit(0, pl.Int64).alias(_NLO),
        pl.lit(None, pl.Boolean).alias(_WPASS),
        pl.lit(False).alias(_STUCK),
        (pl.col(_P0).not_().fill_null(False) & pl.lit(winmax > 0)).alias(_ACTIVE),
    )
    for _ in range(winmax):
        if not df.select(pl.col(_ACTIVE).any()).item():
            break
        df = _winsorise_step(df, winmax, st, kt)
    return df


def _log_frame(df: pl.DataFrame, final: pl.Expr, st: float, kt: float) -> pl.DataFrame:
    """One row per partition: the statistics before and after and what was done."""
    x0 = pl.col(_X0)
    per_part = df.select(
        PART,
        skew_before=skew(x0).over(PART),
        kurt_before=kurt(x0).over(PART),
        winsorised=pl.col("_bk_winsorised"),
        log_transformed=pl.col("_bk_logged"),
        skew_after=skew(final).over(PART),
        kurt_after=kurt(final).over(PART),
        passed=passes(final, st, kt).over(PART),
    )
    return per_part.group_by(PART, maintain_order=True).first().sort(PART)


def jrc(frame: pl.DataFrame, params: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """COINr's default treatment (see the module docstring), for every ``_part`` at once.

    Args:
        frame: long frame with ``_part`` (partition id), ``x`` (Float64, nulls allowed) and any
            other columns, which are returned untouched and in the same row order.
        params: ``winmax`` (5), ``skew_thresh`` (2), ``kurt_thresh`` (3.5), COINr's defaults.

    Returns:
        The frame with ``x`` treated (missing values stay as they were), and the log: one row per
        ``_part`` with ``skew_before, kurt_before, winsorised, log_transformed, skew_after,
        kurt_after, passed``. ``winsorised`` counts the points moved in the result that was kept
        (0 when the winsorisation was dropped for ``log_CT``).
    """
    winmax, st, kt = _settings(params)
    x = pl.col("x")
    df = frame.with_columns(clean(x).alias(_X0))
    df = df.with_columns(passes(pl.col(_X0), st, kt).over(PART).alias(_P0))
    df = _winsorise(df, winmax, st, kt)
    failing = pl.col(_P0).not_().fill_null(False) & pl.col(_STUCK).not_()
    win_ok = failing & pl.col(_WPASS).fill_null(False)
    df = df.with_columns(log_ct(pl.col(_X0)).over(PART).alias(_XL))
    df = df.with_columns(passes(pl.col(_XL), st, kt).over(PART).alias(_LPASS))
    logged = failing & win_ok.not_() & pl.col(_LPASS).is_not_null()
    df = df.with_columns(
        pl.when(win_ok).then(pl.col(_NHI) + pl.col(_NLO)).otherwise(0).alias("_bk_winsorised"),
        logged.alias("_bk_logged"),
        pl.when(win_ok)
        .then(pl.col(_XW))
        .when(logged)
        .then(pl.col(_XL))
        .otherwise(pl.col(_X0))
        .alias("_bk_final"),
    )
    log = _log_frame(df, pl.col("_bk_final"), st, kt)
    missing = x.is_null() | x.is_nan()
    treated = df.with_columns(pl.when(missing).then(x).otherwise(pl.col("_bk_final")).alias("x"))
    return treated.select(frame.columns), log


def no_treatment(
    frame: pl.DataFrame, params: Mapping[str, Any]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Leave ``x`` as it is; the log still reports skew, kurtosis and the JRC test per partition."""
    _, st, kt = _settings(params)
    df = frame.with_columns(
        clean(pl.col("x")).alias(_X0),
        pl.lit(0, pl.Int64).alias("_bk_winsorised"),
        pl.lit(False).alias("_bk_logged"),
    )
    return frame, _log_frame(df, pl.col(_X0), st, kt)


_THRESHOLDS = (
    Param("skew_thresh", float, 2.0, "pass if |skew| is below this ..."),
    Param("kurt_thresh", float, 3.5, "... or if the excess kurtosis is below this"),
)

TREATMENTS: tuple[Treatment, ...] = (
    Treatment(
        "jrc",
        jrc,
        (
            Param("winmax", int, 5, "most points winsorised before falling back to log"),
            *_THRESHOLDS,
        ),
        summary="Skew/kurtosis test, winsorise up to winmax points, else log (COINr Treat)",
    ),
    Treatment("none", no_treatment, _THRESHOLDS, summary="No treatment; the test is only reported"),
)


@hookimpl
def register_treatments(register: Register) -> None:
    """Register every built-in treatment."""
    for treatment in TREATMENTS:
        register(treatment)
