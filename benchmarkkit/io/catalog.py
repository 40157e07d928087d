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
from benchmarkkit.errors import InputError, PluginError, did_you_mean

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
    "name_vi": pl.String(),
    "name_zh": pl.String(),
    "derivation": pl.String(),
    "periods": pl.Int32(),
}
"""``direction`` is +1 (higher is better), -1 (lower is better) or null (raw counts and context,
which are never scored). ``bound_type`` 'hard' rejects values outside [lower, upper];
'soft' warns. ``derivation`` (ratio, growth, cagr, difference, lag) says how a derived indicator is
computed from ``numerator`` (its input) and ``denominator`` over ``periods`` years; a row with a
numerator and no derivation is a ratio."""

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "unit",
    "direction",
    "focus_area",
    "indices",
    "bound_type",
    "lower",
    "upper",
    "set",
    "code",
    "kind",
    "numerator",
    "denominator",
    "scale",
    "derivation",
    "periods",
    "name_vi",
    "name_zh",
)
"""The indicator CSV, in and out: what ``benchmarkkit indicators --format csv`` prints and what
``--indicators FILE.csv`` and a mapping's ``[indicators.ID]`` tables read (indicators/README.md)."""
DERIVATIONS = ("ratio", "growth", "cagr", "difference", "lag")
DIRECTIONS = {
    "1": 1,
    "+1": 1,
    "+": 1,
    "higher": 1,
    "true": 1,
    "-1": -1,
    "-": -1,
    "lower": -1,
    "false": -1,
}
"""How a direction may be written (case-insensitive); empty: not scored."""


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
    if "direction" in names and "higher_is_better" not in names:
        return _read_schema_set(indicator_set, raw)
    for required in ("id", "unit", "higher_is_better", "focus_area"):
        if required not in names:
            raise PluginError(
                indicator_set.name,
                f"catalog file lacks the column '{required}'",
                hint="use the columns of `benchmarkkit indicators --format csv` "
                "(indicators/README.md)",
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
        _text("name_vi", names).alias("name_vi"),
        _text("name_zh", names).alias("name_zh"),
        pl.when(_text("numerator", names).is_not_null()).then(pl.lit("ratio")).alias("derivation"),
        pl.lit(None, dtype=pl.Int32).alias("periods"),
    )
    _check_rows(frame, indicator_set.name)
    return frame.drop("_line", "_hib").with_columns(pl.col("indices").fill_null([]))


def _read_schema_set(indicator_set: IndicatorSet, raw: pl.DataFrame) -> pl.DataFrame:
    """A registered set written in the listing's own columns (the same as ``--indicators``)."""
    try:
        return records_to_catalog(
            _csv_records(raw, indicator_set.name), indicator_set.name, indicator_set.name
        ).drop("_source", "_key")
    except InputError as err:
        raise PluginError(indicator_set.name, err.message, hint=err.hint) from None


def _csv_records(raw: pl.DataFrame, source: str) -> list[dict[str, object]]:
    return [
        {**row, "_source": source, "_key": f"line {line}"}
        for line, row in enumerate(raw.to_dicts(), start=2)
    ]


def catalog_csv_frame(catalog: pl.DataFrame) -> pl.DataFrame:
    """The catalog as the indicator CSV: ``CSV_COLUMNS``, lists joined with ';'. What
    ``benchmarkkit indicators --format csv`` prints, and what ``read_indicator_csv`` reads back."""
    return catalog.select(
        *[pl.col(c).list.join(";").alias(c) if c == "indices" else pl.col(c) for c in CSV_COLUMNS]
    )


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
            (pl.col("kind") == "indicator")
            & _builtin_index()
            & ~pl.col("focus_area").is_in(FOCUS_AREAS),
            "focus_area",
            f"an indicator of a built-in index needs a focus_area among {', '.join(FOCUS_AREAS)}",
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


def _builtin_index() -> pl.Expr:
    """Feeds one of the built-in indices, whose tree is ASCN's six focus areas: any other grouping
    (your own areas, your own index names) is free."""
    return pl.col("indices").list.eval(pl.element().is_in(INDICES)).list.any().fill_null(False)


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
    return conform_catalog(catalog)


def conform_catalog(frame: pl.DataFrame) -> pl.DataFrame:
    """Any catalog-like frame in the canonical column order and types (absent columns null)."""
    missing = [pl.lit(None).alias(c) for c in CATALOG if c not in frame.columns]
    return frame.with_columns(missing).select(list(CATALOG)).cast(CATALOG)  # type: ignore[arg-type]


def catalog_from_registry(registry: object) -> pl.DataFrame:
    sets = registry.of("indicator_set")  # type: ignore[attr-defined]
    return build_catalog(sets)


Register = Callable[[IndicatorSet], None]


# ---------------------------------------------------------------------------------------------
# your own indicators: an indicator CSV (``--indicators``) or a mapping's ``[indicators.ID]``


