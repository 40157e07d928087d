"""A city with data but no index score in any year: Da Nang on the embedded UN data (issue 18).

The UN files hold only Da Nang's population, so no index can be scored for it. ``report``,
``compare`` and ``chart`` answer anyway, and honestly: every index "not scored", where the ASCN
peers stand, what the data do hold for Da Nang (each value with its UN file and row), which
indicators it would need and the ``benchmarkkit template`` command that makes its sheet —
nothing estimated. A city with no data at all is still an error. The browser half (drawn, fits,
one A4 page, nothing left in English) is in ``test_report_browser.py``."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from click.testing import CliRunner

from benchmarkkit.cli import main

COMMAND = ["--dataset", "ascn", "--city", "VN_DA_NANG", "--peers", "network:ASCN"]
TEMPLATE = (
    "benchmarkkit template --set ascn --city VN_DA_NANG --year 2020 --lang vi --out da-nang.xlsx"
)


def cli(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The issue's exact command, and the same report in English and Chinese."""
    out = tmp_path_factory.mktemp("da-nang")
    made = {}
    for lang in ("vi", "en", "zh"):
        path = out / f"da-nang-{lang}.html"
        result = cli("report", *COMMAND, "--lang", lang, "--out", path)
        assert result.exit_code == 0, result.output
        made[lang] = (result, path.read_text(encoding="utf-8"))
    return made


@pytest.fixture(scope="module")
def ascn():
    import benchmarkkit as bk

    return bk.score(bk.load(dataset="ascn"))


def text(html: str) -> str:
    """The report's visible text, roughly: tags and the embedded scripts dropped."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_the_issues_command_writes_the_vietnamese_report(reports):
    result, html = reports["vi"]
    assert "report for Da Nang (VN_DA_NANG), 2020 written to" in result.stdout
    assert "World Urbanization Prospects" in result.stdout  # the licence's credit line
    seen = text(html)
    assert 'lang="vi"' in html
    assert "Đà Nẵng chưa có điểm chỉ số nào." in seen  # its own name, in Vietnamese
    assert "chưa tính điểm" in seen and "không có trong dữ liệu này" in seen
    assert TEMPLATE in seen  # the exact command that makes Da Nang's data-entry sheet
    assert (
        "benchmarkkit report da-nang.xlsx --dataset ascn --city VN_DA_NANG --peers network:ASCN "
        "--lang vi" in seen
    )
    assert not re.search(r"\b(None|null|NaN|nan)\b", seen)


def test_nothing_is_estimated_for_the_city(reports, ascn):
    """No score, rank or gap of Da Nang anywhere: its cards say "–", no chart holds a mark of
    it, and no lever or strength is claimed."""
    _, html = reports["en"]
    seen = text(html)
    assert "No index score for Da Nang (Đà Nẵng)." in seen
    assert re.search(r"SUSTAINABILITY|Sustainability – not scored", seen, re.I)
    assert "rank" not in seen.split("What the data can say")[1].split("What the data hold")[0]
    specs = embedded_specs(html)
    for name, spec in specs.items():
        assert "VN_DA_NANG" not in json.dumps(spec.get("datasets", {})), name
    assert "no index has a score and enough peers" in seen  # the levers say why there are none


def test_the_peers_standing_is_compares_own_numbers(reports, ascn):
    """The card's peer median, count and range are ``compare``'s, in the report's format."""
    import benchmarkkit as bk

    comparison = bk.compare(ascn, city="VN_DA_NANG", peers="network:ASCN")
    assert comparison.scored is False and comparison.year == 2020
    row = comparison.summary.filter(pl.col("node") == "sustainability").row(0, named=True)
    assert (row["status"], row["score"], row["rank"]) == ("not scored", None, None)
    assert (row["n_present"], row["n_indicators"], row["n_peers"]) == (0, 4, 21)
    scores = comparison.group.filter(
        (pl.col("node") == "sustainability") & (pl.col("city_id") != "VN_DA_NANG")
    )["score"]
    assert scores.len() == row["n_peers"]
    en, vi = text(reports["en"][1]), text(reports["vi"][1])
    assert (
        f"21 of the 25 peers are scored: median {row['peer_median']:.1f}, from "
        f"{scores.min():.1f} to {scores.max():.1f} (Singapore)" in en
    )
    assert f"trung vị {row['peer_median']:.1f}".replace(".", ",") in vi
    assert "a score needs at least 2" in en and comparison.needed == {"sustainability": 2}


