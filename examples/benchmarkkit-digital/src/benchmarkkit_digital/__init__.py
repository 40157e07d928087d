"""Digital readiness: an example of a third-party scorer, installed as its own package.

Three pillars — connectivity, e-services, smart infrastructure — over whatever ICT indicators the
data contain. It registers through the same hook and entry-point group as benchmarkkit's built-in
indices and gets the same engine: imputation, treatment, normalisation, aggregation, ranks.
"""

from __future__ import annotations

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.io.framework import NODE_SCHEMA
from benchmarkkit.scorer import Framework, Pipeline, Scorer

PILLARS = {
    "connectivity": [
        "household_internet_access",
        "fixed_broadband_households",
        "wireless_broadband_subscriptions",
        "fast_broadband_population",
    ],
    "e_services": [
        "online_city_services",
        "open_data_published",
        "qol_admin_online",
        "electronic_health_records",
    ],
    "smart_infrastructure": [
        "smart_electricity_meters",
        "smart_water_meters",
        "realtime_transit_info_stops",
    ],
}
PIPELINE = Pipeline(normalise="minmax:0,100", aggregate="arithmetic", reference="pooled")


def build(catalog: pl.DataFrame, observations: pl.DataFrame) -> Framework:
    present = set(observations["indicator"].unique())
    rows = [{"node": "digital_readiness", "name": "Digital readiness", "level": 3}]
    for pillar, indicators in PILLARS.items():
        have = [i for i in indicators if i in present]
        if not have:
            continue
        rows.append(
            {
                "node": pillar,
                "name": pillar.replace("_", " ").title(),
                "level": 2,
                "parent": "digital_readiness",
                "weight": 1.0,
            }
        )
        rows += [{"node": i, "name": i, "level": 1, "parent": pillar, "weight": 1.0} for i in have]
    nodes = pl.DataFrame(rows, schema=NODE_SCHEMA)
    directions = catalog.select(pl.col("id").alias("node"), pl.col("direction").alias("_d"))
    nodes = (
        nodes.join(directions, on="node", how="left")
        .with_columns(pl.coalesce("direction", "_d").alias("direction"))
        .drop("_d")
    )
    return Framework("digital_readiness", nodes, "Digital readiness", PIPELINE)


@hookimpl
def register_scorers(register):
    register(Scorer("digital_readiness", build, "Digital readiness", __doc__ or "", PIPELINE))
