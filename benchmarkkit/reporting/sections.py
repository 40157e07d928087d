"""What a report-section plugin registers, and the context every section renders from.

A section is a function of a frozen context → an HTML fragment. Sections never compute scores:
the context already holds the comparison, the chart specs and the audit trail, so a plugin adds a
page to the report without touching the engine. Everything from data goes through ``esc``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


class Html(str):
    """Text that is HTML already — a report sentence (``Language.t``), its values escaped — so
    that ``esc`` does not escape it a second time: a caption made with ``t`` and given to
    ``ReportContext.chart`` would otherwise show ``&lt;`` where the city's name has ``<``."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def esc(value: object) -> str:
    """Escape text from data (city and indicator names) — a city named <script> stays text.
    ``Html`` (anything with ``__html__``, as markupsafe's ``Markup``) is HTML already: as is."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True)
class Language:
    """A report language: fixed texts, number format, chart texts and the catalog's names.

    ``texts`` are the report's sentences (``t``), ``chart`` the chart builders' texts
    (``charts.LABELS`` keys), ``catalog`` indicator id → ``{"name": …}`` and ``units`` the
    catalog's English unit → this language's. Whatever a language file lacks falls back to
    English, never to a key."""

    code: str
    texts: Mapping[str, str]
    decimal: str = "."
    thousands: str = ","
    chart: Mapping[str, str] = field(default_factory=dict)
    catalog: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    time: Mapping[str, Any] = field(default_factory=dict)
    """A Vega time-format locale (``dateTime``, ``months`` …) for dates inside the charts."""

    def t(self, key: str, **values: Any) -> Html:
        """The fixed text for ``key`` as HTML, with ``{name}`` placeholders filled (values
        escaped): for the report's page. A chart's texts take ``text`` instead."""
        text = self.texts.get(key, key)
        return Html(text.format(**{k: esc(v) for k, v in values.items()}) if values else text)

    def text(self, key: str, **values: Any) -> str:
        """The fixed text for ``key`` as plain text, values as they are: for a chart's titles,
        subtitles and data, which Vega draws as SVG text and escapes in its tooltips itself
        (HTML-escaped there, a city named ``A&B`` would read ``A&amp;B``)."""
        text = self.texts.get(key, key)
        return text.format(**values) if values else text

    def num(self, value: float | None, digits: int = 1, signed: bool = False) -> str:
        """A number in this language's format: 1,234.5 (en) or 1.234,5 (vi)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        text = f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"
        return text.replace(",", "\x00").replace(".", self.decimal).replace("\x00", self.thousands)

    def chart_labels(self) -> dict[str, str]:
        return {**self.chart, "decimal": self.decimal, "thousands": self.thousands}

    def index_name(self, scorer: str, title: str | None = None) -> str:
        return self.texts.get(f"index_{scorer}") or title or scorer

    def node_name(self, node: str) -> str:
        return self.texts.get(f"fa_{node}") or self.texts.get(f"index_{node}") or node

    def indicator(self, indicator: str, name: str | None, unit: str | None) -> tuple[str, str]:
        """The indicator's name and unit in this language (the catalog's own otherwise)."""
        own = self.catalog.get(indicator, {})
        unit = own.get("unit") or self.units.get(unit or "", unit) or ""
        return (own.get("name") or name or indicator, unit)


@dataclass(frozen=True)
class ReportContext:
    city_id: str
    city_name: str
    year: int
    previous_year: int | None
    peers: tuple[str, ...]
    peer_spec: str
    lang: Language
    comparison: Any
    """benchmarkkit.analysis.compare.Comparison: summary, indicators, strengths, weaknesses and
    levers."""
    charts: Mapping[str, dict[str, Any]]
    """Chart name → Vega-Lite spec (dict), embedded by ``chart()``."""
    audit: Mapping[str, Any]
    rejected: Any
    warnings: Any
    scores: Any = None
    """The long scores frame of the run (every city, year, scorer and node), for sections that
    chart more than the comparison holds."""
    cities: Any = None
    """The cities table (names, population, context attributes)."""
    uncertainty: Any = None
    """Scorer → ``analysis.sensitivity.Sensitivity`` of the report's year: how much the ranks
    move when the uncertain choices (weights, normalisation, imputation …) vary; None when the
    report was made without it."""
    titles: Mapping[str, str] = field(default_factory=dict)
    """Scorer name → display title."""
    comparable: Mapping[str, bool] = field(default_factory=dict)
    """Scorer name → whether last year's score rests on the same indicators as this year's."""
    dataset: str | None = None
    """The embedded data set the report's data are (``demo``, ``ascn``), None for your own
    files: for the commands a report suggests (``--dataset ascn``)."""
    sources: tuple[str, ...] = ()
    """The data files the run read (beside the data set), as given: for those commands too."""
    catalog: Any = None
    """The indicator catalog the data were checked against (``id``, ``name``, ``unit``, ``set``
    …): what an indicator is and which indicator set it belongs to."""
    not_in_data: Mapping[str, str] = field(default_factory=dict)
    """Scorer name → title of every registered index the data hold none of the indicators of
    (skipped by ``score``): no city can have it on these data."""

    def chart(self, name: str, caption: str = "") -> str:
        """A chart container; the renderer embeds the spec and draws it with vega-embed."""
        if name not in self.charts:
            return ""
        cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
        return (
            f'<figure class="chart-box"><div class="chart" data-chart="{esc(name)}"></div>'
            f"{cap}</figure>"
        )


@dataclass(frozen=True)
class ReportSection:
    """A page of the report, as a plugin registers it with ``register_report_sections``.

    ``render(context) -> str`` returns the section's HTML. A section that draws declares its
    charts with ``charts(context) -> {name: chart}`` (Altair charts or Vega-Lite dicts): the host
    calls it first, themes and embeds every chart once, and ``render`` places one with
    ``context.chart(name)`` — so a section with its own charts is one file, and touches neither
    the built-in charts nor the renderer.
    """

    name: str
    order: int
    render: Callable[[ReportContext], str]
    charts: Callable[[ReportContext], Mapping[str, Any]] | None = None
    kind: Literal["report_section"] = field(default="report_section", init=False)


def guarded_sections(registry: Any) -> list[Any]:
    """The registered report sections, each rendering under the time limit; a section that fails
    is reported (``Registry.failed``) and left out of the report, the others still render."""
    from benchmarkkit.errors import BenchmarkkitError, PluginError
    from benchmarkkit.plugins import call_plugin, fix_hint

    out = []
    for name, section in registry.of("report_section").items():
        owner = registry.owner.get(("report_section", name), name)

        def render(context: Any, _section: Any = section, _owner: str = owner) -> str:
            doing = f"rendering report section '{_section.name}'"
            try:
                return call_plugin(_owner, doing, registry.timeout, _section.render, context)
            except BenchmarkkitError as err:
                if not isinstance(err, PluginError):
                    err = PluginError(_owner, f"{doing} failed ({err})", hint=fix_hint(_owner))
                registry.failed(err)
                return ""

        charts = None
        if section.charts is not None:

            def charts(context: Any, _section: Any = section, _owner: str = owner) -> Any:
                doing = f"drawing the charts of report section '{_section.name}'"
                try:
                    return call_plugin(_owner, doing, registry.timeout, _section.charts, context)
                except BenchmarkkitError as err:
                    if not isinstance(err, PluginError):
                        err = PluginError(_owner, f"{doing} failed ({err})", hint=fix_hint(_owner))
                    registry.failed(err)
                    return {}

        out.append(ReportSection(section.name, section.order, render, charts))
    return out
