"""Derived indicators: per capita, per 1,000 residents, per km², share of — computed, not typed in.

Cities report raw counts (unemployed persons, students, tourist nights); comparing cities of
different sizes needs rates. The catalog (or a framework) declares ``value = scale × numerator /
denominator`` and the engine computes it from the *same city and year*, so a rate is never built
from a population of another year. A value the user supplied directly wins over a derived one.
"""

from __future__ import annotations

import polars as pl

from benchmarkkit.columns import OBSERVATIONS, conform


def derive(observations: pl.LazyFrame, catalog: pl.DataFrame) -> pl.LazyFrame:
    """Observations plus every derivable indicator (flag ``derived``; provenance of the numerator).

    Missing or zero denominators give no derived value (dividing by zero is not data); those
    city-years simply lack the indicator and show up in coverage.
    """
    spec = catalog.filter(pl.col("numerator").is_not_null()).select(
        pl.col("id").alias("_derived"), pl.col("numerator").alias("indicator"), "denominator",
        pl.col("scale").fill_null(1.0).alias("_scale"),
    )
    if spec.height == 0:
        return observations
    obs = observations
    den = obs.select("city_id", "year", pl.col("indicator").alias("denominator"),
                     pl.col("value").alias("_den"))
    derived = (
        obs.join(spec.lazy(), on="indicator", how="inner")
        .join(den, on=["city_id", "year", "denominator"], how="inner")
        .filter(pl.col("_den") != 0)
        .with_columns(
            pl.col("_derived").alias("indicator"),
            (pl.col("_scale") * pl.col("value") / pl.col("_den")).alias("value"),
            pl.concat_str([pl.lit("derived"), pl.col("flag")], separator=",", ignore_nulls=True)
            .alias("flag"),
        )
    )
    supplied = obs.select("city_id", "year", "indicator")
    derived = derived.join(supplied, on=["city_id", "year", "indicator"], how="anti")
    return pl.concat([obs, conform(derived, OBSERVATIONS)], how="vertical")
