"""Aggregation methods: weighted means as Polars aggregations, and Copeland over city pairs.

``fn(x, w, params)`` is evaluated by the engine inside ``group_by(city_id, year, parent).agg(...)``
over the children *present* for that city (null and NaN children removed before the call, so
every method skips missing children and renormalises the weights of the children that are left,
which is COINr's rule). Each formula keeps the order of operations of its COINr 1.1.14 ``a_*``
function so results agree to the last bits.

Domain checks. ``a_gmean`` stops on any value <= 0 and ``a_hmean`` on any 0; our engine must refuse
the same input with a clear message instead of producing NaN or -inf. Each method *declares* its
domain (``Aggregator.domain``: ``positive``, ``nonzero``, or for ``genmean`` a function of ``p``),
and the engine checks the present children of every parent against the declaration, whoever
registered the method. :func:`check_positive` applies a declared domain to a child frame and raises
:class:`~benchmarkkit.errors.MethodError`; :func:`invalid_values` gives the rule as an expression.
``arithmetic`` also declares ``weighted_mean=True``: the engine may compute it densely.

Departures from COINr, on purpose:

* ``genmean``: COINr computes ``sum(w * x^p) / sum(w)`` without ``na.rm``, so one missing child
  makes the parent missing. We skip missing children and renormalise the weights like every other
  mean (``genmean:p``); ``genmean:p,coinr=1`` keeps COINr's rule (one missing child → missing
  parent). ``p = 0`` is refused as in COINr (use ``geometric``); with ``p`` not a whole number,
  negative values are refused (R would return NaN silently).
* ``copeland``: a contest is decided on the children both cities have; ``copeland:coinr=1`` keeps
  COINr's handling of missing children. See :func:`copeland_scores`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.errors import MethodError
from benchmarkkit.methods.normalise import divide, flag
from benchmarkkit.methods.spec import DOMAIN_WORDS, Aggregator, Domain, Param, outside

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarkkit.hookspecs import Register

_Formula = Callable[[pl.Expr, pl.Expr, Mapping[str, Any]], pl.Expr]

TIE_TOLERANCE = 1e-12
"""A pairwise Copeland contest is a tie when the weighted balance is within this share of the
weights compared: weights such as 1/3 sum to 0.5 only up to rounding."""


def ordered_sum(terms: list[pl.Expr]) -> pl.Expr:
    """The sum of ``terms`` added left to right, a null counting as 0 (as in ``sum_horizontal``).

    Why not ``pl.sum_horizontal``: with several threads Polars 2.1 adds its inputs in the order
    they finish, so the same data give sums that differ in the last bit from run to run (200 runs
    of 12 columns × 10,000 rows: 149,937 cells differed). A chain of ``+`` is evaluated the same
    way every time, so scores, ranks and files are the same for the same data.
    """
    total = terms[0].fill_null(0)
    for term in terms[1:]:
        total = total + term.fill_null(0)
    return total


def _p(params: Mapping[str, Any]) -> float:
    """The generalised mean's exponent, refused when it is not a non-zero number."""
    value = params.get("p", 2.0)
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise MethodError(f"genmean: parameter 'p' must be a number, got {value!r}") from None
    if p == 0:
        raise MethodError(
            "genmean: p = 0 is the geometric mean in the limit",
            hint="use the 'geometric' aggregator instead",
        )
    return p


# --- row-wise means (one value per city, year and parent) ------------------------------------


