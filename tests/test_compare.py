"""Peer groups and the peer comparison, worked out by hand on a framework small enough to check.

Framework: index ← {A ← {x (higher better), y (lower better)}, B ← {z}}, equal weights; min-max to
[0, 100] within each year, arithmetic means. City c1 is compared with peers c2 and c3; c4 is
scored with them (it sets bounds) but is not a peer.

2023     raw x  y  z     normalised x    y    z       A      B      index
    c1       10 50 40               0   20   75      10     75      42.5
    c2       50 10 10             100  100    0     100      0      50
    c3       30 40 10              50   40    0      45      0      22.5
    c4       40 60 50              75    0  100      37.5  100      68.75

2022: x as in 2023; y c1 60 c2 10 c3 40 c4 60 → 0, 100, 40, 0; z c1 20 c2 10 c3 30 c4 50 →
25, 0, 50, 100. So A = 0, 100, 45, 37.5; B = 25, 0, 50, 100; index = 12.5, 50, 47.5, 68.75.

The group is c1 and its peers {c2, c3}; the peers' median and best leave c1 out, its rank counts
all three (the engine ranks c1 3rd of 4 on the index; in the group it is 2nd of 3). The toy group
has two peers, so the tests ask for ``min_peers=2``:
    index 2023: 50 > 42.5 > 22.5 → rank 2 of 3, peers' median (50 + 22.5)/2 = 36.25, best 50 →
        gaps +6.25 and −7.5
    index 2022: 50 > 47.5 > 12.5 → rank 3;  c1 has x, y, z in both years, so the like-for-like
        basis is all 3 indicators and the change is the plain 42.5 − 12.5 = 30, rank change +1
    A 2023: {10, 100, 45} → rank 3, median 72.5, best 100 → gaps −62.5, −90; 2022 {0, 100, 45}
        → rank 3, change +10, rank change 0
    B 2023: {75, 0, 0} → rank 1, median 0, best 0 → gaps +75, +75; 2022 {25, 0, 50} → rank 2,
        change +50, rank change +1

Indicators of c1 in 2023, raw, among the group (y: lower is better):
    x 10 of {10, 50, 30}: rank 3, peers' median 40, best 50, gap to median (10 − 40) = −30
    y 50 of {50, 10, 40}: rank 3, median 25, best 10, gap to median −(50 − 25) = −25
    z 40 of {40, 10, 10}: rank 1, median 10, best 10, gap +30
    trends since 2022: x 10 → 10 flat; y 60 → 50 down (better); z 20 → 40 up (better)
    strengths: z (position 0); weaknesses: x, y (position 1, tie broken by score 0 < 20)

Levers (c1 is below the peer median on x and y; the copies hold 10 or 40 for x, 50 or 25 for y,
all inside the bounds, so min-max is unchanged and the hand computation is exact):
    x → 40: x = (40 − 10)/40 = 75, A = (75 + 20)/2 = 47.5, index = (47.5 + 75)/2 = 61.25  gain 18.75
    y → 25: y = (−25 + 60)/50 = 70, A = (0 + 70)/2 = 35, index = (35 + 75)/2 = 55      gain 12.5
"""

from __future__ import annotations

import polars as pl
import pytest

import benchmarkkit.analysis.peers
from benchmarkkit import hookimpl
from benchmarkkit.analysis.compare import compare, rescorer
from benchmarkkit.analysis.peers import find_peers
from benchmarkkit.columns import text_keys
from benchmarkkit.engine.score import score
from benchmarkkit.errors import InputError
from benchmarkkit.io.framework import read_toml_framework
from benchmarkkit.scorer import Pipeline
from tests.conftest import write

FRAMEWORK = """
name = "toy"
[[node]]
id = "index"
[[node]]
id = "A"
parent = "index"
[[node]]
id = "B"
parent = "index"
[[indicator]]
id = "x"
parent = "A"
direction = 1
[[indicator]]
id = "y"
parent = "A"
direction = -1
[[indicator]]
id = "z"
parent = "B"
direction = 1
"""