def read_indicator_csv(path: Path) -> pl.DataFrame:
    """An indicator CSV in the listing's columns (``CSV_COLUMNS``; only ``id`` is required) as
    catalog rows of the set named after the file; every mistake is one line naming the file, the
    line and the column, with a fix."""
    source = str(path)
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except FileNotFoundError:
        raise InputError("indicator file not found", source=source) from None
    except (pl.exceptions.PolarsError, UnicodeDecodeError, IsADirectoryError) as err:
        raise InputError(f"indicator file cannot be read ({err})", source=source) from None
    raw = raw.rename({c: c.lstrip("\ufeff").strip() for c in raw.columns})
    legacy = {"higher_is_better": "direction", "min_plausible": "lower", "max_plausible": "upper"}
    for col in raw.columns:
        if col not in CSV_COLUMNS:
            raise InputError(
                f"unknown column '{col}'",
                source=source,
                column=col,
                hint=(
                    f"write it as '{legacy[col]}'"
                    if col in legacy
                    else did_you_mean(col, CSV_COLUMNS)
                )
                or f"columns: {', '.join(CSV_COLUMNS)}",
            )
    if "id" not in raw.columns:
        raise InputError("the indicator file has no 'id' column", source=source, column="id")
    return records_to_catalog(_csv_records(raw, source), path.stem, source)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def records_to_catalog(records: list[dict], set_name: str, source: str) -> pl.DataFrame:
    """Indicator declarations (CSV rows or TOML tables keyed like ``CSV_COLUMNS``) → catalog rows,
    with private ``_source`` and ``_key`` columns saying where each came from."""
    rows = [_record(rec, set_name, source) for rec in records]
    frame = pl.DataFrame(rows, schema={**CATALOG, "_source": pl.String, "_key": pl.String})
    dup = frame.filter(pl.col("id").is_duplicated())
    if dup.height:
        first = dup.row(1, named=True)
        raise InputError(
            f"{first['_key']}: indicator '{first['id']}' is declared twice",
            source=first["_source"],
            column="id",
            hint="keep one declaration per id",
        )
    return frame


class _Declaration:
    """One declared indicator's fields, read one by one; a mistake is one line naming the file,
    the key (a mapping table or a CSV line) and the column."""

    def __init__(self, rec: dict, default_source: str) -> None:
        self.source = str(rec.get("_source") or default_source)
        self.key = str(rec.get("_key") or "")
        self.fields = {k: v for k, v in rec.items() if not k.startswith("_")}
        for name in self.fields:
            if name not in CSV_COLUMNS:
                raise self.fail(
                    name,
                    f"unknown key '{name}'",
                    did_you_mean(name, CSV_COLUMNS) or f"keys: {', '.join(CSV_COLUMNS)}",
                )
        if _blank(self.fields.get("id")):
            raise self.fail("id", "every indicator needs an id", "give it a short id, e.g. gdp")
        self.id = str(self.fields["id"]).strip()

    def fail(self, column: str, message: str, hint: str) -> InputError:
        where = f"{self.key}, {column}" if self.key else column
        return InputError(f"{where}: {message}", source=self.source, column=column, hint=hint)

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        return None if _blank(value) else str(value).strip()

    def number(self, name: str) -> float | None:
        value = self.fields.get(name)
        if _blank(value):
            return None
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise self.fail(
                name, f"'{value}' is not a number", f"write {name} as a plain number"
            ) from None

    def choice(self, name: str, allowed: tuple[str, ...], default: str | None, hint: str):
        value = (self.text(name) or default or "").lower() or None
        if value is not None and value not in allowed:
            raise self.fail(
                name,
                f"unknown {name} '{value}' for '{self.id}'",
                did_you_mean(value, allowed) or hint,
            )
        return value


def _direction(d: _Declaration) -> int | None:
    raw = d.text("direction")
    if raw is None:
        return None
    direction = DIRECTIONS.get(raw.lower().removesuffix(".0"))
    if direction is None:
        raise d.fail(
            "direction",
            f"unknown direction '{raw}' for '{d.id}'",
            "write higher or lower (1 or -1); leave it empty for a value that is not scored",
        )
    return direction


def _derivation(d: _Declaration) -> tuple[str | None, int | None]:
    """The derivation (a numerator alone means ratio) and its periods, inputs checked."""
    numerator, denominator = d.text("numerator"), d.text("denominator")
    derivation = d.choice(
        "derivation",
        DERIVATIONS,
        "ratio" if numerator is not None else None,
        f"one of {', '.join(DERIVATIONS)}",
    )
    periods = d.number("periods")
    if periods is not None and (periods != int(periods) or periods < 1):
        raise d.fail(
            "periods",
            f"periods of '{d.id}' must be a whole number of years ≥ 1",
            "e.g. periods = 1 for year-on-year",
        )
    if derivation is None:
        return None, None if periods is None else int(periods)
    one_input = ("growth", "cagr", "lag")
    if numerator is None:
        raise d.fail(
            "numerator",
            f"'{d.id}' is derived and names no input",
            "give numerator = the id it is computed from",
        )
    if derivation == "ratio" and denominator is None:
        raise d.fail(
            "denominator",
            f"the ratio '{d.id}' has no denominator",
            "give denominator = the id it is divided by",
        )
    if derivation in one_input and denominator is not None:
        raise d.fail(
            "denominator",
            f"a {derivation} has one input, '{d.id}' names two",
            "drop denominator (use difference for a - b)",
        )
    if derivation in one_input or (derivation == "difference" and denominator is None):
        periods = periods or 1.0
    return derivation, None if periods is None else int(periods)


