"""Methods (normalise, impute, treat, aggregate, derive, parse), pinned down where mutation
testing found them loose (TESTING.md). Each expected value is worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from benchmarkkit.columns import OBSERVATIONS, conform
from benchmarkkit.errors import MethodError
from benchmarkkit.methods.derive import DerivationCycle, derivation_layers, derive_all
from benchmarkkit.methods.parse import parse_spec


def test_a_spec_is_parsed_by_position_and_by_name(registry):
    normalisers = registry.of("normaliser")
    call = parse_spec(" MinMax : 1 , 100 ", "normaliser", normalisers)
    assert call.name == "minmax"
    assert call.spec == " MinMax : 1 , 100 "
    assert list(call.params.values()) == [1.0, 100.0]
    with pytest.raises(MethodError) as err:
        parse_spec("minmax:a", "normaliser", normalisers)
    assert "must be float, got 'a'" in err.value.message


# --- derived indicators over time (methods/derive.py) ---------------------------------------

DERIVED_CATALOG = pl.DataFrame(
    [
        ("gdp", None, None, None, None, None, None, None, None, "EUR"),
        ("pop", None, None, None, None, None, None, None, None, "persons"),
        ("gdp_pc", "gdp", "pop", None, None, None, None, None, None, "EUR"),
        ("gdp_growth", "gdp", None, None, "growth", None, -50.0, 60.0, "hard", "%"),
        ("gdp_cagr", "gdp", None, None, "cagr", 2, None, None, None, "%"),
        ("gdp_gap", "gdp", "pop", 2.0, "difference", None, None, None, None, "EUR"),
        ("gdp_change", "gdp", None, None, "difference", None, 0.0, 60.0, "soft", "EUR"),
        ("gdp_lag", "gdp", None, 10.0, "lag", None, None, None, None, "EUR"),
        ("gdp_pc_growth", "gdp_pc", None, None, "growth", None, None, None, None, "%"),
    ],
    schema={
        "id": pl.String,
        "numerator": pl.String,
        "denominator": pl.String,
        "scale": pl.Float64,
        "derivation": pl.String,
        "periods": pl.Int64,
        "lower": pl.Float64,
        "upper": pl.Float64,
        "bound_type": pl.String,
        "unit": pl.String,
    },
    orient="row",
)
RAW = [
    ("A", 2020, "gdp", 100.0),
    ("A", 2021, "gdp", 200.0),
    ("A", 2022, "gdp", 250.0),
    ("A", 2021, "pop", 50.0),
    ("A", 2022, "pop", 50.0),
    ("A", 2022, "gdp_change", 7.0),  # supplied: wins over the derived 50
    ("B", 2021, "gdp", 0.0),
    ("B", 2022, "gdp", 10.0),
    ("B", 2021, "pop", 1.0),  # no gdp before 2021: a difference from pop needs none
]


def test_every_derivation_over_time_worked_out_by_hand():
    obs = pl.DataFrame(
        [
            {"city_id": c, "year": y, "indicator": i, "value": v, "source": "f.csv", "row": k + 2}
            for k, (c, y, i, v) in enumerate(RAW)
        ]
    )
    out, warnings = derive_all(conform(obs, OBSERVATIONS), DERIVED_CATALOG)
    derived = (
        out.filter(pl.col("flag").str.contains("derived"))
        .select("indicator", "city_id", "year", "value", "flag", "row")
        .sort("indicator", "city_id", "year")
        .collect()
    )
    assert derived.rows() == [
        ("gdp_cagr", "A", 2022, pytest.approx(100 * (2.5**0.5 - 1)), "derived", 4),
        ("gdp_change", "A", 2021, 100.0, "derived", 3),  # 200 − 100; 2022 is supplied
        ("gdp_change", "B", 2022, 10.0, "derived", 9),
        ("gdp_gap", "A", 2021, 2 * (200 - 50), "derived", 3),
        ("gdp_gap", "A", 2022, 2 * (250 - 50), "derived", 4),
        ("gdp_gap", "B", 2021, 2 * (0 - 1), "derived", 8),
        # 2021: +100 % is outside the hard bounds: left out; B 2022 has a zero base
        ("gdp_growth", "A", 2022, 25.0, "derived", 4),
        ("gdp_lag", "A", 2021, 1000.0, "derived", 2),  # ×10, one year later
        ("gdp_lag", "A", 2022, 2000.0, "derived", 3),
        ("gdp_lag", "A", 2023, 2500.0, "derived", 4),
        ("gdp_lag", "B", 2022, 0.0, "derived", 8),
        ("gdp_lag", "B", 2023, 100.0, "derived", 9),
        ("gdp_pc", "A", 2021, 4.0, "derived", 3),
        ("gdp_pc", "A", 2022, 5.0, "derived", 4),
        ("gdp_pc", "B", 2021, 0.0, "derived", 8),
        ("gdp_pc_growth", "A", 2022, 25.0, "derived,derived", 4),  # a growth of a ratio
    ]
    assert out.filter(pl.col("indicator") == "gdp_change").collect()["value"].sort().to_list() == [
        7.0,
        10.0,
        100.0,
    ]
    assert warnings.collect().rows() == [
        (
            "f.csv",
            3,
            "value",
            "derived_out_of_bounds",
            "A 2021 gdp_growth = 100.0 is outside [-50.0, 60.0]",
            "check gdp of this city around this year",
        ),
        (
            "f.csv",
            3,
            "value",
            "soft_bounds",
            "derived A 2021 gdp_change = 100.0 is outside the plausible range [0.0, 60.0] EUR",
            "kept; check the values it is derived from",
        ),
    ]


def test_derivation_layers_and_cycles():
    assert derivation_layers(DERIVED_CATALOG) == [
        ["gdp_cagr", "gdp_change", "gdp_gap", "gdp_growth", "gdp_lag", "gdp_pc"],
        ["gdp_pc_growth"],
    ]
    cyclic = DERIVED_CATALOG.with_columns(
        pl.when(pl.col("id") == "gdp_pc")
        .then(pl.lit("gdp_pc_growth"))
        .otherwise("numerator")
        .alias("numerator")
    )
    with pytest.raises(DerivationCycle) as err:
        derivation_layers(cyclic)
    assert err.value.ids == ["gdp_pc", "gdp_pc_growth", "gdp_pc"]
    assert str(err.value) == "gdp_pc → gdp_pc_growth → gdp_pc"


def test_a_bad_parameter_says_what_it_means(registry):
    normalisers = registry.of("normaliser")
    minmax = normalisers["minmax"]
    with pytest.raises(MethodError) as err:
        parse_spec("minmax:low=x", "normaliser", normalisers)
    assert err.value.message == "normaliser 'minmax': parameter 'low' must be float, got 'x'"
    assert err.value.hint == minmax.params[0].doc
    with pytest.raises(MethodError) as err:
        parse_spec("minmax:1,2,3", "normaliser", normalisers)
    assert err.value.message == "normaliser 'minmax' takes at most 2 parameter(s), got 3"
    assert err.value.hint == "usage: minmax:LOW,HIGH"
    with pytest.raises(MethodError) as err:
        parse_spec("minmax:lo=1", "normaliser", normalisers)
    assert err.value.message == "normaliser 'minmax' has no parameter 'lo'"
    with pytest.raises(MethodError) as err:
        parse_spec("minmx", "normaliser", normalisers)
    assert err.value.message == "unknown normaliser 'minmx'"
    assert "minmax" in err.value.hint


def test_an_unknown_parameter_without_a_near_name_shows_the_usage(registry):
    normalisers = registry.of("normaliser")
    with pytest.raises(MethodError) as err:
        parse_spec("minmax:zzz=1", "normaliser", normalisers)
    assert err.value.message == "normaliser 'minmax' has no parameter 'zzz'"
    assert err.value.hint == "usage: minmax:LOW,HIGH"
