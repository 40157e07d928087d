"""The report as a mayor's laptop shows it, in every language and at three widths (issue 11).

Each report is written by the real CLI and opened in headless Chromium (Debian's ``chromium``,
network blocked). At 1024, 1280 and 1920 px: every chart is drawn, nothing is wider than the
page, no two labels of one axis overlap (bounding boxes measured in the browser), and no "None",
"null" or "NaN" is visible. A non-English report may not show a text that the English report
shows, except codes, numbers and proper names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, open_offline

WIDTHS = (1024, 1280, 1920)
LANGS = ("en", "vi", "zh")
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]

VISIBLE_TEXTS = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode, el = node.parentElement;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (!text || el.closest('script, style, code, title, body [lang]')) continue;
    out.push(text);
  }
  return out;
}"""

MEASURE = """() => {
  const page = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('div.chart svg, table, .card')]
    .map(el => [el.closest('[data-chart]')?.dataset.chart || el.tagName,
                Math.round(el.getBoundingClientRect().right)])
    .filter(([_, right]) => right > page + 1);
  const overlaps = [];
  document.querySelectorAll('div.chart svg g.role-axis').forEach(axis => {
    const name = axis.closest('[data-chart]').dataset.chart;
    const boxes = [...axis.querySelectorAll('g.role-axis-label text')]
      .filter(t => t.textContent && getComputedStyle(t).opacity !== '0')
      .map(t => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, p] = boxes[i], [b, q] = boxes[j];
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 1 && h > 1) overlaps.push([name, a, b]);
    }
  });
  return {page, scroll: document.documentElement.scrollWidth, wide, overlaps};
}"""

A4_WIDTH, A4_HEIGHT = 703, 1017
"""An A4 page less the print stylesheet's margins (12 and 14 mm), in CSS pixels at 96 dpi."""
PRINTED = """() => ({
  first: document.querySelector('.first-page').getBoundingClientRect().height,
  wide: [...document.querySelectorAll('div.chart svg')]
    .map(s => [s.closest('[data-chart]').dataset.chart, s.getBoundingClientRect().width])
    .filter(([_, w]) => w > WIDTH + 1),
})""".replace("WIDTH", str(A4_WIDTH))