RAW = {  # city: {year: (x, y, z)}
    "c1": {2022: (10, 60, 20), 2023: (10, 50, 40)},
    "c2": {2022: (50, 10, 10), 2023: (50, 10, 10)},
    "c3": {2022: (30, 40, 30), 2023: (30, 40, 10)},
    "c4": {2022: (40, 60, 50), 2023: (40, 60, 50)},
}
DATA = pl.DataFrame(
    [
        (c, y, i, float(v))
        for c, years in RAW.items()
        for y, vals in years.items()
        for i, v in zip("xyz", vals, strict=True)
    ],
    schema={"city_id": pl.String, "year": pl.Int32, "indicator": pl.String, "value": pl.Float64},
    orient="row",
)
CITIES = pl.DataFrame({"city_id": ["c1", "c2", "c3", "c4"]})
CATALOG = pl.DataFrame(
    {"id": ["x", "y", "z"], "name": ["Ex", "Why", "Zed"], "unit": ["%", "days", "km"]}
)
PEERS = ["c1", "c2", "c3"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory, registry):
    framework = read_toml_framework(write(tmp_path_factory.mktemp("fw") / "toy.toml", FRAMEWORK))
    frameworks = {"toy": framework}
    scores = score(framework, DATA, CITIES, Pipeline(), registry).scores
    rescore = rescorer(frameworks, {"toy": Pipeline()}, CITIES, registry)
    return frameworks, scores, rescore


@pytest.fixture(scope="module")
def result(toy):
    frameworks, scores, rescore = toy
    return compare(scores, DATA, CATALOG, frameworks, "c1", 2023, PEERS, rescore, min_peers=2)


def by_node(frame: pl.DataFrame, key: str = "node") -> dict[str, dict]:
    return {row[key]: row for row in frame.iter_rows(named=True)}


def test_engine_scores_match_the_hand_computation(toy):
    _, scores, _ = toy
    index = scores.filter((pl.col("node") == "index") & (pl.col("year") == 2023)).sort("city_id")
    assert index["score"].to_list() == pytest.approx([42.5, 50.0, 22.5, 68.75])
    assert index["rank"].to_list() == [3, 2, 4, 1]  # among all four; among peers c1 is 2nd


def test_summary_ranks_medians_gaps_and_change(result):
    s = by_node(result.summary)
    assert list(s) == ["index", "A", "B"]
    assert result.previous_year == 2022 and result.peers == ("c1", "c2", "c3")
    # score, rank of n, peers, median, best, gap median, gap best, prev, basis, change, rank change
    expected = {
        "index": (42.5, 2, 3, 2, 36.25, 50.0, 6.25, -7.5, 12.5, 3, 30.0, 1),
        "A": (10.0, 3, 3, 2, 72.5, 100.0, -62.5, -90.0, 0.0, 2, 10.0, 0),
        "B": (75.0, 1, 3, 2, 0.0, 0.0, 75.0, 75.0, 25.0, 1, 50.0, 1),
    }
    cols = [
        "score",
        "rank",
        "n_ranked",
        "n_peers",
        "peer_median",
        "peer_best",
        "gap_to_median",
        "gap_to_best",
        "basis_previous_score",
        "change_basis",
        "change",
        "rank_change",
    ]
    for node, want in expected.items():
        got = tuple(s[node][c] for c in cols)
        assert got == pytest.approx(want), node
        assert (s[node]["status"], s[node]["previous_year"], s[node]["comparable"]) == (
            "ok",
            2022,
            True,
        )
        assert s[node]["basis_score"] == pytest.approx(s[node]["score"])  # the same indicators
    assert (s["index"]["n_present"], s["index"]["n_indicators"], s["index"]["coverage"]) == (
        3,
        3,
        1.0,
    )


def test_indicators_raw_values_direction_and_trend(result):
    rows = by_node(result.indicators, "indicator")
    cols = [
        "value",
        "score",
        "rank",
        "n_ranked",
        "position",
        "peer_median",
        "peer_best",
        "gap_to_median",
        "gap_to_best",
        "previous_value",
        "change",
    ]
    assert tuple(rows["x"][c] for c in cols) == pytest.approx(
        (10, 0, 3, 3, 1, 40, 50, -30, -40, 10, 0)
    )
    assert tuple(rows["y"][c] for c in cols) == pytest.approx(
        (50, 20, 3, 3, 1, 25, 10, -25, -40, 60, -10)
    )
    assert tuple(rows["z"][c] for c in cols) == pytest.approx(
        (40, 75, 1, 3, 0, 10, 10, 30, 30, 20, 20)
    )
    assert [(rows[i]["trend"], rows[i]["trend_better"]) for i in "xyz"] == [
        ("flat", None),
        ("down", True),
        ("up", True),
    ]
    assert (rows["y"]["name"], rows["y"]["unit"], rows["y"]["parent"]) == ("Why", "days", "A")


def test_strengths_and_weaknesses(result):
    assert result.strengths["indicator"].to_list() == ["z"]
    assert result.weaknesses["indicator"].to_list() == ["x", "y"]  # same position: score 0 < 20
    assert result.weaknesses["scorers"].to_list() == [["toy"], ["toy"]]


def test_levers_are_the_hand_computed_rescoring_gains(result):
    levers = result.levers
    assert levers["indicator"].to_list() == ["x", "y"]  # by gain, largest first
    numbers = levers.select("value", "target", "index_now", "index_at_median", "gain").rows()
    assert numbers[0] == pytest.approx((10, 40, 42.5, 61.25, 18.75))
    assert numbers[1] == pytest.approx((50, 25, 42.5, 55, 12.5))
    assert set(levers["scorer"]) == {"toy"}


def test_no_rescore_means_no_levers(toy):
    frameworks, scores, _ = toy
    out = compare(scores, DATA, CATALOG, frameworks, "c1", 2023, PEERS, None)
    assert out.levers.height == 0 and "gain" in out.levers.columns


def test_first_year_has_no_previous(toy):
    frameworks, scores, _ = toy
    out = compare(scores, DATA, CATALOG, frameworks, "c1", 2022, ["c2", "c3"], None, min_peers=2)
    index = by_node(out.summary)["index"]
    assert out.previous_year is None and out.peers == ("c1", "c2", "c3")
    assert (index["rank"], index["previous_score"], index["change"], index["rank_change"]) == (
        3,
        None,
        None,
        None,
    )
    assert out.indicators["trend"].to_list() == [None, None, None]


def test_a_city_whose_index_is_withheld_is_not_scored(toy):
    frameworks, scores, _ = toy
    thin = scores.with_columns(
        pl.when((pl.col("city_id") == "c1") & (pl.col("node") == "index"))
        .then(None)
        .otherwise(pl.col("score"))
        .alias("score")
    )
    summary = by_node(
        compare(thin, DATA, CATALOG, frameworks, "c1", 2023, PEERS, min_peers=2).summary
    )
    # the peers still have a median: of {50, 22.5}; c1 has no rank
    index = summary["index"]
    assert (index["status"], index["rank"], index["n_peers"]) == ("not scored", None, 2)
    assert index["peer_median"] == pytest.approx(36.25)
    assert summary["A"]["status"] == "ok"


def test_fewer_than_min_peers_gives_no_rank_median_or_lever(toy):
    """Two peers, three asked for: no "rank 2 of 3", no median, no gap, no strength, no lever —
    but the score, its coverage and the like-for-like change are still there."""
    frameworks, scores, rescore = toy
    out = compare(scores, DATA, CATALOG, frameworks, "c1", 2023, PEERS, rescore)
    index = by_node(out.summary)["index"]
    assert index["status"] == "too few peers" and index["score"] == pytest.approx(42.5)
    assert (index["rank"], index["peer_median"], index["gap_to_median"]) == (None, None, None)
    assert (index["n_ranked"], index["n_peers"]) == (3, 2)
    assert index["change"] == pytest.approx(30.0) and index["rank_change"] is None
    assert out.indicators["rank"].null_count() == 3
    assert out.strengths.height == out.weaknesses.height == out.levers.height == 0


def test_coverage_counts_the_frameworks_indicators_and_withholds_a_thin_index(toy, registry):
    """c1 reports only z in 2023: the engine counts 1 of the 3 available indicators, and so does
    the framework; with the threshold at 0.5 the index is withheld for c1 (thin coverage) and
    c1 is no peer of anyone on it, while its focus area B keeps its score."""
    frameworks, _, _ = toy
    data = DATA.filter(
        ~((pl.col("city_id") == "c1") & (pl.col("year") == 2023)) | (pl.col("indicator") == "z")
    )
    fw = frameworks["toy"]
    strict = Pipeline(min_index_coverage=0.5)
    scores = score(fw, data, CITIES, Pipeline(), registry).scores
    out = compare(
        scores,
        data,
        CATALOG,
        frameworks,
        "c1",
        2023,
        PEERS,
        None,
        min_peers=2,
        pipelines={"toy": strict},
    )
    s = by_node(out.summary)
    assert (s["index"]["status"], s["index"]["score"], s["index"]["rank"]) == (
        "thin coverage",
        None,
        None,
    )
    assert (s["index"]["n_present"], s["index"]["n_indicators"]) == (1, 3)
    assert s["index"]["coverage"] == pytest.approx(1 / 3)
    assert s["B"]["status"] == "ok" and s["A"]["status"] == "not scored"
    assert out.history.filter(pl.col("year") == 2023).is_empty() or (
        out.history.filter((pl.col("year") == 2023) & (pl.col("series") == "city")).is_empty()
    )


