"""Files on disk → validated, derived observations and a cities table: the first stage of the flow.

``load`` reads every file with the loader registered for its suffix, maps it to the long shape
(with the mapping's section for that file), validates all files together and computes derived
indicators. A file that cannot be used at all is one rejected entry (row empty) and the other files
still load. Your own indicators (declared in the mapping or in indicator CSVs) join the catalog
first, so they are validated, derived and scored like the built-in ones; the cities table is built
from the data itself (population, area, ``[attributes]``) unless a cities file says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.columns import CITIES, REJECTED, conform
from benchmarkkit.errors import InputError
from benchmarkkit.io.catalog import extend_catalog, read_indicator_csv, records_to_catalog
from benchmarkkit.io.mapping import Mapped, Mapping, map_table
from benchmarkkit.io.read import ReadOptions
from benchmarkkit.io.validate import YEAR_RANGE, Validated, validate
from benchmarkkit.methods.derive import derive_all

CONTEXT_NUMERIC = ("population", "area_km2")
CONTEXT_INDICATORS = {"population": "population", "area_km2": "area_km2"}
"""Indicators that are also city context: the latest value of each city feeds the cities table, so
``size:`` and ``similar:`` peers work without a cities file."""

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry


@dataclass(frozen=True)
class Loaded:
    validated: Validated
    observations: pl.DataFrame
    """Accepted observations plus derived indicators."""
    cities: pl.DataFrame
    catalog: pl.DataFrame | None = None
    """The catalog the data were checked against: the registered one plus your own indicators
    (None: the registered catalog as it was given)."""

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


def read_file(path: Path, registry: Registry, mapping: Mapping, options: ReadOptions) -> Mapped:
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
    return map_table(table, mapping, str(path))


def own_catalog(
    catalog: pl.DataFrame, mapping: Mapping, indicator_files: Sequence[Path] = ()
) -> pl.DataFrame:
    """The registered catalog plus the indicators of ``--indicators`` files and the mapping."""
    own = [read_indicator_csv(Path(p)) for p in indicator_files]
    if mapping.declared:
        name = Path(mapping.path).stem if mapping.path else "mapping"
        own.append(records_to_catalog(list(mapping.declared), name, mapping.path or "mapping"))
    return extend_catalog(catalog, *own)


def _overlay(base: pl.DataFrame, top: pl.DataFrame) -> pl.DataFrame:
    """``top``'s non-null cells over ``base``'s, joined on city_id (cities of either kept)."""
    shared = [c for c in top.columns if c in base.columns and c != "city_id"]
    joined = base.join(top, on="city_id", how="full", coalesce=True, suffix="_top")
    return joined.with_columns(pl.coalesce(f"{c}_top", c).alias(c) for c in shared).drop(
        f"{c}_top" for c in shared
    )


def attributes_table(files: list[Mapped]) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    """City context mapped from the data files (``[attributes]``): one row per city, each attribute
    from the latest year that has it; population and area typed and scaled (万人 × 10 000),
    ``networks`` split on ';'. Other attributes stay text (a province, a name in Chinese). A cell
    that should be a number and is not is a warning (the city then lacks it), not a silent gap."""
    frames, warnings = [], []
    for f in files:
        if f.attributes is None:
            continue
        numeric = [
            c for c in f.attributes.columns if c in CONTEXT_NUMERIC or f.scales.get(c, 1.0) != 1.0
        ]
        parsed = {
            c: pl.col(c).str.replace_all(",", "").cast(pl.Float64, strict=False) for c in numeric
        }
        for c, expr in parsed.items():
            bad = f.attributes.filter(pl.col(c).is_not_null() & expr.is_null())
            warnings.append(
                bad.select(
                    pl.lit(f.source).alias("source"),
                    pl.col("_row").alias("row"),
                    pl.lit(f.attribute_columns.get(c, c)).alias("column"),
                    pl.lit("attribute_not_numeric").alias("rule"),
                    pl.format("{} '{}' is not a number", pl.lit(c), pl.col(c)).alias("message"),
                    pl.lit("write the number alone; the city lacks this attribute").alias("hint"),
                )
            )
        typed = f.attributes.with_columns(
            pl.col("year").str.strip_chars().cast(pl.Float64, strict=False).alias("_year"),
            *[(expr * f.scales.get(c, 1.0)).alias(c) for c, expr in parsed.items()],
        ).drop("year", "_row")
        frames.append(typed)
    found = pl.concat(warnings).cast(REJECTED) if warnings else pl.DataFrame(schema=REJECTED)
    if not frames:
        return None, found
    every = pl.concat(frames, how="diagonal_relaxed").filter(
        pl.col("city_id").is_not_null() & (pl.col("city_id") != "")
    )
    attrs = [c for c in every.columns if c not in ("city_id", "_year")]
    table = (
        every.sort("_year", nulls_last=False)
        .group_by("city_id")
        .agg(pl.col(c).drop_nulls().last() for c in attrs)
    )
    if "networks" in table.columns and table.schema["networks"] == pl.String:
        table = table.with_columns(
            pl.col("networks").str.split(";").list.eval(pl.element().str.strip_chars())
        )
    return table.sort("city_id"), found


def context_from_data(observations: pl.DataFrame) -> pl.DataFrame | None:
    """Population and area from the observations: each city's latest value."""
    present = observations.filter(pl.col("indicator").is_in(list(CONTEXT_INDICATORS)))
    if present.height == 0:
        return None
    latest = (
        present.sort("year")
        .group_by("city_id", "indicator")
        .agg(pl.col("value").last())
        .pivot(on="indicator", index="city_id", values="value")
    )
    return latest.rename({k: v for k, v in CONTEXT_INDICATORS.items() if k in latest.columns})


