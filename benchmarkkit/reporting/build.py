"""The yearly comparison report: a scoring run → comparison → charts → one self-contained HTML file.

This module is the last stage of the flow and the only one that imports Altair (through
``charts``); the API imports it only for ``report`` and ``chart``, so other commands start fast.
It reads a scoring run (``benchmarkkit.Scores``) and never scores or loads anything itself.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit.errors import InputError, did_you_mean

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmarkkit.analysis.compare import Comparison


def chart_specs(scored: Any, target: Comparison) -> dict[str, dict[str, Any]]:
    """Every chart of the report as a Vega-Lite spec, summarised in Polars before charting."""
    from benchmarkkit.columns import FOCUS_AREA_LABELS
    from benchmarkkit.reporting import charts

    scores, cities = scored.scores, scored.loaded.cities.select("city_id", "city_name")
    group = list(target.peers)
    mine = scores.filter(pl.col("city_id").is_in(group)).join(cities, on="city_id", how="left")
    top_level = pl.col("level") == pl.col("level").max().over("scorer")
    specs: dict[str, Any] = {}
    this_year = mine.filter(pl.col("year") == target.year)
    for scorer in sorted(scored.frameworks):
        frame = (
            this_year.filter(top_level & (pl.col("scorer") == scorer))
            .with_columns(pl.col("score").rank("min", descending=True).alias("rank"))
            .sort("city_id")
        )
        title = scored.frameworks[scorer].title or scorer
        specs[f"ranking:{scorer}"] = charts.ranking_bars(
            frame.select("city_id", "city_name", "score", "rank"), target.city_id, title
        )
    areas = this_year.filter(pl.col("level") == 2).filter(
        pl.col("node").is_in(list(FOCUS_AREA_LABELS))
    )
    heat = (
        areas.group_by("city_id", "city_name", "node")
        .agg(pl.col("score").mean())
        .with_columns(pl.col("node").replace_strict(FOCUS_AREA_LABELS).alias("focus_area"))
        .sort("city_id", "node")
    )
    specs["heatmap"] = charts.focus_area_heatmap(
        heat.select("city_id", "city_name", "focus_area", "score"), target.city_id
    )
    level1 = (
        this_year.filter(pl.col("level") == 1)
        .join(
            scored.catalog.select(
                pl.col("id").alias("node"), pl.col("name").alias("indicator_name")
            ),
            on="node",
            how="left",
        )
        .unique(["city_id", "node"])
        .sort("node", "city_id")
    )
    specs["strip"] = charts.indicator_strip(
        level1.select(
            pl.coalesce("indicator_name", "node").alias("indicator_name"),
            "city_id",
            "city_name",
            "score",
        ),
        target.city_id,
    )
    index = mine.filter(top_level)
    city_series = index.filter(pl.col("city_id") == target.city_id).select(
        "year", pl.lit("city").alias("series"), "score", pl.col("scorer").alias("index")
    )
    median = (
        index.filter(pl.col("city_id") != target.city_id)
        .group_by("year", "scorer")
        .agg(pl.col("score").median())
        .select(
            "year", pl.lit("peer median").alias("series"), "score", pl.col("scorer").alias("index")
        )
    )
    city_years = city_series.filter(pl.col("score").is_not_null())["year"].unique()
    trend = (
        pl.concat([city_series, median])
        .filter(pl.col("score").is_not_null() & pl.col("year").is_in(city_years.implode()))
        .sort("index", "series", "year")
    )
    specs["trend"] = charts.trend_lines(trend, target.city_id, city_name=target.city_name)
    years = [y for y in (target.previous_year, target.year) if y is not None]
    specs["slope"] = charts.slope_chart(
        trend.filter(pl.col("year").is_in(years)).select("index", "year", "score", "series"),
        target.city_id,
        city_name=target.city_name,
    )
    cov = (
        scores.filter(
            (pl.col("city_id") == target.city_id) & (pl.col("year") == target.year) & top_level
        )
        .sort("scorer")
        .select(pl.col("scorer").str.to_titlecase().alias("node_label"), "n_present", "n_children")
    )
    specs["coverage"] = charts.coverage_bars(cov)
    # the builders' specs are schema-validated in the tests (tests/test_charts.py and the report
    # test); validating them again here would cost a second of every report
    return {name: charts.themed(chart).to_dict(validate=False) for name, chart in specs.items()}


def comparable_years(scores: pl.DataFrame, target: Comparison) -> dict[str, bool]:
    """Per scorer: does the city's index rest on the same indicators in both years?

    A change computed on different indicator sets (a survey run only this year) would mislead, so
    the report then says the years are not comparable instead of printing the difference."""
    if target.previous_year is None:
        return {}
    have = scores.filter(
        (pl.col("city_id") == target.city_id)
        & (pl.col("level") == 1)
        & pl.col("score").is_not_null()
        & pl.col("year").is_in([target.year, target.previous_year])
    )
    sets = have.group_by("scorer", "year").agg(pl.col("node").sort().alias("nodes"))
    out = {}
    for scorer in scores["scorer"].unique().to_list():
        both = sets.filter(pl.col("scorer") == scorer)["nodes"].to_list()
        out[scorer] = len(both) == 2 and both[0] == both[1]
    return out


def build_report(
    scored: Any,
    city: str,
    year: int | None,
    peer_spec: str,
    lang: str,
    audit: Callable[[], dict[str, Any]],
) -> tuple[Comparison, str]:
    """The report of one city as HTML, from a scoring run (``benchmarkkit.Scores``); ``audit()``
    gives the trail of files, methods and plugins the run used — asked after the peers are
    chosen, so a plugin that failed while choosing them is not listed as used."""
    from benchmarkkit_reports import load_language

    from benchmarkkit.analysis.compare import compare_city
    from benchmarkkit.reporting.render import render_html
    from benchmarkkit.reporting.sections import ReportContext, guarded_sections

    language = load_language(lang)
    comparison = compare_city(scored, city, year, peer_spec)
    context = ReportContext(
        city_id=comparison.city_id,
        city_name=comparison.city_name,
        year=comparison.year,
        previous_year=comparison.previous_year,
        peers=comparison.peers,
        peer_spec=peer_spec,
        lang=language,
        comparison=comparison,
        charts=chart_specs(scored, comparison),
        audit=audit(),
        rejected=scored.loaded.validated.rejected,
        warnings=scored.warnings,
        titles={name: fw.title for name, fw in scored.frameworks.items()},
        scores=scored.scores,
        cities=scored.loaded.cities,
    )
    sections = guarded_sections(scored.registry)  # a failing section is skipped and named
    context = replace(context, comparable=comparable_years(scored.scores, comparison))
    context = replace(context, charts=_with_section_charts(context, sections, scored.registry))
    return comparison, render_html(context, sections)


def _with_section_charts(
    context: Any, sections: list[Any], registry: Any
) -> dict[str, dict[str, Any]]:
    """The built-in charts plus every section's own, themed like the built-ins. A name already
    taken is the plugin's mistake: said once, and that chart left out."""
    from benchmarkkit.errors import PluginError
    from benchmarkkit.reporting import charts

    specs = dict(context.charts)
    for section in sections:
        if section.charts is None:
            continue
        declared = section.charts(context)
        owner = registry.owner.get(("report_section", section.name), section.name)
        for name, chart in (declared or {}).items():
            if name in specs:
                registry.failed(
                    PluginError(
                        owner,
                        f"report section '{section.name}' declares a chart named '{name}', "
                        "which another chart already has",
                        hint="prefix your charts with the section's name",
                    )
                )
                continue
            try:
                specs[name] = (
                    chart
                    if isinstance(chart, dict)
                    else charts.themed(chart).to_dict(validate=False)
                )
            except Exception as err:  # not a chart: the plugin's mistake, said in one line
                registry.failed(
                    PluginError(
                        owner,
                        f"report section '{section.name}': chart '{name}' is not an Altair "
                        f"chart or a Vega-Lite dict ({type(err).__name__}: {err})",
                        hint="return alt.Chart(...) objects or their .to_dict()",
                    )
                )
    return specs


