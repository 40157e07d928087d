"""Integer codes: observations → city, year, indicator and unit codes, made once per run.

Why a module of its own: turning millions of string keys into small integers that sort like the
strings is what lets every later stage gather, scatter and take Polars' sorted ``over()`` path
instead of joining on strings (see ``score.py``'s essay). ``Encoded`` is shared by every index of a
run; ``Units`` are the city-years one index scores, sorted by (year, city).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

DENSE_LIMIT = 200_000_000
"""Largest cities × years key space mapped with dense lookup tables instead of hashing."""


def sorted_key(n: int, width: int) -> pl.Series:
    """``0,0,…,1,1,…``: each code repeated ``width`` times, flagged sorted for ``over()``."""
    return (pl.int_range(n * width, dtype=pl.UInt32, eager=True) // max(width, 1)).set_sorted()


@dataclass
class Units:
    """The city-years that are scored, sorted by (year, city); a level's rows are node × unit.

    ``city`` and ``year`` hold the codes of each unit; ``cities``/``years`` the values the codes
    stand for (sorted like the values, nulls first, so code order is the output's order)."""

    cities: pl.Series
    years: pl.Series
    city: pl.Series
    year: pl.Series
    starts: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        counts = self.year.value_counts(sort=False).sort(self.year.name)
        self.counts = [0] * self.years.len()
        for code, n in counts.iter_rows():
            self.counts[code] = n
        self.starts = [sum(self.counts[:i]) for i in range(len(self.counts))]

    @property
    def n(self) -> int:
        return self.city.len()

    def city_ids(self, unit: pl.Series) -> pl.Series:
        return self.cities.gather(self.city.gather(unit)).alias("city_id")

    def year_values(self, unit: pl.Series) -> pl.Series:
        return self.years.gather(self.year.gather(unit)).alias("year")

    def keep(self, mask: pl.Series) -> tuple[Units, pl.Series]:
        """The units where ``mask`` is true, and old unit → new unit (null when dropped)."""
        kept = pl.int_range(self.n, dtype=pl.UInt32, eager=True).filter(mask)
        remap = (
            nulls(self.n, pl.UInt32).scatter(
                kept, pl.int_range(kept.len(), dtype=pl.UInt32, eager=True)
            )
            if self.n
            else kept
        )
        units = Units(self.cities, self.years, self.city.gather(kept), self.year.gather(kept))
        return units, remap


def nulls(n: int, dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    """``n`` nulls, built in Polars (a Python list of ``n`` Nones costs seconds at 20 M)."""
    return pl.repeat(None, n, dtype=dtype, eager=True)


def lookup(values: pl.Series, old: pl.Series, new: pl.Series) -> pl.Series:
    """Map codes ``values`` through old → new: a dense table when the codes are small integers
    (a gather), a hash map otherwise."""
    top = old.max() if old.len() else 0
    if (
        old.null_count() == 0
        and values.null_count() == 0
        and top is not None
        and int(top) < 4 * max(old.len(), 1) + 1_000_000
    ):
        table = nulls((int(top) + 1), new.dtype).scatter(old, new)
        return table.gather(values)
    return values.replace_strict(old, new, return_dtype=new.dtype)


def encode_units(data: pl.DataFrame, cities: pl.Series) -> tuple[pl.DataFrame, Units]:
    """City codes ``_c`` and years → year code and unit code ``_u`` in sort order, and the
    units (the city-years with data, sorted by year then city)."""
    city = data["_c"]
    year = data["year"]
    years = year.unique().sort(nulls_last=False)
    y0 = years.drop_nulls().min()
    if year.null_count() == 0 and years.len() and int(years[-1]) - int(y0) < 10_000:  # type: ignore[arg-type]
        ycode = lookup(
            (year - y0).cast(pl.UInt32),
            (years - y0).cast(pl.UInt32),
            pl.int_range(years.len(), dtype=pl.UInt32, eager=True),
        )
    else:
        ycode = year.replace_strict(
            years, pl.int_range(years.len(), dtype=pl.UInt32, eager=True), return_dtype=pl.UInt32
        )
    n_c = cities.len()
    key = ycode.cast(pl.UInt64) * n_c + city.cast(pl.UInt64)
    space = years.len() * n_c
    if space <= DENSE_LIMIT:
        keys = pl.repeat(False, space, eager=True).scatter(key, True).arg_true()
        unit_of = (
            nulls(space, pl.UInt32).scatter(
                keys, pl.int_range(keys.len(), dtype=pl.UInt32, eager=True)
            )
            if space
            else keys
        )
        unit = unit_of.gather(key)
    else:
        keys = key.unique().sort()
        unit = key.replace_strict(
            keys, pl.int_range(keys.len(), dtype=pl.UInt32, eager=True), return_dtype=pl.UInt32
        )
    units = Units(
        cities, years.alias("year"), (keys % n_c).cast(pl.UInt32), (keys // n_c).cast(pl.UInt32)
    )
    return data.select("_i", pl.Series("_u", unit), "value"), units


@dataclass(frozen=True)
class Encoded:
    """Observations with city ids and indicators as integer codes, made once and shared by every
    scorer of a run (``encode(observations)``, then ``score(..., encoded=...)``): turning 30 M
    string keys into codes costs more than some whole stages, and it is the same for each index.

    ``city`` codes sort like the ids (nulls first), so code order is output order; rows with a
    missing or NaN value are left out (they never count as present)."""

    observations: pl.DataFrame
    """The frame encoded (by identity: ``score`` refuses an encoding of another frame)."""
    frame: pl.DataFrame
    """``_c`` (city code), ``year``, ``_ind`` (indicator code), ``value``."""
    cities: pl.Series
    indicators: pl.Series


def codes_of(cat: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Codes of the categorical ``cat`` in sorted order of its strings (nulls first) and the
    sorted distinct strings."""
    present = cat.unique()
    order = (
        pl.DataFrame({"phys": present.to_physical(), "name": present.cast(pl.String)})
        .sort("name", nulls_last=False)
        .with_row_index("code")
    )
    nonnull = order.filter(pl.col("phys").is_not_null())
    codes = lookup(cat.to_physical(), nonnull["phys"], nonnull["code"].cast(pl.UInt32))
    if cat.null_count():
        codes = codes.fill_null(0)
    return codes, order["name"]


def encode(observations: pl.DataFrame) -> Encoded:
    """The shared encoding of ``observations`` (see ``Encoded``)."""
    # one lazy pass: both string columns hashed in parallel by the streaming engine
    usable = (
        observations.lazy()
        .select("city_id", "year", "indicator", "value")
        .filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan())
        .with_columns(
            pl.col("city_id").cast(pl.Categorical), pl.col("indicator").cast(pl.Categorical)
        )
        .collect()
    )
    city, cities = codes_of(usable["city_id"])
    indicator, indicators = codes_of(usable["indicator"])
    # contiguous columns: a streamed input arrives in hundreds of chunks, and every later
    # gather, scatter and filter over them would pay for it
    frame = pl.DataFrame(
        {"_c": city, "year": usable["year"], "_ind": indicator, "value": usable["value"]}
    ).rechunk()
    return Encoded(observations, frame, cities.alias("city_id"), indicators.alias("indicator"))
