"""What a scorer plugin registers: a framework (the indicator tree) and its default methods.

A scorer *describes* an index; the engine (``score.py``) computes every scorer the same way, so a
third party's index gets imputation, treatment, normalisation, aggregation, ranks, coverage and
warnings for free, and the built-in indices have no privileges a plugin lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import polars as pl

FRAMEWORK_NODES = {
    "node": "String",
    "name": "String",
    "level": "Int32",
    "parent": "String",
    "weight": "Float64",
    "direction": "Int8",
    "target": "Float64",
    "goalpost_lower": "Float64",
    "goalpost_upper": "Float64",
    "goalpost_scale": "Float64",
    "goalpost_trunc2posts": "Boolean",
    "denominator": "String",
    "unit": "String",
    "focus_area": "String",
}
"""Columns of ``Framework.nodes``. Level 1 rows are indicators (``node`` = indicator id); higher
levels are aggregates; the single top node is the index. Bounds and targets are in the indicator's
own units: the engine converts them for "lower is better" indicators."""


@dataclass(frozen=True)
class Pipeline:
    """Method choices, as the CLI spells them (``minmax:0,100``, ``group-mean:country`` …)."""

    impute: str = "none"
    treat: str = "none"
    normalise: str = "minmax:0,100"
    aggregate: str | tuple[str, ...] = "arithmetic"
    """One method for every level, or one per level above the indicators (level 2, 3, …)."""
    min_coverage: float | None = None
    """Share of a node's children that must be present, else the node is missing (COINr's
    dat_thresh: missing when the present share is strictly below it)."""
    screen: float | None = None
    """Drop cities whose share of available indicators in a year is below this (unit screening)."""
    reference: Literal["year", "pooled"] = "year"
    """Normalise within each year, or over all years together (pooled) so that a city's score
    changes only when its own data changes."""
    denominate: bool = False
    """Divide indicators by the framework's denominators (COINr ``Denominate``)."""
    min_index_coverage: float = 0.0
    """Below this share of the index's available indicators, a city's index score is withheld and
    reported as too thin to score (the score would rest on too few indicators to mean much)."""

    def with_options(self, **changes: Any) -> Pipeline:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class Framework:
    name: str
    nodes: pl.DataFrame
    title: str = ""
    pipeline: Pipeline = field(default_factory=Pipeline)
    groups: tuple[str, ...] = ()
    """City attributes the framework declares (COINr ``Group`` rows), for group imputation."""


@dataclass(frozen=True)
class Scorer:
    """A composite index: ``build(catalog, observations)`` returns its framework for a data set.

    Building from the data lets an index "work on whatever indicators a data set has": the
    built-in scorers take every catalog indicator of their index that the data contains.
    """

    name: str
    build: Callable[[pl.DataFrame, pl.DataFrame], Framework]
    title: str = ""
    description: str = ""
    pipeline: Pipeline = field(default_factory=Pipeline)
    kind: Literal["scorer"] = field(default="scorer", init=False)