def test_change_is_like_for_like_on_the_indicators_both_years_have(toy, registry):
    """c1 lacks y in 2022: the change is re-scored on x and z only (basis 2), for c1 and its
    peers. On {x, z}: 2023 A = x = 0, B = z = 75 → index 37.5; 2022 A = 0, B = 25 → 12.5;
    change +25 (the plain difference, on different sets, would be 42.5 − 12.5... no: 2022 has
    A = x alone = 0 either way; the point is the basis count and that y's 2023 value, 20, is
    left out of the 2023 side)."""
    frameworks, _, rescore = toy
    data = DATA.filter(
        ~((pl.col("city_id") == "c1") & (pl.col("year") == 2022) & (pl.col("indicator") == "y"))
    )
    fw = frameworks["toy"]
    scores = score(fw, data, CITIES, Pipeline(), registry).scores
    out = compare(scores, data, CATALOG, frameworks, "c1", 2023, PEERS, rescore, min_peers=2)
    index = by_node(out.summary)["index"]
    assert (index["comparable"], index["change_basis"]) == (True, 2)
    assert index["basis_score"] == pytest.approx(37.5)
    assert index["basis_previous_score"] == pytest.approx(12.5)
    assert index["change"] == pytest.approx(25.0)
    assert index["score"] == pytest.approx(42.5)  # the headline keeps all three indicators


def test_no_data_in_the_year_or_for_the_city(toy):
    frameworks, scores, _ = toy
    with pytest.raises(
        InputError,
        match=r"c1 has no indicator data in 2021 \(years with data "
        r"for c1: 2022, 2023\)",
    ):
        compare(scores, DATA, CATALOG, frameworks, "c1", 2021, PEERS)
    with pytest.raises(InputError, match="no indicator data for city 'c9'"):
        compare(scores, DATA, CATALOG, frameworks, "c9", 2023, PEERS)


# ---------------------------------------------------------------------------------------------
# peer selection


@pytest.fixture(scope="module")
def peer_registry():
    """A registry of our own (plugins are registered into it), with the peers module as a
    plugin even before its entry point exists."""
    from benchmarkkit.plugins import build_registry

    registry = build_registry()
    if not registry.manager.has_plugin("peers"):
        registry.manager.register(benchmarkkit.analysis.peers, name="peers")
    return registry


TOWNS = pl.DataFrame(
    {
        "city_id": ["AL01", "BE02", "GA03", "DE04", "EP05", "ZE06"],
        "city_name": ["Alphaville (greater city)", "Betatown", "Gamma", "Delta", "Epsilon", "Zeta"],
        "country": ["ES", "ES", "PT", "DE", "NO", "ES"],
        "region": ["South", "South", "South", "West", "North", "South"],
        "population": [1e6, 4e5, 2.5e6, 1.9e6, 6e5, None],
        "networks": [["EU27", "EC"], ["EU27"], ["EU27"], ["EU27", "EC"], [], ["EU27"]],
    }
)
"""ZE06 has data only in 2022, so it is never a 2023 peer."""
TOWN_DATA = pl.DataFrame(
    {
        "city_id": ["AL01", "BE02", "GA03", "DE04", "EP05", "ZE06"],
        "year": [2023, 2023, 2023, 2023, 2023, 2022],
        "indicator": ["x"] * 6,
        "value": [1.0] * 6,
    }
)


def peers_of(
    registry,
    spec: str,
    city: str = "AL01",
    cities: pl.DataFrame = TOWNS,
    data: pl.DataFrame = TOWN_DATA,
) -> list[str]:
    return find_peers(registry, city, 2023, spec, cities, data)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("all", ["AL01", "BE02", "DE04", "EP05", "GA03"]),  # not ZE06: no data in 2023
        ("country:ES", ["AL01", "BE02"]),
        ("country", ["AL01", "BE02"]),  # a bare column: the city's own value
        ("region:south", ["AL01", "BE02", "GA03"]),  # case-insensitive
        ("network:EC", ["AL01", "DE04"]),  # membership in the networks list
        ("networks", ["AL01", "BE02", "DE04", "GA03"]),  # sharing any network with AL01
        ("ids:BE02,EP05", ["AL01", "BE02", "EP05"]),
        ("EP05,BE02", ["AL01", "BE02", "EP05"]),  # a bare comma list
        ("size:2", ["AL01", "DE04", "EP05"]),  # 0.5–2 million: not 0.4 nor 2.5 million
        ("size:3", ["AL01", "BE02", "DE04", "EP05", "GA03"]),  # 333 333 – 3 million
        ("region:South+size:3", ["AL01", "BE02", "GA03"]),  # intersection
        ("network:EU27+country:ES+size:3", ["AL01", "BE02"]),
    ],
)
def test_peer_specs(peer_registry, spec, expected):
    assert peers_of(peer_registry, spec) == expected


SIMILAR = pl.DataFrame(
    {
        "city_id": ["P", "Q", "R", "S", "T"],
        "population": [1e6, 1e6, 1e7, 1e5, None],
        "temp_warmest_month": [20.0, 24.0, 20.0, 22.0, 20.0],
        "area_km2": [100.0, 100.0, 5000.0, 100.0, 100.0],
        "population_year": [2020, 2020, 2020, 2020, 2020],
    }
)
SIMILAR_DATA = pl.DataFrame(
    {"city_id": list("PQRST"), "year": [2023] * 5, "indicator": ["x"] * 5, "value": [1.0] * 5}
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("similar:1", ["P", "R"]),
        ("similar:2", ["P", "R", "S"]),
        ("similar:9", ["P", "Q", "R", "S"]),  # T has no population: skipped
        ("ids:Q,S+similar:1", ["P", "S"]),  # similar picks among what the other parts leave
    ],
)
def test_similar_is_euclidean_on_z_scores(peer_registry, spec, expected):
    """log population: 6, 6, 7, 5 (log10; z-scores do not depend on the base) → mean 6, sample
    variance (0 + 0 + 1 + 1)/3 = 2/3. Warmest month over all five cities (T included): mean
    21.2, variance (1.44 + 7.84 + 1.44 + 0.64 + 1.44)/4 = 3.2. Squared distances from P:
    Q 4²/3.2 = 5;  R 1²/(2/3) = 1.5;  S 1.5 + 2²/3.2 = 2.75. Area and *_year are not used
    (R's large area would otherwise push it behind S)."""
    assert peers_of(peer_registry, spec, "P", SIMILAR, SIMILAR_DATA) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("continent:Europe", "the cities table has no column 'continent'"),
        ("similiar:3", "did you mean 'similar'"),
        ("country:XX", "no city has country 'XX'"),
        ("region:Suoth", "did you mean 'South'"),
        ("country:PT+network:EC", "the peer group of AL01 for 'country:PT\\+network:EC' is empty"),
        ("size:0.5", "needs a factor of at least 1"),
        ("similar:two", "needs a whole number"),
        ("ids:BE02,XX99", "unknown city 'XX99' in the peer list"),
        ("nonsense", "unknown peer spec 'nonsense'"),
        ("country:ES+", "has an empty part"),
    ],
)
def test_bad_peer_specs_explain_themselves(peer_registry, spec, message):
    with pytest.raises(InputError, match=message):
        peers_of(peer_registry, spec)


def test_unknown_city_suggests_ids_and_names(peer_registry):
    with pytest.raises(
        InputError,
        match=r"unknown city 'Alphavile'.*did you mean 'AL01' "
        r"\(Alphaville \(greater city\)\)\?",
    ):
        peers_of(peer_registry, "all", "Alphavile")
    with pytest.raises(InputError, match="did you mean 'BE02'"):
        peers_of(peer_registry, "all", "betatown")


class MinePlugin:
    """A third-party selector: answers its own spec and leaves the rest to the built-in."""

    @hookimpl
    def select_peers(self, city_id, spec):
        return ["GA03"] if spec == "mine" else None


def test_a_plugin_can_add_a_peer_spec(peer_registry):
    peer_registry.manager.register(MinePlugin(), name="mine")
    try:
        assert peers_of(peer_registry, "mine") == ["AL01", "GA03"]
        assert peers_of(peer_registry, "country:ES") == ["AL01", "BE02"]
    finally:
        peer_registry.manager.unregister(name="mine")


