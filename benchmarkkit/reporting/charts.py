"""Chart builders: small, already-summarised Polars frames in, Altair charts out.

Every builder is a pure function: it reads its frame, never touches Altair's global state and
returns a chart (layered from a few simple parts, as in Altair's gallery) that validates with
``chart.to_dict()``. The same visual grammar runs through all of them so a reader learns it once:
**the city is blue, peers are grey, the peer median is a dark grey dashed line or tick.** Blue
against neutral grey stays distinct for every common colour-vision deficiency, and the city is
also marked by size, bold labels or an outline, never by colour alone.

**One rule for the size of the peer group** (docs/charts.md): a chart of cities among their peers
(``ranking_bars``, ``focus_area_heatmap``, ``indicator_strip``) draws

* up to ``FEW`` (30) peers, **one mark per city with its name**: a bar per city, a heatmap row per
  city, a dot per city and indicator;
* above ``FEW`` peers, **the distribution**: a histogram of the peers' scores with the city marked
  and its "rank r of N", then the few cities a reader asks about by name — the best, the nearest
  above and below the city, and any ``highlight``-ed; the heatmap shows the city, its nearest peers
  (closest profile) and the peers' quartiles per focus area; the strip the peers' 10–90 % and
  25–75 % bands and median per indicator.

The size is the number of peers the chart draws: the group's cities other than the city with a
value (for a ranking, ``compare``'s ``n_ranked`` − 1), or ``n_peers=`` when given; so a large
group in which only a dozen cities have an index still gets one bar per city (``chart_form``).
A distribution embeds summaries — at most ``BINS`` bins and a handful of named cities per index,
one row per indicator, (1 + ``NEAREST`` + highlighted + 3) rows per focus area — so a report's
size does not grow with the number of peers; the other charts (trend, slope, history, coverage)
hold the city and the peer median only. Those builders take summaries and refuse more than
``MAX_ROWS`` rows (that many points would be unreadable and would bloat the self-contained
report); the three per-city builders take a frame of any size and summarise it first, and fall
back to the distribution when one mark per city would pass ``MAX_ROWS`` (a strip of more than
~160 indicators). An empty frame, or one whose scores are all missing, gives a chart with a
"No data" message instead of an error, so one thin section never breaks a report.

The ``benchmarkkit`` theme (fonts, sizes, grid, palette) is registered with Altair on import but
never enabled globally: ``themed(chart)`` returns a copy carrying the theme as its own config, or
``with alt.theme.enable("benchmarkkit"):`` applies it while saving. To put several charts on one
page use ``vstack(...)``, which keeps each chart's colour legend its own.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Final, Literal

import altair as alt
import polars as pl

from benchmarkkit.columns import FOCUS_AREA_LABELS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "BINS",
    "FEW",
    "HIGHLIGHT",
    "LABELS",
    "MAX_ROWS",
    "MEDIAN",
    "NEAREST",
    "NO_DATA",
    "PEER",
    "THEME_NAME",
    "chart_form",
    "coverage_bars",
    "focus_area_heatmap",
    "indicator_history",
    "indicator_strip",
    "ranking_bars",
    "slope_chart",
    "theme",
    "themed",
    "trend_lines",
    "vega_locale",
    "vstack",
]

MAX_ROWS: Final = 5_000
"""Most rows a builder accepts; Altair itself refuses to embed more than this in ``to_dict()``."""

FEW: Final = 30
"""Most peers a chart draws one named mark each for; with more it draws their distribution. About
a screen of bars at 18 px each, and the most names a reader scans for their own city."""
BINS: Final = 20
"""Histogram bins of the distribution form: 5 points wide on the 0–100 scale."""
NEAREST: Final = 3
"""Peers named in the distribution form's heatmap: those with the closest focus-area profile."""

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
    "'Liberation Sans', Arial, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', "
    "'WenQuanYi Micro Hei', sans-serif"
)
_WIDTH: Final = 480
_STEP: Final = 18
_SCORE_FORMAT: Final = ".1f"

LABELS: Final[dict[str, str]] = {
    "score": "Score",
    "city": "City",
    "id": "ID",
    "rank": "Rank",
    "peers": "Peers",
    "peer_median": "Peer median",
    "peer_median_value": "peer median {value}",
    "focus_areas": "Focus areas",
    "focus_area": "Focus area",
    "no_focus_area": "(no focus area)",
    "heatmap_subtitle": "{city} outlined · cells show the score (0–100), – where missing",
    "not_in_frame": "{city} is not in this frame",
    "indicators": "Indicators",
    "normalised_score": "Normalised score",
    "indicator": "Indicator",
    "strip_subtitle": "Large dot: {city} · grey dots: peers · dark tick: peer median",
    "trend": "Trend",
    "vs_median": "{city} vs. the peer median",
    "index": "Index",
    "series": "Series",
    "year": "Year",
    "value": "Value",
    "slope": "Change since last year",
    "slope_subtitle": "{city} vs. the peer median, {span}",
    "coverage": "Data coverage",
    "n_of_m": "{n} of {m}",
    "no_indicators": "no indicators",
    "node": "Node",
    "present": "Indicators present",
    "in_node": "Indicators in the node",
    "coverage_share": "Coverage",
    "share_axis": "Share of indicators with data",
    "coverage_subtitle": "Share of the node's indicators the city has data for",
    "no_data": NO_DATA,
    "not_among": "{city} is not among these cities",
    "no_score": "{city} has no score",
    "city_score": "{city}: {score}",
    "rank_of": "rank {rank} of {n}",
    "n_cities": "{n} cities",
    "left_out": "({n} without a score left out)",
    "history": "Indicators over the years",
    "cities_axis": "Cities",
    "rank_label": "{rank} · {city}",
    "heatmap_many_subtitle": "{city} outlined, its nearest peers (closest profile) and the "
    "quartiles of all {n} peers · – where missing",
    "q25": "Peers: 25th percentile",
    "q50": "Peers: median",
    "q75": "Peers: 75th percentile",
    "strip_many_subtitle": "Large dot: {city} · dark band: the middle half of the {n} peers · "
    "light band: 80 % of them · tick: peer median",
    "band_50": "Middle half of the peers",
    "band_80": "80 % of the peers",
    "decimal": ".",
    "thousands": ",",
}
"""Every text a chart shows, in English. Builders take ``labels=`` (any subset, e.g. a report
language's ``[chart]`` table) and fall back to these; ``decimal`` and ``thousands`` format the
numbers written into a chart, and ``themed(..., locale=vega_locale(labels))`` the ones Vega
formats (tooltips, axes)."""


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    return {**LABELS, **(labels or {})}


def chart_form(n_peers: int, marks: int = 0) -> Literal["cities", "distribution"]:
    """The form a chart of cities among ``n_peers`` peers takes (the rule of the module's
    docstring): ``"cities"``, one named mark per city, up to ``FEW`` peers and ``MAX_ROWS``
    ``marks``; ``"distribution"`` above.

    >>> chart_form(11), chart_form(30), chart_form(31), chart_form(20, marks=6_000)
    ('cities', 'cities', 'distribution', 'distribution')
    """
    return "cities" if n_peers <= FEW and marks <= MAX_ROWS else "distribution"


def _n_peers(data: pl.DataFrame, city_id: str, n_peers: int | None) -> int:
    """The peers a chart draws: as given, else the frame's other cities with a score."""
    if n_peers is not None:
        return n_peers
    peers = data.filter((pl.col("city_id") != city_id) & pl.col("score").is_not_null())
    return peers["city_id"].n_unique()


def _num(value: float | None, L: Mapping[str, str], digits: int = 1) -> str:
    """A number as the chart's language writes it (``1,234.5`` or ``1.234,5``)."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", L["decimal"]).replace("\x00", L["thousands"])


def vega_locale(
    labels: Mapping[str, str] | None = None, time: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The Vega format locale of ``labels`` (config ``locale``): tooltips and axes then print
    53,8 where the report's text prints 53,8; ``time`` is a Vega time-format locale (month and
    day names …) when the language gives one."""
    L = _labels(labels)
    locale: dict[str, Any] = {
        "number": {
            "decimal": L["decimal"],
            "thousands": L["thousands"],
            "grouping": [3],
            "currency": ["", ""],
        }
    }
    if time:
        locale["time"] = dict(time)
    return locale


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


def themed(chart: AnyChart, *, locale: Mapping[str, Any] | None = None) -> AnyChart:
    """A copy of ``chart`` with the benchmarkkit theme as its own config.

    Unlike ``alt.theme.enable`` this changes no global state, and the look travels with the chart
    into ``to_dict``, ``save`` or a notebook. Apply it to the *outermost* chart only: Altair does
    not allow a configured chart inside a layer or concatenation. Settings the chart already has
    in its config win over the theme's.
    """
    config: dict[str, Any] = dict(theme()["config"])
    if locale is not None:
        config["locale"] = dict(locale)
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


def ranking_bars(
    frame: Frame,
    city_id: str,
    title: Title,
    *,
    median: float | None = None,
    subtitle: str | None = None,
    labels: Mapping[str, str] | None = None,
    n_peers: int | None = None,
    highlight: Sequence[str] = (),
) -> AnyChart:
    """One index among peers: a bar per city, best at the top, the city in blue.

    A dashed rule marks the peer median (the city itself left out) so the reader sees at once
    whether the city is above or below its peers, not only where it ranks. Cities without a score
    are left out and counted in the subtitle. Above ``FEW`` peers (``chart_form``): a histogram
    of the peers' scores with the city's score marked, over bars for the cities named by rank
    only — the best, the nearest above and below the city, and ``highlight``.

    Args:
        frame: one row per city; columns ``city_id``, ``city_name``, ``score``, ``rank``.
        city_id: the city to highlight.
        title: chart title (the index's name, usually).
        median: the peer median to draw (``compare``'s, where the city is left out); by
            default the median of the frame's other cities.
        subtitle: replaces the computed one ("Madrid: 53.8, rank 4 of 11 · …").
        labels: texts in the report's language (``LABELS`` keys).
        n_peers: the number of peers, which chooses the form; by default the frame's other
            cities with a score.
        highlight: city ids to name in the distribution form whatever their rank.
    """
    L = _labels(labels)
    data = _prepare(frame, ["city_id", "city_name", "score", "rank"], "ranking_bars", limit=False)
    _unique(data, ["city_id"], "ranking_bars", "city")
    data = _with_labels(data, city_id, L)
    present = data.filter(pl.col("score").is_not_null())
    if present.is_empty():
        return _no_data(title, f"Ranking of cities by {_plain(title)}: no data", L)
    city = _city_label(data, city_id)
    if median is None and subtitle is None:
        median = _median(present.filter(pl.col("city_id") != city_id))
    present = present.sort(["score", "label"], descending=[True, False], nulls_last=True)
    if subtitle is None:
        subtitle = _ranking_subtitle(data, city_id, city, median, present.height, L)
    if chart_form(_n_peers(data, city_id, n_peers), present.height) == "distribution":
        return _ranking_distribution(present, city_id, city, title, median, subtitle, highlight, L)
    order = present["label"].to_list()
    domain = _score_domain(present["score"])

    bars = (
        alt.Chart(present)
        .mark_bar(height={"band": 0.75})
        .encode(
            x=alt.X(
                "score:Q",
                title=L["score"],
                scale=alt.Scale(domain=domain or alt.Undefined, zero=True, nice=domain is None),
            ),
            y=alt.Y(
                "label:N",
                sort=order,
                title=None,
                axis=alt.Axis(labelFontWeight=_bold_if(city), labelLimit=220),
            ),
            color=_city_colour(city, L["peers"]),
            tooltip=_city_score_tooltip(L),
        )
    )
    layers: list[alt.Chart] = [bars]
    if median is not None:
        layers += _median_rule(median, L)
    return alt.layer(*layers).properties(
        title=_title(title, subtitle),
        width=_WIDTH,
        height=alt.Step(_STEP),
        description=f"Bar chart of {present.height} cities by {_plain(title)}; {subtitle}",
    )


