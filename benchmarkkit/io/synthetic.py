"""Seeded synthetic city panels in the canonical long shape, for the speed benchmarks.

Why synthetic: the benchmarks need the *same* data at three sizes on every machine, large enough
to show how the engine scales (10,000 cities × 150 indicators × 20 years = 30 M cells), and real
city statistics of that size do not exist. The data are built to look like what the engine meets:

* indicator ids come from the real catalog (scored indicators feeding the three indices), so the
  built-in scorers, validation and the catalog joins all run their real paths;
* values follow the indicator's unit and plausible bounds: shares are logit-normal in 0–100,
  rates and per-capita figures log-normal (right-skewed, so the JRC outlier treatment has work to
  do), other bounded quantities logit-normal between their bounds;
* a city's values are correlated across indicators (a general "development" factor, signed by the
  indicator's direction) and autocorrelated over years (AR(1), ρ = 0.9, plus a slow trend), so
  year-over-year comparisons and panel imputation see realistic series;
* about 10 % of cells are missing: 5 % of city × indicator series are never reported and 5 % of
  the remaining cells are dropped at random. Missing cells are absent rows, as in real files.

Everything is vectorised with NumPy (one array of years × cities × indicators); the large size is
generated in a few seconds and cached as Parquet (CSV on demand) in ``.benchmarks-data/`` (or
``$BENCH_DATA_DIR``), keyed by size, seed and :data:`VERSION`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import polars as pl

if TYPE_CHECKING:
    import numpy as np

VERSION: Final = 1
"""Bump when the generator changes: cached files carry it in their name."""

SEED: Final = 20261123
LAST_YEAR: Final = 2024
MISSING_SERIES: Final = 0.05
MISSING_CELLS: Final = 0.05
RHO: Final = 0.9
"""Year-to-year autocorrelation of a city's deviation on an indicator."""

COUNTRIES: Final = (
    "VN",
    "TH",
    "ID",
    "PH",
    "MY",
    "SG",
    "KH",
    "LA",
    "MM",
    "BN",
    "CN",
    "IN",
    "JP",
    "KR",
    "DE",
    "FR",
    "ES",
    "IT",
    "PL",
    "NL",
    "BR",
    "MX",
    "AR",
    "CO",
    "NG",
    "KE",
    "ZA",
    "EG",
    "TR",
    "US",
)
REGIONS: Final = ("Asia", "Europe", "Americas", "Africa")
_REGION_OF: Final = {
    **dict.fromkeys(COUNTRIES[:14], "Asia"),
    **dict.fromkeys(COUNTRIES[14:20], "Europe"),
    **dict.fromkeys(COUNTRIES[20:24], "Americas"),
    **dict.fromkeys(COUNTRIES[24:28], "Africa"),
    "TR": "Europe",
    "US": "Americas",
}


@dataclass(frozen=True)
class Size:
    """A panel size: cities × indicators × years (the number of cells before missingness)."""

    name: str
    cities: int
    indicators: int
    years: int

    @property
    def cells(self) -> int:
        return self.cities * self.indicators * self.years


SIZES: Final = {
    "small": Size("small", 30, 100, 6),
    "medium": Size("medium", 1_000, 150, 10),
    "large": Size("large", 10_000, 150, 20),
}


def size_of(name: str) -> Size:
    """The size called ``name``; a one-line error listing the sizes otherwise."""
    try:
        return SIZES[name]
    except KeyError:
        raise ValueError(f"unknown size '{name}': one of {', '.join(SIZES)}") from None


def scored_indicators(catalog: pl.DataFrame) -> pl.DataFrame:
    """Catalog indicators that feed at least one index and are reported directly (not derived
    from raw counts, which the loader would compute itself), in catalog order."""
    return catalog.filter(
        (pl.col("kind") == "indicator")
        & (pl.col("indices").list.len() > 0)
        & pl.col("numerator").is_null()
    ).select("id", "unit", "direction", "lower", "upper")


