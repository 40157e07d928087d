"""Report rendering, pinned down where mutation testing found it loose (TESTING.md).

The page is assembled from real sections and a real language; the embedded specs are rounded and
renamed by content; the JSON cannot close its ``<script>``. Expected values are worked out by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarkkit.reporting import render
from benchmarkkit.reporting.sections import Language, ReportContext, ReportSection


def test_cache_dir_prefers_its_own_variable_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("BENCHMARKKIT_CACHE", str(tmp_path / "own"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert render.cache_dir() == tmp_path / "own"
    monkeypatch.setenv("BENCHMARKKIT_CACHE", "")
    assert render.cache_dir() == tmp_path / "xdg" / "benchmarkkit"
    monkeypatch.delenv("BENCHMARKKIT_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert render.cache_dir() == tmp_path / "home" / ".cache" / "benchmarkkit"


def test_floats_keep_twelve_significant_digits_everywhere():
    spec = {"a": 0.1 + 0.2, "b": [1 / 3, {"c": 123456.7890123456}], "n": 7, "s": "x", "t": True}
    assert render._rounded(spec) == {
        "a": 0.3,
        "b": [0.333333333333, {"c": 123456.789012}],
        "n": 7,
        "s": "x",
        "t": True,
    }
    assert math.isnan(render._rounded(math.nan))
    assert render._rounded(math.inf) == math.inf


def test_datasets_are_named_after_their_rounded_rows():
    rows = [{"v": 0.1 + 0.2}]
    spec = {
        "datasets": {"data-old": rows, "keep": []},
        "data": {"name": "data-old"},
        "layer": [{"data": {"name": "data-old"}}, {"data": {"name": "other"}}],
    }
    new = "data-" + render.hashlib.md5(b'[{"v":0.3}]', usedforsecurity=False).hexdigest()
    empty = "data-" + render.hashlib.md5(b"[]", usedforsecurity=False).hexdigest()
    assert render.stable_spec(spec) == {
        "datasets": {new: [{"v": 0.3}], empty: []},
        "data": {"name": new},
        "layer": [{"data": {"name": new}}, {"data": {"name": "other"}}],
    }
    # the same rows up to the last bit: the same name
    again = {"datasets": {"data-x": [{"v": 0.30000000000000004}]}, "data": {"name": "data-x"}}
    assert render.stable_spec(again)["data"] == {"name": new}
    # the rows' keys in another order: the same name
    one = render.stable_spec({"datasets": {"d": [{"a": 1, "b": 2}]}})
    two = render.stable_spec({"datasets": {"d": [{"b": 2, "a": 1}]}})
    assert list(one["datasets"]) == list(two["datasets"])
    # no datasets: only rounded
    assert render.stable_spec({"mark": "bar", "v": 1 / 3}) == {"mark": "bar", "v": 0.333333333333}
    assert render.stable_spec({"datasets": "not a mapping"}) == {"datasets": "not a mapping"}
    assert render.stable_spec([0.1 + 0.2]) == [0.3]


def test_renaming_leaves_other_keys_and_names_alone():
    names = {"a": "A"}
    value = {"a": "a", "name": "a", 3: "a", "x": [{"name": "b"}, "a"]}
    assert render._renamed(value, names) == {
        "A": "a",
        "name": "A",
        3: "a",
        "x": [{"name": "b"}, "a"],
    }


def test_json_for_script_cannot_close_the_tag():
    text = render._json_for_script({"b": "</script><!--x", "a": "é"})
    assert text == '{"a":"é","b":"<\\/script><\\!--x"}'


@pytest.fixture
def bundle(monkeypatch):
    monkeypatch.setattr(render, "vega_bundle", lambda: "/*vega*/")


def test_a_standalone_chart_page(bundle):
    page = render.standalone_chart_html({"mark": "</b>"})
    assert page.splitlines() == [
        "<!DOCTYPE html>",
        "<html>",
        "<head>",
        '<meta charset="utf-8">',
        "<script>/*vega*/</script>",
        "</head>",
        "<body>",
        '<div class="chart" data-chart="chart"></div>',
        *f'<script>var BK_SPECS = {{"chart":{{"mark":"<\\/b>"}}}};{render.DRAW}</script>'.split(
            "\n"
        ),
        "</body>",
        "</html>",
    ]
    assert page.endswith("</html>\n")


def _context(charts: dict) -> ReportContext:
    lang = Language(code="v&i", texts={"report_title": "Report: {city} {year}"})
    return ReportContext(
        city_id="X",
        city_name="<b>Đà Nẵng</b>",
        year=2023,
        previous_year=None,
        peers=(),
        peer_spec="all",
        lang=lang,
        comparison=None,
        charts=charts,
        audit={},
        rejected=None,
        warnings=None,
    )


def test_a_report_page_orders_sections_and_embeds_rounded_specs(bundle):
    sections = [
        ReportSection("z-last", 2, lambda c: "<p>two</p>"),
        ReportSection("b", 1, lambda c: "<p>one-b</p>"),
        ReportSection("a", 1, lambda c: "<p>one-a</p>"),
        ReportSection("empty", 0, lambda c: ""),
        ReportSection('q"x', 3, lambda c: "<p>q</p>"),
    ]
    page = render.render_html(_context({"c": {"v": 0.1 + 0.2}}), sections)
    css = (Path(render.files("benchmarkkit_reports") / "style.css")).read_text(encoding="utf-8")
    assert page == "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="v&amp;i">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>Report: &lt;b&gt;Đà Nẵng&lt;/b&gt; 2023</title>",
            f"<style>{css}</style>",
            "<script>/*vega*/</script>",
            "</head>",
            "<body>",
            "<main>",
            '<section id="a"><p>one-a</p></section>',
            '<section id="b"><p>one-b</p></section>',
            '<section id="z-last"><p>two</p></section>',
            '<section id="q&quot;x"><p>q</p></section>',
            "</main>",
            f'<script>var BK_SPECS = {{"c":{{"v":0.3}}}};{render.DRAW}</script>',
            "</body>",
            "</html>",
            "",
        ]
    )
