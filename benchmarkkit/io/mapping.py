"""How a user's table maps onto the long observations shape: which column is the city, the year …

Real files come long (city, year, indicator, value), wide (one column per indicator) or wide by year
(one column per year), with headers in any language. A ``Mapping`` says which is which; it comes
from a small TOML file (``--mapping``), from CLI options, or is guessed from common header names.
The result of ``to_long`` still holds text: parsing and checking values is validation's job.

Mapping file (TOML)::

    shape = "wide"                  # long | wide | wide_years (guessed when absent)
    [columns]                        # role = header in the file
    city_id = "城市代码"
    city_name = "城市"
    year = "年份"
    [constants]                      # a role the file has no column for
    country = "CN"
    [indicators]                     # wide: header = indicator id, or a table with a unit scale
    "常住人口（万人）" = { id = "population", scale = 10000 }
    "失业人数" = "unemployed_persons"
    [scale]                          # long: multiply an indicator's values on load
    gini_coefficient = 0.01
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from benchmarkkit.errors import InputError, did_you_mean

ROLES = ("city_id", "city_name", "country", "year", "indicator", "value", "flag")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "city_id": ("city_id", "city_code", "citycode", "ucode", "city id", "code", "geo", "city"),
    "city_name": ("city_name", "cityname", "uname", "name", "city name"),
    "country": ("country", "country_code", "countrycode", "iso3", "iso2"),
    "year": ("year", "time", "period", "time_period", "yr"),
    "indicator": ("indicator", "indicator_id", "indicator_code", "icode", "variable", "indic"),
    "value": ("value", "obs_value", "val", "amount"),
    "flag": ("flag", "obs_flag", "flags", "status"),
}
YEAR_HEADER = re.compile(r"^\s*(1[89]\d\d|2[01]\d\d)\s*$")
SHAPES = ("long", "wide", "wide_years")


@dataclass(frozen=True)
class Mapping:
    shape: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    indicators: dict[str, tuple[str, float]] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)

    def merged(self, other: Mapping) -> Mapping:
        """CLI options (other) override the mapping file (self)."""
        return Mapping(
            shape=other.shape or self.shape,
            columns={**self.columns, **other.columns},
            constants={**self.constants, **other.constants},
            indicators={**self.indicators, **other.indicators},
            scale={**self.scale, **other.scale},
        )


def read_mapping(path: Path) -> Mapping:
    """Parse a mapping TOML file; every mistake is one line naming the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("mapping file not found", source=str(path)) from None
    except IsADirectoryError:
        raise InputError("mapping is a folder, not a TOML file", source=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"mapping file is not valid TOML ({err})", source=str(path)) from None
    for section in ("columns", "constants", "indicators", "scale"):
        if section in data and not isinstance(data[section], dict):
            raise InputError(
                f"[{section}] must be a table of key = value lines",
                source=str(path),
                hint=f'e.g. [{section}] then  key = "value"',
            )
    unknown = set(data) - {"shape", "columns", "constants", "indicators", "scale"}
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(
            f"unknown key '{key}' in mapping",
            source=str(path),
            hint=did_you_mean(key, ["shape", "columns", "constants", "indicators", "scale"]),
        )
    shape = data.get("shape")
    if shape is not None and shape not in SHAPES:
        raise InputError(f"shape '{shape}' is not one of {', '.join(SHAPES)}", source=str(path))
    for section in ("columns", "constants"):
        for role in data.get(section, {}):
            if role not in ROLES:
                raise InputError(
                    f"[{section}] has unknown role '{role}'",
                    source=str(path),
                    hint=did_you_mean(role, ROLES) or f"roles: {', '.join(ROLES)}",
                )
    indicators: dict[str, tuple[str, float]] = {}
    for header, spec in data.get("indicators", {}).items():
        indicators[header] = _indicator_spec(header, spec, path)
    scale = {}
    for ind, factor in data.get("scale", {}).items():
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise InputError(f"[scale] {ind} must be a number", source=str(path))
        scale[ind] = float(factor)
    return Mapping(
        shape=shape,
        columns={k: str(v) for k, v in data.get("columns", {}).items()},
        constants={k: str(v) for k, v in data.get("constants", {}).items()},
        indicators=indicators,
        scale=scale,
    )


def _indicator_spec(header: str, spec: Any, path: Path) -> tuple[str, float]:
    if isinstance(spec, str):
        return spec, 1.0
    if isinstance(spec, dict) and isinstance(spec.get("id"), str):
        factor = spec.get("scale", 1.0)
        if isinstance(factor, int | float):
            return spec["id"], float(factor)
    raise InputError(
        f"[indicators] '{header}' must be an id or {{ id = ..., scale = ... }}", source=str(path)
    )


def _find(role: str, headers: list[str], mapping: Mapping) -> str | None:
    if role in mapping.columns:
        return mapping.columns[role]
    lowered = {h.strip().lower(): h for h in headers}
    for candidate in SYNONYMS[role]:
        if candidate in lowered:
            return lowered[candidate]
    return None


