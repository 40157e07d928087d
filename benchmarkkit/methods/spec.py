"""What a method plugin registers: normalisers, aggregators, imputers and outlier treatments.

Methods are *Polars expressions*, not loops: the engine evaluates one expression over the whole long
table, partitioned by indicator (and year), so every indicator and every city is done at once. A
method therefore only says how one column of one partition is transformed; the engine owns the
partitioning, the direction flip, missing-value bookkeeping and flags.

Contracts (the engine relies on them; a plugin author should too):

* ``Normaliser.fn(x, params) -> pl.Expr`` — ``x`` is the indicator value already multiplied by its
  direction (+1/-1, COINr's rule: higher is better after normalisation). The engine evaluates the
  result with ``.over(partition)`` where the partition is (indicator, year) or (indicator,) when
  pooled over years. Missing stays missing. Per-indicator parameters (goalposts, targets, caps)
  arrive as the columns declared in ``indicator_params``, already converted by the engine to the
  direction-adjusted scale (see ``IndicatorParam``).
* ``Aggregator.fn(x, w, params) -> pl.Expr`` — an aggregation evaluated inside
  ``group_by(city, year, parent).agg(...)`` over the children *present* for that city (null/NaN
  children are removed by the engine before the call; weights are the raw child weights, the method
  renormalises them). ``frame_fn`` is for methods that compare cities with each other (Copeland):
  it receives the long child frame and returns one score per (city_id, year, parent).
* ``Imputer.fn(x, params) -> pl.Expr`` — evaluated with ``.over(partition)``; the partition is
  (indicator, year[, group column]) for cross-sectional methods, (city_id, indicator) sorted by year
  for panel methods. The engine flags every cell it filled.
* ``Treatment.fn(frame, params) -> (frame, log)`` — outlier treatment needs iteration (winsorise one
  point, re-test), so it takes the long frame with ``_part`` (an integer partition id) and ``x`` and
  returns the frame with ``x`` treated plus a log frame saying what was done to each partition.

Capabilities, not identities. What the engine may assume about a method is *declared* on it, never
inferred from which method it is: an aggregator's ``domain`` (the values it can aggregate) and
``weighted_mean`` (it is exactly the weighted arithmetic mean, so the engine may compute it
densely); a normaliser's ``indicator_params`` (the per-indicator columns it reads, and whether they
are in the indicator's units); a treatment's ``lean`` (it reads only ``_part`` and ``x``). A third
party's method that declares the same gets the same treatment, fast paths included; a test checks
that every fast path equals the generic one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import polars as pl

Domain = Literal["any", "positive", "non_negative", "nonzero"]
"""Values an aggregator can aggregate: ``positive`` (x > 0: geometric), ``non_negative`` (x >= 0:
a fractional power), ``nonzero`` (x != 0: harmonic), ``any``."""

DOMAIN_WORDS: dict[str, str] = {
    "any": "any value",
    "positive": "values > 0",
    "non_negative": "values >= 0",
    "nonzero": "values other than 0",
}


@dataclass(frozen=True)
class Param:
    """One parameter of a method, as shown by ``benchmarkkit methods`` and parsed from the CLI."""

    name: str
    kind: type  # float, int or str
    default: Any
    doc: str = ""


@dataclass(frozen=True)
class IndicatorParam:
    """A per-indicator parameter a normaliser reads, as a column of the framework's nodes.

    The column may come from the catalog, a TOML framework (a key of an ``[[indicator]]``) or a
    COINr iMeta column of the same name; the engine looks it up by ``name`` for every method that
    declares it, so a new per-indicator parameter needs no change outside its method.

    Why ``units`` matters: the method sees ``x = direction × value``, so a parameter given in the
    indicator's own units must be converted for lower-is-better indicators, and only the engine
    knows the direction. ``"indicator"``: the engine multiplies by the direction (a target); with
    ``pair`` set, the column is one end of an interval whose other end is ``pair``, and for
    ``direction = -1`` the ends swap and negate (goalposts: lower ← -upper), which is what COINr's
    ``use_iMeta`` does. ``"unitless"``: passed unchanged (a scale, a cap flag).
    """

    name: str
    kind: type = float
    """``float`` or ``bool``: the column's type as the method reads it."""
    units: Literal["indicator", "unitless"] = "unitless"
    pair: str | None = None
    required: bool = True
    """Required: the framework must have the column (else a one-line MethodError). Optional: a
    missing column or an empty cell is null, and the method falls back to its own parameter."""
    doc: str = ""