def _ranking_distribution(
    present: pl.DataFrame,
    city_id: str,
    city: str | None,
    title: Title,
    median: float | None,
    subtitle: str,
    highlight: Sequence[str],
    L: Mapping[str, str],
) -> AnyChart:
    """``ranking_bars`` above ``FEW`` peers: the peers' histogram (``BINS`` bins) with the city
    marked, over a bar per named city (``present`` is sorted best first)."""
    domain = _score_domain(present["score"]) or [
        float(present["score"].min()),  # type: ignore[arg-type]
        float(present["score"].max()),  # type: ignore[arg-type]
    ]
    lo, hi = domain
    width = (hi - lo) / BINS or 1.0
    bins = (
        present.filter(pl.col("city_id") != city_id)
        .select(((pl.col("score") - lo) / width).floor().clip(0, BINS - 1).cast(pl.Int32))
        .group_by("score")
        .len("count")
        .sort("score")
        .select(
            (lo + pl.col("score") * width).alias("bin_start"),
            (lo + (pl.col("score") + 1) * width).alias("bin_end"),
            "count",
        )
    )
    bins = bins.with_columns(
        pl.Series(
            "bin_label",
            [
                f"{_num(a, L, 0)}–{_num(b, L, 0)}"
                for a, b in bins.select("bin_start", "bin_end").rows()
            ],
            dtype=pl.String,
        )
    )
    x = alt.X("bin_start:Q", title=None, scale=alt.Scale(domain=domain, nice=False, zero=False))
    hist = (
        alt.Chart(bins)
        .mark_bar(color=PEER, stroke="white", strokeWidth=0.5, orient="vertical")
        .encode(
            x=x,
            x2="bin_end:Q",
            y=alt.Y("count:Q", title=L["cities_axis"], axis=alt.Axis(tickCount=3, format="d")),
            tooltip=[
                alt.Tooltip("bin_label:N", title=L["score"]),
                alt.Tooltip("count:Q", title=L["cities_axis"]),
            ],
        )
    )
    top: list[alt.Chart] = [hist]
    if median is not None:
        top.append(
            alt.Chart(pl.DataFrame({"median": [median]}))
            .mark_rule(color=MEDIAN, strokeDash=[5, 3], strokeWidth=1.5)
            .encode(x=alt.X("median:Q"))
        )
    ids = present["city_id"].to_list()
    named = {ids[0], *(h for h in highlight if h in set(ids))}
    if city_id in ids:
        i = ids.index(city_id)
        named |= {ids[max(i - 1, 0)], city_id, ids[min(i + 1, len(ids) - 1)]}
        score = present["score"][i]
        right = score > lo + 0.7 * (hi - lo)  # the label turns left near the right edge
        mark = pl.DataFrame({"score": [score], "text": [f"{city} {_num(score, L)}"]})
        base = alt.Chart(mark).encode(x=alt.X("score:Q"))
        top += [
            base.mark_rule(color=HIGHLIGHT, strokeWidth=2.5),
            base.mark_text(
                align="right" if right else "left",
                baseline="bottom",
                dx=-4 if right else 4,
                dy=-2,
                color=HIGHLIGHT,
                fontWeight="bold",
            ).encode(text="text:N", y=alt.value(0)),
        ]
    excerpt = present.filter(pl.col("city_id").is_in(sorted(named)))
    excerpt = excerpt.with_columns(
        pl.Series(
            "row",
            [
                L["rank_label"].format(rank=r if r is not None else "–", city=c)
                for r, c in excerpt.select("rank", "label").rows()
            ],
            dtype=pl.String,
        )
    )
    mine = excerpt.filter(pl.col("city_id") == city_id)["row"]
    bars = (
        alt.Chart(excerpt)
        .mark_bar(height={"band": 0.75})
        .encode(
            x=alt.X("score:Q", title=L["score"], scale=alt.Scale(domain=domain, nice=False)),
            y=alt.Y(
                "row:N",
                sort=excerpt["row"].to_list(),
                title=None,
                axis=alt.Axis(labelFontWeight=_bold_if(mine[0] if mine.len() else None)),
            ),
            color=_city_colour(city, L["peers"]),
            tooltip=_city_score_tooltip(L),
        )
    )
    bottom: list[alt.Chart] = [bars]
    if median is not None:
        bottom += _median_rule(median, L)
    return alt.vconcat(
        alt.layer(*top).properties(width=_WIDTH, height=70),
        alt.layer(*bottom).properties(width=_WIDTH, height=alt.Step(_STEP)),
        spacing=22,
    ).properties(
        title=_title(title, subtitle),
        description=f"Histogram of {present.height} cities by {_plain(title)}, with "
        f"{excerpt.height} named; {subtitle}",
    )


