"""One self-contained HTML file: CSS inline, chart specs embedded, the Vega bundle inlined once.

The report must open on a mayor's laptop with no network: nothing is loaded from a URL. The
Vega/Vega-Lite/vega-embed JavaScript comes from vl-convert (shipped as a Python wheel), once per
file however many charts there are; each chart's spec is embedded as JSON and drawn on load.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
import os
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarkkit.reporting.sections import ReportContext, esc

if TYPE_CHECKING:
    from collections.abc import Iterable

    from benchmarkkit.reporting.sections import ReportSection

VL_VERSION = "6.4"


def cache_dir() -> Path:
    """Where derived, re-creatable files live: ``$BENCHMARKKIT_CACHE``, else
    ``$XDG_CACHE_HOME/benchmarkkit``, else ``~/.cache/benchmarkkit``."""
    own = os.environ.get("BENCHMARKKIT_CACHE")
    if own:
        return Path(own)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "benchmarkkit"


@functools.cache
def vega_bundle() -> str:
    """The Vega + Vega-Lite + vega-embed JavaScript, safe inside ``<script>``.

    vl-convert builds it in about 2 s (more on a busy machine) — half of a whole report — and it
    depends only on vl-convert's version and the Vega-Lite version, so it is kept on disk under
    that name and rebuilt when either changes. The cache is an optimisation only: unreadable,
    unwritable or damaged, it is ignored and the bundle is built as before (same bytes).
    """
    version = importlib.metadata.version("vl-convert-python")
    path = cache_dir() / f"vega-bundle-vlconvert{version}-vl{VL_VERSION}.js"
    try:
        cached = path.read_text(encoding="utf-8")
        if cached.endswith(_END) and "vegaEmbed" in cached:
            return cached[: -len(_END)]
    except (OSError, UnicodeDecodeError):
        pass
    import vl_convert

    bundle = vl_convert.javascript_bundle(vl_version=VL_VERSION).replace("</script", "<\\/script")
    from benchmarkkit.errors import BenchmarkkitError
    from benchmarkkit.io.export import atomic_write

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: tmp.write_text(bundle + _END, encoding="utf-8"))
    except (OSError, BenchmarkkitError):  # a cache that cannot be written is only slower
        pass
    return bundle


_END = "\n/* benchmarkkit: complete */\n"
"""Marks a cache file as whole (a crash mid-write can't leave a truncated bundle in use)."""


SIGNIFICANT = 12
"""Digits kept of every number embedded in a chart. The engine's sums may differ in the last
bit between runs (Polars' parallel reductions), and a chart needs a dozen digits at most; at 12
a report's bytes are the same every run (a value would have to sit within 1e-16 of a rounding
boundary to flip)."""


def stable_spec(spec: Any) -> Any:
    """``spec`` with every float rounded to ``SIGNIFICANT`` digits and each inline dataset
    renamed after its rounded content (Altair names datasets by a hash of the unrounded rows,
    so a last-bit difference would rename them and reorder the JSON)."""
    rounded = _rounded(spec)
    if not isinstance(rounded, dict) or not isinstance(rounded.get("datasets"), dict):
        return rounded
    names = {
        old: "data-"
        + hashlib.md5(
            json.dumps(rows, sort_keys=True, separators=(",", ":")).encode(), usedforsecurity=False
        ).hexdigest()
        for old, rows in rounded["datasets"].items()
    }
    return _renamed(rounded, names)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT}g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """Every reference to a dataset (its key in ``datasets``, ``{"name": …}``) renamed."""
    if isinstance(value, dict):
        return {
            names.get(k, k) if isinstance(k, str) else k: (
                names.get(v, v) if k == "name" and isinstance(v, str) else _renamed(v, names)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def _json_for_script(value: Any) -> str:
    """JSON safe inside <script>: no '</' can close the tag, whatever the data say."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


DRAW = """
document.querySelectorAll('div.chart[data-chart]').forEach(function (el) {
  var spec = BK_SPECS[el.getAttribute('data-chart')];
  vegaEmbed(el, spec, {actions: false, renderer: 'svg'}).catch(function (err) {
    el.textContent = 'chart could not be drawn: ' + err;
    console.error(err);
  });
});
"""


def render_html(context: ReportContext, sections: Iterable[ReportSection]) -> str:
    css = (files("benchmarkkit_reports") / "style.css").read_text(encoding="utf-8")
    body = []
    for section in sorted(sections, key=lambda s: (s.order, s.name)):
        fragment = section.render(context)
        if fragment:
            body.append(f'<section id="{esc(section.name)}">{fragment}</section>')
    lang = context.lang
    title = lang.t("report_title", city=context.city_name, year=context.year)
    specs = _json_for_script({name: stable_spec(spec) for name, spec in context.charts.items()})
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{esc(lang.code)}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            f"<style>{css}</style>",
            f"<script>{vega_bundle()}</script>",
            "</head>",
            "<body>",
            "<main>",
            *body,
            "</main>",
            f"<script>var BK_SPECS = {specs};{DRAW}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def standalone_chart_html(spec: dict[str, Any]) -> str:
    """One chart as a self-contained page (same offline rules as the report)."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            "<html>",
            "<head>",
            '<meta charset="utf-8">',
            f"<script>{vega_bundle()}</script>",
            "</head>",
            "<body>",
            '<div class="chart" data-chart="chart"></div>',
            f"<script>var BK_SPECS = {_json_for_script({'chart': spec})};{DRAW}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )
