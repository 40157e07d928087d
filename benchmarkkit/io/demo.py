"""The embedded demo data: real Eurostat city statistics (CC BY 4.0), shipped in the package.

It goes through the same validation and derivation as a user's file, so the demo shows exactly what
a user's data would. Provenance points at the *original* Eurostat CSV files and their lines.
"""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.io.load import Loaded, cities_table
from benchmarkkit.io.validate import validate
from benchmarkkit.methods.denominate import derive

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry

DEMO = files("benchmarkkit") / "data" / "demo"
DEFAULT_CITY = "ES001C"
DEFAULT_YEAR = 2023
ATTRIBUTION = (
    "Source: Eurostat, City statistics (urb_cpop1, urb_clma, urb_ceduc, urb_ctran, urb_ctour, "
    "urb_cpopcb), extracted 2025; Eurostat urb_cenv, via FAIRiCUBE uc1-urban-climate; European "
    "Commission, DG REGIO, Survey on the Quality of Life in European Cities 2023. CC BY 4.0. "
    "The data were reshaped by benchmarkkit."
)


def attribution() -> str:
    return ATTRIBUTION


def load_demo(registry: Registry, catalog: pl.DataFrame) -> Loaded:
    obs = pl.read_parquet(bytes((DEMO / "observations.parquet").read_bytes()))
    raw = obs.with_columns(
        pl.col("year").cast(pl.Int64),
        pl.lit(1.0).alias("scale"),
        pl.lit("value").alias("column"),
        pl.lit(None, dtype=pl.String).alias("_bad"),
    )
    validated = validate([(raw, {})], catalog)
    derived, dropped = derive(validated.observations.lazy(), catalog)
    observations, dropped_frame = pl.collect_all([derived, dropped])
    validated = validated.with_warnings(dropped_frame)
    cities = pl.read_parquet(bytes((DEMO / "cities.parquet").read_bytes()))
    return Loaded(validated, observations, cities_table(observations, cities))