def _present_only(formula: _Formula) -> _Formula:
    """Apply ``formula`` to the present children only and name the result like ``x``.

    The engine already drops null and NaN children; filtering again costs little and keeps the
    methods right when called on a frame that still has them (an all-missing group gives null, not
    the 0 of an empty sum).
    """

    @functools.wraps(formula)
    def method(x: pl.Expr, w: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
        ok = x.is_not_null() & x.is_not_nan()
        result = pl.when(ok.any()).then(formula(x.filter(ok), w.filter(ok), params))
        name = x.meta.output_name(raise_if_undetermined=False)
        return result.alias(name) if name else result

    return method


@_present_only
def arithmetic(x: pl.Expr, w: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``a_amean``: ``sum(w / sum(w) * x)`` over the children present, each ``w / sum(w)`` a
    true division (see ``normalise.divide``), as R and the engine's dense path compute it."""
    return (divide(w, w.sum()) * x).sum()


@_present_only
def geometric(x: pl.Expr, w: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``a_gmean``: ``exp(sum(w * log(x)) / sum(w))``; needs every value > 0 (see check)."""
    return ((w * x.log()).sum() / w.sum()).exp()


@_present_only
def harmonic(x: pl.Expr, w: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``a_hmean``: ``sum(w) / sum(w / x)``; needs every value != 0 (see check)."""
    return w.sum() / (w / x).sum()


@_present_only
def _genmean_skipping(x: pl.Expr, w: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    p = _p(params)
    return ((w * x.pow(p)).sum() / w.sum()).pow(1 / p)


def genmean(x: pl.Expr, w: pl.Expr, params: Mapping[str, Any]) -> pl.Expr:
    """``a_genmean``: ``(sum(w * x^p) / sum(w))^(1/p)``.

    Two behaviours with missing children. Ours (default): skip them and renormalise the weights,
    like every other mean and as COINr's documentation promises ("NA are skipped by default").
    COINr 1.1.14's code (``coinr=1``): ``w[is.na(x)] <- NA; sum(w * x^p) / sum(w)`` has no
    ``na.rm``, so one missing child makes the parent missing. With ``coinr=1`` the method declares
    ``skips_missing`` false and sees every child.

    >>> import polars as pl
    >>> f = pl.DataFrame({"x": [1.0, 3.0, None], "w": [1.0, 1.0, 1.0]})
    >>> f.select(genmean(pl.col("x"), pl.col("w"), {"p": 1}))["x"].to_list()
    [2.0]
    >>> f.select(genmean(pl.col("x"), pl.col("w"), {"p": 1, "coinr": True}))["x"].to_list()
    [None]
    """
    if not _coinr(params):
        return _genmean_skipping(x, w, params)
    p = _p(params)
    missing = x.is_null() | x.is_nan()
    result = pl.when(missing.any().not_()).then(((w * x.pow(p)).sum() / w.sum()).pow(1 / p))
    name = x.meta.output_name(raise_if_undetermined=False)
    return result.alias(name) if name else result


def _coinr(params: Mapping[str, Any]) -> bool:
    """The ``coinr`` option: COINr 1.1.14's own handling of missing children."""
    return flag(params, "coinr", False)


def _skips_unless_coinr(params: Mapping[str, Any]) -> bool:
    return not _coinr(params)


# --- Copeland (compares cities with each other) ---------------------------------------------------


def copeland_scores(frame: pl.LazyFrame, params: Mapping[str, Any]) -> pl.LazyFrame:
    """``a_copeland``: wins minus losses in weighted pairwise contests between cities.

    COINr builds ``outrankMatrix``: for cities i and j, ``orm[i, j]`` is the normalised weight of
    the children where i beats j plus half the weight of ties, then ``a_copeland`` scores +1 when
    ``orm > 0.5``, -1 when ``< 0.5``, 0 at 0.5 and sums over opponents. With no missing values
    that is exactly the sign of ``D = sum_k w_k * sign(x_ik - x_jk)``, computed here for all
    pairs at once (a self-join per year, parent and child: O(cities² × children) rows, fine for
    benchmarking panels of a few thousand cities, not for hundreds of thousands).

    Input: ``city_id, year, parent, child, x, w``, where ``w`` is the raw weight of the child (the
    same for every city; only the sign of the weighted balance matters, so no renormalisation is
    needed). Rows whose ``x`` is null or NaN may be present or not; they never take part in a
    contest. Output: ``city_id, year, parent, score`` with one row per (city_id, year, parent) of
    the input; ``score`` is null when the city has no child present (a parent is missing only when
    all its children are); a lone city scores 0.

    Departure from COINr with missing values: COINr computes only the upper triangle of the
    matrix, with ``NA`` comparisons dropped, and sets ``orm[j, i] = 1 - orm[i, j]``; the weight of a
    child missing for either city is thereby credited to whichever city comes *later* in row order,
    and a city with no data at all still gets a score. Here a contest between two cities is decided
    on the children both have (a child missing for either side counts for neither), so the result
    does not depend on the order of the cities. Identical to COINr when nothing is missing.
    ``coinr=1`` keeps COINr's rule (:func:`copeland_coinr`).
    """
    if _coinr(params):
        return copeland_coinr(frame, params)
    keys = ["year", "parent", "child"]
    rows = frame.select("city_id", "year", "parent", "child", pl.col("x").fill_nan(None), "w")
    present = rows.filter(pl.col("x").is_not_null())
    rival = present.select(*keys, pl.col("city_id").alias("_rival"), pl.col("x").alias("_rival_x"))
    balance = (
        present.join(rival, on=keys)
        .filter(pl.col("city_id") != pl.col("_rival"))
        .group_by("year", "parent", "city_id", "_rival")
        .agg(
            _d=(pl.col("w") * (pl.col("x") - pl.col("_rival_x")).sign()).sum(),
            _wsum=pl.col("w").abs().sum(),
        )
    )
    tol = pl.col("_wsum") * TIE_TOLERANCE
    outcome = pl.when(pl.col("_d") > tol).then(1).when(pl.col("_d") < -tol).then(-1).otherwise(0)
    wins = balance.group_by("year", "parent", "city_id").agg(_wins=outcome.sum())
    has_data = present.group_by("year", "parent", "city_id").agg(_n=pl.len())
    cities = rows.select("city_id", "year", "parent").unique()
    return (
        cities.join(has_data, on=["year", "parent", "city_id"], how="left")
        .join(wins, on=["year", "parent", "city_id"], how="left")
        .select(
            "city_id",
            "year",
            "parent",
            score=pl.when(pl.col("_n").is_not_null()).then(
                pl.col("_wins").fill_null(0).cast(pl.Float64)
            ),
        )
    )


def copeland_coinr(frame: pl.LazyFrame, params: Mapping[str, Any]) -> pl.LazyFrame:
    """COINr 1.1.14's ``a_copeland`` with its handling of missing children, cities in ``city_id``
    order (COINr's row order when the data are sorted by unit code).

    For cities ``i`` before ``j``: ``orm[i, j]`` = normalised weight of the children where both
    have a value and ``i`` is higher, plus half the weight of ties; ``orm[j, i] = 1 - orm[i, j]``.
    A child missing for either city thereby counts for the later city, and a city without any
    data still gets a score. Each city scores ``+1`` per ``orm > 0.5``, ``-1`` per ``< 0.5``
    (a balance within ``TIE_TOLERANCE`` of 0.5 is a tie, where R compares exactly).
    """
    rows = frame.select("city_id", "year", "parent", "child", pl.col("x").fill_nan(None), "w")
    weights = rows.select("year", "parent", "child", "w").unique(["year", "parent", "child"])
    total = weights.group_by("year", "parent").agg(_wt=pl.col("w").sum())
    cities = rows.select("year", "parent", "city_id").unique()
    present = rows.filter(pl.col("x").is_not_null())
    rival = present.select(
        "year", "parent", "child", pl.col("city_id").alias("_rival"), pl.col("x").alias("_rx")
    )
    wn = pl.col("w") / pl.col("_wt")
    half = (
        present.join(rival, on=["year", "parent", "child"])
        .filter(pl.col("city_id") < pl.col("_rival"))
        .join(total, on=["year", "parent"])
        .group_by("year", "parent", "city_id", "_rival")
        .agg(
            _orm=wn.filter(pl.col("x") > pl.col("_rx")).sum()
            + wn.filter(pl.col("x") == pl.col("_rx")).sum() / 2
        )
    )
    pairs = (
        cities.join(cities.rename({"city_id": "_rival"}), on=["year", "parent"])
        .filter(pl.col("city_id") < pl.col("_rival"))
        .join(half, on=["year", "parent", "city_id", "_rival"], how="left")
        .with_columns(pl.col("_orm").fill_null(0.0))
    )

    def outcome(orm: pl.Expr) -> pl.Expr:
        return (
            pl.when(orm > 0.5 + TIE_TOLERANCE)
            .then(1)
            .when(orm < 0.5 - TIE_TOLERANCE)
            .then(-1)
            .otherwise(0)
        )

    both = pl.concat(
        [
            pairs.select("year", "parent", "city_id", _s=outcome(pl.col("_orm"))),
            pairs.select(
                "year", "parent", pl.col("_rival").alias("city_id"), _s=outcome(1 - pl.col("_orm"))
            ),
        ]
    )
    wins = both.group_by("year", "parent", "city_id").agg(_wins=pl.col("_s").sum())
    return cities.join(wins, on=["year", "parent", "city_id"], how="left").select(
        "city_id", "year", "parent", score=pl.col("_wins").fill_null(0).cast(pl.Float64)
    )


# --- domain checks --------------------------------------------------------------------------------


def genmean_domain(params: Mapping[str, Any]) -> Domain:
    """``x > 0`` when ``p < 0`` (COINr stops on 1/0), ``x >= 0`` when ``p`` is not a whole number
    (R would give NaN), any value otherwise."""
    p = _p(params)
    if p < 0:
        return "positive"
    if not float(p).is_integer():
        return "non_negative"
    return "any"


def _declared(method: str | Aggregator) -> Aggregator:
    """The built-in aggregator of that name, or the aggregator itself."""
    if isinstance(method, Aggregator):
        return method
    for aggregator in AGGREGATORS:
        if aggregator.name == method:
            return aggregator
    raise MethodError(f"unknown aggregator '{method}'")


def invalid_values(
    method: str | Aggregator, params: Mapping[str, Any] | None, x: pl.Expr
) -> pl.Expr | None:
    """A boolean expression, true for child values ``method`` refuses; None if all values work.

    Read from the method's declared ``domain`` (a built-in may be named): geometric ``x <= 0``
    (COINr stops), harmonic ``x == 0`` (COINr stops; negatives are allowed as in COINr), genmean
    ``x <= 0`` when ``p < 0``, ``x < 0`` when ``p`` is not a whole number.
    """
    return outside(_declared(method).domain_for(params or {}), x)


def check_positive(
    frame: pl.DataFrame | pl.LazyFrame,
    method: str | Aggregator,
    params: Mapping[str, Any] | None = None,
    *,
    value: str = "x",
    where: Sequence[str] = ("city_id", "year", "parent", "child"),
) -> None:
    """Raise :class:`MethodError` if ``frame`` holds child values ``method`` cannot aggregate.

    Only present values count (null and NaN are skipped, as the aggregation skips them). The
    message names the method, the number of offending values and the first one, located by the
    ``where`` columns that exist in the frame (the engine passes the child: the indicator or node).
    """
    aggregator = _declared(method)
    domain = aggregator.domain_for(params or {})
    rule = outside(domain, pl.col(value))
    if rule is None:
        return
    lf = frame.lazy()
    names = lf.collect_schema().names()
    cols = [c for c in where if c in names]
    bad = (
        lf.filter(pl.col(value).is_not_null() & pl.col(value).is_not_nan() & rule)
        .select(*cols, value)
        .sort(cols or value)
        .collect()
    )
    if bad.is_empty():
        return
    first = ", ".join(f"{c} {bad[c][0]!r}" for c in cols)
    raise MethodError(
        f"{aggregator.name} aggregation needs {DOMAIN_WORDS[domain]}: {bad.height} child value(s) "
        f"are not (first: {first}, value {bad[value][0]!r})",
        hint="normalise onto a positive range first, e.g. minmax with low=1, high=100",
    )


_COINR = Param(
    "coinr", bool, False, "COINr 1.1.14's own handling of missing children (see the docstring)"
)

AGGREGATORS: tuple[Aggregator, ...] = (
    Aggregator(
        "arithmetic",
        arithmetic,
        summary="Weighted arithmetic mean of the children present (COINr a_amean)",
        weighted_mean=True,
    ),
    Aggregator(
        "geometric",
        geometric,
        summary="Weighted geometric mean; children must be > 0 (COINr a_gmean)",
        domain="positive",
    ),
    Aggregator(
        "harmonic",
        harmonic,
        summary="Weighted harmonic mean; children must not be 0 (COINr a_hmean)",
        domain="nonzero",
    ),
    Aggregator(
        "genmean",
        genmean,
        params=(
            Param("p", float, 2.0, "exponent p != 0 (1 = arithmetic, -1 = harmonic)"),
            _COINR,
        ),
        summary="Weighted generalised (power) mean, missing children skipped (COINr a_genmean)",
        domain=genmean_domain,
        skips_missing=_skips_unless_coinr,
    ),
    Aggregator(
        "copeland",
        frame_fn=copeland_scores,
        params=(_COINR,),
        skips_missing=_skips_unless_coinr,
        summary="Copeland score: pairwise wins minus losses between cities (COINr a_copeland)",
    ),
)


@hookimpl
def register_aggregators(register: Register) -> None:
    """Register every built-in aggregator."""
    for aggregator in AGGREGATORS:
        register(aggregator)
