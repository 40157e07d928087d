"""A report section with its own chart, in one file: where the city's summers sit among its
peers'. ``charts`` declares the chart (an Altair chart); ``render`` places it with
``context.chart(name)``. Load it with ``benchmarkkit --plugin summer_section.py report``.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from benchmarkkit import ReportSection, hookimpl
from benchmarkkit.reporting.sections import esc

CHART = "summer:peers"


def charts(context):
    frame = context.cities.filter(pl.col("city_id").is_in(list(context.peers))).select(
        "city_name",
        pl.col("temp_warmest_month").alias("warmest month (°C)"),
        (pl.col("city_id") == context.city_id).alias("this city"),
    )
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(x="warmest month (°C):Q", y=alt.Y("city_name:N", sort="-x"), color="this city:N")
    )
    return {CHART: chart}


def render(context):
    return f"<h2>Summers of {esc(context.city_name)} and its peers</h2>" + context.chart(CHART)


@hookimpl
def register_report_sections(register):
    register(ReportSection("summer", 95, render, charts=charts))
