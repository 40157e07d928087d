"""Derived indicators: per capita, per 1,000 residents, per km², share of — computed, not typed in.

Cities report raw counts (unemployed persons, students, tourist nights); comparing cities of
different sizes needs rates. The catalog (or a framework) declares ``value = scale × numerator /
denominator`` and the engine computes it from the *same city and year*, so a rate is never built
from a population of another year. A value the user supplied directly wins over a derived one.
"""

from __future__ import annotations

import polars as pl

from benchmarkkit.columns import OBSERVATIONS, WARNINGS, conform


def derive(observations: pl.LazyFrame, catalog: pl.DataFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Observations plus every derivable indicator (flag ``derived``; provenance of the numerator).

    Missing or zero denominators give no derived value (dividing by zero is not data); those
    city-years simply lack the indicator and show up in coverage. A derived value outside the
    indicator's hard bounds (a foreign-born share of 430 %) is inconsistent raw data: it is left out
    and returned as a warning row pointing at the numerator's file and row.
    """
    spec = catalog.filter(pl.col("numerator").is_not_null()).select(
        pl.col("id").alias("_derived"),
        pl.col("numerator").alias("indicator"),
        "denominator",
        pl.col("scale").fill_null(1.0).alias("_scale"),
    )
    if spec.height == 0:
        return observations, pl.LazyFrame(schema=WARNINGS)
    obs = observations
    den = obs.select(
        "city_id", "year", pl.col("indicator").alias("denominator"), pl.col("value").alias("_den")
    )
    derived = (
        obs.join(spec.lazy(), on="indicator", how="inner")
        .with_columns(pl.col("indicator").alias("numerator_id"))
        .join(den, on=["city_id", "year", "denominator"], how="inner")
        .filter(pl.col("_den") != 0)
        .with_columns(
            pl.col("_derived").alias("indicator"),
            (pl.col("_scale") * pl.col("value") / pl.col("_den")).alias("value"),
            pl.concat_str(
                [pl.lit("derived"), pl.col("flag")], separator=",", ignore_nulls=True
            ).alias("flag"),
        )
    )
    return admit(
        obs,
        derived,
        catalog,
        why=": its raw counts disagree",
        hint=pl.format("check {} and {} of this city and year", "numerator_id", "denominator"),
    )


def admit(
    obs: pl.LazyFrame, derived: pl.LazyFrame, catalog: pl.DataFrame, *, why: str, hint: pl.Expr
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The observations plus the derived values that may join them: not where the user supplied
    the value directly (theirs wins), and not outside the indicator's hard bounds — such a value
    is inconsistent input, dropped and returned as a warning (``why`` and ``hint`` say which
    inputs to check). Shared by every kind of derivation (ratios here, growth and lags in
    ``derive``)."""
    supplied = obs.select("city_id", "year", "indicator")
    bounds = catalog.select(pl.col("id").alias("indicator"), "lower", "upper", "bound_type")
    derived = derived.join(supplied, on=["city_id", "year", "indicator"], how="anti").join(
        bounds.lazy(), on="indicator", how="left"
    )
    outside = (pl.col("bound_type") == "hard") & (
        (pl.col("value") < pl.col("lower")) | (pl.col("value") > pl.col("upper"))
    ).fill_null(False)
    dropped = derived.filter(outside).select(
        "source",
        "row",
        pl.lit("value").alias("column"),
        pl.lit("derived_out_of_bounds").alias("rule"),
        pl.format(
            "{} {} {} = {} is outside [{}, {}]" + why.replace("{", "{{").replace("}", "}}"),
            "city_id",
            "year",
            "indicator",
            "value",
            "lower",
            "upper",
        ).alias("message"),
        hint.alias("hint"),
    )
    kept = conform(derived.filter(~outside), OBSERVATIONS)
    return pl.concat([obs, kept], how="vertical"), dropped.cast(WARNINGS)