@dataclass(frozen=True)
class Normaliser:
    name: str
    fn: Callable[[pl.Expr, Mapping[str, Any]], pl.Expr]
    params: tuple[Param, ...] = ()
    indicator_params: tuple[IndicatorParam, ...] = ()
    """Per-indicator columns the expression reads (``pl.col(name)``), see ``IndicatorParam``."""
    summary: str = ""
    kind: Literal["normaliser"] = field(default="normaliser", init=False)


@dataclass(frozen=True)
class Aggregator:
    name: str
    fn: Callable[[pl.Expr, pl.Expr, Mapping[str, Any]], pl.Expr] | None = None
    frame_fn: Callable[[pl.LazyFrame, Mapping[str, Any]], pl.LazyFrame] | None = None
    params: tuple[Param, ...] = ()
    summary: str = ""
    domain: Domain | Callable[[Mapping[str, Any]], Domain] = "any"
    """The child values the method can aggregate, or a function of the parameters giving it (the
    generalised mean's depends on ``p``). The engine refuses present children outside it with a
    MethodError naming the method, the city and the child, instead of returning NaN or -inf."""
    weighted_mean: bool = False
    """True when the method is exactly COINr's weighted arithmetic mean of the children present,
    ``sum(w / sum(w) * x)`` in that order of operations: the engine may then compute it densely
    (a horizontal sum over each parent's children, no grouping) with the same bits."""
    skips_missing: bool | Callable[[Mapping[str, Any]], bool] = True
    """True (COINr's ``na.rm``, every built-in by default): the engine removes null and NaN
    children before the call. False, or a function of the parameters returning False: the method
    gets every child, missing ones included, and decides itself (COINr's own ``a_genmean``, where
    one missing child makes the parent missing)."""
    kind: Literal["aggregator"] = field(default="aggregator", init=False)

    def skips(self, params: Mapping[str, Any]) -> bool:
        """Whether the engine removes missing children before the call, for these parameters."""
        return self.skips_missing(params) if callable(self.skips_missing) else self.skips_missing

    def domain_for(self, params: Mapping[str, Any]) -> Domain:
        """The declared domain for these parameters."""
        return self.domain(params) if callable(self.domain) else self.domain


@dataclass(frozen=True)
class Imputer:
    name: str
    fn: Callable[[pl.Expr, Mapping[str, Any]], pl.Expr]
    params: tuple[Param, ...] = ()
    panel: bool = False
    """Panel methods run along time within a city; cross-sectional ones across cities in a year."""
    summary: str = ""
    kind: Literal["imputer"] = field(default="imputer", init=False)


@dataclass(frozen=True)
class Treatment:
    name: str
    fn: Callable[[pl.DataFrame, Mapping[str, Any]], tuple[pl.DataFrame, pl.DataFrame]]
    params: tuple[Param, ...] = ()
    summary: str = ""
    lean: bool = False
    """True when the method reads only ``_part`` and ``x`` and returns its rows in the order given,
    as many as it got: the engine then passes just those two columns (no string keys are built,
    which at millions of cells costs more than the treatment) and takes ``x`` back by position."""
    kind: Literal["treatment"] = field(default="treatment", init=False)


Method = Normaliser | Aggregator | Imputer | Treatment


def outside(domain: str, x: pl.Expr) -> pl.Expr | None:
    """A boolean expression, true where ``x`` is outside ``domain``; None for ``any``."""
    if domain == "positive":
        return x <= 0
    if domain == "non_negative":
        return x < 0
    if domain == "nonzero":
        return x == 0
    if domain == "any":
        return None
    raise ValueError(f"unknown domain {domain!r}: one of {', '.join(DOMAIN_WORDS)}")