def test_the_context_is_the_un_files_own_value_and_row(reports, ascn):
    """Population 2020 as WUP 2018 gives it (a projection), with the file and row it comes
    from; growth beside the peers' median and range."""
    import benchmarkkit as bk

    comparison = bk.compare(ascn, city="VN_DA_NANG", peers="network:ASCN")
    context = {r["indicator"]: r for r in comparison.context.iter_rows(named=True)}
    assert set(context) == {
        "agglomeration_population",
        "population_growth_5y",
        "population_growth_10y",
    }
    pop = context["agglomeration_population"]
    source = ascn.loaded.observations.filter(
        (pl.col("city_id") == "VN_DA_NANG")
        & (pl.col("year") == 2020)
        & (pl.col("indicator") == "agglomeration_population")
    ).row(0, named=True)
    assert (pop["value"], pop["source"], pop["row"]) == (
        source["value"],
        source["source"],
        source["row"],
    )
    assert "projected" in pop["flag"]
    vi = text(reports["vi"][1])
    assert f"{pop['value']:,.0f}".replace(",", ".") in vi  # 1.125.316
    assert f"{pop['source']}:{pop['row']}" in vi
    assert "các giá trị mới nhất là số dự báo" in vi


def test_every_index_is_said_supported_or_not(reports):
    """Sustainability is in the data (not scored for Da Nang); livability and competitiveness
    are in no city's data: each index has its card, in every language."""
    for lang, (_, html) in reports.items():
        cards = re.findall(r'<div class="card" data-scorer="(\w+)"', html)
        assert sorted(cards) == ["competitiveness", "livability", "sustainability"], lang
    en = text(reports["en"][1])
    assert en.count("not in these data") == 2
    assert "benchmarkkit indicators --index livability" in en
    zh = text(reports["zh"][1])
    assert "没有任何指数得分" in zh and "未计分" in zh and "不在本数据中" in zh


def test_the_needed_indicators_are_the_frameworks_the_city_lacks(reports):
    en = text(reports["en"][1])
    assert "What Da Nang (Đà Nẵng) would need to report" in en
    for indicator in (
        "open_space_share",
        "open_space_access",
        "green_area_share",
        "green_area_per_capita",
    ):
        assert indicator in en
    assert TEMPLATE.replace("--lang vi", "--lang en") in en


def test_compare_and_chart_answer_too(tmp_path):
    compared = cli("compare", *COMMAND, "--format", "json")
    assert compared.exit_code == 0, compared.output
    rows = json.loads(compared.stdout)
    index = next(r for r in rows if r["node"] == "sustainability")
    assert (index["status"], index["score"], index["n_peers"]) == ("not scored", None, 21)
    table = cli("compare", *COMMAND)
    assert table.exit_code == 0 and "Da Nang (VN_DA_NANG), 2020: 25 peers" in table.stdout
    for kind in ("ranking", "heatmap", "strip", "coverage"):
        out = tmp_path / f"{kind}.json"
        drawn = cli("chart", kind, *COMMAND, "--index", "sustainability", "--out", out)
        assert drawn.exit_code == 0, (kind, drawn.output)
        assert "VN_DA_NANG" not in json.dumps(json.loads(out.read_text()).get("datasets", {}))


def test_a_city_with_no_data_at_all_is_still_an_error():
    """Battambang is an ASCN city below WUP's threshold and in neither UN-Habitat file."""
    refused = cli("report", "--dataset", "ascn", "--city", "KH_BATTAMBANG", "--out", "x.html")
    assert refused.exit_code == 2
    assert "city 'KH_BATTAMBANG' has no data in any year" in refused.stderr
    wrong_year = cli("compare", *COMMAND, "--year", "2021")
    assert wrong_year.exit_code == 2
    assert "'VN_DA_NANG' has no data in 2021" in wrong_year.stderr


def test_an_earlier_year_without_scored_peers_says_so(tmp_path):
    """In 2015 Da Nang has its population but no ASCN city has an index: the card says there
    are too few peers to say where they stand, rather than a median of nobody."""
    out = tmp_path / "r.html"
    made = cli("report", *COMMAND, "--year", "2015", "--out", out)
    assert made.exit_code == 0, made.output
    seen = text(out.read_text(encoding="utf-8"))
    assert "Only 0 of the" in seen and "too few (at least 3)" in seen
    assert not re.search(r"\b(None|null|NaN|nan)\b(?! with enough peers)", seen)


def embedded_specs(html: str) -> dict:
    start = html.index("var BK_SPECS = ") + len("var BK_SPECS = ")
    return json.JSONDecoder().raw_decode(html, start)[0]
