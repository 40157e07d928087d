"""Indicator sets (data files registered by plugins) → one catalog frame the engine can join on.

The catalog is what makes a number meaningful: unit, direction, plausible bounds, focus area, the
indices it feeds, and — for derived indicators — how to compute it from raw counts. Catalog files
are plain CSV so that a statistician can review and extend them without reading code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import polars as pl

from benchmarkkit.columns import FOCUS_AREAS, INDICES
from benchmarkkit.errors import PluginError

KINDS = ("indicator", "raw", "context")

CATALOG: dict[str, pl.DataType] = {
    "id": pl.String(),
    "code": pl.String(),
    "name": pl.String(),
    "official_name": pl.String(),
    "unit": pl.String(),
    "kind": pl.String(),
    "direction": pl.Int8(),
    "lower": pl.Float64(),
    "upper": pl.Float64(),
    "bound_type": pl.String(),
    "focus_area": pl.String(),
    "indices": pl.List(pl.String()),
    "numerator": pl.String(),
    "denominator": pl.String(),
    "scale": pl.Float64(),
    "source_standard": pl.String(),
    "definition": pl.String(),
    "crosswalk": pl.String(),
    "notes": pl.String(),
    "set": pl.String(),
}
"""``direction`` is +1 (higher is better), -1 (lower is better) or null (raw counts and context,
which are never scored). ``bound_type`` 'hard' rejects values outside [lower, upper];
'soft' warns."""


@dataclass(frozen=True)
class IndicatorSet:
    """A catalog file a plugin registers with ``register_indicator_sets``."""

    name: str
    path: Path | Traversable
    description: str = ""
    kind: str = "indicator_set"


def _text(col: str, names: list[str]) -> pl.Expr:
    if col not in names:
        return pl.lit(None, dtype=pl.String)
    stripped = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def read_indicator_set(indicator_set: IndicatorSet) -> pl.DataFrame:
    """One catalog file in the canonical catalog shape; errors name the set, row and column."""
    data = indicator_set.path.read_bytes()
    try:
        raw = pl.read_csv(data, infer_schema=False)
    except pl.exceptions.PolarsError as err:
        raise PluginError(indicator_set.name, f"catalog file cannot be read ({err})") from None
    names = raw.columns
    for required in ("id", "unit", "higher_is_better", "focus_area"):
        if required not in names:
            raise PluginError(
                indicator_set.name,
                f"catalog file lacks the column '{required}'",
                hint="see indicators/README.md for the columns",
            )
    kind = _text("kind", names).fill_null("indicator")
    hib = _text("higher_is_better", names).str.to_lowercase()
    frame = raw.with_row_index("_line", offset=2).select(
        pl.col("_line"),
        _text("id", names).alias("id"),
        _text("code", names).alias("code"),
        pl.coalesce(_text("short_name", names), _text("name", names), _text("id", names)).alias(
            "name"
        ),
        _text("official_name", names).alias("official_name"),
        _text("unit", names).alias("unit"),
        kind.alias("kind"),
        pl.when(kind != "indicator")
        .then(None)
        .when(hib == "true")
        .then(1)
        .when(hib == "false")
        .then(-1)
        .otherwise(None)
        .cast(pl.Int8)
        .alias("direction"),
        hib.alias("_hib"),
        _text("min_plausible", names).cast(pl.Float64, strict=False).alias("lower"),
        _text("max_plausible", names).cast(pl.Float64, strict=False).alias("upper"),
        _text("bound_type", names).fill_null("soft").alias("bound_type"),
        _text("focus_area", names).alias("focus_area"),
        _text("indices", names)
        .str.split(";")
        .list.eval(pl.element().str.strip_chars())
        .alias("indices"),
        _text("numerator", names).alias("numerator"),
        _text("denominator", names).alias("denominator"),
        _text("scale", names).cast(pl.Float64, strict=False).alias("scale"),
        _text("source_standard", names).alias("source_standard"),
        _text("definition", names).alias("definition"),
        _text("crosswalk", names).alias("crosswalk"),
        _text("notes", names).alias("notes"),
        pl.lit(indicator_set.name).alias("set"),
    )
    _check_rows(frame, indicator_set.name)
    return frame.drop("_line", "_hib").with_columns(pl.col("indices").fill_null([]))


def _check_rows(frame: pl.DataFrame, set_name: str) -> None:
    """Refuse a catalog whose rows the engine would misread; say which line and why."""
    checks: list[tuple[pl.Expr, str, str]] = [
        (pl.col("id").is_null(), "id", "every row needs an id"),
        (pl.col("id").is_duplicated(), "id", "ids must be unique"),
        (~pl.col("kind").is_in(KINDS), "kind", f"kind must be one of {', '.join(KINDS)}"),
        (
            (pl.col("kind") == "indicator") & pl.col("direction").is_null(),
            "higher_is_better",
            "a scored indicator needs higher_is_better true or false",
        ),
        (
            (pl.col("kind") == "indicator") & ~pl.col("focus_area").is_in(FOCUS_AREAS),
            "focus_area",
            f"focus_area must be one of {', '.join(FOCUS_AREAS)}",
        ),
        (
            pl.col("indices").list.eval(~pl.element().is_in(INDICES)).list.any().fill_null(False),
            "indices",
            f"indices are ';'-separated among {', '.join(INDICES)}",
        ),
        (
            pl.col("numerator").is_null() != pl.col("denominator").is_null(),
            "denominator",
            "a derived indicator needs both numerator and denominator",
        ),
        (~pl.col("bound_type").is_in(["hard", "soft"]), "bound_type", "bound_type is hard or soft"),
    ]
    for condition, column, hint in checks:
        bad = frame.filter(condition)
        if bad.height:
            first = bad.row(0, named=True)
            raise PluginError(
                set_name,
                f"catalog line {first['_line']}, column '{column}': bad value for '{first['id']}'",
                hint=hint,
            )


def build_catalog(sets: dict[str, IndicatorSet]) -> pl.DataFrame:
    """All registered sets as one frame; an id defined by two sets is an error naming both."""
    frames = [read_indicator_set(s) for s in sets.values()]
    if not frames:
        return pl.DataFrame(schema=CATALOG)
    catalog = pl.concat(frames, how="vertical")
    dup = catalog.filter(pl.col("id").is_duplicated()).sort("id")
    if dup.height:
        first = dup["id"][0]
        owners = dup.filter(pl.col("id") == first)["set"].to_list()
        raise PluginError(
            owners[-1],
            f"indicator id '{first}' is also defined by set '{owners[0]}'",
            hint="indicator ids must be unique across indicator sets",
        )
    derived = catalog.filter(pl.col("numerator").is_not_null())
    known = set(catalog["id"])
    for row in derived.iter_rows(named=True):
        for part in ("numerator", "denominator"):
            if row[part] not in known:
                raise PluginError(
                    row["set"],
                    f"'{row['id']}' is derived from unknown {part} '{row[part]}'",
                    hint="add that raw indicator to a catalog",
                )
    return catalog.select(list(CATALOG)).cast(CATALOG)  # type: ignore[arg-type]


def catalog_from_registry(registry: object) -> pl.DataFrame:
    sets = registry.of("indicator_set")  # type: ignore[attr-defined]
    return build_catalog(sets)


Register = Callable[[IndicatorSet], None]
