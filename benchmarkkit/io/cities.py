"""The cities (context) table from a user's file: what peer groups and group imputation use."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.errors import InputError, did_you_mean
from benchmarkkit.io.read import ReadOptions

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry

NUMERIC = ("population", "area_km2")


def read_cities(path: Path, registry: Registry) -> pl.DataFrame:
    """A cities file: ``city_id`` required; ``networks`` may be ';'-separated; numbers typed."""
    from benchmarkkit.io.load import read_table

    if not path.is_file():
        raise InputError("cities file not found", source=str(path))
    table = read_table(path, registry, ReadOptions()).drop("_row", "_bad")
    if "city_id" not in table.columns:
        raise InputError(
            "missing required column 'city_id'",
            source=str(path),
            column="city_id",
            hint=did_you_mean("city_id", table.columns) or "add a city_id column",
        )
    table = table.with_columns(pl.col("city_id").cast(pl.String).str.strip_chars())
    for col in NUMERIC:
        if col in table.columns:
            parsed = pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
            bad = table.filter(pl.col(col).is_not_null() & parsed.is_null())
            if bad.height:
                raise InputError(f"'{bad[col][0]}' is not a number", source=str(path), column=col)
            table = table.with_columns(parsed.alias(col))
    if "networks" in table.columns and table.schema["networks"] == pl.String:
        table = table.with_columns(pl.col("networks").str.split(";"))
    dup = table.filter(pl.col("city_id").is_duplicated())
    if dup.height:
        raise InputError(
            f"city '{dup['city_id'][0]}' appears twice",
            source=str(path),
            column="city_id",
            hint="one row per city",
        )
    return table
