"""The canonical frames every stage reads and writes: names, dtypes and the fixed vocabularies.

Every stage of the one-way flow (load → validate → score → compare → render) speaks these shapes,
so a plugin written against this module keeps working when the stages around it change.

* **observations** (the long indicator table): one row per city × year × indicator. ``source`` and
  ``row`` are provenance: the file a value came from and its row *as the user sees it* (for CSV and
  Excel the line number counting the header as line 1; for Parquet/Arrow the 1-based record number),
  so any later message can point back at the exact cell.
* **cities** (context): one row per city; attributes a peer group or an imputation group may use.
  Extra columns are allowed and kept: ``country:DE``-style peer specs work on any column.
* **rejected**: one row per unusable input row (or file) with the named rule that refused it.
* **scores**: one row per city × year × scorer × node of the framework tree.
"""

from __future__ import annotations

from typing import Final, TypeVar

import polars as pl

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

FOCUS_AREAS: Final = (
    "civic_social",
    "health_wellbeing",
    "safety_security",
    "quality_environment",
    "built_infrastructure",
    "industry_innovation",
)
"""ASCN's six development focus areas, in the ASEAN Smart Cities Framework's order."""

FOCUS_AREA_LABELS: Final = {
    "civic_social": "Civic & social",
    "health_wellbeing": "Health & well-being",
    "safety_security": "Safety & security",
    "quality_environment": "Quality environment",
    "built_infrastructure": "Built infrastructure",
    "industry_innovation": "Industry & innovation",
}

INDICES: Final = ("livability", "competitiveness", "sustainability")
"""ASCN's three strategic objectives as indices: quality of life, economy, environment."""

OBSERVATIONS: Final[dict[str, pl.DataType]] = {
    "city_id": pl.String(),
    "city_name": pl.String(),
    "country": pl.String(),
    "year": pl.Int32(),
    "indicator": pl.String(),
    "value": pl.Float64(),
    "flag": pl.String(),
    "source": pl.String(),
    "row": pl.Int64(),
}
"""The long indicator table. ``flag`` holds e.g. ``estimated``, ``provisional``, ``break``,
``derived`` or ``imputed`` (comma-separated when several apply); null means an ordinary value."""

CITIES: Final[dict[str, pl.DataType]] = {
    "city_id": pl.String(),
    "city_name": pl.String(),
    "country": pl.String(),
    "region": pl.String(),
    "population": pl.Float64(),
    "area_km2": pl.Float64(),
    "networks": pl.List(pl.String()),
}
"""City context. Only ``city_id`` is required; other columns may be null or absent, and extra
columns (income, climate zone …) are kept for peer selection and group imputation."""

REJECTED: Final[dict[str, pl.DataType]] = {
    "source": pl.String(),
    "row": pl.Int64(),
    "column": pl.String(),
    "rule": pl.String(),
    "message": pl.String(),
    "hint": pl.String(),
}
"""Rows that could not be used. ``row`` is null when the whole file was refused."""

WARNINGS: Final = REJECTED
"""Same shape as rejected rows, for rows that were *kept* but deserve a look (soft bounds)."""

SCORES: Final[dict[str, pl.DataType]] = {
    "city_id": pl.Categorical(),
    "year": pl.Int32(),
    "scorer": pl.Categorical(),
    "node": pl.Categorical(),
    "level": pl.Int32(),
    "score": pl.Float64(),
    "rank": pl.UInt32(),
    "n_present": pl.UInt32(),
    "n_children": pl.UInt32(),
    "coverage": pl.Float64(),
}
"""Scores of every node of every level. Level 1 is the indicator level (normalised values), the
highest level is the index. ``coverage`` = share of the node's *indicators* the city has.
Rows come in a fixed order: level (index first), node, year, city — the engine's own layout, so
a scores frame of tens of millions of rows is never re-sorted. The three keys are dictionary-encoded
(``Categorical``): a run of 10,000 cities × 150 indicators × 20 years has ~50 M rows but only
10,000 ids, a few hundred node names and three scorers, so each row holds small integer codes (and
Parquet writes them as dictionary pages). Compare them with text as usual (``pl.col("node") ==
"pm25"``); to join them with a text column, cast (``text_keys``)."""


KEYS: Final = ("city_id", "scorer", "node")
"""The dictionary-encoded keys of ``SCORES``."""


def text_keys(frame: FrameT) -> FrameT:
    """``frame`` with its dictionary-encoded keys as text, for joining with text-keyed tables.

    Why: the scores frame keeps ``city_id``, ``scorer`` and ``node`` as categories (small and
    fast at tens of millions of rows), but Polars joins a category only with a category; the
    analyses join the scores with frameworks, observations and cities, which hold text. Filter
    first, then cast: the cast touches only the rows kept."""
    cast = [
        pl.col(name).cast(pl.String)
        for name, dtype in frame.collect_schema().items()
        if name in KEYS and dtype == pl.Categorical
    ]
    return frame.with_columns(cast) if cast else frame  # type: ignore[return-value]


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame of a canonical shape: concatenating with it never changes dtypes."""
    return pl.DataFrame(schema=schema)


def conform(frame: pl.DataFrame | pl.LazyFrame, schema: dict[str, pl.DataType]) -> pl.LazyFrame:
    """Select and cast a frame to a canonical shape, adding absent optional columns as nulls."""
    lf = frame.lazy()
    names = lf.collect_schema().names()
    return lf.select(
        [
            (pl.col(name) if name in names else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )
