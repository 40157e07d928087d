"""Chart builders: small, already-summarised Polars frames in, Altair charts out.

Every builder is a pure function: it reads its frame, never touches Altair's global state and
returns a chart (layered from a few simple parts, as in Altair's gallery) that validates with
``chart.to_dict()``. The same visual grammar runs through all of them so a reader learns it once:
**the city is blue, peers are grey, the peer median is a dark grey dashed line or tick.** Blue
against neutral grey stays distinct for every common colour-vision deficiency, and the city is
also marked by size, bold labels or an outline, never by colour alone.

Frames are summaries (one index among peers, a city's focus areas …), so a builder refuses more
than ``MAX_ROWS`` rows: that many points would be unreadable and would bloat the self-contained
report, which inlines every data row. An empty frame, or one whose scores are all missing, gives a
chart with a "No data" message instead of an error, so one thin section never breaks a report.

The ``benchmarkkit`` theme (fonts, sizes, grid, palette) is registered with Altair on import but
never enabled globally: ``themed(chart)`` returns a copy carrying the theme as its own config, or
``with alt.theme.enable("benchmarkkit"):`` applies it while saving. To put several charts on one
page use ``vstack(...)``, which keeps each chart's colour legend its own.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import altair as alt
import polars as pl

from benchmarkkit.columns import FOCUS_AREA_LABELS

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "HIGHLIGHT",
    "MAX_ROWS",
    "MEDIAN",
    "NO_DATA",
    "PEER",
    "THEME_NAME",
    "coverage_bars",
    "focus_area_heatmap",
    "indicator_strip",
    "ranking_bars",
    "slope_chart",
    "theme",
    "themed",
    "trend_lines",
    "vstack",
]

MAX_ROWS: Final = 5_000
"""Most rows a builder accepts; Altair itself refuses to embed more than this in ``to_dict()``."""

THEME_NAME: Final = "benchmarkkit"

HIGHLIGHT: Final = "#0072B2"
"""The city: Okabe–Ito blue, 5:1 contrast on white, distinct from grey under every CVD type."""
PEER: Final = "#A0A0A0"
"""Peers: a neutral grey that recedes behind the city."""
MEDIAN: Final = "#4D4D4D"
"""The peer median: dark grey, drawn dashed (lines) or as a tick, so it never reads as a city."""
NO_DATA: Final = "No data"

OKABE_ITO: Final = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
"""Categorical palette safe for colour-blind readers (Okabe & Ito 2008); yellow left out because
it is too pale on white."""

_TEXT: Final = "#333333"
_MUTED: Final = "#6B6B6B"
_EMPTY_CELL: Final = "#EEEEEE"
_RAMP: Final[dict[str, Any]] = {"name": "blues", "extent": [0.1, 1.0]}
"""Single-hue sequential ramp (readable in greyscale and by colour-blind readers); its palest
tenth is skipped so a low score is never confused with a missing (light grey) cell."""
_FONT: Final = (
    "'Source Sans 3', 'Source Sans Pro', 'Segoe UI', Roboto, 'Helvetica Neue', "
    "'Liberation Sans', Arial, sans-serif"
)
_WIDTH: Final = 480
_STEP: Final = 18
_PEERS: Final = "Peers"
_PEER_MEDIAN: Final = "Peer median"
_SCORE_FORMAT: Final = ".1f"

Title = str | alt.Title
Frame = pl.DataFrame | pl.LazyFrame
AnyChart = alt.Chart | alt.LayerChart | alt.FacetChart


# --------------------------------------------------------------------------------------- theme


def theme() -> alt.theme.ThemeConfig:
    """The benchmarkkit look: calm greys, one accent, readable 12–16 px type.

    Returned as a plain config so it can be registered with Altair *and* merged into a single
    chart by ``themed`` (which also gets it schema-validated, unlike a theme applied at render).
    """
    axis = {
        "labelFontSize": 12,
        "titleFontSize": 12,
        "titleFontWeight": 600,
        "labelColor": _TEXT,
        "titleColor": _TEXT,
        "gridColor": "#E6E6E6",
        "domainColor": "#8C8C8C",
        "tickColor": "#8C8C8C",
    }
    return {
        "config": {
            "font": _FONT,
            "background": "#FFFFFF",
            "padding": 8,
            "view": {"stroke": None, "continuousWidth": _WIDTH, "continuousHeight": 300},
            "title": {
                "fontSize": 16,
                "fontWeight": 600,
                "color": _TEXT,
                "subtitleFontSize": 12,
                "subtitleColor": _MUTED,
                "anchor": "start",
                "offset": 12,
            },
            "axis": axis,  # type: ignore[typeddict-item]
            "legend": {
                "labelFontSize": 12,
                "titleFontSize": 12,
                "labelColor": _TEXT,
                "titleColor": _TEXT,
                "symbolSize": 120,
            },
            "header": {
                "labelFontSize": 13,
                "labelFontWeight": 600,
                "labelColor": _TEXT,
                "titleFontSize": 13,
                "titleColor": _TEXT,
            },
            "range": {
                "category": list(OKABE_ITO),
                "heatmap": {"scheme": _RAMP["name"], "extent": _RAMP["extent"]},
                "ramp": {"scheme": _RAMP["name"], "extent": _RAMP["extent"]},
            },
            "mark": {"color": HIGHLIGHT},
            "text": {"fontSize": 12, "color": _TEXT},
        }
    }


alt.theme.register(THEME_NAME, enable=False)(theme)


def themed(chart: AnyChart) -> AnyChart:
    """A copy of ``chart`` with the benchmarkkit theme as its own config.

    Unlike ``alt.theme.enable`` this changes no global state, and the look travels with the chart
    into ``to_dict``, ``save`` or a notebook. Apply it to the *outermost* chart only: Altair does
    not allow a configured chart inside a layer or concatenation. Settings the chart already has
    in its config win over the theme's.
    """
    config = theme()["config"]
    own = getattr(chart, "config", alt.Undefined)
    if own is not alt.Undefined:
        config = _merge(dict(config), own.to_dict() if hasattr(own, "to_dict") else dict(own))
    return chart.configure(**config)


def vstack(*charts: AnyChart, spacing: int = 36) -> alt.VConcatChart:
    """Charts one under another, each keeping its own colour, size and dash scales and legends.

    Vega-Lite *shares* colour scales across a concatenation by default, so "Madrid / Peers" of
    one chart and "Madrid / Peer median" of the next would be merged into one muddled legend
    (Vega warns "Conflicting scale property"). Use this, not bare ``alt.vconcat``, to put several
    builders' charts on one page; then ``themed`` the result.
    """
    channels = {"color": "independent", "size": "independent", "strokeDash": "independent"}
    return (
        alt.vconcat(*charts, spacing=spacing)
        .resolve_scale(**channels)  # type: ignore[arg-type]
        .resolve_legend(**channels)  # type: ignore[arg-type]
    )


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


# ------------------------------------------------------------------------------------ builders


def ranking_bars(frame: Frame, city_id: str, title: Title) -> AnyChart:
    """One index among peers: a bar per city, best at the top, the city in blue.

    A dashed rule marks the peer median (the city itself left out) so the reader sees at once
    whether the city is above or below its peers, not only where it ranks. Cities without a score
    are left out and counted in the subtitle.

    Args:
        frame: one row per city; columns ``city_id``, ``city_name``, ``score``, ``rank``.
        city_id: the city to highlight.
        title: chart title (the index's name, usually).
    """
    data = _prepare(frame, ["city_id", "city_name", "score", "rank"], "ranking_bars")
    _unique(data, ["city_id"], "ranking_bars", "city")
    data = _with_labels(data, city_id)
    present = data.filter(pl.col("score").is_not_null())
    if present.is_empty():
        return _no_data(title, f"Ranking of cities by {_plain(title)}: no data")
    city = _city_label(data, city_id)
    median = _median(present.filter(pl.col("city_id") != city_id))
    present = present.sort(["score", "label"], descending=[True, False], nulls_last=True)
    order = present["label"].to_list()
    domain = _score_domain(present["score"])

    bars = (
        alt.Chart(present)
        .mark_bar(height={"band": 0.75})
        .encode(
            x=alt.X(
                "score:Q",
                title="Score",
                scale=alt.Scale(domain=domain or alt.Undefined, zero=True, nice=domain is None),
            ),
            y=alt.Y(
                "label:N",
                sort=order,
                title=None,
                axis=alt.Axis(labelFontWeight=_bold_if(city), labelLimit=220),
            ),
            color=_city_colour(city, _PEERS),
            tooltip=[
                alt.Tooltip("city_name:N", title="City"),
                alt.Tooltip("city_id:N", title="ID"),
                alt.Tooltip("score:Q", title="Score", format=_SCORE_FORMAT),
                alt.Tooltip("rank:Q", title="Rank"),
            ],
        )
    )
    layers: list[alt.Chart] = [bars]
    if median is not None:
        layers += _median_rule(median)
    subtitle = _ranking_subtitle(data, city_id, city, median, present.height)
    return alt.layer(*layers).properties(
        title=_title(title, subtitle),
        width=_WIDTH,
        height=alt.Step(_STEP),
        description=f"Bar chart of {present.height} cities by {_plain(title)}; {subtitle}",
    )


def focus_area_heatmap(frame: Frame, city_id: str, *, title: Title | None = None) -> AnyChart:
    """Cities × focus areas, coloured by score, with the city's row outlined and in bold.

    Shows in one view where the city is strong or weak *relative to the same peers* across
    areas. Cells show the rounded score so the chart reads without a colour key; missing cells
    are light grey with a dash, never coloured as a low score. Rows are sorted by how many areas a
    city has scores for, then by their mean (so a city scored on one area does not top the table),
    columns follow ASCN's order of the six focus areas.

    Args:
        frame: one row per city × focus area; columns ``city_id``, ``city_name``,
            ``focus_area`` (a label, or an ASCN key such as ``civic_social``), ``score``.
        city_id: the city whose row is emphasised.
        title: chart title; defaults to "Focus areas".
    """
    title = title or "Focus areas"
    cols = ["city_id", "city_name", "focus_area", "score"]
    data = _prepare(frame, cols, "focus_area_heatmap")
    data = data.with_columns(
        pl.col("focus_area").replace(FOCUS_AREA_LABELS).fill_null("(no focus area)")
    )
    _unique(data, ["city_id", "focus_area"], "focus_area_heatmap", "city × focus area")
    if data["score"].is_null().all():
        return _no_data(title, "Heatmap of focus-area scores: no data")
    data = _with_labels(data, city_id)
    city = _city_label(data, city_id)
    means = (
        data.group_by("label")
        .agg(pl.col("score").count().alias("present"), pl.col("score").mean().alias("mean"))
        .sort(["present", "mean", "label"], descending=[True, True, False], nulls_last=True)
    )
    rows = means["label"].to_list()
    seen = data["focus_area"].unique(maintain_order=True).to_list()
    columns = [a for a in FOCUS_AREA_LABELS.values() if a in seen]
    columns += [a for a in seen if a not in columns]
    domain = _score_domain(data["score"]) or [data["score"].min(), data["score"].max()]
    # white text from ~70 % of the ramp up: there white beats dark grey on contrast
    dark = domain[0] + 0.7 * (domain[1] - domain[0])
    data = data.with_columns(
        pl.col("score").round(0).cast(pl.Int64).cast(pl.String).fill_null("–").alias("cell")
    )

    # Vega stacks a multi-line label *downwards* from its anchor, even on a top axis: lift the
    # anchor by the extra lines so the words sit above the cells instead of over them.
    # "&" stays with the word before it (a no-break space), so no line is a lone ampersand.
    lines = max(len(str(a).replace(" & ", "\u00a0& ").split(" ")) for a in columns)
    x = alt.X(
        "focus_area:N",
        sort=columns,
        title=None,
        axis=alt.Axis(
            orient="top",
            labelAngle=0,
            labelLimit=110,
            domain=False,
            ticks=False,
            labelLineHeight=14,
            labelPadding=4 + 14 * (lines - 1),
            labelExpr="split(replace(datum.label, ' & ', '\u00a0& '), ' ')",
        ),
    )
    y = alt.Y(
        "label:N",
        sort=rows,
        title=None,
        axis=alt.Axis(labelFontWeight=_bold_if(city), domain=False, ticks=False),
    )
    tooltip = [
        alt.Tooltip("city_name:N", title="City"),
        alt.Tooltip("focus_area:N", title="Focus area"),
        alt.Tooltip("score:Q", title="Score", format=_SCORE_FORMAT),
    ]
    base = alt.Chart(data).encode(x=x, y=y, tooltip=tooltip)
    empty = base.mark_rect(color=_EMPTY_CELL, stroke="white", strokeWidth=1)
    cells = (
        alt.Chart(data.filter(pl.col("score").is_not_null()))
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=x,
            y=y,
            tooltip=tooltip,
            color=alt.Color("score:Q", title="Score", scale=alt.Scale(scheme=_RAMP, domain=domain)),
        )
    )
    text = base.mark_text(fontSize=11).encode(
        text="cell:N",
        color=alt.when(alt.datum.score > dark).then(alt.value("white")).otherwise(alt.value(_TEXT)),
    )
    layers: list[alt.Chart] = [empty, cells, text]
    if city is not None:
        outline = pl.DataFrame({"label": [city]})
        layers.append(
            alt.Chart(outline)
            .mark_rect(filled=False, stroke=_TEXT, strokeWidth=2)
            .encode(y=alt.Y("label:N", sort=rows))
        )
    subtitle = (
        f"{city} outlined · cells show the score (0–100), – where missing"
        if city
        else f"{city_id} is not in this frame"
    )
    return alt.layer(*layers).properties(
        title=_title(title, subtitle),
        width=alt.Step(88),
        height=alt.Step(24),
        description=f"Heatmap of {len(rows)} cities by {len(columns)} focus areas. {subtitle}",
    )


def indicator_strip(frame: Frame, city_id: str, *, title: Title | None = None) -> AnyChart:
    """Per indicator, where the city sits among its peers on the normalised 0–100 scale.

    Peers are small grey dots, the city a large blue dot, the peer median a dark tick: the gap
    between the blue dot and the tick is the story. Indicators are sorted by the city's score
    (strengths first); indicators the city lacks come last, with the peers still shown.

    Args:
        frame: one row per indicator × city; columns ``indicator_name``, ``city_id``,
            ``city_name``, ``score`` (normalised score).
        city_id: the city drawn as the large dot.
        title: chart title; defaults to "Indicators".
    """
    title = title or "Indicators"
    cols = ["indicator_name", "city_id", "city_name", "score"]
    data = _prepare(frame, cols, "indicator_strip")
    _unique(data, ["indicator_name", "city_id"], "indicator_strip", "indicator × city")
    data = _with_labels(data, city_id).filter(pl.col("score").is_not_null())
    if data.is_empty():
        return _no_data(title, "Indicator strip plot: no data")
    city = _city_label(data, city_id)
    mine = data.filter(pl.col("city_id") == city_id).select("indicator_name", "score")
    order = (
        data.select("indicator_name")
        .unique()
        .join(mine, on="indicator_name", how="left")
        .sort(["score", "indicator_name"], descending=[True, False], nulls_last=True)
    )["indicator_name"].to_list()
    medians = (
        data.filter(pl.col("city_id") != city_id)
        .group_by("indicator_name")
        .agg(pl.col("score").median().alias("median"), pl.len().alias("n_peers"))
        .sort("indicator_name")
    )
    domain = _score_domain(data["score"])
    x = alt.X(
        "score:Q",
        title="Normalised score",
        scale=alt.Scale(domain=domain or alt.Undefined, nice=domain is None),
    )
    y = alt.Y("indicator_name:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    dots = (
        alt.Chart(data.with_columns((pl.col("city_id") == city_id).alias("is_city")))
        .mark_circle(stroke="white", strokeWidth=0.5)
        .encode(
            x=x,
            y=y,
            color=_city_colour(city, _PEERS),
            size=alt.Size(
                "group:N",
                legend=None,
                scale=alt.Scale(domain=[city or city_id, _PEERS], range=[170, 28]),
            ),
            opacity=alt.when(alt.datum.is_city).then(alt.value(1.0)).otherwise(alt.value(0.5)),
            order=alt.Order("is_city:O", sort="ascending"),
            tooltip=[
                alt.Tooltip("indicator_name:N", title="Indicator"),
                alt.Tooltip("city_name:N", title="City"),
                alt.Tooltip("score:Q", title="Score", format=_SCORE_FORMAT),
            ],
        )
    )
    ticks = (
        alt.Chart(medians)
        .mark_tick(color=MEDIAN, thickness=2, size=14)
        .encode(
            x=alt.X("median:Q"),
            y=alt.Y("indicator_name:N", sort=order),
            tooltip=[
                alt.Tooltip("indicator_name:N", title="Indicator"),
                alt.Tooltip("median:Q", title=_PEER_MEDIAN, format=_SCORE_FORMAT),
                alt.Tooltip("n_peers:Q", title="Peers"),
            ],
        )
    )
    who = city or city_id
    subtitle = f"Large dot: {who} · grey dots: peers · dark tick: peer median"
    return alt.layer(dots, ticks).properties(
        title=_title(title, subtitle),
        width=_WIDTH,
        height=alt.Step(_STEP + 4),
        description=f"Strip plot of {len(order)} indicators. {subtitle}",
    )


def trend_lines(
    frame: Frame,
    city_id: str,
    *,
    city_name: str | None = None,
    title: Title | None = None,
) -> AnyChart:
    """Score over the years for the city and its peer median, one small panel per index.

    Small multiples keep each index on its own 0–100 axis, and city vs. median is told apart by
    colour *and* dash. A missing year breaks the line instead of bridging it, so a gap in the
    data is not drawn as a trend.

    Args:
        frame: one row per index × series × year; columns ``year``, ``series`` (``"city"`` or
            ``"peer median"``; other names are drawn as further grey lines), ``score``, ``index``.
        city_id: the city the ``"city"`` series belongs to (its legend label).
        city_name: a readable legend label for the city; defaults to ``city_id``.
        title: chart title; defaults to "Trend".
    """
    title = title or "Trend"
    data = _prepare(frame, ["year", "series", "score", "index"], "trend_lines")
    data = data.filter(pl.col("year").is_not_null() & pl.col("index").is_not_null())
    _unique(data, ["index", "series", "year"], "trend_lines", "index × series × year")
    if data["score"].is_null().all():
        return _no_data(title, "Trend lines: no data")
    data, colour, dash = _series(data, city_name or city_id)
    tooltip = [
        alt.Tooltip("index:N", title="Index"),
        alt.Tooltip("series_label:N", title="Series"),
        alt.Tooltip("year:O", title="Year"),
        alt.Tooltip("score:Q", title="Score", format=_SCORE_FORMAT),
    ]
    domain = _score_domain(data["score"])
    y = alt.Y(
        "score:Q",
        title="Score",
        scale=alt.Scale(domain=domain or alt.Undefined, zero=domain is not None),
    )
    base = alt.Chart().encode(
        x=alt.X("year:O", title=None, axis=alt.Axis(labelAngle=0)),
        y=y,
        color=colour,
    )
    lines = base.mark_line(strokeWidth=2.5, invalid="break-paths-show-path-domains").encode(
        strokeDash=dash
    )
    points = base.mark_point(filled=True, size=45).encode(tooltip=tooltip)
    panels = sorted(data["index"].drop_nulls().unique().to_list())
    return (
        alt.layer(lines, points, data=data)
        .properties(width=200, height=160)
        .facet(facet=alt.Facet("index:N", title=None, sort=panels), columns=3)
        .properties(
            title=_title(title, f"{city_name or city_id} vs. the peer median"),
            description=f"Line charts of score by year for {len(panels)} indices, "
            f"{city_name or city_id} against the peer median.",
        )
    )


def slope_chart(
    frame: Frame,
    city_id: str,
    *,
    city_name: str | None = None,
    title: Title | None = None,
) -> AnyChart:
    """Previous year → this year per index: did the city move, and did its peers?

    A slope per series in a narrow panel per index, both ends labelled with the score, so the
    change reads as a number as well as an angle. When the frame holds more than two years only
    the latest two are drawn (that is the question this chart answers; ``trend_lines`` shows all).

    Args:
        frame: one row per index × series × year; columns ``index``, ``year``, ``score``,
            ``series`` (``"city"`` or ``"peer median"``; other names are drawn in grey).
        city_id: the city the ``"city"`` series belongs to (its legend label).
        city_name: a readable legend label for the city; defaults to ``city_id``.
        title: chart title; defaults to "Change since last year".
    """
    title = title or "Change since last year"
    data = _prepare(frame, ["index", "year", "score", "series"], "slope_chart")
    data = data.filter(pl.col("year").is_not_null() & pl.col("index").is_not_null())
    _unique(data, ["index", "series", "year"], "slope_chart", "index × series × year")
    years = sorted(data["year"].drop_nulls().unique().to_list())[-2:]
    data = data.filter(pl.col("year").is_in(years))
    if data["score"].is_null().all():
        return _no_data(title, "Slope chart: no data")
    who = city_name or city_id
    data, colour, dash = _series(data, who)
    data = data.with_columns(
        pl.col("score").round(1).cast(pl.String).fill_null("").alias("end_label"),
    )
    tooltip = [
        alt.Tooltip("index:N", title="Index"),
        alt.Tooltip("series_label:N", title="Series"),
        alt.Tooltip("year:O", title="Year"),
        alt.Tooltip("score:Q", title="Score", format=_SCORE_FORMAT),
    ]
    domain = _score_domain(data["score"])
    base = alt.Chart().encode(
        x=alt.X(
            "year:O",
            title=None,
            sort=years,
            scale=alt.Scale(padding=0.35),
            axis=alt.Axis(labelAngle=0, grid=False),
        ),
        y=alt.Y(
            "score:Q",
            title="Score",
            scale=alt.Scale(domain=domain or alt.Undefined, zero=domain is not None),
        ),
        color=colour,
    )
    lines = base.mark_line(strokeWidth=2.5).encode(strokeDash=dash, detail="series_label:N")
    points = base.mark_point(filled=True, size=60).encode(tooltip=tooltip)
    scores = data["score"].drop_nulls()
    span_y = domain[1] - domain[0] if domain else float(scores.max() - scores.min()) or 1.0
    data = _spread_labels(data, gap=0.08 * span_y)
    label_y = alt.Y("label_y:Q")
    first = base.transform_filter(alt.datum.year == years[0]).mark_text(align="right", dx=-8)
    last = base.transform_filter(alt.datum.year == years[-1]).mark_text(align="left", dx=8)
    panels = sorted(data["index"].drop_nulls().unique().to_list())
    ends = (first, last) if len(years) == 2 else (last,)
    layers = [lines, points, *(m.encode(text="end_label:N", y=label_y) for m in ends)]
    span = f"{years[0]} → {years[-1]}" if len(years) == 2 else str(years[0])
    return (
        alt.layer(*layers, data=data)
        .properties(width=150, height=180)
        .facet(facet=alt.Facet("index:N", title=None, sort=panels), columns=4)
        .properties(
            title=_title(title, f"{who} vs. the peer median, {span}"),
            description=f"Slope chart of {len(panels)} indices, {span}, "
            f"{who} against the peer median.",
        )
    )


def coverage_bars(frame: Frame, *, title: Title | None = None) -> AnyChart:
    """How much of each index or focus area rests on real data for the city.

    A score built from 2 of 14 indicators should not be read like one built from 14, so the
    report shows coverage next to the scores: a grey track for all indicators, a blue bar for the
    share present, and "n of m" at the end. Rows keep the frame's order (index first, then its
    focus areas, as the caller lays them out); a node with no indicators says so.

    Args:
        frame: one row per node; columns ``node_label``, ``n_present``, ``n_children``.
        title: chart title; defaults to "Data coverage".
    """
    title = title or "Data coverage"
    data = _prepare(frame, ["node_label", "n_present", "n_children"], "coverage_bars")
    data = data.filter(pl.col("node_label").is_not_null())
    _unique(data, ["node_label"], "coverage_bars", "node label")
    if data.is_empty():
        return _no_data(title, "Data coverage bars: no data")
    data = data.with_columns(
        pl.when(pl.col("n_children") > 0)
        .then(pl.col("n_present").cast(pl.Float64) / pl.col("n_children"))
        .alias("share"),
        pl.lit(1.0).alias("track"),
        pl.when(pl.col("n_children") > 0)
        .then(pl.format("{} of {}", pl.col("n_present").fill_null(0), pl.col("n_children")))
        .otherwise(pl.lit("no indicators"))
        .alias("cover_label"),
    )
    order = data["node_label"].to_list()
    y = alt.Y("node_label:N", sort=order, title=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip("node_label:N", title="Node"),
        alt.Tooltip("n_present:Q", title="Indicators present"),
        alt.Tooltip("n_children:Q", title="Indicators in the node"),
        alt.Tooltip("share:Q", title="Coverage", format=".0%"),
    ]
    base = alt.Chart(data).encode(y=y, tooltip=tooltip)
    x = alt.X(
        "share:Q",
        title="Share of indicators with data",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    track = base.mark_bar(color="#E6E6E6", height={"band": 0.7}).encode(x=alt.X("track:Q"))
    bar = base.mark_bar(color=HIGHLIGHT, height={"band": 0.7}).encode(x=x)
    text = base.mark_text(align="left", dx=6, color=_TEXT).encode(
        x=alt.X("track:Q"), text="cover_label:N"
    )
    return alt.layer(track, bar, text).properties(
        title=_title(title, "Share of the node's indicators the city has data for"),
        width=_WIDTH - 120,
        height=alt.Step(_STEP + 4),
        description=f"Bar chart of data coverage for {data.height} indices and focus areas.",
    )


# ------------------------------------------------------------------------------------- helpers


def _prepare(frame: Frame, columns: Sequence[str], what: str) -> pl.DataFrame:
    """Check size and columns, keep only ``columns``, make the values JSON-friendly.

    NaN becomes null (JSON has no NaN, and Vega treats null as missing) and enum/categorical
    columns become strings, so Altair's narwhals path gets plain types.
    """
    if isinstance(frame, pl.LazyFrame):
        frame = frame.head(MAX_ROWS + 1).collect()
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(
            f"{what}: expected a Polars DataFrame or LazyFrame, got {type(frame).__name__}"
        )
    if frame.height > MAX_ROWS:
        raise ValueError(
            f"{what}: the frame has more than {MAX_ROWS:,} rows; charts take "
            f"summaries (one year, one index, a peer group), filter it first"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what}: missing column(s) {', '.join(missing)} "
            f"(the frame has {', '.join(frame.columns) or 'no columns'})"
        )
    exprs = []
    for name in columns:
        dtype = frame.schema[name]
        col = pl.col(name)
        if dtype.is_float():
            col = col.fill_nan(None)
        elif isinstance(dtype, pl.Enum | pl.Categorical):
            col = col.cast(pl.String)
        if name == "score":
            col = col.cast(pl.Float64)
        exprs.append(col)
    return frame.select(exprs)


def _unique(data: pl.DataFrame, key: list[str], what: str, noun: str) -> None:
    """Duplicates would silently stack marks; they mean the frame was not summarised."""
    dupes = data.filter(pl.struct(key).is_duplicated())
    if dupes.height:
        example = ", ".join(f"{k}={dupes[k][0]!r}" for k in key)
        raise ValueError(
            f"{what}: expected one row per {noun}, found {dupes.height} duplicate "
            f"rows (e.g. {example}); filter to one year and one index first"
        )


def _with_labels(data: pl.DataFrame, city_id: str) -> pl.DataFrame:
    """A display label per city (its name, or name plus id when two cities share a name) and
    the colour group: the city's own label or "Peers"."""
    name = pl.coalesce(pl.col("city_name"), pl.col("city_id"), pl.lit("?"))
    shared = pl.col("city_id").n_unique().over(name) > 1
    data = data.with_columns(
        pl.when(shared)
        .then(pl.format("{} ({})", name, pl.col("city_id")))
        .otherwise(name)
        .alias("label")
    )
    return data.with_columns(
        pl.when(pl.col("city_id") == city_id)
        .then(pl.col("label"))
        .otherwise(pl.lit(_PEERS))
        .alias("group")
    )


