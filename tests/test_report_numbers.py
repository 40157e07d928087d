"""One meaning per number (issue 11): what the report embeds in its charts and what
``compare --format json`` prints are the same numbers, read from the same definitions."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    from click.testing import CliRunner

    from benchmarkkit.cli import main

    out = tmp_path_factory.mktemp("numbers") / "r.html"
    args = ["--city", "ES001C", "--year", "2023", "--peers", "size:3"]
    runner = CliRunner()
    report = runner.invoke(main, ["report", *args, "--out", str(out)], catch_exceptions=False)
    assert report.exit_code == 0, report.output
    compared = runner.invoke(main, ["compare", *args, "--format", "json"], catch_exceptions=False)
    assert compared.exit_code == 0, compared.output
    html = out.read_text(encoding="utf-8")
    start = html.index("var BK_SPECS = ") + len("var BK_SPECS = ")
    specs = json.JSONDecoder().raw_decode(html, start)[0]
    rows = json.loads(compared.output)
    return specs, {(r["scorer"], r["node"]): r for r in rows}, html


def _values(spec):
    return [row for data in spec.get("datasets", {}).values() for row in data]


def test_ranking_charts_show_compares_score_rank_and_peer_median(both):
    specs, summary, _ = both
    for scorer in ("livability", "competitiveness", "sustainability"):
        row = summary[(scorer, scorer)]
        data = _values(specs[f"ranking:{scorer}"])
        city = next(r for r in data if r.get("city_id") == "ES001C")
        assert city["score"] == pytest.approx(row["score"]) and city["rank"] == row["rank"]
        assert len([r for r in data if "city_id" in r]) == row["n_ranked"]
        median = next(r["median"] for r in data if "median" in r)
        assert median == pytest.approx(row["peer_median"])  # the city left out, both places


def test_the_slope_chart_draws_compares_like_for_like_change(both):
    specs, summary, _ = both
    data = _values(specs["slope"])
    for scorer in ("livability", "competitiveness", "sustainability"):
        row = summary[(scorer, scorer)]
        assert row["comparable"] is True and row["change_basis"] >= 1
        mine = {
            r["year"]: r["score"]
            for r in data
            if r["series"] == "city"
            and f"({row['change_basis']} ind.)" in r["index"]
            and r["index"].lower().startswith(scorer[:4])
        }
        assert mine[2023] - mine[2022] == pytest.approx(row["change"])


def test_coverage_chart_counts_the_frameworks_indicators(both):
    specs, summary, _ = both
    data = _values(specs["coverage"])
    got = sorted((r["n_present"], r["n_children"]) for r in data)
    want = sorted((r["n_present"], r["n_indicators"]) for k, r in summary.items() if k[0] == k[1])
    assert got == want


def test_madrid_2023_states_a_like_for_like_change_for_each_index(both):
    _, summary, html = both
    assert html.count("Like for like since 2022") == 3
    for scorer in ("livability", "competitiveness", "sustainability"):
        assert summary[(scorer, scorer)]["change"] is not None


def _run(*args):
    from click.testing import CliRunner

    from benchmarkkit.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_ljubljana_with_similar_peers_has_no_rank_of_one(tmp_path):
    """Issue 11: by default 2024, when none of its 8 similar peers has data — "rank 1 of 1",
    "+0.0 points". Now the default year is the latest with an index shown (2023), and with only
    one of the 8 peers scored there, no index has a rank, a median or a lever."""
    rows = json.loads(
        _run("compare", "--city", "Ljubljana", "--peers", "similar:8", "--format", "json")
    )
    top = [r for r in rows if r["scorer"] == r["node"]]
    assert {r["status"] for r in top} == {"too few peers"}
    assert all(r["rank"] is None and r["peer_median"] is None for r in top)
    out = tmp_path / "lj.html"
    _run("report", "--city", "Ljubljana", "--peers", "similar:8", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert "rank 1 of 1<" not in html and "a rank needs at least 3" in html
    assert "the city is at or above the peer median" not in html


def test_a_thin_index_is_withheld_not_ranked(tmp_path):
    """Lisbon 2021: livability rested on 1 of its 39 indicators and read "84.6, rank 3 of 13"."""
    out = tmp_path / "lis.html"
    _run("report", "--city", "PT001C", "--year", "2021", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    card = html[html.index('data-scorer="livability"') :]
    card = card[: card.index("</div></div>") if "</div></div>" in card else 2000]
    assert "Withheld: the city reports 1 of the index&#x27;s 39 indicators" in html or (
        "Withheld: the city reports 1 of the index's 39 indicators" in html
    )
    assert "84.6" not in card
    start = html.index("var BK_SPECS = ") + len("var BK_SPECS = ")
    specs = json.JSONDecoder().raw_decode(html, start)[0]
    # no index has a like-for-like change the cards would show: the slope chart says "No data"
    # rather than drawing one
    assert _values(specs["slope"]) == []
    assert specs["slope"]["data"]["values"] == [{"message": "No data"}]
