"""Build an index framework from the catalog: the path the built-in scorers take, open to plugins.

indicator (level 1) → ASCN focus area (level 2) → index (level 3). The indicators are every catalog
indicator tagged with the index that the data actually contains, so an index works on whatever a
data set has. Weights are equal within a focus area and across focus areas (the OECD/JRC default
when there is no consensus on importance); a scorer may pass its own focus-area weights.
"""

from __future__ import annotations

import polars as pl

from benchmarkkit.columns import FOCUS_AREA_LABELS, FOCUS_AREAS
from benchmarkkit.io.framework import NODE_SCHEMA
from benchmarkkit.scorer import RECOMMENDED, Framework, Pipeline, Scorer


def catalog_framework(
    name: str,
    title: str,
    catalog: pl.DataFrame,
    observations: pl.DataFrame,
    *,
    pipeline: Pipeline,
    focus_weights: dict[str, float] | None = None,
) -> Framework:
    present = observations.select(pl.col("indicator").unique())
    members = catalog.filter(
        (pl.col("kind") == "indicator") & pl.col("indices").list.contains(name)
    ).join(present, left_on="id", right_on="indicator", how="semi")
    leaves = members.select(
        pl.col("id").alias("node"),
        pl.col("name"),
        pl.lit(1).alias("level"),
        pl.col("focus_area").alias("parent"),
        pl.lit(1.0).alias("weight"),
        "direction",
        pl.lit(None).alias("target"),
        pl.lit(None).alias("goalpost_lower"),
        pl.lit(None).alias("goalpost_upper"),
        pl.lit(None).alias("goalpost_scale"),
        pl.lit(None).alias("goalpost_trunc2posts"),
        pl.lit(None).alias("denominator"),
        "unit",
        "focus_area",
    )
    areas = [a for a in FOCUS_AREAS if a in set(members["focus_area"])]
    weights = focus_weights or {}
    groups = pl.DataFrame(
        {
            "node": areas,
            "name": [FOCUS_AREA_LABELS[a] for a in areas],
            "level": [2] * len(areas),
            "parent": [name] * len(areas),
            "weight": [weights.get(a, 1.0) for a in areas],
            "focus_area": areas,
        }
    )
    root = pl.DataFrame({"node": [name], "name": [title], "level": [3]})
    nodes = (
        pl.concat(
            [leaves.cast(NODE_SCHEMA), groups, root],  # type: ignore[arg-type]
            how="diagonal_relaxed",
        )
        .select(list(NODE_SCHEMA))
        .cast(NODE_SCHEMA)
    )
    return Framework(name=name, nodes=nodes, title=title, pipeline=pipeline)


BUILTIN_PIPELINE = RECOMMENDED
"""The built-in indices' methods, and why:

* no imputation — a CSCO must see what the city reported, not an estimate; missing indicators are
  skipped and the remaining weights renormalised (shown as coverage);
* JRC outlier treatment (winsorise up to 5 points, else log) — one extreme city must not squash
  every other city into a corner of the 0–100 scale;
* min-max to 0–100 **pooled over all years** — so a city's score changes only when its own data
  change, and year-over-year change means something (per-year normalisation would move a city
  whose data stood still because another city moved);
* arithmetic mean, equal weights — transparent and compensatory, the OECD/JRC default;
* an index is withheld when the city has under half of the indicators available that year.
"""


def catalog_scorer(
    name: str, title: str, description: str, pipeline: Pipeline = BUILTIN_PIPELINE
) -> Scorer:
    """A scorer over every catalog indicator tagged ``name``: what the built-in indices are, and
    what a plugin registers for an index defined by catalog tags alone."""

    def build(catalog: pl.DataFrame, observations: pl.DataFrame) -> Framework:
        return catalog_framework(name, title, catalog, observations, pipeline=pipeline)

    return Scorer(name, build, title, description, pipeline)