def chart_spec(
    scored: Any, kind: str, city: str, year: int | None, peer_spec: str, index: str
) -> dict[str, Any]:
    """One chart of the report (``ranking`` of ``index``, ``heatmap``, ``strip`` …) as a spec."""
    from benchmarkkit.analysis.compare import compare_city

    comparison = compare_city(scored, city, year, peer_spec, levers=False)
    specs = chart_specs(scored, comparison)
    name = f"ranking:{index}" if kind == "ranking" else kind
    if name not in specs:
        known = sorted(k.split(":", 1)[1] for k in specs if k.startswith("ranking:"))
        raise InputError(
            f"no index '{index}'", hint=did_you_mean(index, known) or f"indices: {', '.join(known)}"
        )
    return specs[name]


def safe_filename(text: str) -> str:
    """A file name from a city id that cannot leave the output folder or hit a reserved name."""
    import re

    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "city"
    if name.upper().split(".")[0] in {
        "CON",
        "PRN",
        "AUX",
        "NUL",
        *(f"COM{i}" for i in range(10)),
        *(f"LPT{i}" for i in range(10)),
    }:
        name = f"city_{name}"
    return name[:100]


def write_chart(spec: dict[str, Any], out: Path) -> None:
    """A chart spec written as .json (the spec), .html (self-contained), .png or .svg."""
    import json

    from benchmarkkit.io.export import atomic_write

    suffix = out.suffix.lower()
    if suffix == ".json":
        atomic_write(out, lambda p: p.write_text(json.dumps(spec, indent=1), encoding="utf-8"))
    elif suffix == ".html":
        from benchmarkkit.reporting.render import standalone_chart_html

        atomic_write(out, lambda p: p.write_text(standalone_chart_html(spec), encoding="utf-8"))
    else:
        import vl_convert

        from benchmarkkit.reporting.render import VL_VERSION

        version = "v" + VL_VERSION.replace(".", "_")
        if suffix == ".png":
            data = vl_convert.vegalite_to_png(spec, vl_version=version, scale=2)
            atomic_write(out, lambda p: p.write_bytes(data))
        else:
            svg = vl_convert.vegalite_to_svg(spec, vl_version=version)
            atomic_write(out, lambda p: p.write_text(svg, encoding="utf-8"))