def pick_indicators(catalog: pl.DataFrame, n: int, seed: int = SEED) -> pl.DataFrame:
    """``n`` scored indicators drawn without replacement (seeded), kept in catalog order so that
    every index and focus area is represented whatever ``n`` is."""
    import numpy as np

    pool = scored_indicators(catalog)
    if n > pool.height:
        raise ValueError(f"the catalog has {pool.height} scored indicators, {n} asked for")
    rng = np.random.default_rng(seed + 1)
    keep = np.sort(rng.choice(pool.height, size=n, replace=False))
    return pool[keep.tolist()]


def cities(size: Size, seed: int = SEED) -> pl.DataFrame:
    """The cities table (``columns.CITIES``): ids, names, countries, regions, population and area.

    Populations are log-normal (median 300,000, from 20,000 to 30 M); densities log-normal around
    4,000 per km². A quarter of the cities belong to the ``ASCN`` network.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n = size.cities
    width = max(5, len(str(n)))
    ids = [f"SYN{i:0{width}d}" for i in range(1, n + 1)]
    weights = 1.0 / np.arange(1, len(COUNTRIES) + 1)
    country = rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum())
    population = np.clip(np.exp(rng.normal(np.log(300_000), 1.1, n)), 20_000, 30_000_000)
    density = np.exp(rng.normal(np.log(4_000), 0.6, n))
    in_ascn = rng.random(n) < 0.25
    countries = [COUNTRIES[c] for c in country.tolist()]
    return pl.DataFrame(
        {
            "city_id": ids,
            "city_name": [f"Synthetica {i}" for i in range(1, n + 1)],
            "country": countries,
            "region": [_REGION_OF[c] for c in countries],
            "population": population.round(0),
            "area_km2": (population / density).round(1),
            "networks": [["ASCN"] if a else [] for a in in_ascn.tolist()],
        },
        schema_overrides={"networks": pl.List(pl.String)},
    )


def _values(
    rng: np.random.Generator, size: Size, meta: pl.DataFrame, development: np.ndarray
) -> np.ndarray:
    """Years × cities × indicators values (float64) on each indicator's own scale."""
    import numpy as np

    t, c, k = size.years, size.cities, size.indicators
    direction = meta["direction"].cast(pl.Float64).to_numpy()
    lower = meta["lower"].fill_null(0.0).to_numpy()
    upper = meta["upper"].fill_null(100.0).to_numpy()
    unit = meta["unit"].fill_null("").to_list()
    share = np.array([u.startswith("%") for u in unit])
    rate = np.array(
        [
            ("per" in u or "ug/m3" in u or u in ("days", "hours", "minutes", "destinations"))
            and not s
            for u, s in zip(unit, share, strict=True)
        ]
    )
    # latent standard-normal scale: shared development factor + own level + AR(1) deviations
    level = rng.standard_normal((c, k), dtype=np.float32)
    z = np.empty((t, c, k), dtype=np.float32)
    dev = rng.standard_normal((c, k), dtype=np.float32)
    innovation = np.float32(np.sqrt(1 - RHO**2))
    common = (0.55 * development[:, None] * direction[None, :]).astype(np.float32)
    for year in range(t):
        if year:
            dev = np.float32(RHO) * dev + innovation * rng.standard_normal((c, k), dtype=np.float32)
        trend = np.float32(0.03 * year) * direction.astype(np.float32)
        z[year] = common + np.float32(0.6) * level + np.float32(0.58) * dev + trend
    mu = rng.uniform(-1.2, 1.2, k).astype(np.float32)
    spread = rng.uniform(0.5, 1.1, k).astype(np.float32)
    logistic = 1.0 / (1.0 + np.exp(-(mu + spread * z)))
    span = np.where(share, np.minimum(upper, 100.0) - lower, upper - lower).astype(np.float32)
    bounded = lower.astype(np.float32) + span * logistic
    del logistic
    # rates: log-normal, the median 45 % of the way (on a log scale) from the plausible minimum
    # (or a 400th of the maximum) to the maximum, so values rarely reach either bound
    sigma = rng.uniform(0.45, 0.75, k).astype(np.float32)
    floor = np.log(np.maximum(lower, np.maximum(upper, 1e-6) / 400.0))
    log_median = (floor + 0.45 * (np.log(np.maximum(upper, 1e-6)) - floor)).astype(np.float32)
    lognormal = np.exp(log_median + sigma * z)
    del z
    out = np.where(rate[None, None, :], lognormal, bounded).astype(np.float64)
    del lognormal, bounded
    np.clip(out, lower, upper, out=out)
    return np.round(out, 4)


