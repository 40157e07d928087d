"""A city is found by its id or by a name in any language the data hold, whatever the case,
spaces or suffix (``Lisboa`` = ``Lisboa (greater city)``, ``Hà Nội``, ``深圳`` = ``深圳市``);
an unknown one is one line with a did-you-mean; ``--highlight`` names cities in every chart."""

from __future__ import annotations

import json

import polars as pl
import pytest

from benchmarkkit.analysis.target import resolve_city
from benchmarkkit.errors import InputError

CITIES = pl.DataFrame(
    {
        "city_id": ["440300", "PT001C", "VN_HA_NOI", "X1", "X2"],
        "city_name": ["深圳市", "Lisboa (greater city)", "Ha Noi", "Springfield", "Springfield"],
        "name_en": ["Shenzhen", None, None, None, None],
        "name_local": [None, None, "Hà Nội", None, None],
    }
)


@pytest.mark.parametrize(
    "typed,city_id",
    [
        ("440300", "440300"),
        ("深圳市", "440300"),
        ("深圳", "440300"),
        ("Shenzhen", "440300"),
        ("shenzhen city", "440300"),
        ("Lisboa", "PT001C"),
        ("lisboa (greater city)", "PT001C"),
        ("Hà Nội", "VN_HA_NOI"),
        ("ha noi", "VN_HA_NOI"),
        ("HANOI", "VN_HA_NOI"),
    ],
)
def test_a_name_in_any_language_finds_the_city(typed, city_id):
    assert resolve_city(CITIES, typed)[0] == city_id


def test_an_ambiguous_or_unknown_name_says_so():
    with pytest.raises(InputError, match="'Springfield' names 2 cities"):
        resolve_city(CITIES, "Springfield")
    with pytest.raises(InputError, match="did you mean 'Lisboa"):
        resolve_city(CITIES, "Lisbao")


def test_highlight_names_a_city_in_a_large_group(tmp_path, run):
    out = tmp_path / "ranking.json"
    result = run("chart", "ranking", "--peers", "all", "--highlight", "Lisboa", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Lisboa (greater city)" in json.dumps(json.loads(out.read_text(encoding="utf-8")))
    bad = run("chart", "ranking", "--peers", "all", "--highlight", "Nowhere", "--out", out)
    assert bad.exit_code == 2 and "unknown city 'Nowhere'" in bad.stderr