def _names_and_countries(observations: pl.DataFrame) -> pl.DataFrame:
    """Each city's most frequent name and country (a tie: the first in sort order; none: null).

    Nearly always a city has one name and one country, and then the smallest and largest of its
    values are equal and are the answer: a streaming group-by with four small aggregates (27 M
    rows: 0.3 s, no memory to speak of, where the mode of every group took 2.5 s and 3 GiB). Only
    the cities with two different values get the mode.
    """
    name, country = pl.col("city_name"), pl.col("country")
    bounds = (
        observations.lazy()
        .group_by("city_id")
        .agg(
            name.min().alias("_n0"),
            name.max().alias("_n1"),
            country.min().alias("_c0"),
            country.max().alias("_c1"),
        )
        .collect()
    )
    mixed = bounds.filter((pl.col("_n0") != pl.col("_n1")) | (pl.col("_c0") != pl.col("_c1")))
    seen = bounds.select(
        "city_id", pl.col("_n0").alias("city_name"), pl.col("_c0").alias("country")
    )
    if mixed.height == 0:
        return seen
    ids = mixed["city_id"].implode()
    modes = (
        observations.filter(pl.col("city_id").is_in(ids, nulls_equal=True))
        .group_by("city_id")
        .agg(name.drop_nulls().mode().sort().first(), country.drop_nulls().mode().sort().first())
    )
    return pl.concat([seen.filter(~pl.col("city_id").is_in(ids, nulls_equal=True)), modes])


def cities_table(
    observations: pl.DataFrame,
    extra: pl.DataFrame | None = None,
    attributes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per city: names and countries from the data; population and area from the data's
    own indicators, overridden by ``attributes`` (mapped columns), overridden by ``extra`` (a
    cities file)."""
    seen = _names_and_countries(observations)
    for top in (context_from_data(observations), attributes):
        if top is not None:
            seen = _overlay(seen, top)
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
    indicator_files: Sequence[Path] = (),
    extra: Sequence[Mapped] = (),
) -> Loaded:
    """``indicator_files``: indicator CSVs (``--indicators``) whose rows join the catalog.
    ``extra``: tables already mapped (an embedded data set's rows) validated together with the
    files, so a duplicate or a conflict between the two is caught like one inside a file."""
    mapping = mapping or Mapping()
    options = options or ReadOptions()
    catalog = own_catalog(catalog, mapping, indicator_files)
    unmatched = mapping.unmatched_files(list(paths))
    if unmatched:
        raise InputError(
            f'[files."{unmatched[0]}"] matches none of the files given',
            source=mapping.path,
            hint="use the file's name as given ("
            + ", ".join(Path(p).name for p in paths[:5])
            + ") or a glob such as 'data-*.csv'",
        )
    files: list[Mapped] = list(extra)
    unusable = []
    for path in paths:
        try:
            files.append(read_file(path, registry, mapping.for_file(path), options))
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
    return _finish(files, catalog, cities, unusable=bad, years=years)


def _finish(
    files: list[Mapped],
    catalog: pl.DataFrame,
    cities: pl.DataFrame | None,
    *,
    unusable: pl.DataFrame | None = None,
    years: tuple[int, int] = YEAR_RANGE,
) -> Loaded:
    """Validate the mapped files together, derive, and build the cities table."""
    ignored: dict[str, int] = {}
    for f in files:
        if f.ignored:
            ignored[f.source] = ignored.get(f.source, 0) + f.ignored
    validated = validate(
        [(f.long, f.headers) for f in files],
        catalog,
        unusable=unusable,
        years=years,
        ignored=ignored,
    )
    derived, dropped = derive_all(validated.observations.lazy(), catalog)
    observations, dropped_frame = pl.collect_all([derived, dropped])
    validated = validated.with_warnings(dropped_frame)
    attrs, attr_warnings = attributes_table(files)
    validated = validated.with_warnings(attr_warnings)
    return Loaded(validated, observations, cities_table(observations, cities, attrs), catalog)


def load_frame(
    frame: pl.DataFrame,
    registry: Registry,
    catalog: pl.DataFrame,
    *,
    mapping: Mapping | None = None,
    cities: pl.DataFrame | None = None,
    source: str = "<DataFrame>",
    indicator_files: Sequence[Path] = (),
) -> Loaded:
    """A table already in memory (a notebook's Polars frame) through the same mapping, validation
    and derivation as a file: rows are numbered as a spreadsheet would (header = 1), and every
    cell is read as text first, so that a frame and the same data written to CSV load alike."""
    if frame.height == 0:
        raise InputError("the frame has no rows", source=source, hint="pass a non-empty frame")
    text = frame.select(pl.all().cast(pl.String)).with_row_index("_row", offset=2)
    text = text.with_columns(pl.col("_row").cast(pl.Int64), pl.lit(None, pl.String).alias("_bad"))
    mapping = mapping or Mapping()
    catalog = own_catalog(catalog, mapping, indicator_files)
    return _finish([map_table(text, mapping.for_file(source), source)], catalog, cities)