def _city_label(data: pl.DataFrame, city_id: str) -> str | None:
    labels = data.filter(pl.col("city_id") == city_id)["label"]
    return labels[0] if labels.len() else None


def _city_colour(city: str | None, peers: str) -> alt.Color:
    """Blue for the city, grey for the rest, with a legend naming both."""
    domain = [city, peers] if city is not None else [peers]
    colours = [HIGHLIGHT, PEER] if city is not None else [PEER]
    return alt.Color(
        "group:N",
        title=None,
        scale=alt.Scale(domain=domain, range=colours),
        legend=alt.Legend(orient="top", direction="horizontal"),
    )


def _bold_if(label: str | None) -> Any:
    """An axis-label weight expression that bolds the city's label."""
    if label is None:
        return "normal"
    return alt.expr(f"datum.value === {json.dumps(label)} ? 'bold' : 'normal'")


def _series(data: pl.DataFrame, who: str) -> tuple[pl.DataFrame, alt.Color, alt.StrokeDash]:
    """Series labels and their colour and dash: the city solid blue, medians dashed grey."""
    data = data.with_columns(
        pl.when(pl.col("series") == "city")
        .then(pl.lit(who))
        .when(pl.col("series") == "peer median")
        .then(pl.lit(_PEER_MEDIAN))
        .otherwise(pl.col("series").fill_null("?"))
        .alias("series_label")
    )
    others = [
        s
        for s in data["series_label"].unique(maintain_order=True).to_list()
        if s not in (who, _PEER_MEDIAN)
    ]
    domain = [who, _PEER_MEDIAN, *others]
    greys = [MEDIAN, PEER, "#BDBDBD", "#7A7A7A"]
    colours = [HIGHLIGHT, *(greys[i % len(greys)] for i in range(len(domain) - 1))]
    dashes = [[1, 0], *([[5, 3]] * (len(domain) - 1))]
    legend = alt.Legend(title=None, orient="top", direction="horizontal")
    colour = alt.Color(
        "series_label:N", scale=alt.Scale(domain=domain, range=colours), legend=legend
    )
    dash = alt.StrokeDash(
        "series_label:N", scale=alt.Scale(domain=domain, range=dashes), legend=legend
    )
    return data, colour, dash


