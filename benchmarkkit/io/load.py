"""Files on disk → validated, derived observations and a cities table: the first stage of the flow.

``load`` reads every file with the loader registered for its suffix, maps it to the long shape,
validates all files together and computes derived indicators. A file that cannot be used at all is
one rejected entry (row empty) and the other files still load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.columns import CITIES, REJECTED, conform
from benchmarkkit.errors import InputError
from benchmarkkit.io.mapping import Mapping, to_long
from benchmarkkit.io.read import ReadOptions
from benchmarkkit.io.validate import YEAR_RANGE, Validated, validate
from benchmarkkit.methods.denominate import derive

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry


@dataclass(frozen=True)
class Loaded:
    validated: Validated
    observations: pl.DataFrame
    """Accepted observations plus derived indicators."""
    cities: pl.DataFrame

    @property
    def unusable_files(self) -> int:
        return self.validated.rejected.filter(pl.col("row").is_null()).height


def loader_for(path: Path, registry: Registry):
    suffix = path.suffix.lower()
    for loader in registry.of("loader").values():
        if suffix in loader.suffixes:
            return loader
    known = sorted(s for ld in registry.of("loader").values() for s in ld.suffixes)
    raise InputError(
        f"no loader for '{suffix or path.name}' files",
        source=str(path),
        hint=f"supported: {', '.join(known)}",
    )


def read_table(path: Path, registry: Registry, options: ReadOptions) -> pl.DataFrame:
    """``path`` through the loader registered for it — built-in or a plugin's, the same way for
    data, cities and COINr files: bounded by ``--plugin-timeout``, a crash named with its plugin."""
    from benchmarkkit.plugins import call_plugin

    loader = loader_for(path, registry)
    owner = registry.owner.get(("loader", loader.name), loader.name)
    return call_plugin(owner, f"reading {path.name}", registry.timeout, loader.read, path, options)


def read_file(
    path: Path, registry: Registry, mapping: Mapping, options: ReadOptions
) -> tuple[pl.DataFrame, dict[str, str]]:
    if not path.exists():
        raise InputError("file not found", source=str(path), hint="check the path")
    if path.is_dir():
        raise InputError("is a folder, not a file", source=str(path))
    if path.stat().st_size == 0:
        raise InputError("the file is empty", source=str(path), hint="export the data again")
    table = read_table(path, registry, options)
    if table.height == 0:
        raise InputError(
            "the file has a header but no rows", source=str(path), hint="export the data again"
        )
    return to_long(table, mapping, str(path))


def cities_table(observations: pl.DataFrame, extra: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per city: names and countries from the data, context columns from ``extra``."""
    seen = observations.group_by("city_id").agg(
        pl.col("city_name").drop_nulls().mode().sort().first(),
        pl.col("country").drop_nulls().mode().sort().first(),
    )
    if extra is not None:
        seen = seen.rename({"city_name": "_name_data", "country": "_country_data"})
        joined = extra.join(seen, on="city_id", how="full", coalesce=True)
        seen = joined.with_columns(
            pl.coalesce(*[c for c in ("city_name", "_name_data") if c in joined.columns]).alias(
                "city_name"
            ),
            pl.coalesce(*[c for c in ("country", "_country_data") if c in joined.columns]).alias(
                "country"
            ),
        ).drop("_name_data", "_country_data")
    base = conform(seen, CITIES).collect()
    others = [c for c in seen.columns if c not in CITIES]
    return pl.concat([base, seen.select(others)], how="horizontal").sort("city_id")


def load(
    paths: list[Path],
    registry: Registry,
    catalog: pl.DataFrame,
    *,
    mapping: Mapping | None = None,
    options: ReadOptions | None = None,
    years: tuple[int, int] = YEAR_RANGE,
    cities: pl.DataFrame | None = None,
) -> Loaded:
    mapping = mapping or Mapping()
    options = options or ReadOptions()
    files, unusable = [], []
    for path in paths:
        try:
            files.append(read_file(path, registry, mapping, options))
        except InputError as err:
            unusable.append(
                {
                    "source": str(path),
                    "row": None,
                    "column": err.column,
                    "rule": "file_unusable",
                    "message": err.detail,
                    "hint": err.hint,
                }
            )
    bad = pl.DataFrame(unusable, schema=REJECTED) if unusable else None
    validated = validate(files, catalog, unusable=bad, years=years)
    derived, dropped = derive(validated.observations.lazy(), catalog)
    observations, dropped_frame = pl.collect_all([derived, dropped])
    validated = validated.with_warnings(dropped_frame)
    return Loaded(validated, observations, cities_table(observations, cities))


def load_frame(
    frame: pl.DataFrame,
    registry: Registry,
    catalog: pl.DataFrame,
    *,
    mapping: Mapping | None = None,
    cities: pl.DataFrame | None = None,
    source: str = "<DataFrame>",
) -> Loaded:
    """A table already in memory (a notebook's Polars frame) through the same mapping, validation
    and derivation as a file: rows are numbered as a spreadsheet would (header = 1), and every
    cell is read as text first, so that a frame and the same data written to CSV load alike."""
    if frame.height == 0:
        raise InputError("the frame has no rows", source=source, hint="pass a non-empty frame")
    text = frame.select(pl.all().cast(pl.String)).with_row_index("_row", offset=2)
    text = text.with_columns(pl.col("_row").cast(pl.Int64), pl.lit(None, pl.String).alias("_bad"))
    validated = validate([to_long(text, mapping or Mapping(), source)], catalog)
    derived, dropped = derive(validated.observations.lazy(), catalog)
    observations, dropped_frame = pl.collect_all([derived, dropped])
    validated = validated.with_warnings(dropped_frame)
    return Loaded(validated, observations, cities_table(observations, cities))
