"""Hostile text stays text in the report, whoever wrote it (issue 19).

The report is one HTML file made from text nobody at benchmarkkit wrote: the user's city names,
countries, indicator names and units, framework names, file names, the cells validation rejects
and the messages quoting them, and whatever a plugin registers. Every one of those fields gets a
payload of its own here (an ``<img onerror>``, an ``<svg onload>``, a ``</script>`` breakout, a
template expression, a ``javascript:`` URL), the real CLI writes two reports — a scored city with
a framework file, and a city without a score with a scorer plugin — and the test checks the HTML
as written (no browser needed) and the DOM as Chromium builds it, tooltips included: nothing
injected exists, no payload ran, and each payload reads as the text it is, escaped once (a
``&lt;`` on screen is text escaped twice).
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS

P = {
    "city": "<img src=x onerror=window.__pwned=1>",
    "city_2": '"><svg onload=window.__pwned=2>',
    "city_3": "</script><script>window.__pwned=3</script>",
    "city_4": '{{7*7}} <a href="javascript:window.__pwned=4">link</a>',
    "unscored_city": "<iframe src=javascript:window.__pwned=5></iframe>",
    "country": "<img src=x onerror=window.__pwned=6>",
    "indicator_name": "<img src=x onerror=window.__pwned=7>",
    "indicator_name_2": "javascript:window.__pwned=8",
    "unit": "<b onmouseover=window.__pwned=9>u</b>",
    "context_name": "<details open ontoggle=window.__pwned=10>",
    "context_unit": "${window.__pwned=11}",
    "framework_name": "<i onclick=window.__pwned=12>fw</i>",
    "framework_title": '"><img src=x onerror=window.__pwned=13>',
    "framework_node": "<svg><script>window.__pwned=14</script></svg>",
    "file": "<img src=x onerror=window.__pwned=15>",
    "cell": "<img src=x onerror=window.__pwned=16>",
    "unknown_indicator": "<svg onload=window.__pwned=17>",
    "plugin_file": "<img src=x onerror=window.__pwned=18>",
    "scorer_name": "<u onpointerenter=window.__pwned=19>s</u>",
    "scorer_title": "'><img src=x onerror=window.__pwned=20>",
    "scorer_node": "<math><mi xlink:href=javascript:window.__pwned=21>m</mi></math>",
    "section_name": '"><img src=x onerror=window.__pwned=22>',
    "chart_name": "'><img src=x onerror=window.__pwned=23>",
    "caption": "<img src=x onerror=window.__pwned=24>",
    "chart_title": "<img src=x onerror=window.__pwned=25>",
    "chart_label": "<img src=x onerror=window.__pwned=26>",
}
"""One payload per field a user or a plugin controls; the number says which field ran."""

VISIBLE = {
    "framework": {
        "city",
        "city_2",
        "city_3",
        "city_4",
        "country",
        "indicator_name",
        "indicator_name_2",
        "unit",
        "framework_title",
        "framework_node",
        "file",
        "cell",
        "unknown_indicator",
        "plugin_file",
        "caption",
    },
    "plugin": {
        "unscored_city",
        "country",
        "indicator_name",
        "unit",
        "context_name",
        "context_unit",
        "scorer_title",
        "scorer_node",
        "file",
        "plugin_file",
        "caption",
    },
}
"""Per report, the payloads shown as text (the others live in attributes, ids and charts)."""

PLUGIN = '''"""A scorer and a report section whose every text is hostile."""

import altair as alt
import polars as pl

from benchmarkkit import ReportSection, hookimpl
from benchmarkkit.io.framework import NODE_SCHEMA
from benchmarkkit.scorer import Framework, Pipeline, Scorer

P = {payloads!r}
PIPELINE = Pipeline(normalise="minmax:0,100", aggregate="arithmetic", reference="pooled")


def build(catalog, observations):
    name, node = P["scorer_name"], P["scorer_node"]
    rows = [
        {{"node": name, "name": P["scorer_title"], "level": 3}},
        {{"node": node, "name": node, "level": 2, "parent": name, "weight": 1.0}},
        *(
            {{"node": i, "name": i, "level": 1, "parent": node, "weight": 1.0, "direction": d}}
            for i, d in (("hx_a", 1), ("hx_b", -1), ("hx_c", 1))
        ),
    ]
    return Framework(name, pl.DataFrame(rows, schema=NODE_SCHEMA), P["scorer_title"], PIPELINE)


def charts(context):
    frame = pl.DataFrame({{"label": [P["chart_label"], "plain"], "value": [1.0, 2.0]}})
    chart = (
        alt.Chart(frame, title=P["chart_title"])
        .mark_bar()
        .encode(x="value:Q", y="label:N", tooltip=["label:N", "value:Q"])
    )
    return {{P["chart_name"]: chart}}


def render(context):
    return "<h2>A plugin's section</h2>" + context.chart(P["chart_name"], P["caption"])


@hookimpl
def register_scorers(register):
    register(Scorer(P["scorer_name"], build, P["scorer_title"], "hostile", PIPELINE))


@hookimpl
def register_report_sections(register):
    register(ReportSection(P["section_name"], 97, render, charts=charts))
'''


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _inputs(folder: Path) -> dict[str, Path]:
    """The hostile data file (named hostile too), indicator CSV, framework file and plugin."""
    indicators = folder / "indicators.csv"
    indicators.write_text(
        "id,name,unit,direction,focus_area,indices,bound_type,lower,upper,kind\n"
        f"hx_a,{_q(P['indicator_name'])},{_q(P['unit'])},1,area_a,hostile,soft,0,1000,\n"
        f"hx_b,{_q(P['indicator_name_2'])},{_q(P['unit'])},-1,area_a,hostile,soft,0,1000,\n"
        "hx_c,plain,%,1,area_b,hostile,soft,0,1000,\n"
        f"hx_ctx,{_q(P['context_name'])},{_q(P['context_unit'])},,,,soft,0,,context\n",
        encoding="utf-8",
    )
    rows = ["city_id,city_name,country,year,indicator,value"]
    names = [P["city"], P["city_2"], P["city_3"], P["city_4"], "Plain"]
    for i, name in enumerate(names):
        for year in (2022, 2023):
            for j, indicator in enumerate(("hx_a", "hx_b", "hx_c")):
                value = 10 + 3 * i + j + 2 * (year - 2022)
                rows.append(f"C{i},{_q(name)},{_q(P['country'])},{year},{indicator},{value}")
            rows.append(f"C{i},{_q(name)},{_q(P['country'])},{year},hx_ctx,{100 + i}")
    unscored = f"U9,{_q(P['unscored_city'])},{_q(P['country'])}"
    rows += [f"{unscored},{year},hx_ctx,{50 + year % 10}" for year in (2022, 2023)]
    rows.append(f"C0,{_q(P['city'])},{_q(P['country'])},2023,hx_a,{_q(P['cell'])}")
    rows.append(f"C1,{_q(P['city_2'])},{_q(P['country'])},2023,{_q(P['unknown_indicator'])},5")
    data = folder / f"{P['file']}.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    name, node = P["framework_name"], P["framework_node"]
    framework = folder / "framework.toml"
    framework.write_text(
        f"name = {name!r}\ntitle = {P['framework_title']!r}\n"
        f"[[node]]\nid = {name!r}\n"
        f"[[node]]\nid = {node!r}\nparent = {name!r}\n"
        f"[[node]]\nid = 'area_b'\nparent = {name!r}\n"
        f"[[indicator]]\nid = 'hx_a'\nparent = {node!r}\n"
        f"[[indicator]]\nid = 'hx_b'\nparent = {node!r}\n"
        "[[indicator]]\nid = 'hx_c'\nparent = 'area_b'\n",
        encoding="utf-8",
    )
    plugin = folder / f"{P['plugin_file']}.py"
    plugin.write_text(PLUGIN.format(payloads=P), encoding="utf-8")
    return {"data": data, "indicators": indicators, "framework": framework, "plugin": plugin}


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """Two reports by the real CLI, both with the plugin loaded: C0 (scored by the framework
    file) and U9 (no score: its first page says what the data hold for it and what it lacks,
    beside the plugin scorer's index)."""
    from click.testing import CliRunner

    from benchmarkkit.cli import main

    folder = tmp_path_factory.mktemp("hostile")
    given = _inputs(folder)
    common = ["--indicators", given["indicators"], "--peers", f"country:{P['country']}"]
    runs = {
        "framework": ["--framework", given["framework"], "--city", "C0", *common],
        "plugin": ["--city", "U9", *common],
    }
    out = {}
    for name, args in runs.items():
        path = folder / f"{name}.html"
        argv = ["--plugin", given["plugin"], "report", given["data"], *args, "--out", path]
        result = CliRunner().invoke(main, [str(a) for a in argv], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out[name] = path
    return out


class _Markup(HTMLParser):
    """The tags and attributes of an HTML file as a browser's tokenizer sees them (the inside
    of ``<script>`` and ``<style>`` is text to it, as it is to a browser)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]


def _markup(path: Path) -> _Markup:
    parser = _Markup()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


REPORT_TAGS = {
    "html", "head", "meta", "title", "style", "script", "body", "main", "section", "div",
    "h1", "h2", "h3", "p", "strong", "span", "ol", "ul", "li", "figure", "figcaption",
    "table", "tr", "th", "td", "code", "pre", "blockquote",
}  # fmt: skip
"""Every tag the report writes itself: anything else came from the data."""


@pytest.mark.parametrize("name", ["framework", "plugin"])
def test_the_html_as_written_holds_no_markup_from_the_data(reports, name):
    """No tag, attribute or script the payloads carry, before any browser runs it."""
    markup = _markup(reports[name])
    assert set(markup.tags) <= REPORT_TAGS, set(markup.tags) - REPORT_TAGS
    assert markup.tags.count("script") == 2  # the Vega bundle and the chart specs
    handlers = [a for a in markup.attributes if a[1].startswith("on")]
    assert handlers == []
    assert not [a for a in markup.attributes if a[1] in ("src", "href", "xlink:href")]


def test_a_rejected_cell_is_text_in_the_report(reports):
    """The rejected-rows table quotes the refused cell (and an unknown indicator id) as text:
    a non-numeric cell ``<img src=x onerror=…>`` must not reach the report as markup."""
    html = reports["framework"].read_text(encoding="utf-8")
    section = html[html.index('<section id="coverage">') :]
    section = section[: section.index("</section>")]
    assert P["cell"] not in section and P["unknown_indicator"] not in section
    assert escape(f"'{P['cell']}' is not a number") in section
    assert escape(f"unknown indicator '{P['unknown_indicator']}'") in section
    assert escape(P["file"]) in section  # the file the rows came from, named hostile too


INJECTED = """() => {
  const own = new Set(['MAIN', 'SECTION', 'DIV', 'H1', 'H2', 'H3', 'P', 'STRONG', 'SPAN', 'OL',
    'UL', 'LI', 'FIGURE', 'FIGCAPTION', 'TABLE', 'TBODY', 'TR', 'TH', 'TD', 'CODE', 'PRE',
    'BLOCKQUOTE', 'SCRIPT', 'STYLE']);
  const all = [...document.querySelectorAll('*')];
  return {
    pwned: typeof window.__pwned,
    handlers: all.filter(el => [...el.attributes].some(a => a.name.toLowerCase().startsWith('on')))
      .map(el => el.outerHTML.slice(0, 120)),
    links: [...document.querySelectorAll('[href], [src], [xlink\\\\:href]')]
      .map(el => el.outerHTML.slice(0, 120)),
    strange: [...document.body.querySelectorAll('*')]
      .filter(el => !el.closest('div.chart, #vg-tooltip-element') && !own.has(el.tagName))
      .map(el => el.tagName),
    svgOutside: [...document.querySelectorAll('svg')].filter(s => !s.closest('div.chart')).length,
    scripts: document.scripts.length,
  };
}"""

TEXTS = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode;
    if (node.parentElement.closest('script, style')) continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  return out;
}"""
"""Every text node of the page as written (not as CSS shows it: card labels are upper-cased),
the charts' SVG texts included."""

DRAWN = (
    "() => [...document.querySelectorAll('div.chart')].every("
    "el => el.querySelector('svg') || el.textContent.includes('could not'))"
)
ENTITIES = ("&lt;", "&gt;", "&quot;", "&amp;", "&#x27;", "&#39;")
HOVER = """() => {
  const out = [];
  for (const mark of document.querySelectorAll('div.chart svg [role="graphics-symbol"]')) {
    const r = mark.getBoundingClientRect();
    const at = {bubbles: true, clientX: r.x + r.width / 2, clientY: r.y + r.height / 2};
    mark.dispatchEvent(new PointerEvent('pointermove', at));
    mark.dispatchEvent(new MouseEvent('mousemove', at));
    const tip = document.getElementById('vg-tooltip-element');
    if (tip && tip.classList.contains('visible'))
      out.push([tip.textContent, tip.querySelectorAll('*:not(table, tbody, tr, td)').length]);
  }
  return out;
}"""
"""The pointer over every mark of every chart, in turn (events dispatched to each, which Vega
handles as a real pointer's: one call, not a round trip per mark); the tooltip each shows, as
its text and its count of elements other than Vega's own table."""


def _seen(page, path: Path) -> dict:
    """Open a report with the network blocked; hover its marks for their tooltips; the DOM's
    texts and anything that looks injected."""
    requests, errors = [], []
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url == path.as_uri()
            else (requests.append(route.request.url), route.abort())
        ),
    )
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(path.as_uri())
    page.wait_for_function(DRAWN, timeout=30_000)
    return {
        "tips": page.evaluate(HOVER),
        "injected": page.evaluate(INJECTED),
        "texts": page.evaluate(TEXTS),
        "requests": requests,
        "errors": errors,
        "charts": page.eval_on_selector_all("div.chart", "els => els.map(e => e.dataset.chart)"),
    }


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_hostile_text_stays_text_in_the_browser(reports):
    """In Chromium: no payload ran (``window.__pwned`` unset), no element or attribute they
    carry exists — tooltips included, where Vega writes HTML — and each reads as itself."""
    from playwright.sync_api import sync_playwright

    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name, path in reports.items():
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            seen[name] = _seen(page, path)
            page.close()
        browser.close()
    for name, got in seen.items():
        injected = got["injected"]
        assert injected["pwned"] == "undefined", name
        assert injected["handlers"] == [] and injected["links"] == [], (name, injected)
        assert injected["strange"] == [] and injected["svgOutside"] == 0, (name, injected)
        assert injected["scripts"] == 2, name
        assert got["requests"] == [] and got["errors"] == [], (name, got)
        assert P["chart_name"] in got["charts"], name  # the plugin's chart drew, by its name
        assert any(text for text, _ in got["tips"]), name  # hovering showed tooltips
        assert all(elements == 0 for _, elements in got["tips"]), (name, got["tips"])
        texts = got["texts"] + [text for text, _ in got["tips"]]
        escaped_twice = [t for t in texts if any(e in t for e in ENTITIES)]
        assert escaped_twice == [], (name, escaped_twice)
        shown = "\n".join(got["texts"])
        missing = sorted(k for k in VISIBLE[name] if P[k] not in shown)
        assert missing == [], (name, missing)