def _spread_labels(data: pl.DataFrame, gap: float) -> pl.DataFrame:
    """``label_y``: each end label at its point's score, nudged apart (keeping their centre)
    where labels of one panel and year would overprint. Frames here have a handful of rows."""
    positions: dict[tuple[Any, Any, Any], float] = {}
    present = data.filter(pl.col("score").is_not_null())
    for key, group in present.group_by(["index", "year"]):
        ranked = group.sort("score")
        ys = ranked["score"].to_list()
        placed = list(ys)
        for i in range(1, len(placed)):
            placed[i] = max(ys[i], placed[i - 1] + gap)
        shift = (sum(placed) - sum(ys)) / len(ys)
        for name, y in zip(ranked["series_label"], placed, strict=True):
            positions[(*key, name)] = y - shift
    return data.with_columns(
        pl.Series(
            "label_y",
            [
                positions.get((i, y, n))
                for i, y, n in data.select("index", "year", "series_label").rows()
            ],
            dtype=pl.Float64,
        )
    )


def _median(scores: pl.DataFrame) -> float | None:
    value = scores["score"].median()
    return float(value) if value is not None else None  # type: ignore[arg-type]


def _median_rule(median: float) -> list[alt.Chart]:
    """A dashed vertical rule at the peer median with its value written at the top."""
    frame = pl.DataFrame({"median": [median], "text": [f"peer median {median:.1f}"]})
    base = alt.Chart(frame).encode(x=alt.X("median:Q"))
    rule = base.mark_rule(color=MEDIAN, strokeDash=[5, 3], strokeWidth=1.5).encode(
        tooltip=[alt.Tooltip("median:Q", title=_PEER_MEDIAN, format=_SCORE_FORMAT)]
    )
    text = base.mark_text(
        align="left", baseline="bottom", dx=4, dy=-2, color=MEDIAN, fontSize=11
    ).encode(text="text:N", y=alt.value(0))
    return [rule, text]