def observations(size: Size, catalog: pl.DataFrame, seed: int = SEED) -> pl.DataFrame:
    """The long table a user would load: ``city_id, city_name, country, year, indicator, value``
    (the data columns of ``columns.OBSERVATIONS``), one row per present cell, sorted by year,
    city and indicator."""
    import numpy as np

    rng = np.random.default_rng(seed + 2)
    meta = pick_indicators(catalog, size.indicators, seed)
    table = cities(size, seed)
    development = rng.standard_normal(size.cities)
    values = _values(rng, size, meta, development)
    t, c, k = values.shape
    series = rng.random((c, k)) >= MISSING_SERIES
    present = (rng.random((t, c, k)) >= MISSING_CELLS) & series[None, :, :]
    flat = np.flatnonzero(present.ravel())
    del present
    year_idx, rest = np.divmod(flat, c * k)
    city_idx, ind_idx = np.divmod(rest, k)
    del rest
    first_year = LAST_YEAR - size.years + 1
    ids = pl.Series("city_id", table["city_id"])
    codes = pl.Series(city_idx.astype(np.uint32))
    return pl.DataFrame(
        {
            "city_id": ids.gather(codes),
            "city_name": table["city_name"].gather(codes),
            "country": table["country"].gather(codes),
            "year": pl.Series((year_idx + first_year).astype(np.int32)),
            "indicator": meta["id"].gather(pl.Series(ind_idx.astype(np.uint32))),
            "value": pl.Series(values.ravel()[flat]),
        }
    )


def canonical(frame: pl.DataFrame | pl.LazyFrame, source: str) -> pl.DataFrame:
    """A user-shaped long table as validated observations (``columns.OBSERVATIONS``): what
    ``load`` returns for clean data, without paying for validation (the benchmarks of the later
    stages start here). Give a ``LazyFrame`` (``pl.scan_parquet``) for big panels: the columns
    are then built in one streaming pass, without an eager copy of the whole table."""
    from benchmarkkit.columns import OBSERVATIONS

    return (
        frame.lazy()
        .with_columns(
            pl.lit(None, pl.String).alias("flag"),
            pl.lit(source).alias("source"),
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row"),
        )
        .select(list(OBSERVATIONS))
        .cast(OBSERVATIONS)
        .collect()
    )  # type: ignore[arg-type]


def data_dir() -> Path:
    """Where generated panels are cached: ``$BENCH_DATA_DIR`` or ``.benchmarks-data/`` in the
    current directory (the repository root when run through ``scripts/dev.sh``)."""
    return Path(os.environ.get("BENCH_DATA_DIR") or ".benchmarks-data")


@dataclass(frozen=True)
class Panel:
    """Paths of one cached panel. ``csv`` is written on first request (it is big and slow)."""

    size: Size
    parquet: Path
    cities: Path
    seed: int

    @property
    def csv(self) -> Path:
        path = self.parquet.with_suffix(".csv")
        if not path.exists():
            tmp = path.with_suffix(".csv.tmp")
            pl.scan_parquet(self.parquet).sink_csv(tmp)
            tmp.replace(path)
        return path


def panel(
    size: Size | str, catalog: pl.DataFrame, *, seed: int = SEED, directory: Path | None = None
) -> Panel:
    """The cached panel of ``size``, generated and written as Parquet when absent."""
    size = size_of(size) if isinstance(size, str) else size
    directory = directory or data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"synthetic-v{VERSION}-{size.name}-s{seed}"
    obs_path = directory / f"{stem}-observations.parquet"
    city_path = directory / f"{stem}-cities.parquet"
    if not obs_path.exists() or not city_path.exists():
        tmp = obs_path.with_suffix(".tmp")
        observations(size, catalog, seed).write_parquet(tmp, statistics=False)
        cities(size, seed).write_parquet(city_path)
        tmp.replace(obs_path)
    return Panel(size, obs_path, city_path, seed)
