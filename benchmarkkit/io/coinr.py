"""COINr's data layout (``iData`` with an ``iMeta``) → our observations, cities and catalog.

So a COINr user runs ``benchmarkkit score iData.csv --framework iMeta.csv`` unchanged: uCode is
the city id, uName its name, ``Time`` the year (absent: year 0, as a single COINr coin has no time),
``*_group`` columns (iMeta ``Type = Group``) become city attributes for group imputation, and
indicators and denominators become observations, validated like any other data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.errors import InputError
from benchmarkkit.io.catalog import CATALOG
from benchmarkkit.io.load import Loaded, cities_table
from benchmarkkit.io.mapping import Mapping
from benchmarkkit.io.read import ReadOptions
from benchmarkkit.io.validate import validate

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry


def coinr_catalog(meta: pl.DataFrame, name: str) -> pl.DataFrame:
    """iMeta's indicators and denominators as catalog rows: no bounds (COINr has none)."""
    rows = meta.filter(pl.col("Type").is_in(["Indicator", "Denominator"]))
    return (
        rows.select(
            pl.col("iCode").alias("id"),
            pl.lit(None, pl.String).alias("code"),
            pl.coalesce(
                pl.col("iName") if "iName" in rows.columns else pl.lit(None, pl.String),
                pl.col("iCode"),
            ).alias("name"),
            pl.lit(None, pl.String).alias("official_name"),
            (pl.col("Unit") if "Unit" in rows.columns else pl.lit(None, pl.String)).alias("unit"),
            pl.when(pl.col("Type") == "Indicator")
            .then(pl.lit("indicator"))
            .otherwise(pl.lit("raw"))
            .alias("kind"),
            pl.when(pl.col("Type") == "Indicator")
            .then(pl.col("Direction").cast(pl.Float64, strict=False).fill_null(1.0))
            .cast(pl.Int8)
            .alias("direction"),
        )
        .with_columns(
            pl.lit("coinr:" + name).alias("set"),
            pl.lit("soft").alias("bound_type"),
            pl.lit([], dtype=pl.List(pl.String)).alias("indices"),
        )
        .pipe(lambda f: pl.concat([pl.DataFrame(schema=CATALOG), f], how="diagonal_relaxed"))
        .select(list(CATALOG))
    )


COINR_ROLES = {"city_id": "uCode", "city_name": "uName", "year": "Time"}
"""The iData columns COINr names, by the role they play here."""


def load_coinr(
    meta_path: Path,
    paths: list[Path],
    options: ReadOptions,
    registry: Registry,
    mapping: Mapping | None = None,
) -> tuple[Loaded, pl.DataFrame]:
    """COINr's iData read as iMeta declares it: ``uCode`` the unit, one column per indicator,
    ``Time`` the year when present, Group columns kept as city attributes.

    ``mapping`` (``--mapping``, ``--column``) may say where an iData of your own keeps them:
    ``[columns] city_id = "城市代码"`` for ``uCode``, and ``[indicators]`` headers for iMeta's
    codes. A key that matches no header is an error, as everywhere."""
    if len(paths) != 1:
        raise InputError(
            "a COINr framework (iMeta) takes exactly one iData file",
            hint="benchmarkkit score iData.csv --framework iMeta.csv",
        )
    meta = pl.read_csv(meta_path, infer_schema=False)
    catalog = coinr_catalog(meta, meta_path.stem)
    codes = catalog["id"].to_list()
    groups = meta.filter(pl.col("Type") == "Group")["iCode"].to_list()
    path = paths[0]
    from benchmarkkit.io.load import read_table

    if not path.is_file():
        raise InputError("file not found", source=str(path))

    table = _renamed(read_table(path, registry, options), mapping, str(path))
    for col in ("uCode", *codes):
        if col not in table.columns:
            raise InputError(
                f"iData lacks the column '{col}' that iMeta declares", source=str(path), column=col
            )
    constants = {} if "Time" in table.columns else {"year": "0"}
    columns = {"city_id": "uCode", **({"year": "Time"} if "Time" in table.columns else {})}
    if "uName" in table.columns:
        columns["city_name"] = "uName"
    from benchmarkkit.io.mapping import to_long

    keep = [*columns.values(), *codes, "_row", "_bad"]
    long, headers = to_long(
        table.select(keep), Mapping(shape="wide", columns=columns, constants=constants), str(path)
    )
    validated = validate([(long, headers)], catalog, years=(0, 9999))
    cities = table.select(pl.col("uCode").alias("city_id"), *[pl.col(g) for g in groups]).unique(
        "city_id", keep="first"
    )
    obs = validated.observations
    return Loaded(validated, obs, cities_table(obs, cities)), catalog


def _renamed(table: pl.DataFrame, mapping: Mapping | None, source: str) -> pl.DataFrame:
    """The iData with the mapping's headers renamed to COINr's own names (``uCode``, ``uName``,
    ``Time``, indicator codes), matched as every mapping key is (normalised, did-you-mean)."""
    if mapping is None or not (mapping.columns or mapping.indicators):
        return table
    from benchmarkkit.io.mapping import Headers, _lookup

    index = Headers([c for c in table.columns if c not in ("_row", "_bad")])
    unknown = [role for role in mapping.columns if role not in COINR_ROLES]
    if unknown:
        raise InputError(
            f"a COINr iData has no role '{unknown[0]}'",
            source=mapping.path,
            hint=f"map only {', '.join(COINR_ROLES)} (and indicators) for a COINr framework",
        )
    found = _lookup(list(mapping.columns.values()), index, mapping, "[columns]", source)
    renames = {found[h]: COINR_ROLES[role] for role, h in mapping.columns.items() if h in found}
    headers = _lookup(list(mapping.indicators), index, mapping, "[indicators]", source)
    for key, header in headers.items():
        code, scale = mapping.indicators[key]
        if scale != 1:
            raise InputError(
                f"[indicators] '{key}' has a scale, which a COINr iData cannot take",
                source=mapping.path,
                hint="scale the column in the file, or use a native framework",
            )
        renames[header] = code
    return table.rename(renames)