# ---------------------------------------------------------------------------------------------
# the demo data: internal consistency


@pytest.fixture(scope="module")
def demo(peer_registry):
    from benchmarkkit.io.catalog import catalog_from_registry
    from benchmarkkit.io.demo import DEFAULT_CITY, DEFAULT_YEAR, load_demo

    registry = peer_registry
    catalog = catalog_from_registry(registry)
    loaded = load_demo(registry, catalog)
    obs, cities = loaded.observations, loaded.cities
    scorers = registry.of("scorer")
    frameworks = {name: s.build(catalog, obs) for name, s in scorers.items()}
    pipelines = {name: s.pipeline for name, s in scorers.items()}
    years = [DEFAULT_YEAR - 1, DEFAULT_YEAR]
    scores = pl.concat(
        [
            score(fw, obs, cities, pipelines[n], registry, years=years).scores
            for n, fw in frameworks.items()
        ]
    )
    peers = find_peers(registry, DEFAULT_CITY, DEFAULT_YEAR, "country:ES", cities, obs)
    out = compare(
        scores,
        obs,
        catalog,
        frameworks,
        DEFAULT_CITY,
        DEFAULT_YEAR,
        peers,
        rescorer(frameworks, pipelines, cities, registry, years=years),
    )
    return out, scores, obs, catalog, frameworks


def test_demo_comparison_is_consistent(demo):
    out, scores, *_ = demo
    assert out.peers[0] == "ES001C" and len(out.peers) > 10
    assert set(out.summary["scorer"]) == {"livability", "competitiveness", "sustainability"}
    ranked = out.summary.filter(pl.col("rank").is_not_null())
    assert ranked.height and (ranked["rank"] <= ranked["n_ranked"]).all()
    assert (ranked["n_ranked"] <= ranked["n_peers"] + 1).all()
    lowest = (
        text_keys(scores)
        .filter(pl.col("city_id").is_in(list(out.peers)) & (pl.col("year") == 2023))
        .group_by("scorer", "node")
        .agg(pl.col("score").min().alias("_min"))
    )
    spread = ranked.join(lowest, on=["scorer", "node"])
    assert (
        (spread["_min"] <= spread["peer_median"]) & (spread["peer_median"] <= spread["peer_best"])
    ).all()
    # the city ahead of every peer is the only way to a positive gap to the best peer
    assert ((ranked["gap_to_best"] <= 1e-9) | (ranked["rank"] == 1)).all()
    assert ranked.filter(pl.col("basis_previous_rank").is_not_null()).height  # 2022 is there too
    index = out.summary.filter(pl.col("level") == 3)
    assert index["comparable"].all() and (index["change_basis"] >= 1).all()

    ind = out.indicators.filter(pl.col("rank").is_not_null())
    assert (ind["rank"] <= ind["n_ranked"]).all() and ind["position"].is_between(0, 1).all()
    assert (out.strengths["position"] < 0.5).all() and (out.weaknesses["position"] > 0.5).all()
    assert out.strengths.height == 5 and out.weaknesses.height == 5

    levers = out.levers
    assert levers.height and (levers["gain"] > 0).all()
    assert levers.group_by("scorer").len()["len"].max() <= 5
    assert (levers["index_at_median"] - levers["index_now"] - levers["gain"]).abs().max() < 1e-9
    worse = levers.join(out.indicators, on=["scorer", "indicator"])
    assert (worse["target"] == worse["peer_median"]).all() and (worse["gap_to_median"] < 0).all()


def test_demo_ranks_among_all_cities_are_the_engines(demo):
    """With every scored city as a peer, re-ranking within the group gives the engine's ranks."""
    _, scores, obs, catalog, frameworks = demo
    everyone = scores.filter(pl.col("year") == 2023)["city_id"].unique().to_list()
    out = compare(scores, obs, catalog, frameworks, "ES001C", 2023, everyone)
    engine = (
        text_keys(scores)
        .filter((pl.col("city_id") == "ES001C") & (pl.col("year") == 2023) & (pl.col("level") >= 2))
        .select("scorer", "node", "rank")
    )
    both = out.summary.join(engine, on=["scorer", "node"], suffix="_engine")
    assert both.height and (both["rank"].eq_missing(both["rank_engine"])).all()


# ---------------------------------------------------------------------------------------------
# a city with data but none of the indices' indicators (issue 18: Da Nang on the UN data)