def focus_area_heatmap(
    frame: Frame,
    city_id: str,
    *,
    title: Title | None = None,
    subtitle: str | None = None,
    labels: Mapping[str, str] | None = None,
    n_peers: int | None = None,
    highlight: Sequence[str] = (),
) -> AnyChart:
    """Cities × focus areas, coloured by score, with the city's row outlined and in bold.

    Shows in one view where the city is strong or weak *relative to the same peers* across
    areas. Cells show the rounded score so the chart reads without a colour key; missing cells
    are light grey with a dash, never coloured as a low score. Rows are sorted by how many areas a
    city has scores for, then by their mean (so a city scored on one area does not top the table),
    columns follow ASCN's order of the six focus areas. Above ``FEW`` peers (``chart_form``) the
    rows are the city, its ``NEAREST`` peers (the smallest mean distance over the focus areas both
    have, on at least half of the city's), any ``highlight``-ed city, then the peers' 75th
    percentile, median and 25th percentile per focus area (rows in italics).

    Args:
        frame: one row per city × focus area; columns ``city_id``, ``city_name``,
            ``focus_area`` (a label, or an ASCN key such as ``civic_social``), ``score``.
        city_id: the city whose row is emphasised.
        title: chart title; defaults to "Focus areas".
        n_peers: the number of peers, which chooses the form; by default the frame's other
            cities with a score.
        highlight: city ids to show as rows in the distribution form.
    """
    L = _labels(labels)
    title = title or L["focus_areas"]
    cols = ["city_id", "city_name", "focus_area", "score"]
    data = _prepare(frame, cols, "focus_area_heatmap", limit=False)
    data = data.with_columns(
        pl.col("focus_area").replace(FOCUS_AREA_LABELS).fill_null(L["no_focus_area"])
    )
    _unique(data, ["city_id", "focus_area"], "focus_area_heatmap", "city × focus area")
    if data["score"].is_null().all():
        return _no_data(title, "Heatmap of focus-area scores: no data", L)
    data = _with_labels(data, city_id, L)
    city = _city_label(data, city_id)
    n = _n_peers(data, city_id, n_peers)
    quartiles: list[str] = []
    if chart_form(n, data.height) == "distribution":
        data, rows, quartiles = _heat_summary(data, city_id, highlight, L)
        if subtitle is None:
            subtitle = L["heatmap_many_subtitle"].format(city=city or city_id, n=n)
    else:
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
    italic = (
        alt.expr(f"indexof({json.dumps(quartiles)}, datum.value) >= 0 ? 'italic' : 'normal'")
        if quartiles
        else alt.Undefined
    )
    y = alt.Y(
        "label:N",
        sort=rows,
        title=None,
        axis=alt.Axis(
            labelFontWeight=_bold_if(city), labelFontStyle=italic, domain=False, ticks=False
        ),
    )
    tooltip = [
        alt.Tooltip("city_name:N", title=L["city"]),
        alt.Tooltip("focus_area:N", title=L["focus_area"]),
        alt.Tooltip("score:Q", title=L["score"], format=_SCORE_FORMAT),
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
            color=alt.Color(
                "score:Q", title=L["score"], scale=alt.Scale(scheme=_RAMP, domain=domain)
            ),
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
    if subtitle is None:
        subtitle = (
            L["heatmap_subtitle"].format(city=city)
            if city
            else L["not_in_frame"].format(city=city_id)
        )
    return alt.layer(*layers).properties(
        title=_title(title, subtitle),
        width=alt.Step(88),
        height=alt.Step(24),
        description=f"Heatmap of {len(rows)} cities by {len(columns)} focus areas. {subtitle}",
    )


def _heat_summary(
    data: pl.DataFrame, city_id: str, highlight: Sequence[str], L: Mapping[str, str]
) -> tuple[pl.DataFrame, list[str], list[str]]:
    """The distribution form's rows: the city, its nearest peers, the highlighted cities and the
    peers' quartiles, every row × focus area present (a missing cell reads "–")."""
    scored = data.filter(pl.col("score").is_not_null())
    mine = scored.filter(pl.col("city_id") == city_id).select(
        "focus_area", pl.col("score").alias("_mine")
    )
    peers = data.filter(pl.col("city_id") != city_id)
    need = max(1, math.ceil(mine.height / 2))
    nearest = (
        scored.filter(pl.col("city_id") != city_id)
        .join(mine, on="focus_area")
        .group_by("city_id")
        .agg(
            (pl.col("score") - pl.col("_mine")).abs().mean().alias("_d"),
            pl.len().alias("_n"),
            pl.col("label").first(),
        )
        .filter(pl.col("_n") >= need)
        .sort(["_n", "_d", "label"], descending=[True, False, False])
        .head(NEAREST)["city_id"]
        .to_list()
    )
    known = set(data["city_id"].to_list())
    named = [c for c in dict.fromkeys([city_id, *nearest, *highlight]) if c in known]
    labels = dict(data.select("city_id", "label").unique("city_id").rows())
    rows = [labels[c] for c in named]
    quartiles = [L["q75"], L["q50"], L["q25"]]
    q = (
        peers.group_by("focus_area")
        .agg(
            pl.col("score").quantile(0.75, "linear").alias(quartiles[0]),
            pl.col("score").median().alias(quartiles[1]),
            pl.col("score").quantile(0.25, "linear").alias(quartiles[2]),
        )
        .unpivot(index="focus_area", variable_name="label", value_name="score")
    )
    areas = data.select("focus_area").unique()
    cities = data.filter(pl.col("city_id").is_in(named)).select(
        "label", "city_name", "focus_area", "score"
    )
    grid = pl.DataFrame({"label": rows + quartiles}).join(areas, how="cross")
    values = pl.concat([cities, q.with_columns(pl.col("label").alias("city_name"))], how="diagonal")
    out = grid.join(values, on=["label", "focus_area"], how="left").with_columns(
        pl.coalesce("city_name", "label").alias("city_name")
    )
    return out.sort("label", "focus_area"), rows + quartiles, quartiles


def indicator_strip(
    frame: Frame,
    city_id: str,
    *,
    title: Title | None = None,
    labels: Mapping[str, str] | None = None,
    n_peers: int | None = None,
    highlight: Sequence[str] = (),
    subtitle: str | None = None,
) -> AnyChart:
    """Per indicator, where the city sits among its peers on the normalised 0–100 scale.

    Peers are small grey dots, the city a large blue dot, the peer median a dark tick: the gap
    between the blue dot and the tick is the story. Indicators are sorted by the city's score
    (strengths first); indicators the city lacks come last, with the peers still shown. Above
    ``FEW`` peers (``chart_form``) the peers are two bands instead of dots — the middle half
    (25th–75th percentile, dark) and 80 % of them (10th–90th, light) — and only the city and
    ``highlight``-ed cities are dots.

    Args:
        frame: one row per indicator × city; columns ``indicator_name``, ``city_id``,
            ``city_name``, ``score`` (normalised score).
        city_id: the city drawn as the large dot.
        title: chart title; defaults to "Indicators".
        n_peers: the number of peers, which chooses the form; by default the frame's other
            cities with a score.
        highlight: city ids drawn as dots in the distribution form.
        subtitle: replaces the legend-like subtitle (e.g. for a city without a dot).
    """
    L = _labels(labels)
    title = title or L["indicators"]
    cols = ["indicator_name", "city_id", "city_name", "score"]
    data = _prepare(frame, cols, "indicator_strip", limit=False)
    _unique(data, ["indicator_name", "city_id"], "indicator_strip", "indicator × city")
    n = _n_peers(data, city_id, n_peers)
    data = _with_labels(data, city_id, L).filter(pl.col("score").is_not_null())
    if data.is_empty():
        return _no_data(title, "Indicator strip plot: no data", L)
    city = _city_label(data, city_id)
    mine = data.filter(pl.col("city_id") == city_id).select("indicator_name", "score")
    order = (
        data.select("indicator_name")
        .unique()
        .join(mine, on="indicator_name", how="left")
        .sort(["score", "indicator_name"], descending=[True, False], nulls_last=True)
    )["indicator_name"].to_list()
    many = chart_form(n, data.height) == "distribution"
    medians = (
        data.filter(pl.col("city_id") != city_id)
        .group_by("indicator_name")
        .agg(
            pl.col("score").median().alias("median"),
            pl.len().alias("n_peers"),
            *(
                pl.col("score").quantile(q / 100, "linear").alias(f"p{q}")
                for q in ((10, 25, 75, 90) if many else ())
            ),
        )
        .sort("indicator_name")
    )
    domain = _score_domain(data["score"])
    colour = _city_colour(city, L["peers"])
    if many:  # the dots: the city and the highlighted cities only; the subtitle names them
        data = data.filter(pl.col("city_id").is_in([city_id, *highlight]))
        colour = colour.legend(None)
    x = alt.X(
        "score:Q",
        title=L["normalised_score"],
        scale=alt.Scale(domain=domain or alt.Undefined, nice=domain is None),
    )
    y = alt.Y("indicator_name:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    dots = (
        alt.Chart(data.with_columns((pl.col("city_id") == city_id).alias("is_city")))
        .mark_circle(stroke="white", strokeWidth=0.5)
        .encode(
            x=x,
            y=y,
            color=colour,
            size=alt.Size(
                "group:N",
                legend=None,
                scale=alt.Scale(domain=[city or city_id, L["peers"]], range=[170, 28]),
            ),
            opacity=alt.when(alt.datum.is_city).then(alt.value(1.0)).otherwise(alt.value(0.5)),
            order=alt.Order("is_city:O", sort="ascending"),
            tooltip=[
                alt.Tooltip("indicator_name:N", title=L["indicator"]),
                alt.Tooltip("city_name:N", title=L["city"]),
                alt.Tooltip("score:Q", title=L["score"], format=_SCORE_FORMAT),
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
                alt.Tooltip("indicator_name:N", title=L["indicator"]),
                alt.Tooltip("median:Q", title=L["peer_median"], format=_SCORE_FORMAT),
                alt.Tooltip("n_peers:Q", title=L["peers"]),
            ],
        )
    )
    who = city or city_id
    own = subtitle
    subtitle = L["strip_subtitle"].format(city=who)
    layers = [dots, ticks]
    if many:
        subtitle = L["strip_many_subtitle"].format(city=who, n=n)
        band = alt.Chart(medians).encode(y=alt.Y("indicator_name:N", sort=order))
        layers = [
            band.mark_bar(color="#E3E3E3", height={"band": 0.55}).encode(
                x=alt.X("p10:Q"),
                x2="p90:Q",
                tooltip=[
                    alt.Tooltip("indicator_name:N", title=L["indicator"]),
                    alt.Tooltip("p10:Q", title=L["band_80"] + " ≥", format=_SCORE_FORMAT),
                    alt.Tooltip("p90:Q", title=L["band_80"] + " ≤", format=_SCORE_FORMAT),
                ],
            ),
            band.mark_bar(color=PEER, height={"band": 0.55}).encode(
                x=alt.X("p25:Q"),
                x2="p75:Q",
                tooltip=[
                    alt.Tooltip("indicator_name:N", title=L["indicator"]),
                    alt.Tooltip("p25:Q", title=L["band_50"] + " ≥", format=_SCORE_FORMAT),
                    alt.Tooltip("p75:Q", title=L["band_50"] + " ≤", format=_SCORE_FORMAT),
                    alt.Tooltip("n_peers:Q", title=L["peers"]),
                ],
            ),
            ticks,
            dots,
        ]
    subtitle = own if own is not None else subtitle
    return alt.layer(*layers).properties(
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
    subtitle: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> AnyChart:
    """Score over the years for the city and its peer median, one small panel per index.

    Small multiples keep each index on its own 0–100 axis, and city vs. median is told apart by
    colour *and* dash. A missing year breaks the line instead of bridging it, so a gap in the
    data is not drawn as a trend.

    Args:
        frame: one row per index × series × year; columns ``year``, ``series`` (``"city"`` or
            ``"peer median"``; other names are drawn as further grey lines), ``score``, ``index``;
            optionally ``stretch``: lines join only the years of one stretch (years whose
            scores rest on the same indicators), so no line draws a change that is not one.
        city_id: the city the ``"city"`` series belongs to (its legend label).
        city_name: a readable legend label for the city; defaults to ``city_id``.
        title: chart title; defaults to "Trend".
    """
    L = _labels(labels)
    title = title or L["trend"]
    has_stretch = "stretch" in (
        frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    )
    cols = ["year", "series", "score", "index", *(["stretch"] if has_stretch else [])]
    data = _prepare(frame, cols, "trend_lines")
    data = data.filter(pl.col("year").is_not_null() & pl.col("index").is_not_null())
    _unique(data, ["index", "series", "year"], "trend_lines", "index × series × year")
    if data["score"].is_null().all():
        return _no_data(title, "Trend lines: no data", L)
    if not has_stretch:
        data = data.with_columns(pl.lit(1, pl.Int32).alias("stretch"))
    data, colour, dash = _series(data, city_name or city_id, L)
    data = data.with_columns(
        pl.format("{}·{}", "series_label", pl.col("stretch").fill_null(0)).alias("_path")
    )
    tooltip = [
        alt.Tooltip("index:N", title=L["index"]),
        alt.Tooltip("series_label:N", title=L["series"]),
        alt.Tooltip("year:O", title=L["year"]),
        alt.Tooltip("score:Q", title=L["score"], format=_SCORE_FORMAT),
    ]
    domain = _score_domain(data["score"])
    y = alt.Y(
        "score:Q",
        title=L["score"],
        scale=alt.Scale(domain=domain or alt.Undefined, zero=domain is not None),
    )
    years = sorted(data["year"].drop_nulls().unique().to_list())
    step = max(1, -(-len(years) // 6))  # at most ~6 year labels: they never run together
    shown = [y for i, y in enumerate(years) if i % step == 0 or y == years[-1]]
    base = alt.Chart().encode(
        x=alt.X(
            "year:Q",
            title=None,
            scale=alt.Scale(zero=False, nice=False, padding=10),
            axis=alt.Axis(format="d", values=shown, labelAngle=0, labelOverlap=True),
        ),
        y=y,
        color=colour,
    )
    lines = base.mark_line(strokeWidth=2.5, invalid="break-paths-show-path-domains").encode(
        strokeDash=dash, detail="_path:N"
    )
    points = base.mark_point(filled=True, size=45).encode(tooltip=tooltip)
    panels = sorted(data["index"].drop_nulls().unique().to_list())
    return (
        alt.layer(lines, points, data=data)
        .properties(width=200, height=160)
        .facet(facet=alt.Facet("index:N", title=None, sort=panels), columns=3)
        .properties(
            title=_title(title, subtitle or L["vs_median"].format(city=city_name or city_id)),
            description=f"Line charts of score by year for {len(panels)} indices, "
            f"{city_name or city_id} against the peer median.",
        )
    )


def slope_chart(
    frame: Frame,
    city_id: str,
    *,
    columns: int = 3,
    city_name: str | None = None,
    title: Title | None = None,
    subtitle: str | None = None,
    labels: Mapping[str, str] | None = None,
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
    L = _labels(labels)
    title = title or L["slope"]
    data = _prepare(frame, ["index", "year", "score", "series"], "slope_chart")
    data = data.filter(pl.col("year").is_not_null() & pl.col("index").is_not_null())
    _unique(data, ["index", "series", "year"], "slope_chart", "index × series × year")
    years = sorted(data["year"].drop_nulls().unique().to_list())[-2:]
    data = data.filter(pl.col("year").is_in(years))
    if data["score"].is_null().all():
        return _no_data(title, "Slope chart: no data", L)
    who = city_name or city_id
    data, colour, dash = _series(data, who, L)
    data = data.with_columns(
        pl.col("score")
        .map_elements(lambda v: _num(v, L), return_dtype=pl.String)
        .fill_null("")
        .alias("end_label"),
    )
    tooltip = [
        alt.Tooltip("index:N", title=L["index"]),
        alt.Tooltip("series_label:N", title=L["series"]),
        alt.Tooltip("year:O", title=L["year"]),
        alt.Tooltip("score:Q", title=L["score"], format=_SCORE_FORMAT),
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
            title=L["score"],
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
        .facet(facet=alt.Facet("index:N", title=None, sort=panels), columns=columns)
        .properties(
            title=_title(title, subtitle or L["slope_subtitle"].format(city=who, span=span)),
            description=f"Slope chart of {len(panels)} indices, {span}, "
            f"{who} against the peer median.",
        )
    )


def coverage_bars(
    frame: Frame, *, title: Title | None = None, labels: Mapping[str, str] | None = None
) -> AnyChart:
    """How much of each index or focus area rests on real data for the city.

    A score built from 2 of 14 indicators should not be read like one built from 14, so the
    report shows coverage next to the scores: a grey track for all indicators, a blue bar for the
    share present, and "n of m" at the end. Rows keep the frame's order (index first, then its
    focus areas, as the caller lays them out); a node with no indicators says so.

    Args:
        frame: one row per node; columns ``node_label``, ``n_present``, ``n_children``.
        title: chart title; defaults to "Data coverage".
    """
    L = _labels(labels)
    title = title or L["coverage"]
    data = _prepare(frame, ["node_label", "n_present", "n_children"], "coverage_bars")
    data = data.filter(pl.col("node_label").is_not_null())
    _unique(data, ["node_label"], "coverage_bars", "node label")
    if data.is_empty():
        return _no_data(title, "Data coverage bars: no data", L)
    n_of_m = L["n_of_m"].replace("{n}", "{}").replace("{m}", "{}")
    data = data.with_columns(
        pl.when(pl.col("n_children") > 0)
        .then(pl.col("n_present").cast(pl.Float64) / pl.col("n_children"))
        .alias("share"),
        pl.lit(1.0).alias("track"),
        pl.when(pl.col("n_children") > 0)
        .then(pl.format(n_of_m, pl.col("n_present").fill_null(0), pl.col("n_children")))
        .otherwise(pl.lit(L["no_indicators"]))
        .alias("cover_label"),
    )
    order = data["node_label"].to_list()
    y = alt.Y("node_label:N", sort=order, title=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip("node_label:N", title=L["node"]),
        alt.Tooltip("n_present:Q", title=L["present"]),
        alt.Tooltip("n_children:Q", title=L["in_node"]),
        alt.Tooltip("share:Q", title=L["coverage_share"], format=".0%"),
    ]
    base = alt.Chart(data).encode(y=y, tooltip=tooltip)
    x = alt.X(
        "share:Q",
        title=L["share_axis"],
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    track = base.mark_bar(color="#E6E6E6", height={"band": 0.7}).encode(x=alt.X("track:Q"))
    bar = base.mark_bar(color=HIGHLIGHT, height={"band": 0.7}).encode(x=x)
    text = base.mark_text(align="left", dx=6, color=_TEXT).encode(
        x=alt.X("track:Q"), text="cover_label:N"
    )
    return alt.layer(track, bar, text).properties(
        title=_title(title, L["coverage_subtitle"]),
        width=_WIDTH - 120,
        height=alt.Step(_STEP + 4),
        description=f"Bar chart of data coverage for {data.height} indices and focus areas.",
    )


def indicator_history(
    frame: Frame,
    city_id: str,
    *,
    city_name: str | None = None,
    title: Title | None = None,
    subtitle: str | None = None,
    columns: int = 4,
    labels: Mapping[str, str] | None = None,
) -> AnyChart:
    """Per indicator, the city's raw value against the peer median over the years: small
    multiples, each on its own scale (units differ), the city solid blue, the median dashed grey.

    Args:
        frame: one row per indicator × series × year; columns ``indicator_name`` (the panel
            header; a newline starts a new line, e.g. before the unit), ``year``, ``series``
            (``"city"`` or ``"peer median"``), ``value``.
        city_id: the city the ``"city"`` series belongs to.
        city_name: its legend label; defaults to ``city_id``.
        columns: panels per row.
    """
    L = _labels(labels)
    title = title or L["history"]
    data = _prepare(frame, ["indicator_name", "year", "series", "value"], "indicator_history")
    data = data.filter(pl.col("year").is_not_null() & pl.col("indicator_name").is_not_null())
    _unique(data, ["indicator_name", "series", "year"], "indicator_history", "panel × year")
    if data.is_empty() or data["value"].is_null().all():
        return _no_data(title, "Indicator history: no data", L)
    who = city_name or city_id
    data, colour, dash = _series(data.rename({"value": "score"}), who, L)
    years = sorted(data["year"].unique().to_list())
    step = max(1, -(-len(years) // 4))
    ticks = [y for i, y in enumerate(years) if i % step == 0 or y == years[-1]]
    base = alt.Chart().encode(
        x=alt.X(
            "year:Q",
            title=None,
            scale=alt.Scale(domain=[years[0], years[-1]], nice=False, padding=6),
            axis=alt.Axis(format="d", values=ticks, labelAngle=0, labelOverlap=True),
        ),
        y=alt.Y("score:Q", title=None, scale=alt.Scale(zero=False), axis=alt.Axis(tickCount=3)),
        color=colour,
    )
    tooltip = [
        alt.Tooltip("indicator_name:N", title=L["indicator"]),
        alt.Tooltip("series_label:N", title=L["series"]),
        alt.Tooltip("year:O", title=L["year"]),
        alt.Tooltip("score:Q", title=L["value"], format=",.2~f"),
    ]
    lines = base.mark_line(strokeWidth=2).encode(strokeDash=dash)
    points = base.mark_point(filled=True, size=30).encode(tooltip=tooltip)
    panels = data["indicator_name"].unique(maintain_order=True).to_list()
    return (
        alt.layer(lines, points, data=data)
        .properties(width=170, height=90)
        .facet(
            facet=alt.Facet(
                "indicator_name:N",
                title=None,
                sort=panels,
                header=alt.Header(
                    labelLimit=180,
                    labelFontSize=11,
                    labelFontWeight=600,
                    labelLineHeight=13,
                    labelExpr="split(datum.label, '\\n')",  # lines the caller wrapped
                ),
            ),
            columns=columns,
        )
        .resolve_scale(y="independent")
        .properties(
            title=_title(title, subtitle or L["vs_median"].format(city=who)),
            description=f"Line charts of {len(panels)} indicators over the years, "
            f"{who} against the peer median.",
        )
    )


# ------------------------------------------------------------------------------------- helpers


def _prepare(
    frame: Frame, columns: Sequence[str], what: str, *, limit: bool = True
) -> pl.DataFrame:
    """Check size and columns, keep only ``columns``, make the values JSON-friendly.

    NaN becomes null (JSON has no NaN, and Vega treats null as missing) and enum/categorical
    columns become strings, so Altair's narwhals path gets plain types. ``limit=False`` for the
    builders that summarise a large group themselves (they embed summaries, never every row).
    """
    if isinstance(frame, pl.LazyFrame):
        frame = (frame.head(MAX_ROWS + 1) if limit else frame).collect()
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(
            f"{what}: expected a Polars DataFrame or LazyFrame, got {type(frame).__name__}"
        )
    if limit and frame.height > MAX_ROWS:
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


def _with_labels(data: pl.DataFrame, city_id: str, L: Mapping[str, str] = LABELS) -> pl.DataFrame:
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
        .otherwise(pl.lit(L["peers"]))
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


def _series(
    data: pl.DataFrame, who: str, L: Mapping[str, str] = LABELS
) -> tuple[pl.DataFrame, alt.Color, alt.StrokeDash]:
    """Series labels and their colour and dash: the city solid blue, medians dashed grey."""
    data = data.with_columns(
        pl.when(pl.col("series") == "city")
        .then(pl.lit(who))
        .when(pl.col("series") == "peer median")
        .then(pl.lit(L["peer_median"]))
        .otherwise(pl.col("series").fill_null("?"))
        .alias("series_label")
    )
    others = [
        s
        for s in data["series_label"].unique(maintain_order=True).to_list()
        if s not in (who, L["peer_median"])
    ]
    domain = [who, L["peer_median"], *others]
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


def _city_score_tooltip(L: Mapping[str, str]) -> list[alt.Tooltip]:
    """What hovering a city's bar says, the same in every ranking form."""
    return [
        alt.Tooltip("city_name:N", title=L["city"]),
        alt.Tooltip("city_id:N", title=L["id"]),
        alt.Tooltip("score:Q", title=L["score"], format=_SCORE_FORMAT),
        alt.Tooltip("rank:Q", title=L["rank"]),
    ]


def _median_rule(median: float, L: Mapping[str, str] = LABELS) -> list[alt.Chart]:
    """A dashed vertical rule at the peer median with its value written at the top."""
    text = L["peer_median_value"].format(value=_num(median, L))
    frame = pl.DataFrame({"median": [median], "text": [text]})
    base = alt.Chart(frame).encode(x=alt.X("median:Q"))
    rule = base.mark_rule(color=MEDIAN, strokeDash=[5, 3], strokeWidth=1.5).encode(
        tooltip=[alt.Tooltip("median:Q", title=L["peer_median"], format=_SCORE_FORMAT)]
    )
    text = base.mark_text(
        align="left", baseline="bottom", dx=4, dy=-2, color=MEDIAN, fontSize=11
    ).encode(text="text:N", y=alt.value(0))
    return [rule, text]


def _ranking_subtitle(
    data: pl.DataFrame,
    city_id: str,
    city: str | None,
    median: float | None,
    n: int,
    L: Mapping[str, str] = LABELS,
) -> str:
    parts = []
    row = data.filter(pl.col("city_id") == city_id)
    if city is None:
        parts.append(L["not_among"].format(city=city_id))
    elif row["score"][0] is None:
        parts.append(L["no_score"].format(city=city))
    else:
        rank = row["rank"][0]
        text = L["city_score"].format(city=city, score=_num(row["score"][0], L))
        parts.append(text + (", " + L["rank_of"].format(rank=rank, n=n) if rank else ""))
    if median is not None:
        parts.append(L["peer_median_value"].format(value=_num(median, L)))
    missing = data.height - n
    left = " " + L["left_out"].format(n=missing) if missing else ""
    parts.append(L["n_cities"].format(n=n) + left)
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


def _no_data(title: Title, description: str, L: Mapping[str, str] = LABELS) -> alt.Chart:
    """A chart that says "No data" where the chart would be, keeping the section's title."""
    return (
        alt.Chart(alt.Data(values=[{"message": L["no_data"]}]))
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
