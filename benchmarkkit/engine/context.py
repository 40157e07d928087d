"""What the stages of one scoring run share: the framework's codes, the units, the warnings.

Why a module of its own: every stage (``stages.py``), every level (``levels.py``) and the assembly
(``assemble.py``) read the same run state and name a misbehaving plugin method the same way, so
that state and the guard live below all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.engine.encode import Units
from benchmarkkit.errors import BenchmarkkitError, PluginError

if TYPE_CHECKING:
    from benchmarkkit.methods.parse import MethodCall
    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Framework

WARNING_SCHEMA = {
    "scorer": pl.String,
    "year": pl.Int32,
    "node": pl.String,
    "city_id": pl.String,
    "kind": pl.String,
    "message": pl.String,
}


@dataclass
class Run:
    """One scoring run: the framework's codes and everything the stages share."""

    framework: Framework
    leaf_names: list[str]
    node_names: list[str]
    nodes: pl.DataFrame
    units: Units
    warnings: list[pl.DataFrame] = field(default_factory=list)

    @property
    def n_leaves(self) -> int:
        return len(self.leaf_names)

    def warn(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self.warnings.append(
                frame.with_columns(pl.lit(self.framework.name).alias("scorer"))
                .select(list(WARNING_SCHEMA))
                .cast(WARNING_SCHEMA)
            )  # type: ignore

    def leaf_series(self, codes: pl.Series) -> pl.Series:
        return pl.Series("indicator", self.leaf_names, dtype=pl.String).gather(codes)

    def with_names(self, cells: pl.DataFrame, roots: list[str] | set[str]) -> pl.DataFrame:
        """Add the string columns a plugin expression reads (``city_id``, ``indicator``,
        ``year``) to the coded cell frame."""
        extra = []
        if "city_id" in roots and "city_id" not in cells.columns:
            extra.append(self.units.city_ids(cells["_u"]))
        if "year" in roots and "year" not in cells.columns:
            extra.append(self.units.year_values(cells["_u"]))
        if "indicator" in roots and "indicator" not in cells.columns:
            extra.append(self.leaf_series(cells["_i"]))
        return cells.with_columns(extra) if extra else cells


def keep_units(cells: pl.DataFrame, run: Run, mask: pl.Series) -> pl.DataFrame:
    """Drop the units where ``mask`` is false from ``cells`` and from the run, renumbering."""
    units, remap = run.units.keep(mask)
    run.units = units
    return (
        cells.with_columns(remap.gather(cells["_u"]).alias("_u"))
        .filter(pl.col("_u").is_not_null())
        .with_columns(pl.col("_i").set_sorted())
    )


# --- plugin methods that misbehave ---------------------------------------------------------------


@contextmanager
def method_guard(registry: Registry, kind: str, call: MethodCall | None) -> Iterator[None]:
    """A method that raises, or returns the wrong shape, is named with the plugin that registered
    it — one line, not a traceback — and only that scorer is affected."""
    try:
        yield
    except BenchmarkkitError:
        raise
    except Exception as err:
        if call is None:
            raise
        owner = registry.owner.get((kind, call.name), call.name)
        raise PluginError(
            owner,
            f"{KIND_WORD[kind]} '{call.name}' failed "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})",
            hint=f"fix the method, or skip the plugin with --disable-plugin {owner}",
        ) from None


KIND_WORD = {
    "imputer": "imputer",
    "treatment": "treatment",
    "normaliser": "normaliser",
    "aggregator": "aggregator",
}


def node_year_key(nodes: pl.Series, units: pl.Series, run: Run) -> pl.Series:
    """(node, year) as one code, flagged sorted: along a node-major level (units by year, then
    city) it is, so ``over()`` and ``group_by`` on it take Polars' sorted path, no hashing."""
    n_years = run.units.years.len()
    return (
        nodes.cast(pl.UInt64) * n_years + run.units.year.gather(units).cast(pl.UInt64)
    ).set_sorted()
