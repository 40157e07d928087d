"""Each city's name and country in the cities table: the most frequent value, ties to the first
in sort order, nulls ignored — the same as the mode of every group, computed the cheap way."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarkkit.io.load import _names_and_countries


def _mode(observations: pl.DataFrame) -> pl.DataFrame:
    return observations.group_by("city_id").agg(
        pl.col("city_name").drop_nulls().mode().sort().first(),
        pl.col("country").drop_nulls().mode().sort().first(),
    )


def test_one_name_per_city_and_the_mixed_ones():
    obs = pl.DataFrame(
        {
            "city_id": ["a", "a", "a", "b", "b", "c", None, None, "d", "d", "d", "e"],
            "city_name": ["X", "Y", "Y", None, None, "Z", "N", "M", "P", "Q", None, "E"],
            "country": ["pt", "pt", "es", "vn", None, None, "x", "x", "b", "a", "a", "c"],
        }
    )
    got = _names_and_countries(obs).sort("city_id")
    assert got.equals(_mode(obs).sort("city_id"))
    assert got.filter(pl.col("city_id") == "a").row(0) == ("a", "Y", "pt")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", None]),
            st.sampled_from(["X", "Y", "Z", None]),
            st.sampled_from(["pt", "es", None]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_the_same_as_the_mode_of_every_group(rows):
    obs = pl.DataFrame(rows, schema=["city_id", "city_name", "country"], orient="row")
    obs = obs.cast(pl.String)
    assert _names_and_countries(obs).sort("city_id").equals(_mode(obs).sort("city_id"))