def _ranking_subtitle(
    data: pl.DataFrame, city_id: str, city: str | None, median: float | None, n: int
) -> str:
    parts = []
    row = data.filter(pl.col("city_id") == city_id)
    if city is None:
        parts.append(f"{city_id} is not among these cities")
    elif row["score"][0] is None:
        parts.append(f"{city} has no score")
    else:
        rank = row["rank"][0]
        parts.append(f"{city}: {row['score'][0]:.1f}" + (f", rank {rank}" if rank else ""))
    if median is not None:
        parts.append(f"peer median {median:.1f}")
    missing = data.height - n
    parts.append(f"{n} cities" + (f" ({missing} without a score left out)" if missing else ""))
    return " · ".join(parts)


def _score_domain(scores: pl.Series) -> list[float] | None:
    """[0, 100] when every score fits in it (the built-in indices), else None (fit the data):
    a fixed scale lets charts of different cities and years be compared by eye."""
    values = scores.drop_nulls()
    if values.is_empty() or (values.min() >= 0 and values.max() <= 100):  # type: ignore[operator]
        return [0.0, 100.0]
    return None


def _title(text: Title, subtitle: str | None = None) -> alt.Title:
    if isinstance(text, alt.Title):
        return text
    return alt.Title(text, subtitle=subtitle) if subtitle else alt.Title(text)


def _plain(title: Title) -> str:
    if isinstance(title, alt.Title):
        text = title.text
        return " ".join(text) if isinstance(text, list) else str(text)
    return title


def _no_data(title: Title, description: str) -> alt.Chart:
    """A chart that says "No data" where the chart would be, keeping the section's title."""
    return (
        alt.Chart(alt.Data(values=[{"message": NO_DATA}]))
        .mark_text(fontSize=14, color=_MUTED)
        .encode(text="message:N")
        .properties(
            title=_title(title),
            width=_WIDTH,
            height=80,
            description=description,
            view=alt.ViewBackground(stroke=None),
        )
    )
