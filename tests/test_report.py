"""The report as a person sees it: written by the real CLI, opened in headless Chromium with the
network blocked; every chart must have drawn marks, with no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, open_offline, write

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory):
    from click.testing import CliRunner

    from benchmarkkit.cli import main

    out = tmp_path_factory.mktemp("report")
    paths = {}
    for lang in ("en", "vi", "zh"):
        path = out / f"report-{lang}.html"
        result = CliRunner().invoke(
            main, ["report", "--lang", lang, "--out", str(path)], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        paths[lang] = path
    return paths


def test_report_is_self_contained(demo_reports):
    html = demo_reports["en"].read_text(encoding="utf-8")
    assert "<script src" not in html and "<link" not in html
    assert 'src="http' not in html and 'href="http' not in html
    assert html.count("vegaEmbed(") >= 1
    assert "Madrid" in html and "CC BY 4.0" in html


@pytest.mark.parametrize("lang", ["en", "vi", "zh"])
def test_every_embedded_spec_is_valid_vega_lite(demo_reports, lang):
    """The report embeds its specs unvalidated (for speed): check them here, as written, with
    the language's Vega format locale (numbers, and month names for vi and zh)."""
    import json

    from altair.utils.schemapi import validate_jsonschema
    from altair.vegalite.v6.schema.core import load_schema

    html = demo_reports[lang].read_text(encoding="utf-8")
    start = html.index("var BK_SPECS = ") + len("var BK_SPECS = ")
    specs = json.JSONDecoder().raw_decode(html, start)[0]
    assert len(specs) >= 5
    schema = load_schema()
    for name, spec in specs.items():
        validate_jsonschema(spec, schema)  # raises with the path of the first error
        assert spec.get("$schema", "").startswith("https://vega.github.io/schema/vega-lite/"), name


@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
@pytest.mark.parametrize("lang", ["en", "vi", "zh"])
def test_every_chart_renders_offline_in_chromium(demo_reports, lang):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests, errors = open_offline(page, demo_reports[lang])
        page.wait_for_function(
            "() => [...document.querySelectorAll('div.chart')].every("
            "el => el.querySelector('svg') || el.textContent.includes('could not'))",
            timeout=30_000,
        )
        charts = page.eval_on_selector_all(
            "div.chart",
            "els => els.map(el => ({name: el.dataset.chart, "
            "marks: el.querySelectorAll('svg .mark-rect path, svg .mark-symbol path, "
            "svg .mark-line path, svg .mark-text text, svg .mark-rule line, svg path').length}))",
        )
        page.screenshot(path=str(ARTIFACTS / f"report-{lang}.png"), full_page=True)
        browser.close()
    assert len(charts) >= 7, charts
    assert all(c["marks"] > 0 for c in charts), charts
    assert errors == []
    assert requests == []


def test_hostile_city_name_is_escaped(tmp_path, run):
    rows = ["city_id,city_name,country,year,indicator,value"]
    names = {"X1": "<script>alert(1)</script>", "X2": "Tom & \"Jerry\" 'town'", "X3": "Plain"}
    for i, (cid, name) in enumerate(names.items()):
        for ind, base in (
            ("life_expectancy", 70),
            ("homicides_per_100k", 5),
            ("unemployment_rate", 8),
            ("pm25_concentration", 20),
        ):
            quoted = '"' + name.replace('"', '""') + '"'
            rows.append(f"{cid},{quoted},ZZ,2023,{ind},{base + 3 * i}")
    data = write(tmp_path / "hostile.csv", "\n".join(rows) + "\n")
    out = tmp_path / "r.html"
    result = run("report", data, "--city", "X1", "--peers", "all", "--out", out)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--city", "Madird"], "did you mean"),
        (["--year", "1999"], "no index score in 1999"),
        (["--peers", "planet:Mars"], "error:"),
        (["--lang", "fr"], "no report language 'fr'"),
        (["--out", "report.pdf"], "must be an .html file"),
    ],
)
def test_report_bad_arguments(run, args, fragment):
    result = run("report", *args)
    assert result.exit_code != 0
    assert fragment in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("suffix", [".json", ".svg", ".png", ".html"])
def test_chart_command_writes_every_format(tmp_path, run, suffix):
    out = tmp_path / f"ranking{suffix}"
    result = run("chart", "ranking", "--index", "sustainability", "--out", out)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    if suffix == ".json":
        import json

        spec = json.loads(data)
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    elif suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    elif suffix == ".svg":
        assert b"<svg" in data
    else:
        assert b"<script src" not in data and b"BK_SPECS" in data


def test_batch_reports_one_file_per_city_with_safe_names(tmp_path, run):
    result = run("report", "--all", "--peers", "ids:ES001C,ES002C", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "ES001C-2023.html",
        "ES002C-2023.html",
    ]


def test_safe_filename_cannot_escape():
    from benchmarkkit.reporting.build import safe_filename

    assert safe_filename("../../etc/passwd") == "etc_passwd"
    assert safe_filename("/abs/path") == "abs_path"
    assert safe_filename("CON") == "city_CON"
    assert safe_filename("..") == "city"


def test_report_is_deterministic(tmp_path, run):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    assert run("report", "--out", a).exit_code == 0
    assert run("report", "--out", b).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
