"""The yearly comparison report: scores → comparison → charts → one self-contained HTML file.

This module is the last stage of the flow and the only one that imports Altair (through
``charts``); the CLI imports it inside the ``report`` command, so other commands start fast.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit import __version__
from benchmarkkit.errors import InputError, did_you_mean

if TYPE_CHECKING:
    from benchmarkkit.cli import Context, DataRequest
    from benchmarkkit.run import Scored

DEFAULT_PEERS = "size:3"
"""Cities within a factor 3 of the city's population: big enough a group to rank in, similar
enough in scale to learn from."""


@dataclass(frozen=True)
class Target:
    city_id: str
    city_name: str
    year: int
    previous_year: int | None


def resolve_city(cities: pl.DataFrame, city: str) -> tuple[str, str]:
    """A city id, or a unique city name (case-insensitive); else a did-you-mean error."""
    ids = cities["city_id"].to_list()
    names = cities["city_name"].fill_null("").to_list()
    if city in ids:
        row = cities.filter(pl.col("city_id") == city)
        return city, row["city_name"][0] or city
    matches = cities.filter(pl.col("city_name").str.to_lowercase() == city.lower())
    if matches.height == 1:
        return matches["city_id"][0], matches["city_name"][0]
    if matches.height > 1:
        raise InputError(
            f"'{city}' names {matches.height} cities",
            hint=f"use an id: {', '.join(matches['city_id'].to_list()[:5])}",
        )
    guess = did_you_mean(city, ids) or did_you_mean(city, [n for n in names if n])
    raise InputError(
        f"unknown city '{city}'",
        hint=guess
        or "list cities with `benchmarkkit score --out scores.csv` or check the city_id column",
    )


def resolve_year(scores: pl.DataFrame, city_id: str, year: int | None) -> tuple[int, int | None]:
    mine = scores.filter(
        (pl.col("city_id") == city_id)
        & pl.col("score").is_not_null()
        & (pl.col("level") == pl.col("level").max().over("scorer"))
    )
    years = sorted(set(mine["year"].to_list()))
    if not years:
        raise InputError(
            f"city '{city_id}' has no index score in any year",
            hint="its data are too thin for every index; see `benchmarkkit score`",
        )
    if year is None:
        year = years[-1]
    elif year not in years:
        raise InputError(
            f"city '{city_id}' has no index score in {year}",
            hint=f"years with a score: {', '.join(map(str, years))}",
        )
    earlier = [
        y for y in sorted(set(scores.filter(pl.col("city_id") == city_id)["year"])) if y < year
    ]
    return year, (earlier[-1] if earlier else None)


def _sha256(path: Path | Any) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audit_trail(obj: Context, request: DataRequest, scored: Scored) -> dict[str, Any]:
    registry = obj.registry()
    if request.paths:
        files = [{"name": str(p), "sha256": _sha256(p)} for p in request.paths]
        note = ""
    else:
        from benchmarkkit.io.demo import DEMO, attribution

        files = [
            {"name": f"benchmarkkit demo: {name}", "sha256": _sha256(DEMO / name)}
            for name in ("observations.parquet", "cities.parquet")
        ]
        note = attribution()
    methods = {
        f"{name}: {step}": value
        for name, result in sorted(scored.results.items())
        for step, value in result.methods.items()
    }
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    generated = (
        datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")
        if epoch and epoch.isdigit()
        else "–"
    )
    failed_at_run = {err.plugin for err in registry.failures}  # named and skipped this run
    plugins = [
        {"name": p.name, "version": p.version, "source": p.source}
        for p in registry.plugins
        if not p.error and p.name not in failed_at_run
    ]
    return {
        "files": files,
        "methods": methods,
        "plugins": plugins,
        "version": __version__,
        "generated": generated,
        "attribution": note,
    }


def comparison_for(
    obj: Context,
    scored: Scored,
    city: str | None,
    year: int | None,
    peer_spec: str,
    *,
    levers: bool = True,
) -> tuple[Any, Target]:
    """Resolve city, year and peers, then compare (with levers re-scored when asked)."""
    from benchmarkkit.analysis.compare import compare, rescorer
    from benchmarkkit.analysis.peers import find_peers

    cities = scored.loaded.cities
    if city is None:
        from benchmarkkit.io.demo import DEFAULT_CITY

        city = DEFAULT_CITY
    city_id, city_name = resolve_city(cities, city)
    year, _ = resolve_year(scored.scores, city_id, year)
    peers = find_peers(obj.registry(), city_id, year, peer_spec, cities, scored.loaded.observations)
    rescore = (
        rescorer(scored.frameworks, scored.pipelines, cities, obj.registry()) if levers else None
    )
    comparison = compare(
        scored.scores,
        scored.loaded.observations,
        scored.catalog,
        scored.frameworks,
        city_id,
        year,
        peers,
        rescore,
    )
    return comparison, Target(city_id, city_name, year, comparison.previous_year)


def chart_specs(scored: Scored, comparison: Any, target: Target) -> dict[str, dict[str, Any]]:
    """Every chart of the report as a Vega-Lite spec, summarised in Polars before charting."""
    from benchmarkkit.columns import FOCUS_AREA_LABELS
    from benchmarkkit.report import charts

    scores, cities = scored.scores, scored.loaded.cities.select("city_id", "city_name")
    group = list(comparison.peers)
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


def comparable_years(scores: pl.DataFrame, target: Target) -> dict[str, bool]:
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
    obj: Context,
    request: DataRequest,
    city: str | None,
    year: int | None,
    peer_spec: str,
    lang: str,
    scored: Scored | None = None,
) -> tuple[str, Target]:
    from benchmarkkit_reports import load_language

    from benchmarkkit.report.render import render_html
    from benchmarkkit.report.sections import ReportContext
    from benchmarkkit.run import run_scoring

    language = load_language(lang)
    if request.paths and city is None:
        raise InputError(
            "give the city to report on with --city ID",
            hint="the demo data default to Madrid (ES001C)",
        )
    scored = scored or run_scoring(obj, request, None, (), None, {})
    comparison, target = comparison_for(obj, scored, city, year, peer_spec)
    context = ReportContext(
        city_id=target.city_id,
        city_name=target.city_name,
        year=target.year,
        previous_year=target.previous_year,
        peers=comparison.peers,
        peer_spec=peer_spec,
        lang=language,
        comparison=comparison,
        charts=chart_specs(scored, comparison, target),
        audit=audit_trail(obj, request, scored),
        rejected=scored.loaded.validated.rejected,
        warnings=scored.warnings,
        titles={name: fw.title for name, fw in scored.frameworks.items()},
    )
    from benchmarkkit.plugins import guarded_sections  # a failing section is skipped and named

    sections = guarded_sections(obj.registry())
    context = replace(context, comparable=comparable_years(scored.scores, target))
    return render_html(context, sections), target


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


def build_reports(
    obj: Context,
    request: DataRequest,
    city: str | None,
    year: int | None,
    peer_spec: str,
    lang: str,
    folder: Path,
) -> list[Path]:
    """One report per city of the peer group, scoring the data once."""
    import click

    from benchmarkkit.analysis.peers import find_peers
    from benchmarkkit.io.export import atomic_write
    from benchmarkkit.run import run_scoring

    scored = run_scoring(obj, request, None, (), None, {})
    if city is None:
        from benchmarkkit.io.demo import DEFAULT_CITY

        city = DEFAULT_CITY
    city_id, _ = resolve_city(scored.loaded.cities, city)
    year, _ = resolve_year(scored.scores, city_id, year)
    group = find_peers(
        obj.registry(), city_id, year, peer_spec, scored.loaded.cities, scored.loaded.observations
    )
    written, skipped = [], []
    with click.progressbar(group, label="reports", file=None) as bar:
        for member in bar:
            try:
                html, target = build_report(obj, request, member, year, peer_spec, lang, scored)
            except InputError as err:
                skipped.append(f"{member}: {err}")
                continue
            path = folder / f"{safe_filename(target.city_id)}-{target.year}.html"
            atomic_write(path, lambda p, text=html: p.write_text(text, encoding="utf-8"))
            written.append(path)
    for line in skipped:
        click.echo(f"skipped {line}", err=True)
    return written


def write_chart(
    obj: Context,
    request: DataRequest,
    kind: str,
    city: str | None,
    year: int | None,
    peer_spec: str,
    index: str,
    out: Path,
) -> None:
    import json

    from benchmarkkit.io.export import atomic_write
    from benchmarkkit.run import run_scoring

    scored = run_scoring(obj, request, None, (), None, {})
    comparison, target = comparison_for(obj, scored, city, year, peer_spec, levers=False)
    specs = chart_specs(scored, comparison, target)
    name = f"ranking:{index}" if kind == "ranking" else kind
    if name not in specs:
        known = sorted(k.split(":", 1)[1] for k in specs if k.startswith("ranking:"))
        raise InputError(
            f"no index '{index}'", hint=did_you_mean(index, known) or f"indices: {', '.join(known)}"
        )
    spec = specs[name]
    suffix = out.suffix.lower()
    if suffix == ".json":
        atomic_write(out, lambda p: p.write_text(json.dumps(spec, indent=1), encoding="utf-8"))
    elif suffix == ".html":
        from benchmarkkit.report.render import standalone_chart_html

        atomic_write(out, lambda p: p.write_text(standalone_chart_html(spec), encoding="utf-8"))
    else:
        import vl_convert

        from benchmarkkit.report.render import VL_VERSION

        version = "v" + VL_VERSION.replace(".", "_")
        if suffix == ".png":
            data = vl_convert.vegalite_to_png(spec, vl_version=version, scale=2)
            atomic_write(out, lambda p: p.write_bytes(data))
        else:
            svg = vl_convert.vegalite_to_svg(spec, vl_version=version)
            atomic_write(out, lambda p: p.write_text(svg, encoding="utf-8"))
