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


def _parse_value(dtype: pl.DataType) -> pl.Expr:
    """The value as a float. Float64 and integer columns (Parquet, Arrow) are cast directly: the
    same number their text would parse back to (a float's text round-trips exactly, an integer's
    rounds the same way), without formatting and re-parsing every cell. Anything else (text,
    Float32, booleans) goes through its text, as the user wrote it."""
    if dtype == pl.Float64 or dtype.is_integer():
        return pl.col("value").cast(pl.Float64)
    return pl.col("value").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


def _parse_year(dtype: pl.DataType) -> pl.Expr:
    if dtype.is_integer():
        return pl.col("year").cast(pl.Int64, strict=False)  # a UInt64 beyond Int64 → bad_year
    as_float = pl.col("year").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    whole = as_float.is_finite() & (as_float == as_float.round(0)) & (as_float.abs() < 1e6)
    return pl.when(whole).then(as_float).cast(pl.Int64)


def _empty_value(dtype: pl.DataType) -> pl.Expr:
    """An empty value cell: null, or (text) only spaces."""
    if dtype == pl.Float64 or dtype.is_integer():
        return pl.col("value").is_null()
    return pl.col("value").is_null() | (pl.col("value").cast(pl.String).str.strip_chars() == "")


def _indicator_domain(cells: pl.Series, catalog: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct indicator cell as written (hundreds, where the rows are millions):
    the id stripped, whether it is blank, the catalog's bounds and the 'did you mean' of an
    unknown id. A row gets these by its cell's position in this table (an Enum code), not by a
    join on strings: on 27 M rows 0.5 s instead of 2.7 s, and no copy of the ids."""
    known = catalog["id"].to_list()
    meta = catalog.select("id", "lower", "upper", "bound_type", "unit").rename({"id": "indicator"})
    dom = pl.DataFrame({"_cell": cells.drop_nulls().unique().sort()}, schema={"_cell": pl.String})
    dom = dom.with_columns(pl.col("_cell").str.strip_chars().alias("indicator")).join(
        meta.unique("indicator", keep="first"), on="indicator", how="left", maintain_order="left"
    )
    is_unknown = (pl.col("indicator") != "") & ~pl.col("indicator").is_in(known)
    unknown = sorted(set(dom.filter(is_unknown)["indicator"]))
    hints = pl.DataFrame(
        {
            "indicator": unknown,
            "_unknown_hint": [
                did_you_mean(name, known)
                or "list ids with `benchmarkkit indicators`, or map the header to an id with a "
                "mapping file"
                for name in unknown
            ],
        },
        schema={"indicator": pl.String, "_unknown_hint": pl.String},
    )
    return dom.join(hints, on="indicator", how="left", maintain_order="left")


@dataclass(frozen=True)
class Keys:
    """The candidates' city and indicator as dense integer codes (``0…n-1``, ids stripped), made
    in the rules' pass, so that the set rules need not hash 27 M strings again."""

    codes: pl.DataFrame
    """``city_id`` and ``indicator`` (UInt32), row for row with the candidates."""
    n_cities: int
    n_indicators: int


def _dense(code: pl.Expr, stripped: pl.Series) -> tuple[pl.Expr, int]:
    """Each row's id as a dense code, from ``code``, its cell's position among the distinct cells
    as written (whose stripped forms are ``stripped``): the position of the stripped id among the
    sorted distinct ids, and how many there are. Two cells that differ only in spaces get one
    code."""
    ids = stripped.unique().sort()
    by_cell = stripped.cast(pl.Enum(ids)).to_physical().cast(pl.UInt32)
    return pl.lit(by_cell).gather(code), ids.len()


def _checked(raw: pl.LazyFrame, dtypes: pl.Schema, lookup: pl.DataFrame) -> pl.LazyFrame:
    """The raw rows with ids stripped, year and value parsed, and each indicator's catalog bounds
    and 'did you mean' (``lookup``, by stripped id) joined: what the messages of the rows that
    broke a rule read (those rows only, so a join on strings is cheap here)."""
    return raw.with_columns(
        pl.col("city_id").str.strip_chars(),
        pl.col("indicator").str.strip_chars(),
        _parse_year(dtypes["year"]).alias("_year"),
        (_parse_value(dtypes["value"]) * pl.col("scale")).alias("_value"),
    ).join(lookup.lazy(), on="indicator", how="left", maintain_order="left")


def check_rows(
    raw: pl.LazyFrame | pl.DataFrame,
    headers: dict[str, str],
    catalog: pl.DataFrame,
    years: tuple[int, int] = YEAR_RANGE,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, Keys]:
    """Row-wise rules on one file's raw long rows → (typed candidates, rejected, warnings, the
    candidates' keys as integer codes).

    One pass over the rows evaluates every rule, as a small code per row (the first rule that
    fails) and the soft-bounds flag. The candidates are the raw columns themselves wherever
    nothing needs changing (an id without spaces around it, a year already Int32, a value
    already Float64 and not scaled): no copy of 27 M cells, which is what kept the peak memory
    at twice the data. Messages quote the cell as written, so they are built afterwards, from
    the raw rows that broke a rule (or a soft bound) only: on clean data, none at all.
    """
    lazy = raw.lazy()
    schema = lazy.collect_schema()
    # headers as messages show them: a line break inside a header is written \n, not broken
    head = {r: shown(headers.get(r, r)) for r in ("city_id", "indicator", "year", "value")}
    indicator_cells, city_cells, scaled = pl.collect_all(
        [
            lazy.select(pl.col("indicator").unique()),
            lazy.select(pl.col("city_id").unique()),
            lazy.select((pl.col("scale") != 1.0).fill_null(True).any()),
        ]
    )
    dom = _indicator_domain(indicator_cells["indicator"], catalog)
    lookup = dom.drop("_cell").unique("indicator")  # cells that strip alike share their row
    # each row's indicator cell by its position in ``dom``, then the cell's properties by that
    # code, each once (an expression repeated inside the rules costs 20× more: 11 s vs 0.5 s)
    code = pl.col("_code")
    year_type, value_type = schema["year"], schema["value"]
    year = pl.col("year") if year_type == pl.Int32 else _parse_year(year_type)
    value = _parse_value(value_type)
    if scaled.item():
        value = value * pl.col("scale")
    with_cells = lazy.with_columns(
        pl.col("indicator").cast(pl.Enum(dom["_cell"])).to_physical().alias("_code"),
        year.alias("_year"),
        value.alias("_value"),
    ).with_columns(
        pl.lit(values).gather(code).alias(name)
        for name, values in (
            ("_lo", dom["lower"]),
            ("_hi", dom["upper"]),
            ("_hard", dom["bound_type"] == "hard"),
            ("_soft_bound", dom["bound_type"] == "soft"),
            ("_blank", dom["indicator"] == ""),
            ("_unknown", dom["_unknown_hint"].is_not_null()),
        )
    )

    cities = city_cells["city_id"].drop_nulls().sort()
    stripped = cities.str.strip_chars()
    blank_cities = cities.filter(stripped == "")
    city = pl.col("city_id")
    city_kept = city.str.strip_chars() if (stripped != cities).any() else city
    indicator = pl.col("indicator")
    indicator_kept = (
        indicator.str.strip_chars() if (dom["indicator"] != dom["_cell"]).any() else indicator
    )

    lo, hi, soft_bound = pl.col("_lo"), pl.col("_hi"), pl.col("_soft_bound")
    parsed_year, parsed = pl.col("_year"), pl.col("_value")  # each cell parsed once
    outside = (parsed < lo) | (parsed > hi)
    conditions = {
        "ragged_row": pl.col("_bad").is_not_null(),
        "missing_city": city.is_null()
        | (city.is_in(blank_cities.implode()) if blank_cities.len() else pl.lit(False)),
        "missing_indicator": code.is_null() | pl.col("_blank"),
        "bad_year": parsed_year.is_null(),
        "year_out_of_range": ~parsed_year.is_between(*years),
        "unknown_indicator": pl.col("_unknown"),
        "missing_value": _empty_value(value_type),
        "non_numeric": parsed.is_null(),
        "not_finite": parsed.is_nan() | parsed.is_infinite(),
        "hard_bounds": pl.col("_hard") & outside,
        "below_physical_minimum": soft_bound & (lo >= 0) & (parsed < 0),
    }
    names = list(conditions)
    first: pl.Expr = pl.lit(None, dtype=pl.UInt8)
    for i, cond in reversed(list(enumerate(conditions.values()))):
        first = pl.when(cond.fill_null(False)).then(pl.lit(i, dtype=pl.UInt8)).otherwise(first)
    city_code, n_cities = _dense(city.cast(pl.Enum(cities)).to_physical(), stripped)
    indicator_code, n_indicators = _dense(code, dom["indicator"])  # ``code``: made above
    rules = (
        first.alias("_rule"),
        (first.is_null() & (soft_bound & outside).fill_null(False)).alias("_soft"),
        city_code.alias("_city"),
        indicator_code.alias("_indicator"),
    )

    def kept(year: pl.Expr, value: pl.Expr) -> tuple[pl.Expr | str, ...]:
        return (
            city_kept.alias("city_id"),
            "city_name",
            "country",
            year.cast(pl.Int32, strict=False).alias("year"),  # rejected rows: any
            indicator_kept.alias("indicator"),
            value.alias("value"),
            "flag",
            "source",
            "row",
            pl.col("column").cast(pl.String),
        )

    typed = year_type.is_integer() and (value_type == pl.Float64 or value_type.is_integer())
    if typed:
        # a typed file (Parquet, Arrow): the rules in one streaming pass (its working columns
        # are never whole); the candidates apart, by the in-memory engine, which hands the raw
        # columns through as they are and keeps their chunks in what it computes from them
        # (Polars copies a frame whose columns are chunked differently into one chunk: on 27 M
        # rows that copy was 2 GiB)
        flags = with_cells.select(rules).collect(engine="streaming")
        candidates = lazy.select(kept(year, value)).collect(engine="in-memory")
    else:  # text: parse every cell once, in one streaming pass
        both = with_cells.select(*rules, *kept(parsed_year, parsed)).collect(engine="streaming")
        flags = both.select("_rule", "_soft", "_city", "_indicator")
        candidates = both.drop(flags.columns)
        del both
    rule_codes = flags["_rule"]
    failed, soft_rows = rule_codes.is_not_null(), flags["_soft"]

    def again(rows: pl.Series) -> pl.LazyFrame:
        """The working frame again, for these rows only (their messages quote the raw cells),
        with the rule each broke."""
        picked = lazy.with_row_index("_i").filter(pl.col("_i").is_in(rows.arg_true().implode()))
        return _checked(picked, schema, lookup).with_columns(
            pl.lit(rule_codes.filter(rows))
            .replace_strict(dict(enumerate(names)), default=None, return_dtype=pl.String)
            .alias("rule")
        )

    v, unit = pl.col("_value"), pl.col("unit").fill_null("")
    bounds = pl.format("[{}, {}] {}", pl.col("lower"), pl.col("upper"), unit)
    messages: dict[str, tuple[Any, pl.Expr, pl.Expr]] = {
        "ragged_row": (
            pl.lit(None, pl.String),
            pl.format("the row {}", pl.col("_bad")),
            pl.lit("check the separator and the quoting of cells that contain it"),
        ),
        "missing_city": (
            head["city_id"],
            pl.lit("no city id"),
            pl.lit("every row needs the city's id"),
        ),
        "missing_indicator": (
            head["indicator"],
            pl.lit("no indicator id"),
            pl.lit("every value needs an indicator"),
        ),
        "bad_year": (
            head["year"],
            pl.when(pl.col("year").is_null())
            .then(pl.lit("the year is empty"))
            .otherwise(
                pl.format("year '{}' is not a whole number", pl.col("year").cast(pl.String))
            ),
            pl.lit("write the year as four digits, e.g. 2023"),
        ),
        "year_out_of_range": (
            head["year"],
            pl.format(
                "year {} is outside {}–{}", pl.col("_year"), pl.lit(years[0]), pl.lit(years[1])
            ),
            pl.lit("check the year column"),
        ),
        "unknown_indicator": (
            head["indicator"] if "indicator" in headers else pl.col("column"),
            pl.format("unknown indicator '{}'", pl.col("indicator")),
            pl.col("_unknown_hint"),
        ),
        "missing_value": (
            pl.col("column"),
            pl.lit("the value is empty"),
            pl.lit("fill it or leave the row out: an empty cell is not a zero"),
        ),
        "non_numeric": (
            pl.col("column"),
            pl.format("'{}' is not a number", pl.col("value").cast(pl.String)),
            pl.lit("use '.' as the decimal mark, no thousands separators, no units in the cell"),
        ),
        "not_finite": (
            pl.col("column"),
            pl.format("'{}' is not a finite number", pl.col("value").cast(pl.String)),
            pl.lit("leave the cell out instead of writing NaN or inf"),
        ),
        "hard_bounds": (
            pl.col("column"),
            pl.format("{} is outside the physical bounds {}", v, bounds),
            pl.lit("check the unit and scale (e.g. a share as 0–100, not 0–1)"),
        ),
        "below_physical_minimum": (
            pl.col("column"),
            pl.format("{} is negative", v),
            pl.lit("this indicator cannot be negative; check the sign"),
        ),
    }
    rejected_parts = []
    if failed.any():
        frame = again(failed).collect()
        for name in names:
            column, message, hint = messages[name]
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
        candidates = candidates.filter(~failed)
        flags = flags.filter(~failed)
    rejected = pl.concat(rejected_parts) if rejected_parts else pl.DataFrame(schema=REJECTED)
    warnings = (
        again(soft_rows)
        .select(
            "source",
            "row",
            pl.col("column").cast(pl.String),
            pl.lit("soft_bounds").alias("rule"),
            pl.format("{} is outside the plausible range {}", v, bounds).alias("message"),
            pl.lit("kept; check the value and its unit").alias("hint"),
        )
        .collect()
        if soft_rows.any()
        else pl.DataFrame(schema=WARNINGS)
    )
    keys = Keys(
        flags.select(pl.col("_city").alias("city_id"), pl.col("_indicator").alias("indicator")),
        n_cities,
        n_indicators,
    )
    return candidates, rejected.cast(REJECTED), warnings.cast(WARNINGS), keys


def check_set(
    candidates: pl.DataFrame, keys: Keys | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rules over all files together: conflicting or repeated keys, a city with two names.

    The rules need window functions over string keys, which on 30 M rows cost minutes and tens
    of GiB. So the rows that *could* break a rule are found first with integer codes — rows whose
    key occurs more than once, and every row of a city that has two names — and only those go
    through the full rules (clean data: none at all); the others are accepted as they are.
    ``keys``: the codes ``check_rows`` made (one file); without them they are made here.
    """
    if keys is not None:
        codes = keys.codes.with_columns(candidates["year"])
        n_cities, n_indicators = keys.n_cities, keys.n_indicators
        # a city's two names by smallest ≠ largest, grouped by its code, not its text
        cities = (
            pl.DataFrame([codes["city_id"].alias("_code"), candidates["city_name"]])
            .lazy()
            .group_by("_code")
            .agg(pl.col("city_name").min().alias("lo"), pl.col("city_name").max().alias("hi"))
            .filter(pl.col("lo") != pl.col("hi"))
            .collect(engine="streaming")
        )
        two_names = candidates["city_id"].filter(codes["city_id"].is_in(cities["_code"].implode()))
        two_names = two_names.unique()
    else:
        lazy = candidates.lazy()
        # streaming group-bys with small results: the cities (the two names by smallest ≠
        # largest) and the indicators, which number the keys densely for ``_repeated``
        cities, indicators = pl.collect_all(
            [
                lazy.group_by("city_id").agg(
                    pl.col("city_name").min().alias("lo"), pl.col("city_name").max().alias("hi")
                ),
                lazy.select(pl.col("indicator").unique()),
            ]
        )
        two_names = cities.filter(pl.col("lo") != pl.col("hi"))["city_id"]
        city_ids = cities["city_id"].drop_nulls()
        indicator_ids = indicators["indicator"].drop_nulls()
        n_cities, n_indicators = city_ids.len(), indicator_ids.len()
        codes = candidates.select(
            pl.col("city_id").cast(pl.Enum(city_ids.sort())).to_physical(),
            pl.col("indicator").cast(pl.Enum(indicator_ids.sort())).to_physical(),
            "year",
        )
    suspect = _repeated(codes, n_cities, n_indicators)
    if two_names.len():
        suspect = suspect | candidates["city_id"].is_in(two_names.implode())
    del codes
    if suspect.any():
        frame = candidates.with_row_index("_order")
        checked, rejected = _check_set_rows(frame.filter(suspect).rechunk())
        accepted = pl.concat([frame.filter(~suspect), checked.select(frame.columns)]).sort("_order")
    else:
        accepted, rejected = candidates, pl.DataFrame(schema=REJECTED)
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


def _repeated(codes: pl.DataFrame, n_cities: int, n_indicators: int) -> pl.Series:
    """Every row whose (city, year, indicator) occurs more than once, from dense integer codes
    (cities ``0…n_cities-1``, indicators ``0…n_indicators-1``).

    The three codes fold into one integer below cities × years × indicators; when that range is
    not much larger than the frame, one slot per key finds the repeats in a few linear passes,
    2–5× faster than hashing the three columns as a struct (the way taken otherwise, or with
    nulls).
    """
    city, year, indicator = codes["city_id"], codes["year"], codes["indicator"]
    n = codes.height
    if n >= 1 << 20 and not (city.null_count() or year.null_count() or indicator.null_count()):
        import numpy as np  # not for small frames: its import costs more than the hashing

        y0 = int(year.min())  # type: ignore[arg-type]
        n_years = int(year.max()) - y0 + 1  # type: ignore[arg-type]
        size = n_cities * n_years * n_indicators
        if size <= 4 * n + 2**20:
            # the narrowest key that holds the range, and no count per key: each key's slot
            # keeps one row that has it (whichever NumPy writes last); a row that is not its
            # key's kept row repeats a key, and then every row of that key is marked. On 27 M
            # rows that needs 0.45 GiB at most where ``bincount`` needed 0.65 GiB, the margin
            # that keeps the whole validation under 3 GiB
            wide = np.int32 if max(size, n) < 2**31 else np.int64
            key = city.to_numpy().astype(wide) * n_years
            key += year.to_numpy() - y0
            key *= n_indicators
            key += indicator.to_numpy()
            rows = np.arange(n, dtype=wide)
            slot = np.empty(size, dtype=wide)
            slot[key] = rows
            again = slot[key] != rows
            del slot, rows
            if again.any():
                repeated_key = np.zeros(size, dtype=bool)
                repeated_key[key[again]] = True
                again = repeated_key[key]
            return pl.Series("repeated", again)
    return codes.select(pl.struct("city_id", "year", "indicator").is_duplicated()).to_series()


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


def _count_by_source(raw: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Rows read per source. A mapped file has one source: its smallest and largest are then
    equal, which is cheaper to find than hashing every row's."""
    lo, hi, nulls, n = (
        raw.lazy()
        .select(
            pl.col("source").min().alias("lo"),
            pl.col("source").max().alias("hi"),
            pl.col("source").null_count().alias("nulls"),
            pl.len(),
        )
        .collect()
        .row(0)
    )
    if n and not nulls and lo == hi:
        return pl.DataFrame(
            {"source": [lo], "read": [n]}, schema={"source": pl.String, "read": pl.UInt32}
        )
    return raw.lazy().group_by("source").len("read").collect()


def validate(
    files: list[tuple[pl.LazyFrame | pl.DataFrame, dict[str, str]]],
    catalog: pl.DataFrame,
    *,
    unusable: pl.DataFrame | None = None,
    years: tuple[int, int] = YEAR_RANGE,
    ignored: dict[str, int] | None = None,
) -> Validated:
    """Validate raw long frames (one per file, with its role → header map) against the catalog.

    ``ignored``: per source, the cells of columns the mapping put aside; they count as read.
    """
    candidates, rejected, warnings, read, keys = [], [], [], [], []
    for raw, headers in files:
        ok, bad, warn, coded = check_rows(raw, headers, catalog, years)
        candidates.append(ok)
        keys.append(coded)
        rejected.append(bad)
        warnings.append(warn)
        read.append(_count_by_source(raw))
    if len(candidates) == 1:  # one file: its columns as they are (a copy here was 2 GiB)
        all_ok = candidates[0]
    elif candidates:
        # several files: their columns come in different chunks, which makes some Polars
        # kernels panic, so the concatenation is made contiguous
        all_ok = pl.concat(
            [c.cast({"year": pl.Int32}) for c in candidates], how="diagonal_relaxed"
        ).rechunk()
    else:
        all_ok = pl.DataFrame(schema={**OBSERVATIONS, "column": pl.String()})
    accepted, set_rejected = check_set(all_ok, keys[0] if len(keys) == 1 else None)
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
        .join(_count_by_source(accepted).rename({"read": "accepted"}), on="source", how="left")
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