def resolve(headers: list[str], mapping: Mapping, source: str) -> tuple[str, dict[str, str]]:
    """Decide the shape and which header plays each role; missing required roles are errors."""
    found: dict[str, str] = {}
    for role in ROLES:
        header = _find(role, headers, mapping)
        if header is not None:
            if header not in headers:
                raise InputError(
                    f"mapped column '{header}' (for {role}) is not in the file",
                    source=source,
                    column=header,
                    hint=did_you_mean(header, headers) or f"columns are: {', '.join(headers)}",
                )
            found[role] = header
    shape = mapping.shape
    if shape is None:
        # An indicator column means long (or wide by year): never guess "wide" then, so that a
        # misspelt value header is reported as missing instead of read as an indicator.
        if (
            "indicator" in found
            and "value" not in found
            and any(YEAR_HEADER.match(h) for h in headers)
        ):
            shape = "wide_years"
        elif "indicator" in found or "value" in found:
            shape = "long"
        else:
            shape = "wide"
    required = {
        "long": ("city_id", "year", "indicator", "value"),
        "wide": ("city_id", "year"),
        "wide_years": ("city_id", "indicator"),
    }[shape]
    for role in required:
        if role not in found and role not in mapping.constants:
            taken = set(found.values())
            free = [h for h in headers if h not in taken]
            guess = did_you_mean(role, free)
            raise InputError(
                f"missing required column '{role}' for a {shape} table",
                source=source,
                column=role,
                hint=(
                    f"{guess} map it with --column {role}=HEADER"
                    if guess
                    else f"map one of [{', '.join(free[:8])}] with --column {role}=HEADER "
                    "or a mapping file"
                ),
            )
    return shape, found


def to_long(
    table: pl.DataFrame, mapping: Mapping, source: str
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The user's table as raw observations (text), one row per value, with its file position.

    Output columns: city_id, city_name, country, year, indicator, value, flag, scale, source,
    row, column (the header the value came from), _bad. Also returns role → header, so that
    messages can name the user's own column headers.
    """
    headers = [c for c in table.columns if c not in ("_row", "_bad")]
    shape, found = resolve(headers, mapping, source)
    keys = {role: found.get(role) for role in ROLES}

    def role_expr(role: str) -> pl.Expr:
        if keys.get(role) is not None:
            col = pl.col(keys[role])  # type: ignore[index]
            return (col if role == "year" and shape == "long" else col.cast(pl.String)).alias(role)
        if role in mapping.constants:
            return pl.lit(mapping.constants[role]).alias(role)
        return pl.lit(None, dtype=pl.String).alias(role)

    base = [role_expr(r) for r in ("city_id", "city_name", "country", "year", "flag")]
    base += [pl.col("_row").alias("row"), pl.col("_bad")]
    if shape == "long":
        long = table.select(
            *base,
            role_expr("indicator"),
            pl.col(found["value"]).alias("value"),
            pl.lit(found["value"]).alias("column"),
            pl.lit(1.0).alias("scale"),
        )
    elif shape == "wide":
        taken = set(found.values())
        value_cols = [h for h in headers if h not in taken]
        if not value_cols:
            raise InputError(
                "a wide table needs at least one indicator column",
                source=source,
                hint="or map the table as long with --shape long",
            )
        # value columns get a private prefix so a header such as "row" or "year" cannot collide
        # with the long table's own columns; the prefix is stripped after the unpivot
        tagged = [f"\x00{c}" for c in value_cols]
        framed = table.select(
            *base,
            *[pl.col(c).cast(pl.String).alias(t) for c, t in zip(value_cols, tagged, strict=True)],
        )
        long = framed.unpivot(
            on=tagged,
            index=["city_id", "city_name", "country", "year", "flag", "row", "_bad"],
            variable_name="column",
            value_name="value",
        ).with_columns(pl.col("column").str.strip_prefix("\x00"))
        ids = {h: mapping.indicators.get(h, (h.strip(), 1.0)) for h in value_cols}
        long = long.with_columns(
            pl.col("column").replace_strict({h: v[0] for h, v in ids.items()}).alias("indicator"),
            pl.col("column")
            .replace_strict({h: v[1] for h, v in ids.items()}, return_dtype=pl.Float64)
            .alias("scale"),
        ).filter(pl.col("value").is_not_null() | pl.col("_bad").is_not_null())
    else:
        year_cols = [h for h in headers if YEAR_HEADER.match(h)]
        if not year_cols:
            raise InputError(
                "a wide-by-year table needs columns named by year (e.g. 2021)", source=source
            )
        framed = table.select(
            *[e for e in base if e.meta.output_name() != "year"],
            role_expr("indicator"),
            *[pl.col(c).cast(pl.String) for c in year_cols],
        )
        long = framed.unpivot(
            on=year_cols,
            index=["city_id", "city_name", "country", "flag", "row", "_bad", "indicator"],
            variable_name="column",
            value_name="value",
        ).with_columns(pl.col("column").str.strip_chars().alias("year"), pl.lit(1.0).alias("scale"))
        long = long.filter(pl.col("value").is_not_null() | pl.col("_bad").is_not_null())
    if mapping.scale:
        long = long.with_columns(
            (
                pl.col("scale")
                * pl.col("indicator").replace_strict(
                    mapping.scale, default=1.0, return_dtype=pl.Float64
                )
            ).alias("scale")
        )
    long = long.with_columns(pl.lit(source).alias("source")).select(
        "city_id",
        "city_name",
        "country",
        "year",
        "indicator",
        "value",
        "flag",
        "scale",
        "source",
        "row",
        "column",
        "_bad",
    )
    return long, found
