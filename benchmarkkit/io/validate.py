"""Validation: named rules turn raw text rows into typed observations plus rejected rows.

Nothing is lost: every value read is accepted, rejected with the rule that refused it (its file,
row, column, a message quoting the cell and a hint on how to fix it) or ignored because the mapping
put its column aside (``ignore``, ``only_named``, ``[attributes]``): read = accepted + rejected +
ignored, always, per file and in total. Rules are boolean Polars expressions evaluated in one
pass; the first failing rule of a row is the one reported, in the order of ``ROW_RULES``. Rules
that need several rows (duplicates, a city id with two names) run after, over all files together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from benchmarkkit.columns import OBSERVATIONS, REJECTED, WARNINGS, conform
from benchmarkkit.errors import did_you_mean
from benchmarkkit.io.mapping import shown

YEAR_RANGE = (1900, 2100)

RULES: dict[str, str] = {
    "file_unusable": "the file could not be read or has no usable columns",
    "ragged_row": "the row does not have as many fields as the header",
    "missing_city": "the row has no city id",
    "missing_indicator": "the row has no indicator id",
    "bad_year": "the year is not a whole number",
    "year_out_of_range": "the year is outside the accepted range",
    "unknown_indicator": "the indicator id is not in any registered catalog",
    "missing_value": "the value cell is empty",
    "non_numeric": "the value is not a number",
    "not_finite": "the value is NaN or infinite",
    "hard_bounds": "the value is outside the indicator's physical bounds",
    "below_physical_minimum": "the value is negative for an indicator that cannot be negative",
    "duplicate_conflict": "the same city, year and indicator has different values",
    "duplicate": "the same city, year and indicator appears twice with the same value",
    "city_name_conflict": "one city id is used with two different names",
    "soft_bounds": "(warning, row kept) the value is outside the indicator's plausible range",
    "attribute_not_numeric": "(warning) a city attribute that must be a number (population, "
    "area) is not one, so the city lacks it",
    "derived_out_of_bounds": "(warning) a derived value (e.g. a share) is impossible, so it is "
    "left out: the raw counts behind it disagree",
}
"""Every rule by name, with what it means; ``benchmarkkit validate --rules`` prints this."""


@dataclass(frozen=True)
class Validated:
    observations: pl.DataFrame
    rejected: pl.DataFrame
    warnings: pl.DataFrame
    counts: pl.DataFrame
    """Per source: read, accepted, rejected, ignored (read = accepted + rejected + ignored)."""

    def with_warnings(self, more: pl.DataFrame) -> Validated:
        """Add warnings found after validation (e.g. derived values out of bounds)."""
        return replace(self, warnings=pl.concat([self.warnings, more.cast(WARNINGS)]))

    @property
    def rows_read(self) -> int:
        return int(self.counts["read"].sum())

    @property
    def ignored(self) -> int:
        """Cells of columns the mapping put aside: read, neither accepted nor rejected."""
        return int(self.counts["ignored"].sum())

    @property
    def by_rule(self) -> pl.DataFrame:
        return (
            self.rejected.group_by("rule")
            .len("rows")
            .sort("rows", "rule", descending=[True, False])
        )


def _parse_value() -> pl.Expr:
    return pl.col("value").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


def _parse_year(dtype: pl.DataType) -> pl.Expr:
    if dtype.is_integer():
        return pl.col("year").cast(pl.Int64, strict=False)  # a UInt64 beyond Int64 → bad_year
    as_float = pl.col("year").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    whole = as_float.is_finite() & (as_float == as_float.round(0)) & (as_float.abs() < 1e6)
    return pl.when(whole).then(as_float).cast(pl.Int64)


def _unknown_hints(raw: pl.DataFrame, known: list[str]) -> pl.DataFrame:
    """'did you mean' per distinct unknown id: a few distinct names, so plain Python is fine."""
    unknown = (
        raw.select(pl.col("indicator").unique())
        .filter(pl.col("indicator").is_not_null() & ~pl.col("indicator").is_in(known))["indicator"]
        .to_list()
    )
    hints = [
        did_you_mean(name, known)
        or "list ids with `benchmarkkit indicators`, or map the header to an id with a mapping file"
        for name in unknown
    ]
    return pl.DataFrame(
        {"indicator": unknown, "_unknown_hint": hints},
        schema={"indicator": pl.String, "_unknown_hint": pl.String},
    )


def check_rows(
    raw: pl.DataFrame,
    headers: dict[str, str],
    catalog: pl.DataFrame,
    years: tuple[int, int] = YEAR_RANGE,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Row-wise rules on one file's raw long frame → (typed candidates, rejected, warnings)."""
    # headers as messages show them: a line break inside a header is written \n, not broken
    head = {r: shown(headers.get(r, r)) for r in ("city_id", "indicator", "year", "value")}
    meta = catalog.select("id", "lower", "upper", "bound_type", "unit").rename({"id": "indicator"})
    frame = (
        raw.lazy()
        .with_columns(
            pl.col("city_id").str.strip_chars(),
            pl.col("indicator").str.strip_chars(),
            _parse_year(raw.schema["year"]).alias("_year"),
            (_parse_value() * pl.col("scale")).alias("_value"),
        )
        .join(meta.lazy(), on="indicator", how="left", maintain_order="left")
        .join(
            _unknown_hints(raw, catalog["id"].to_list()).lazy(),
            on="indicator",
            how="left",
            maintain_order="left",
        )
    )
    cell = pl.col("value").cast(pl.String)
    lo, hi, v = pl.col("lower"), pl.col("upper"), pl.col("_value")
    outside = (v < lo) | (v > hi)
    bounds = pl.format("[{}, {}] {}", lo, hi, pl.col("unit").fill_null(""))
    rules: list[tuple[str, pl.Expr, Any, pl.Expr, pl.Expr]] = [
        (
            "ragged_row",
            pl.col("_bad").is_not_null(),
            pl.lit(None, pl.String),
            pl.format("the row {}", pl.col("_bad")),
            pl.lit("check the separator and the quoting of cells that contain it"),
        ),
        (
            "missing_city",
            pl.col("city_id").is_null() | (pl.col("city_id") == ""),
            head["city_id"],
            pl.lit("no city id"),
            pl.lit("every row needs the city's id"),
        ),
        (
            "missing_indicator",
            pl.col("indicator").is_null() | (pl.col("indicator") == ""),
            head["indicator"],
            pl.lit("no indicator id"),
            pl.lit("every value needs an indicator"),
        ),
        (
            "bad_year",
            pl.col("_year").is_null(),
            head["year"],
            pl.when(pl.col("year").is_null())
            .then(pl.lit("the year is empty"))
            .otherwise(
                pl.format("year '{}' is not a whole number", pl.col("year").cast(pl.String))
            ),
            pl.lit("write the year as four digits, e.g. 2023"),
        ),
        (
            "year_out_of_range",
            ~pl.col("_year").is_between(*years),
            head["year"],
            pl.format(
                "year {} is outside {}–{}", pl.col("_year"), pl.lit(years[0]), pl.lit(years[1])
            ),
            pl.lit("check the year column"),
        ),
        (
            "unknown_indicator",
            pl.col("_unknown_hint").is_not_null(),
            head["indicator"] if "indicator" in headers else pl.col("column"),
            pl.format("unknown indicator '{}'", pl.col("indicator")),
            pl.col("_unknown_hint"),
        ),
        (
            "missing_value",
            pl.col("value").is_null() | (cell.str.strip_chars() == ""),
            pl.col("column"),
            pl.lit("the value is empty"),
            pl.lit("fill it or leave the row out: an empty cell is not a zero"),
        ),
        (
            "non_numeric",
            v.is_null(),
            pl.col("column"),
            pl.format("'{}' is not a number", cell),
            pl.lit("use '.' as the decimal mark, no thousands separators, no units in the cell"),
        ),
        (
            "not_finite",
            v.is_nan() | v.is_infinite(),
            pl.col("column"),
            pl.format("'{}' is not a finite number", cell),
            pl.lit("leave the cell out instead of writing NaN or inf"),
        ),
        (
            "hard_bounds",
            (pl.col("bound_type") == "hard") & outside,
            pl.col("column"),
            pl.format("{} is outside the physical bounds {}", v, bounds),
            pl.lit("check the unit and scale (e.g. a share as 0–100, not 0–1)"),
        ),
        (
            "below_physical_minimum",
            (pl.col("bound_type") == "soft") & (lo >= 0) & (v < 0),
            pl.col("column"),
            pl.format("{} is negative", v),
            pl.lit("this indicator cannot be negative; check the sign"),
        ),
    ]
    rule_col = pl.lit(None, dtype=pl.String)
    for name, cond, _, _, _ in reversed(rules):
        rule_col = pl.when(cond.fill_null(False)).then(pl.lit(name)).otherwise(rule_col)
    # stays lazy: the rejected rows (few) and the candidates are collected in separate streaming
    # passes, so the wide working frame (raw text + parsed + catalog columns, ~20 columns) is never
    # held whole — on 30 M rows it needed more than 24 GiB
    lazy = frame.with_columns(rule_col.alias("rule"))
    frame = lazy.filter(pl.col("rule").is_not_null()).collect()
    rejected_parts = []
    for name, _, column, message, hint in rules:
        part = frame.filter(pl.col("rule") == name)
        if part.height:
            rejected_parts.append(
                part.select(
                    "source",
                    "row",
                    (pl.lit(column) if isinstance(column, str) else column)
                    .cast(pl.String)
                    .alias("column"),
                    "rule",
                    message.alias("message"),
                    hint.alias("hint"),
                )
            )
    rejected = pl.concat(rejected_parts) if rejected_parts else pl.DataFrame(schema=REJECTED)
    ok = lazy.filter(pl.col("rule").is_null())
    soft = ok.filter((pl.col("bound_type") == "soft") & outside.fill_null(False))
    warnings = soft.select(
        "source",
        "row",
        pl.col("column").cast(pl.String),
        pl.lit("soft_bounds").alias("rule"),
        pl.format("{} is outside the plausible range {}", v, bounds).alias("message"),
        pl.lit("kept; check the value and its unit").alias("hint"),
    ).collect()
    candidates = ok.select(
        "city_id",
        "city_name",
        "country",
        pl.col("_year").cast(pl.Int32).alias("year"),
        "indicator",
        pl.col("_value").alias("value"),
        "flag",
        "source",
        "row",
        pl.col("column").cast(pl.String),
    ).collect()
    return candidates, rejected.cast(REJECTED), warnings.cast(WARNINGS)


