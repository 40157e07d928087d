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

from benchmarkkit.analysis.compare import MIN_PEERS
from benchmarkkit.columns import text_keys
from benchmarkkit.errors import InputError, did_you_mean

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from benchmarkkit.analysis.compare import Comparison
    from benchmarkkit.reporting.sections import Language


def chart_specs(
    scored: Any,
    target: Comparison,
    language: Language | None = None,
    *,
    highlight: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    """Every chart of the report as a Vega-Lite spec, drawn from the comparison's own frames
    (``analysis.compare``: peers exclude the city, thin indices withheld, change like for like),
    so a chart never shows a number the cards do not. Texts and number formats are
    ``language``'s (English by default).

    Every chart takes its form from the number of peers it draws (``charts.chart_form``: one
    named mark per city up to ``charts.FEW`` peers, the distribution above); ``highlight`` names
    cities (ids) the distribution form shows by name whatever their rank. The builders get the
    whole group and embed only summaries, so any group — ``all`` of 10,000 cities — gives a
    report of bounded size."""
    from benchmarkkit_reports import load_language

    from benchmarkkit.columns import FOCUS_AREA_LABELS
    from benchmarkkit.reporting import charts

    lang = language or load_language("en")
    L = lang.chart_labels()
    cities = scored.loaded.cities.select("city_id", "city_name")
    summary = target.summary
    group = target.group.join(cities, on="city_id", how="left")
    top = summary.filter(pl.col("level") == pl.col("level").max().over("scorer"))
    size = {"highlight": tuple(highlight)}  # the builders count the peers they draw
    specs: dict[str, Any] = {}
    for row in top.sort("scorer").iter_rows(named=True):
        scorer = row["scorer"]
        frame = group.filter((pl.col("scorer") == scorer) & (pl.col("node") == row["node"]))
        specs[f"ranking:{scorer}"] = charts.ranking_bars(
            frame.select("city_id", "city_name", "score", "rank"),
            target.city_id,
            lang.index_name(scorer, scored.frameworks[scorer].title),
            median=row["peer_median"],
            subtitle=ranking_subtitle(lang, target, row),
            labels=L,
            n_peers=row["n_peers"],  # compare's count chooses the form, as for the caption
            **size,
        )
    areas = group.filter((pl.col("level") == 2) & pl.col("node").is_in(list(FOCUS_AREA_LABELS)))
    # every city × focus area, so a missing one reads "–" rather than an empty square
    grid = (
        areas.select("city_id", "city_name")
        .unique()
        .join(areas.select("node").unique(), how="cross")
    )
    heat = (
        grid.join(areas, on=["city_id", "city_name", "node"], how="left")
        .group_by("city_id", "city_name", "node")
        .agg(pl.col("score").mean())
        .with_columns(
            pl.col("node")
            .replace_strict({k: lang.node_name(k) for k in FOCUS_AREA_LABELS})
            .alias("focus_area")
        )
        .sort("city_id", "node")
    )
    specs["heatmap"] = charts.focus_area_heatmap(
        heat.select("city_id", "city_name", "focus_area", "score"),
        target.city_id,
        subtitle=lang.text("heatmap_subtitle_unscored", city=target.city_name)
        if not target.scored  # no row of its own to outline
        else lang.text("heatmap_subtitle", city=target.city_name)
        if charts.chart_form(heat.filter(pl.col("score").is_not_null())["city_id"].n_unique() - 1)
        == "cities"
        else None,
        labels=L,
        **size,
    )
    level1 = (
        text_keys(
            scored.scores.filter(
                (pl.col("year") == target.year)
                & (pl.col("level") == 1)
                & pl.col("city_id").is_in(list(target.peers))
            )
        )
        .join(cities, on="city_id", how="left")
        .unique(["city_id", "node"])
        .sort("node", "city_id")
    )
    names = indicator_names(scored, lang, level1["node"].unique().to_list())
    specs["strip"] = charts.indicator_strip(
        level1.join(names, on="node", how="left").select(
            pl.coalesce("indicator_name", "node").alias("indicator_name"),
            "city_id",
            "city_name",
            "score",
        ),
        target.city_id,
        labels=L,
        subtitle=None
        if target.scored
        else lang.text("strip_subtitle_unscored", city=target.city_name),
        **size,
    )
    index_label = {s: lang.index_name(s, scored.frameworks[s].title) for s in scored.frameworks}
    trend = target.history.with_columns(
        pl.col("scorer").replace_strict(index_label, default=pl.col("scorer")).alias("index")
    )
    specs["trend"] = charts.trend_lines(
        trend.select("year", "series", "score", "index", "stretch"),
        target.city_id,
        city_name=target.city_name,
        subtitle=lang.text("trend_subtitle", city=target.city_name),
        labels=L,
    )
    specs["slope"] = charts.slope_chart(
        slope_frame(target, lang, index_label),
        target.city_id,
        city_name=target.city_name,
        title=lang.text("slope_title", prev=target.previous_year or "–"),
        subtitle=lang.text("slope_subtitle", city=target.city_name),
        labels=L,
    )
    cov = top.sort("scorer").select(
        pl.col("scorer").replace_strict(index_label, default=pl.col("scorer")).alias("node_label"),
        "n_present",
        pl.col("n_indicators").alias("n_children"),
    )
    specs["coverage"] = charts.coverage_bars(cov, labels=L)
    specs["history"] = charts.indicator_history(
        history_frame(target, lang),
        target.city_id,
        city_name=target.city_name,
        subtitle=lang.text("history_subtitle", city=target.city_name),
        labels=L,
    )
    locale = charts.vega_locale(L, lang.time)
    # the builders' specs are schema-validated in the tests (tests/test_charts.py and the report
    # test); validating them again here would cost a second of every report
    return {
        name: charts.themed(chart, locale=locale).to_dict(validate=False)
        for name, chart in specs.items()
    }


def ranking_subtitle(lang: Language, target: Comparison, row: dict[str, Any]) -> str:
    """The ranking chart's subtitle: the card's own words (rank r of N, peer median), or why
    there is no rank."""
    n = lang.num
    if not target.scored:
        return lang.text(
            "ranking_subtitle_unscored",
            city=target.city_name,
            year=target.year,
            n=row["n_peers"],
            median=n(row["peer_median"]),
        )
    if row["status"] == "ok":
        return lang.text(
            "ranking_subtitle",
            city=target.city_name,
            score=n(row["score"]),
            rank=row["rank"],
            n=row["n_ranked"],
            median=n(row["peer_median"]),
        )
    return status_text(lang, target, row)


def status_text(lang: Language, target: Comparison, row: dict[str, Any]) -> str:
    """Why an index has no rank: not scored, withheld as thin, or too few peers — in words."""
    return lang.text(
        f"status_{row['status'].replace(' ', '_')}",
        k=target.min_peers,
        have=row["n_peers"],
        peers=len(target.peers) - 1,
        year=target.year,
        present=row["n_present"],
        total=row["n_indicators"],
    )


def slope_frame(target: Comparison, lang: Language, index_label: dict[str, str]) -> pl.DataFrame:
    """The like-for-like change per comparable index: both years on the common indicators, the
    city and the peer median; panels say the basis. Nothing for an index the cards call not
    comparable."""
    rows = []
    top = target.summary.filter(
        (pl.col("level") == pl.col("level").max().over("scorer")) & pl.col("comparable")
    )
    for r in top.sort("scorer").iter_rows(named=True):
        panel = lang.text(
            "slope_panel", index=index_label.get(r["scorer"], r["scorer"]), n=r["change_basis"]
        )
        for year, city, median in (
            (target.previous_year, r["basis_previous_score"], r["basis_previous_peer_median"]),
            (target.year, r["basis_score"], r["basis_peer_median"]),
        ):
            rows.append((panel, year, city, "city"))
            if median is not None:
                rows.append((panel, year, median, "peer median"))
    return pl.DataFrame(
        rows,
        schema={"index": pl.String, "year": pl.Int32, "score": pl.Float64, "series": pl.String},
        orient="row",
    )


def indicator_names(scored: Any, lang: Language, ids: list[str]) -> pl.DataFrame:
    """``node`` → ``indicator_name`` in the report's language (the catalog's name otherwise)."""
    catalog = scored.catalog.filter(pl.col("id").is_in(ids)).select("id", "name", "unit")
    return pl.DataFrame(
        [(i, lang.indicator(i, name, unit)[0]) for i, name, unit in catalog.rows()],
        schema={"node": pl.String, "indicator_name": pl.String},
        orient="row",
    )


def history_frame(target: Comparison, lang: Language) -> pl.DataFrame:
    """Per indicator the city has this year and in at least one other year: its panel header
    (name and unit in the report's language) and the city and peer-median series."""
    hist = target.indicator_history
    city_years = (
        hist.filter(pl.col("series") == "city")
        .group_by("indicator")
        .len()
        .filter(pl.col("len") >= 2)["indicator"]
    )
    keep = set(city_years.to_list())
    ind = target.indicators.unique("indicator", keep="first", maintain_order=True)
    headers = {
        i: _panel_header(*lang.indicator(i, name, unit))
        for i, name, unit in ind.select("indicator", "name", "unit").rows()
    }
    order = {i: k for k, i in enumerate(x for x in ind["indicator"].to_list() if x in keep)}
    return (
        hist.filter(pl.col("indicator").is_in(list(keep)))
        .with_columns(
            pl.col("indicator")
            .replace_strict(headers, default=pl.col("indicator"))
            .alias("indicator_name"),
            pl.col("indicator")
            .replace_strict(order, default=None, return_dtype=pl.Int64)
            .alias("_o"),
        )
        .sort("_o", "series", "year")
        .select("indicator_name", "year", "series", "value")
    )


def _panel_header(name: str, unit: str) -> str:
    """A small-multiple header: the name wrapped to the panel's width, then the unit."""
    import textwrap

    wide = any(ord(c) >= 0x2E80 for c in name)  # CJK: about twice as wide per character
    lines = textwrap.wrap(name, 15 if wide else 30)[:2] or [name]
    return "\n".join([*lines, *([unit] if unit else [])])


def build_report(
    scored: Any,
    city: str,
    year: int | None,
    peer_spec: str,
    lang: str,
    audit: Callable[[], dict[str, Any]],
    *,
    min_peers: int = MIN_PEERS,
    uncertainty: Callable[[int], Any] | None = None,
    highlight: Sequence[str] = (),
) -> tuple[Comparison, str]:
    """The report of one city as HTML, from a scoring run (``benchmarkkit.Scores``); ``audit()``
    gives the trail of files, methods and plugins the run used — asked after the peers are
    chosen, so a plugin that failed while choosing them is not listed as used. ``min_peers``:
    fewest peers for a rank (``analysis.compare``). ``uncertainty(year)``: how sure the ranks
    are (scorer → ``analysis.sensitivity.Sensitivity``), asked once the year is known."""
    from benchmarkkit_reports import load_language

    from benchmarkkit.analysis.compare import compare_city
    from benchmarkkit.reporting.render import render_html
    from benchmarkkit.reporting.sections import ReportContext, guarded_sections

    language = load_language(lang)
    comparison = compare_city(scored, city, year, peer_spec, min_peers=min_peers)
    context = ReportContext(
        city_id=comparison.city_id,
        city_name=display_name(scored.loaded.cities, comparison, lang),
        year=comparison.year,
        previous_year=comparison.previous_year,
        peers=comparison.peers,
        peer_spec=peer_spec,
        lang=language,
        comparison=comparison,
        charts=chart_specs(scored, comparison, language, highlight=highlight),
        audit=audit(),
        rejected=scored.loaded.validated.rejected,
        warnings=scored.warnings,
        titles={name: fw.title for name, fw in scored.frameworks.items()},
        scores=scored.scores,
        cities=scored.loaded.cities,
        uncertainty=uncertainty(comparison.year) if uncertainty is not None else None,
        dataset=scored.data.dataset,
        sources=tuple(str(p) for p in scored.data.sources),
        catalog=scored.catalog,
        not_in_data=not_in_data(scored),
    )
    sections = guarded_sections(scored.registry)  # a failing section is skipped and named
    top = comparison.summary.filter(pl.col("level") == pl.col("level").max().over("scorer"))
    context = replace(context, comparable=dict(zip(top["scorer"], top["comparable"], strict=True)))
    context = replace(context, charts=_with_section_charts(context, sections, scored.registry))
    return comparison, render_html(context, sections)


def not_in_data(scored: Any) -> dict[str, str]:
    """Scorer → title of the registered indices ``score`` skipped because the data hold none of
    their indicators (its notes say so, one per index)."""
    scorers = scored.registry.of("scorer")
    return {
        name: getattr(scorers[name], "title", "") or name
        for name in sorted(scorers)
        if name not in scored.frameworks
        and any(n.startswith(f"scorer '{name}' has none of its indicators") for n in scored.notes)
    }


def _with_section_charts(
    context: Any, sections: list[Any], registry: Any
) -> dict[str, dict[str, Any]]:
    """The built-in charts plus every section's own, themed like the built-ins. A name already
    taken is the plugin's mistake: said once, and that chart left out."""
    from benchmarkkit.errors import PluginError
    from benchmarkkit.reporting import charts

    specs = dict(context.charts)
    locale = charts.vega_locale(context.lang.chart_labels(), context.lang.time)  # as built-ins
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
                    else charts.themed(chart, locale=locale).to_dict(validate=False)
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


def display_name(cities: pl.DataFrame, comparison: Comparison, lang: str) -> str:
    """The city's name as the report's reader writes it: its own-language name when the report
    is in that language (Đà Nẵng in Vietnamese), else the name with the local one beside it
    (Bangkok (กรุงเทพมหานคร)); the plain name when the cities table has no local names."""
    if "name_local" not in cities.columns:
        return comparison.city_name
    row = cities.filter(pl.col("city_id") == comparison.city_id)
    local = row["name_local"][0] if row.height else None
    if not local or local == comparison.city_name:
        return comparison.city_name
    language = row["local_language"][0] if "local_language" in row.columns else None
    return local if language == lang else f"{comparison.city_name} ({local})"


def chart_spec(
    scored: Any,
    kind: str,
    city: str,
    year: int | None,
    peer_spec: str,
    index: str,
    *,
    lang: str = "en",
    min_peers: int = MIN_PEERS,
    highlight: Sequence[str] = (),
) -> dict[str, Any]:
    """One chart of the report (``ranking`` of ``index``, ``heatmap``, ``strip``, ``history``
    …) as a spec, in ``lang``."""
    from benchmarkkit_reports import load_language

    from benchmarkkit.analysis.compare import compare_city

    comparison = compare_city(scored, city, year, peer_spec, levers=False, min_peers=min_peers)
    specs = chart_specs(scored, comparison, load_language(lang), highlight=highlight)
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
