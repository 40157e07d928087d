"""What a method plugin registers: normalisers, aggregators, imputers and outlier treatments.

Methods are *Polars expressions*, not loops: the engine evaluates one expression over the whole long
table, partitioned by indicator (and year), so every indicator and every city is done at once. A
method therefore only says how one column of one partition is transformed; the engine owns the
partitioning, the direction flip, missing-value bookkeeping and flags.

Contracts (the engine relies on them; a plugin author should too):

* ``Normaliser.fn(x, params) -> pl.Expr`` — ``x`` is the indicator value already multiplied by its
  direction (+1/-1, COINr's rule: higher is better after normalisation). The engine evaluates the
  result with ``.over(partition)`` where the partition is (indicator, year) or (indicator,) when
  pooled over years. Missing stays missing. Per-indicator parameters (goalposts, targets) arrive as
  the columns named in ``columns``, already converted by the engine to the direction-adjusted scale.
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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class Param:
    """One parameter of a method, as shown by ``benchmarkkit methods`` and parsed from the CLI."""

    name: str
    kind: type  # float, int or str
    default: Any
    doc: str = ""


@dataclass(frozen=True)
class Normaliser:
    name: str
    fn: Callable[[pl.Expr, Mapping[str, Any]], pl.Expr]
    params: tuple[Param, ...] = ()
    columns: tuple[str, ...] = ()
    """Per-indicator metadata columns the expression reads (e.g. ``goalpost_lower``)."""
    summary: str = ""
    kind: Literal["normaliser"] = field(default="normaliser", init=False)


@dataclass(frozen=True)
class Aggregator:
    name: str
    fn: Callable[[pl.Expr, pl.Expr, Mapping[str, Any]], pl.Expr] | None = None
    frame_fn: Callable[[pl.LazyFrame, Mapping[str, Any]], pl.LazyFrame] | None = None
    params: tuple[Param, ...] = ()
    summary: str = ""
    requires_positive: bool = False
    """True for methods undefined at values <= 0 (geometric; harmonic at 0): the engine refuses such
    input with a clear message instead of returning NaN or -inf."""
    kind: Literal["aggregator"] = field(default="aggregator", init=False)


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
    kind: Literal["treatment"] = field(default="treatment", init=False)


Method = Normaliser | Aggregator | Imputer | Treatment