DRAWN = (
    "() => [...document.querySelectorAll('div.chart')].every("
    "el => el.querySelector('svg') || el.textContent.includes('could not'))"
)
MARKS = (
    "els => els.map(el => ({name: el.dataset.chart, marks: el.querySelectorAll("
    "'svg .mark-rect path, svg .mark-symbol path, svg .mark-line path, svg .mark-text text, "
    "svg .mark-rule line, svg path').length}))"
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    from click.testing import CliRunner

    from benchmarkkit.cli import main

    out = tmp_path_factory.mktemp("reports")
    made = {}
    cases = {lang: [] for lang in LANGS}
    cases["ljubljana"] = ["--city", "Ljubljana", "--peers", "similar:8"]
    for name, extra in cases.items():
        lang = name if name in LANGS else "en"
        path = out / f"{name}.html"
        result = CliRunner().invoke(
            main, ["report", "--lang", lang, *extra, "--out", str(path)], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        made[name] = path
    return made


@pytest.fixture(scope="module")
def seen(reports):
    """Per report: charts drawn, errors, visible texts, and the layout at each width."""
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name, path in reports.items():
            page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
            out[name] = _look(page, path)
            if name == "en":
                page.set_viewport_size({"width": 1280, "height": 900})
                box = page.locator(".first-page").bounding_box()
                page.screenshot(
                    path=str(tmp_path_first_page()),
                    clip={"x": 0, "y": 0, "width": 1280, "height": box["y"] + box["height"] + 16},
                )
            page.close()
        browser.close()
    return out


def _look(page, path: Path) -> dict:
    """Open a report with the network blocked; its charts, errors, texts, and its layout at
    each width and printed (A4)."""
    requests, errors = open_offline(page, path)
    page.wait_for_function(DRAWN, timeout=30_000)
    layout = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(50)
        layout[width] = page.evaluate(MEASURE)
    page.set_viewport_size({"width": A4_WIDTH, "height": 1000})
    page.emulate_media(media="print")
    printed = page.evaluate(PRINTED)
    page.emulate_media(media="screen")
    return {
        "printed": printed,
        "charts": page.eval_on_selector_all("div.chart", MARKS),
        "errors": errors,
        "requests": requests,
        "texts": page.evaluate(VISIBLE_TEXTS),
        "inner": page.inner_text("body"),
        "layout": layout,
    }


def tmp_path_first_page() -> Path:
    """The first page as a mayor sees it, 1280 px wide: ``tests/artifacts/first-page-en.png``
    (docs/report.png is a copy of it)."""
    folder = ROOT / "tests" / "artifacts"
    folder.mkdir(exist_ok=True)
    return folder / "first-page-en.png"


@pytest.mark.parametrize("name", [*LANGS, "ljubljana"])
def test_every_chart_draws_without_errors_or_network(seen, name):
    got = seen[name]
    assert len(got["charts"]) >= 9, got["charts"]
    assert all(c["marks"] > 0 for c in got["charts"]), got["charts"]
    assert got["errors"] == [] and got["requests"] == []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", [*LANGS, "ljubljana"])
def test_nothing_overflows_and_no_axis_labels_overlap(seen, name, width):
    layout = seen[name]["layout"][width]
    assert layout["scroll"] <= layout["page"] + 1, layout["wide"]
    assert layout["wide"] == []
    assert layout["overlaps"] == []


@pytest.mark.parametrize("name", [*LANGS, "ljubljana"])
def test_printed_the_first_page_fits_one_a4_page_and_charts_fit_its_width(seen, name):
    printed = seen[name]["printed"]
    assert printed["first"] <= A4_HEIGHT
    assert printed["wide"] == []


@pytest.mark.parametrize("name", [*LANGS, "ljubljana"])
def test_no_none_null_or_nan_is_visible(seen, name):
    assert not re.search(r"\b(None|null|NaN|nan|undefined)\b", seen[name]["inner"])


def test_ljubljana_with_similar_peers_never_ranks_first_of_one(seen):
    text = seen["ljubljana"]["inner"]
    assert not re.search(r"\b1 of 1\b", text)
    assert "a rank needs at least 3" in text


NUMERIC = re.compile(r"^[\s\d.,:;%+\-−–·→()/×%]*$")
ALLOWED = {"ASCN", "ID", "ES001C", "·", "–", "=", "▲▼", "▲", "▼"}


@pytest.mark.parametrize("lang", ["vi", "zh"])
def test_no_visible_text_is_left_in_english(seen, lang):
    """A text shown in the English report and, unchanged, in another language is untranslated —
    unless it is a number, a code or a proper name (the cities and the peer rule)."""
    english = set(seen["en"]["texts"])
    names = set(_city_names())
    left = sorted(
        t
        for t in set(seen[lang]["texts"]) & english
        if not NUMERIC.match(t) and t not in ALLOWED and t not in names and not _named(t, names)
    )
    assert left == []


def _named(text: str, names: set[str]) -> bool:
    """A list of city names (the named peers), or a city name and a number (a chart's
    "Madrid (greater city): 53.8")."""
    if all(part in names for part in text.split(", ")):
        return True
    return any(text.startswith(n) and NUMERIC.match(text[len(n) :]) for n in names)


def _city_names() -> list[str]:
    import benchmarkkit as bk

    cities = bk.load().cities
    return [n for n in cities["city_name"].drop_nulls().to_list()] + cities["city_id"].to_list()


def test_the_embedded_specs_use_the_languages_number_format(reports):
    html = reports["vi"].read_text(encoding="utf-8")
    start = html.index("var BK_SPECS = ") + len("var BK_SPECS = ")
    specs = json.JSONDecoder().raw_decode(html, start)[0]
    assert all(s["config"]["locale"]["number"]["decimal"] == "," for s in specs.values())


# ------------------------------------------------------------- large peer groups (issue 17)

FORMS = {"few": 11, "many": 495, "very_many": 9_999}
"""The three group sizes the chart forms are drawn at: the demo's Madrid with ``size:3``, with
``all`` the demo's cities in 2023, and a synthetic panel of 10,000 cities (docs/charts.md)."""

RANKING = """els => els.map(el => ({
  name: el.dataset.chart,
  bars: el.querySelectorAll('svg .mark-rect path').length,
  text: el.textContent,
}))"""


@pytest.fixture(scope="module")
def large(tmp_path_factory, reports):
    """The few / many / very many peers reports: the demo's English report, the demo with
    ``--peers all``, and ``bk.report(..., peers="all")`` on 10,000 synthetic cities."""
    from click.testing import CliRunner

    import benchmarkkit as bk
    from benchmarkkit.cli import main
    from tests.test_large_groups import synthetic_scores

    out = tmp_path_factory.mktemp("large")
    many = out / "many.html"
    args = ["report", "--city", "ES001C", "--year", "2023", "--peers", "all", "--out", str(many)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    very_many = out / "very_many.html"
    bk.report(synthetic_scores(10_000), city="SYN00001", peers="all", out=very_many)
    return {"few": reports["en"], "many": many, "very_many": very_many}


@pytest.fixture(scope="module")
def large_seen(large):
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name, path in large.items():
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests, errors = open_offline(page, path)
            page.wait_for_function(DRAWN, timeout=60_000)
            layout = {}
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_timeout(50)
                layout[width] = page.evaluate(MEASURE)
            page.set_viewport_size({"width": 1280, "height": 900})
            if name == "many":
                _screenshot_peers_all(page)
            out[name] = {
                "charts": page.eval_on_selector_all("div.chart", MARKS),
                "ranking": page.eval_on_selector_all("div.chart[data-chart^='ranking:']", RANKING),
                "errors": errors,
                "requests": requests,
                "layout": layout,
                "inner": page.inner_text("body"),
            }
            page.close()
        browser.close()
    return out


def _screenshot_peers_all(page) -> None:
    """``report --peers all`` on the demo, from the focus-area heatmap to the last ranking
    chart, 1280 px wide: ``tests/artifacts/report-all.png`` (docs/report-all.png is a copy)."""
    top = page.locator("section#profile").bounding_box()
    last = page.locator("div.chart[data-chart^='ranking:']").last.bounding_box()
    folder = ROOT / "tests" / "artifacts"
    folder.mkdir(exist_ok=True)
    page.screenshot(
        path=str(folder / "report-all.png"),
        full_page=True,
        clip={
            "x": 0,
            "y": top["y"],
            "width": 1280,
            "height": last["y"] + last["height"] - top["y"],
        },
    )


@pytest.mark.parametrize("form", list(FORMS))
def test_every_chart_of_every_form_draws_fits_and_keeps_labels_apart(large_seen, form):
    got = large_seen[form]
    assert len(got["charts"]) >= 9 and all(c["marks"] > 0 for c in got["charts"]), got["charts"]
    assert got["errors"] == [] and got["requests"] == []
    for width, layout in got["layout"].items():
        assert layout["scroll"] <= layout["page"] + 1, (width, layout["wide"])
        assert layout["wide"] == [] and layout["overlaps"] == [], width
    assert not re.search(r"\b(None|null|NaN|nan|undefined)\b", got["inner"])


@pytest.mark.parametrize("form", list(FORMS))
def test_the_ranking_is_one_bar_per_city_for_few_peers_and_a_histogram_for_many(large_seen, form):
    from benchmarkkit.reporting.charts import BINS

    for chart in large_seen[form]["ranking"]:
        n = int(re.search(r"rank \d+ of (\d+)", chart["text"]).group(1))
        if form == "few":
            assert chart["bars"] == n  # one bar per city, each named on the axis
        else:
            assert n > 30 and chart["bars"] <= BINS + 5  # the peers' bins, the named cities
    assert (f"{FORMS[form]} peer cities" in large_seen[form]["inner"]) is True


# ------------------------------------------- a city with data but no index score (issue 18)

DA_NANG = ["--dataset", "ascn", "--city", "VN_DA_NANG", "--peers", "network:ASCN"]


@pytest.fixture(scope="module")
def unscored(tmp_path_factory):
    """Da Nang on the UN data, in en, vi and zh — the issue's exact command for vi — opened
    like every report; the Vietnamese first page is ``tests/artifacts/report-ascn-vi.png``
    (docs/report-ascn-vi.png is a copy of it)."""
    from click.testing import CliRunner
    from playwright.sync_api import sync_playwright

    from benchmarkkit.cli import main

    folder = tmp_path_factory.mktemp("unscored")
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for lang in LANGS:
            path = folder / f"da-nang-{lang}.html"
            args = ["report", *DA_NANG, "--lang", lang, "--out", str(path)]
            result = CliRunner().invoke(main, args, catch_exceptions=False)
            assert result.exit_code == 0, result.output
            page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
            out[lang] = _look(page, path)
            if lang == "vi":
                page.set_viewport_size({"width": 1280, "height": 900})
                box = page.locator(".first-page").bounding_box()
                shot = ROOT / "tests" / "artifacts"
                shot.mkdir(exist_ok=True)
                page.screenshot(
                    path=str(shot / "report-ascn-vi.png"),
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": 1280, "height": box["y"] + box["height"] + 16},
                )
            page.close()
        browser.close()
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_a_city_without_a_score_draws_fits_and_prints_on_one_page(unscored, lang):
    """The peers' charts are drawn (ranking, focus areas, indicators, coverage), nothing is
    wider than the page or overlaps at any width, and the first page is one A4 page."""
    got = unscored[lang]
    assert len(got["charts"]) >= 4 and all(c["marks"] > 0 for c in got["charts"]), got["charts"]
    assert got["errors"] == [] and got["requests"] == []
    for width, layout in got["layout"].items():
        assert layout["scroll"] <= layout["page"] + 1, (width, layout["wide"])
        assert layout["wide"] == [] and layout["overlaps"] == [], width
    assert got["printed"]["first"] <= A4_HEIGHT and got["printed"]["wide"] == []
    assert not re.search(r"\b(None|null|NaN|nan|undefined)\b(?! with enough)", got["inner"])


def test_a_city_without_a_score_says_so_first(unscored):
    first = {lang: got["inner"] for lang, got in unscored.items()}
    assert "No index score for Da Nang (Đà Nẵng)." in first["en"]
    assert "Đà Nẵng chưa có điểm chỉ số nào." in first["vi"]  # its own name, in Vietnamese
    assert "Da Nang (Đà Nẵng)没有任何指数得分。" in first["zh"]
    assert "--set ascn --city VN_DA_NANG --year 2020 --lang vi --out da-nang.xlsx" in first["vi"]
    assert not re.search(r"\brank \d+ of\b", first["en"])


@pytest.mark.parametrize("lang", ["vi", "zh"])
def test_a_city_without_a_score_leaves_nothing_in_english(unscored, lang):
    """As for every report: a text the English report shows, unchanged in another language,
    is untranslated — unless it is a number, a code or a city's name."""
    import benchmarkkit as bk

    cities = bk.load(dataset="ascn").cities
    names = {
        n for c in ("city_id", "city_name", "name_local") for n in cities[c].drop_nulls().to_list()
    }
    names |= {  # the report's own form: "Da Nang (Đà Nẵng)"
        f"{n} ({local})"
        for n, local in cities.select("city_name", "name_local").drop_nulls().iter_rows()
    }
    english = set(unscored["en"]["texts"])
    left = sorted(
        t
        for t in set(unscored[lang]["texts"]) & english
        if not NUMERIC.match(t) and t not in ALLOWED and t not in names and not _named(t, names)
    )
    assert left == []
