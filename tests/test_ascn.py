"""The embedded ASEAN data set (``ascn``): reproducible from the UN files, loads clean, names the
ASCN cities in their own scripts, and ``network:ASCN`` peers work through the peer rules."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from benchmarkkit.analysis.peers import find_peers
from benchmarkkit.columns import text_keys
from benchmarkkit.errors import InputError
from benchmarkkit.io.demo import DATASETS, dataset, load_dataset, read_cities
from tests.conftest import ROOT

SOURCE = ROOT.parent / "shared" / "data"
INPUTS = (
    SOURCE / "un-wup-2018-cities" / "wup2018_urban_agglomerations_300k_1950_2035.csv",
    SOURCE / "unhabitat-urban-indicators" / "open_space_sdg_11_7_1.csv",
    SOURCE / "unhabitat-urban-indicators" / "green_areas_1990_2020.csv",
)
SHIPPED = ROOT / "benchmarkkit" / "data" / "ascn"
FILES = ("observations.parquet", "cities.parquet", "ATTRIBUTION.md")


@pytest.fixture(scope="module")
def loaded(registry, catalog):
    return load_dataset("ascn", registry, catalog)


def test_build_reproduces_the_shipped_files(tmp_path):
    missing = [p for p in INPUTS if not p.is_file()]
    if missing:
        pytest.skip(f"UN source files not here ({missing[0]}): cannot rebuild the ascn data set")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_ascn.py"), str(SOURCE), "--out", tmp_path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), name


def test_every_row_is_accepted(loaded):
    shipped = pl.read_parquet(SHIPPED / "observations.parquet")
    validated = loaded.validated
    assert validated.rows_read == shipped.height
    assert validated.rejected.height == 0
    assert validated.warnings.height == 0
    assert loaded.observations.height == shipped.height  # no ratio of this catalog applies


def test_every_value_points_back_at_a_source_line(loaded):
    obs = loaded.observations
    assert obs["row"].min() >= 2  # header = line 1
    assert set(obs["source"]) == {p.name for p in INPUTS}
    # Da Nang's 2020 population: WUP line 20932, 1 125.316 thousand (a projection)
    da_nang = obs.filter(
        pl.col("city_id") == "VN_DA_NANG",
        pl.col("year") == 2020,
        pl.col("indicator") == "agglomeration_population",
    ).row(0, named=True)
    assert (da_nang["value"], da_nang["row"], da_nang["flag"]) == (1125316.0, 20932, "projected")


def test_da_nang_is_found_with_its_local_name(loaded):
    cities = loaded.cities
    da_nang = cities.filter(pl.col("city_id") == "VN_DA_NANG").row(0, named=True)
    assert da_nang["city_name"] == "Da Nang"
    assert da_nang["name_local"] == "Đà Nẵng"
    assert da_nang["local_language"] == "vi"
    assert da_nang["country"] == "VN"
    assert da_nang["networks"] == ["ASEAN", "ASCN"]
    assert da_nang["ascn_joined_year"] == 2018
    assert da_nang["population"] == 1125316.0
    local = dict(cities.select("city_id", "name_local").drop_nulls().iter_rows())
    assert local["TH_BANGKOK"] == "กรุงเทพมหานคร"
    assert local["KH_PHNOM_PENH"] == "ភ្នំពេញ"
    assert local["LA_VIENTIANE"] == "ວຽງຈັນ"
    assert local["MM_YANGON"] == "ရန်ကုန်"
    assert local["PH_MANILA"] == "Maynila"
    assert local["VN_HA_NOI"] == "Hà Nội"


def test_the_network_has_26_pilots_and_5_cities_of_2024():
    cities = read_cities("ascn")
    ascn = cities.filter(pl.col("networks").list.contains("ASCN"))
    assert ascn.height == 31
    assert ascn["ascn_joined_year"].value_counts().sort("ascn_joined_year").rows() == [
        (2018, 26),
        (2024, 5),
    ]
    assert cities.filter(pl.col("ascn_joined_year").is_not_null()).height == 31


def test_network_ascn_peers(registry, loaded):
    cities, obs = loaded.cities, loaded.observations
    peers = find_peers(registry, "VN_DA_NANG", 2020, "network:ASCN", cities, obs)
    with_data = obs.filter(pl.col("year") == 2020).select("city_id").unique()
    expected = cities.filter(pl.col("networks").list.contains("ASCN")).join(
        with_data, on="city_id", how="semi"
    )
    assert peers[0] == "VN_DA_NANG"
    assert sorted(peers) == sorted(expected["city_id"])
    assert (
        len(peers) == 26
    )  # Battambang, Banyuwangi, Luang Prabang, Sumedang, Sihanoukville: no data
    assert find_peers(registry, "VN_DA_NANG", 2020, "country:VN", cities, obs)[:2] == [
        "VN_DA_NANG",
        "VN_BIEN_HOA",
    ]
    sized = find_peers(registry, "VN_DA_NANG", 2020, "network:ASCN+size:2", cities, obs)
    sizes = cities.filter(pl.col("city_id").is_in(sized))["population"]
    assert sizes.min() >= 1125316 / 2 and sizes.max() <= 1125316 * 2
    assert "TH_CHIANG_MAI" in sized and "PH_MANILA" not in sized


def test_sustainability_is_the_only_index_the_data_support(registry, catalog, loaded):
    from benchmarkkit.api import Data, score

    scores = score(Data(loaded, catalog, registry))
    assert set(scores.scores["scorer"]) == {"sustainability"}
    assert any("'livability' has none of its indicators" in n for n in scores.notes)
    assert any("'competitiveness' has none of its indicators" in n for n in scores.notes)
    index = scores.scores.filter(pl.col("level") == 3, pl.col("year") == 2020)
    pilots = read_cities("ascn").filter(pl.col("ascn_joined_year").is_not_null())
    scored = text_keys(index.filter(pl.col("score").is_not_null())).join(
        pilots, on="city_id", how="semi"
    )
    assert scored.height == 21
    assert scored.filter(pl.col("coverage") == 1).height == 7
    assert "VN_DA_NANG" not in set(scored["city_id"])  # population only: nothing to score


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(InputError, match="no embedded data set 'acsn'") as err:
        dataset("acsn")
    assert err.value.hint == "did you mean 'ascn'?"
    assert set(DATASETS) == {"demo", "ascn"}
    assert DATASETS["ascn"].default_city in set(read_cities("ascn")["city_id"])
    assert "CC BY 3.0 IGO" in DATASETS["ascn"].attribution


def test_every_command_takes_the_dataset(tmp_path, run):
    """``--dataset ascn``: validate, score and a Vietnamese report against the ASCN pilots,
    with the UN attribution; a city the UN data cannot score says so in one line."""
    validated = run("validate", "--dataset", "ascn")
    assert validated.exit_code == 0 and "rejected: 0" in validated.stdout
    out = tmp_path / "r.html"
    reported = run(
        "report", "--dataset", "ascn", "--peers", "network:ASCN", "--lang", "vi", "--out", out
    )
    assert reported.exit_code == 0, reported.output
    assert "World Urbanization Prospects" in reported.stdout  # the licence's credit line
    html = out.read_text(encoding="utf-8")
    assert "Ho Chi Minh City" in html and "benchmarkkit ascn: observations.parquet" in html
    refused = run("report", "--dataset", "ascn", "--city", "KH_BATTAMBANG", "--out", out)
    assert refused.exit_code == 2  # a pilot city the UN data do not hold at all
    assert "'KH_BATTAMBANG' has no data in any year" in refused.stderr
    unknown = run("score", "--dataset", "asc")
    assert unknown.exit_code == 2 and "did you mean 'ascn'" in unknown.stderr


def test_da_nang_reports_with_its_own_figures_beside_the_data_set(tmp_path, run):
    """The docs' path: a template for Da Nang, filled in (made-up figures, for the test only),
    validated and reported beside the UN data against the ASCN cities, in Vietnamese."""
    sheet = tmp_path / "da-nang-2020.csv"
    made = run(
        "template",
        "--set",
        "ascn",
        "--city",
        "VN_DA_NANG=Da Nang",
        "--year",
        "2020",
        "--lang",
        "vi",
        "--out",
        sheet,
    )
    assert made.exit_code == 0, made.output
    import polars as pl

    blank = pl.read_csv(sheet, infer_schema=False)
    headers = {h.split("\n")[0]: h for h in blank.columns}
    figures = {
        "open_space_share": "18.5",
        "open_space_access": "41.0",
        "green_area_share": "22.0",
        "green_area_per_capita": "9.5",
    }
    filled = blank.with_columns(pl.lit(v).alias(headers[k]) for k, v in figures.items())
    filled.write_csv(sheet)
    checked = run("validate", sheet, "--dataset", "ascn")
    assert checked.exit_code == 0, checked.output
    out = tmp_path / "da-nang.html"
    reported = run(
        "report",
        sheet,
        "--dataset",
        "ascn",
        "--city",
        "VN_DA_NANG",
        "--peers",
        "network:ASCN",
        "--lang",
        "vi",
        "--out",
        out,
    )
    assert reported.exit_code == 0, reported.output
    html = out.read_text(encoding="utf-8")
    assert "Da Nang" in html or "Đà Nẵng" in html
    assert str(sheet) in html and "benchmarkkit ascn: observations.parquet" in html