def _indices(d: _Declaration) -> list[str]:
    indices = d.fields.get("indices")
    if isinstance(indices, str):
        return [i.strip() for i in indices.split(";") if i.strip()]
    if indices is None:
        return []
    if not isinstance(indices, list):
        raise d.fail("indices", "indices is a list of index names", 'e.g. indices = ["economy"]')
    return [str(i) for i in indices]


def _record(rec: dict, set_name: str, default_source: str) -> dict:
    d = _Declaration(rec, default_source)
    direction = _direction(d)
    derivation, periods = _derivation(d)
    indices = _indices(d)
    bound_type = d.choice(
        "bound_type", ("hard", "soft"), "soft", "hard rejects values outside the bounds; soft warns"
    )
    kind = d.choice(
        "kind",
        KINDS,
        "indicator" if direction is not None else "raw",
        "indicator is scored; raw and context are not",
    )
    if kind == "indicator" and direction is None:
        raise d.fail(
            "direction",
            f"the scored indicator '{d.id}' has no direction",
            "write direction = higher or lower, or kind = raw",
        )
    focus = d.text("focus_area")
    if kind == "indicator" and any(i in INDICES for i in indices) and focus not in FOCUS_AREAS:
        raise d.fail(
            "focus_area",
            f"'{d.id}' feeds a built-in index, whose areas are ASCN's",
            f"focus_area among {', '.join(FOCUS_AREAS)}, or use your own index name",
        )
    lower, upper = d.number("lower"), d.number("upper")
    if lower is not None and upper is not None and lower > upper:
        raise d.fail("lower", f"lower {lower:g} is above upper {upper:g}", "swap them")
    return {
        **dict.fromkeys(CATALOG),
        "id": d.id,
        "code": d.text("code"),
        "name": d.text("name") or d.id,
        "unit": d.text("unit"),
        "kind": kind,
        "direction": direction if kind == "indicator" else None,
        "lower": lower,
        "upper": upper,
        "bound_type": bound_type,
        "focus_area": focus,
        "indices": indices,
        "numerator": d.text("numerator"),
        "denominator": d.text("denominator"),
        "scale": d.number("scale"),
        "set": d.text("set") or set_name,
        "name_vi": d.text("name_vi"),
        "name_zh": d.text("name_zh"),
        "derivation": derivation,
        "periods": periods,
        "_source": d.source,
        "_key": d.key,
    }


def extend_catalog(catalog: pl.DataFrame, *own: pl.DataFrame) -> pl.DataFrame:
    """The registered catalog plus your own indicators (``records_to_catalog`` frames): an id
    declared twice, or a derived indicator whose input is unknown or that depends on itself, is
    one error naming the file, the key and a fix."""
    own = tuple(f for f in own if f.height)
    if not own:
        return catalog
    mine = pl.concat(own, how="vertical")
    taken = dict(zip(catalog["id"], catalog["set"], strict=True))
    seen: dict[str, str] = {}
    for row in mine.iter_rows(named=True):
        where = f"{row['_source']} {row['_key']}".strip()
        if row["id"] in taken:
            raise InputError(
                f"{row['_key']}: indicator '{row['id']}' is already in the catalog "
                f"(set '{taken[row['id']]}')",
                source=row["_source"],
                column="id",
                hint=f"drop the declaration to use the catalog's, or rename it ('{row['id']}_own')",
            )
        if row["id"] in seen:
            raise InputError(
                f"{row['_key']}: indicator '{row['id']}' is also declared in {seen[row['id']]}",
                source=row["_source"],
                column="id",
                hint="keep one declaration per id",
            )
        seen[row["id"]] = where
    combined = pl.concat([catalog, conform_catalog(mine.drop("_source", "_key"))])
    known = set(combined["id"])
    for row in mine.filter(pl.col("numerator").is_not_null()).iter_rows(named=True):
        for part in ("numerator", "denominator"):
            if row[part] is not None and row[part] not in known:
                raise InputError(
                    f"{row['_key']}: '{row['id']}' is derived from unknown {part} '{row[part]}'",
                    source=row["_source"],
                    column=part,
                    hint=did_you_mean(row[part], known)
                    or "declare that indicator too, or map the column it is read from",
                )
    from benchmarkkit.methods.derive import DerivationCycle, derivation_layers

    try:
        derivation_layers(combined)
    except DerivationCycle as cycle:
        first = mine.filter(pl.col("id").is_in(cycle.ids)).row(0, named=True)
        raise InputError(
            f"{first['_key']}: derived indicators depend on each other in a cycle "
            f"({' → '.join(cycle.ids)})",
            source=first["_source"],
            column="numerator",
            hint="one of them must be read from a column, not derived",
        ) from None
    return combined