def test_a_city_with_only_context_data_is_compared_but_not_scored(toy):
    """c5 has only its population (not in any framework): no index, no rank, no lever, nothing
    estimated — but the peers' standing is there (index median of {42.5, 50, 22.5} = 42.5, x's
    of {10, 50, 30} = 30), the context beside the peers' (pop median of {100, 300} = 200 with
    ``min_peers=2``), and how many indicators a score needs: ceil(0.5 × 3) = 2 under the
    framework's own pipeline (the built-in indices' rule), 1 with no coverage rule."""
    from benchmarkkit.analysis.compare import NOT_SCORED

    frameworks, scores, rescore = toy
    pop = pl.DataFrame(
        {"city_id": ["c5", "c1", "c2"], "year": [2023] * 3, "indicator": ["pop"] * 3},
        schema={"city_id": pl.String, "year": pl.Int32, "indicator": pl.String},
    ).with_columns(pl.Series("value", [150.0, 100.0, 300.0]))
    data = pl.concat([DATA, pop])
    catalog = pl.concat(
        [CATALOG, pl.DataFrame({"id": ["pop"], "name": ["Population"], "unit": ["persons"]})]
    )
    out = compare(scores, data, catalog, frameworks, "c5", 2023, PEERS, rescore, min_peers=2)
    assert out.scored is False and out.previous_year is None
    assert set(out.summary["status"]) == {NOT_SCORED}
    index = by_node(out.summary)["index"]
    assert (index["score"], index["rank"], index["n_peers"]) == (None, None, 3)
    assert index["peer_median"] == pytest.approx(42.5)
    assert (index["n_present"], index["n_indicators"]) == (0, 3)
    x = by_node(out.indicators, "indicator")["x"]
    assert x["value"] is None and x["peer_median"] == pytest.approx(30.0)
    assert out.levers.height == out.strengths.height == out.weaknesses.height == 0
    assert out.context.select("indicator", "name", "unit", "value", "n_peers").rows() == [
        ("pop", "Population", "persons", 150.0, 2)
    ]
    assert out.context.select("peer_median", "peer_low", "peer_high").row(0) == (200, 100, 300)
    assert out.needed == {"toy": 2}  # the framework's own pipeline: withheld under half
    lax = compare(
        scores, data, catalog, frameworks, "c5", 2023, PEERS, pipelines={"toy": Pipeline()}
    )
    assert lax.needed == {"toy": 1}
    assert result_is_scored(toy)


def result_is_scored(toy) -> bool:
    frameworks, scores, _ = toy
    return compare(scores, DATA, CATALOG, frameworks, "c1", 2023, PEERS, min_peers=2).scored


def test_the_target_of_a_city_without_a_score_is_its_latest_year_with_data(toy):
    """Without observations, a city that has no score is an error (as before); with them, its
    latest year with data (or the year asked, when it has data then); no data at all, or none
    in the year asked, stays an error."""
    from benchmarkkit.analysis.target import resolve_target

    _, scores, _ = toy
    ids = ["c1", "c2", "c3", "c4", "c5", "c6"]
    cities = pl.DataFrame({"city_id": ids, "city_name": [i.upper() for i in ids]})
    data = pl.concat(
        [
            DATA,
            pl.DataFrame(
                {"city_id": ["c5", "c5"], "year": [2021, 2022], "indicator": ["pop", "pop"]},
                schema={"city_id": pl.String, "year": pl.Int32, "indicator": pl.String},
            ).with_columns(pl.lit(1.0).alias("value")),
        ]
    )
    with pytest.raises(InputError, match="'c5' has no index score in any year"):
        resolve_target(cities, scores, "c5", None)
    target = resolve_target(cities, scores, "c5", None, observations=data)
    assert (target.year, target.previous_year, target.scored) == (2022, None, False)
    assert resolve_target(cities, scores, "c5", 2021, observations=data).year == 2021
    with pytest.raises(InputError, match=r"'c5' has no data in 2023 \(years with data: 2021"):
        resolve_target(cities, scores, "c5", 2023, observations=data)
    with pytest.raises(InputError, match="'c6' has no data in any year"):
        resolve_target(cities, scores, "c6", None, observations=data)
    scored = resolve_target(cities, scores, "c1", None, observations=data)
    assert (scored.year, scored.previous_year, scored.scored) == (2023, 2022, True)