def check_set(candidates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rules over all files together: conflicting or repeated keys, a city with two names.

    The rules need window functions over string keys, which on 30 M rows cost minutes and tens
    of GiB. So the rows that *could* break a rule are found first with integer codes — rows whose
    key occurs more than once, and every row of a city that has two names — and only those go
    through the full rules (clean data: none at all); the others are accepted as they are.
    """
    frame = candidates.with_row_index("_order")
    codes = (
        frame.lazy()
        .select(
            pl.col(c).cast(pl.Categorical).to_physical().alias(c)
            for c in ("city_id", "indicator", "city_name")
        )
        .with_columns(frame["year"])
        .collect(engine="in-memory")
    )
    repeated = codes.select(pl.struct("city_id", "year", "indicator").is_duplicated()).to_series()
    pairs = codes.select("city_id", "city_name").filter(pl.col("city_name").is_not_null()).unique()
    two_names = pairs.group_by("city_id").len().filter(pl.col("len") > 1)["city_id"]
    suspect = repeated | codes["city_id"].is_in(two_names)
    del codes, pairs
    if suspect.any():
        checked, rejected = _check_set_rows(frame.filter(suspect).rechunk())
        accepted = pl.concat([frame.filter(~suspect), checked.select(frame.columns)]).sort("_order")
    else:
        accepted, rejected = frame, pl.DataFrame(schema=REJECTED)
    if accepted["city_name"].null_count():  # fill a missing name from the city's other rows
        known = (
            accepted.filter(pl.col("city_name").is_not_null())
            .unique("city_id", keep="first", maintain_order=True)
            .select("city_id", pl.col("city_name").alias("_name"))
        )
        accepted = (
            accepted.join(known, on="city_id", how="left", maintain_order="left")
            .with_columns(pl.col("city_name").fill_null(pl.col("_name")))
            .drop("_name")
        )
    return accepted, rejected.cast(REJECTED)


def _check_set_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The set rules on the suspect rows (every row of each repeated key, every row of each city
    with two names), with the messages that say where the first occurrence is."""
    key = ["city_id", "year", "indicator"]
    frame = frame.with_columns(
        pl.len().over(key).alias("_n"),
        pl.col("value").n_unique().over(key).alias("_nv"),
        pl.col("_order").min().over(key).alias("_first"),
    )
    first_where = frame.filter(pl.col("_order") == pl.col("_first")).select(
        *key,
        pl.format("{} row {}", pl.col("source"), pl.col("row")).alias("_first_at"),
        pl.col("value").alias("_first_value"),
    )
    frame = frame.join(first_where, on=key, how="left")
    conflict = (pl.col("_n") > 1) & (pl.col("_nv") > 1)
    repeat = (pl.col("_n") > 1) & (pl.col("_nv") == 1) & (pl.col("_order") != pl.col("_first"))
    names = (
        frame.filter(pl.col("city_name").is_not_null())
        .group_by("city_id", "city_name")
        .agg(pl.len().alias("_k"), pl.col("_order").min())
        .sort("city_id", "_k", "_order", descending=[False, True, False])
        .group_by("city_id", maintain_order=True)
        .agg(
            pl.col("city_name").first().alias("_name"), pl.col("city_name").n_unique().alias("_nn")
        )
    )
    frame = frame.join(names, on="city_id", how="left")
    name_clash = (
        (pl.col("_nn") > 1)
        & pl.col("city_name").is_not_null()
        & (pl.col("city_name") != pl.col("_name"))
    )
    rule = (
        pl.when(conflict)
        .then(pl.lit("duplicate_conflict"))
        .when(repeat)
        .then(pl.lit("duplicate"))
        .when(name_clash)
        .then(pl.lit("city_name_conflict"))
    )
    frame = frame.with_columns(rule.alias("rule"))
    message = (
        pl.when(pl.col("rule") == "duplicate_conflict")
        .then(
            pl.format(
                "{} {} {}: {} values for one city, year and indicator ({} here, {} at {})",
                "city_id",
                "year",
                "indicator",
                "_nv",
                "value",
                "_first_value",
                "_first_at",
            )
        )
        .when(pl.col("rule") == "duplicate")
        .then(pl.format("{} {} {}: repeats {}", "city_id", "year", "indicator", "_first_at"))
        .otherwise(
            pl.format(
                "city '{}' is named '{}' here but '{}' elsewhere", "city_id", "city_name", "_name"
            )
        )
    )
    hint = (
        pl.when(pl.col("rule") == "duplicate_conflict")
        .then(
            pl.lit(
                "keep one value per city, year and indicator; all conflicting rows were set aside"
            )
        )
        .when(pl.col("rule") == "duplicate")
        .then(pl.lit("remove the repeated row"))
        .otherwise(pl.lit("use one name per city id (or distinct ids for distinct cities)"))
    )
    rejected = frame.filter(pl.col("rule").is_not_null()).select(
        "source", "row", pl.col("column"), "rule", message.alias("message"), hint.alias("hint")
    )
    accepted = (
        frame.filter(pl.col("rule").is_null())
        .sort("_order")
        .with_columns(pl.col("city_name").fill_null(pl.col("_name")))
    )
    return accepted, rejected


def validate(
    files: list[tuple[pl.DataFrame, dict[str, str]]],
    catalog: pl.DataFrame,
    *,
    unusable: pl.DataFrame | None = None,
    years: tuple[int, int] = YEAR_RANGE,
    ignored: dict[str, int] | None = None,
) -> Validated:
    """Validate raw long frames (one per file, with its role → header map) against the catalog.

    ``ignored``: per source, the cells of columns the mapping put aside; they count as read.
    """
    candidates, rejected, warnings, read = [], [], [], []
    for raw, headers in files:
        ok, bad, warn = check_rows(raw, headers, catalog, years)
        candidates.append(ok)
        rejected.append(bad)
        warnings.append(warn)
        read.append(raw.group_by("source").len("read"))
    empty_candidates = pl.DataFrame(schema={**OBSERVATIONS, "column": pl.String()}).drop("column")
    all_ok = (
        pl.concat([c.cast({"year": pl.Int32}) for c in candidates], how="diagonal_relaxed")
        if candidates
        else empty_candidates.with_columns(pl.lit(None, pl.String).alias("column"))
    )
    if len({column.n_chunks() for column in all_ok.get_columns()}) > 1:
        # columns split into different numbers of chunks (files collected by the streaming
        # engine, then concatenated) make some Polars kernels panic: align them first
        all_ok = all_ok.rechunk()
    accepted, set_rejected = check_set(all_ok)
    rejected_all = pl.concat(
        [*((unusable is not None and [unusable]) or []), *rejected, set_rejected], how="vertical"
    )
    aside = pl.DataFrame(
        list((ignored or {}).items()),
        schema={"source": pl.String, "ignored": pl.UInt32},
        orient="row",
    )
    read_frame = pl.concat(
        [*read, aside.select("source", pl.lit(0, pl.UInt32).alias("read"))], how="vertical"
    )
    counts = (
        read_frame.group_by("source")
        .agg(pl.col("read").sum())
        .join(accepted.group_by("source").len("accepted"), on="source", how="left")
        .join(
            rejected_all.filter(pl.col("row").is_not_null()).group_by("source").len("rejected"),
            on="source",
            how="left",
        )
        .join(aside, on="source", how="left")
        .with_columns(pl.col("accepted", "rejected", "ignored").fill_null(0).cast(pl.UInt32))
        .with_columns(pl.col("read") + pl.col("ignored"))
    )
    observations = conform(accepted, OBSERVATIONS).collect()
    return Validated(
        observations=observations,
        rejected=rejected_all.sort("source", "row", nulls_last=False),
        warnings=pl.concat(warnings).sort("source", "row")
        if warnings
        else pl.DataFrame(schema=WARNINGS),
        counts=counts.sort("source"),
    )
