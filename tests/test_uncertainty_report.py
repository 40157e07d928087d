"""How sure is the rank, as a reader meets it: ``compare --uncertainty`` and the report's
section say the same range for the same seed, the range holds the printed rank, the chart draws
in Chromium, and in Vietnamese the section is in Vietnamese."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, open_offline

SAMPLES = "24"


@pytest.fixture(scope="module")
def ranges():
    from click.testing import CliRunner

    from benchmarkkit.cli import main

    result = CliRunner().invoke(
        main, ["compare", "--no-levers", "--uncertainty", SAMPLES, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    return {r["scorer"]: r for r in rows if r["node"] == r["scorer"] and r["rank"] is not None}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    from click.testing import CliRunner

    from benchmarkkit.cli import main

    folder = tmp_path_factory.mktemp("uncertainty")
    out = {}
    for lang in ("en", "vi"):
        path = folder / f"{lang}.html"
        result = CliRunner().invoke(
            main, ["report", "--uncertainty", SAMPLES, "--lang", lang, "--out", str(path)]
        )
        assert result.exit_code == 0, result.output
        out[lang] = path
    return out


def _section(path) -> str:
    html = path.read_text(encoding="utf-8")
    start = html.index('<section id="uncertainty">')
    return html[start : html.index("</section>", start)]


def test_compare_and_the_report_give_the_same_range(ranges, reports):
    assert set(ranges) == {"competitiveness", "livability", "sustainability"}
    text = re.sub(r"<[^>]+>", " ", _section(reports["en"]))
    for scorer, row in ranges.items():
        assert row["rank_low"] <= row["rank"] <= row["rank_high"], row
        assert row["rank_samples"] == int(SAMPLES)
        title = scorer.capitalize()
        if row["rank_low"] == row["rank_high"]:
            said = f"{title}: rank {row['rank']} of {row['n_ranked']}, the same in every"
        else:
            said = (
                f"{title}: rank {row['rank']} of {row['n_ranked']}, between "
                f"{row['rank_low']} and {row['rank_high']} in 90 % of {SAMPLES} variations"
            )
        assert said in text, (said, text)


def test_the_section_is_translated(reports):
    text = _section(reports["vi"])
    assert "Thứ hạng này chắc chắn đến đâu?" in text and "How sure" not in text


def test_without_an_analysis_there_is_no_section(tmp_path, run):
    out = tmp_path / "r.html"
    assert run("report", "--out", out).exit_code == 0
    assert 'id="uncertainty"' not in out.read_text(encoding="utf-8")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_the_rank_ranges_draw_in_chromium(reports):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        open_offline(page, reports["en"])
        page.wait_for_function(
            "() => { const el = document.querySelector("
            "'div.chart[data-chart=\"uncertainty:ranks\"]');"
            " return el && el.querySelector('svg'); }",
            timeout=30_000,
        )
        marks = page.eval_on_selector(
            'div.chart[data-chart="uncertainty:ranks"]',
            "el => el.querySelectorAll('svg .mark-rule line, svg .mark-symbol path').length",
        )
        width = page.eval_on_selector(
            'div.chart[data-chart="uncertainty:ranks"] svg',
            "el => el.getBoundingClientRect().width",
        )
        browser.close()
    assert marks >= 2 * 3 * 10  # a bar and a dot per city of each index's group
    assert 0 < width <= 1280


def test_each_index_card_carries_its_range(ranges, reports):
    """The range is on the first page too: each scored card repeats the section's sentence."""
    html = reports["en"].read_text(encoding="utf-8")
    first = html[html.index('<div class="first-page">') : html.index('<section id="uncertainty">')]
    cards = re.findall(r'<p class="note range">([^<]*)</p>', first)
    assert len(cards) == len(ranges)
    for scorer, row in ranges.items():
        assert any(f"rank {row['rank']} of {row['n_ranked']}" in c for c in cards), (scorer, cards)
