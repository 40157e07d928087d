"""Derived indicators over time and between series: growth, CAGR, difference, lag — and the order.

A city's spreadsheet holds levels (GDP, fiscal revenue, residents); a benchmark compares rates and
changes (GDP per capita, its growth). The catalog declares each derived indicator with a
``derivation``, its input ``numerator`` (and ``denominator``), ``periods`` and ``scale``:

* ``ratio``: scale × numerator / denominator of the same city and year (``denominate.derive``);
* ``growth``: scale × 100 × (x[t] / x[t−N] − 1), percent change over N years;
* ``cagr``: scale × 100 × ((x[t] / x[t−N])^(1/N) − 1), compound annual growth over N years;
* ``difference``: scale × (a[t] − b[t]) with a denominator b, else scale × (x[t] − x[t−N]);
* ``lag``: scale × x[t−N], the value N years earlier, shown at year t.

Derived indicators may build on each other (the growth of GDP per capita): they are computed in
layers, each layer from the observations and the layers before it, and a cycle is an error.
As for ratios, a value the user supplied wins, a zero or missing base gives no value (it shows in
coverage), a value outside hard bounds is left out with a warning and one outside soft bounds is
kept with a warning, exactly as raw values are.
"""

from __future__ import annotations

import polars as pl

from benchmarkkit.columns import WARNINGS
from benchmarkkit.methods.denominate import admit
from benchmarkkit.methods.denominate import derive as derive_ratios

OVER_TIME = ("growth", "cagr", "difference", "lag")


class DerivationCycle(ValueError):
    """Derived indicators that depend on each other; ``ids`` in the cycle's order."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        super().__init__(" → ".join(ids))


def _specs(catalog: pl.DataFrame) -> pl.DataFrame:
    """Derived rows with ``derivation`` filled (a numerator without one is a ratio)."""
    names = catalog.columns
    derivation = pl.col("derivation") if "derivation" in names else pl.lit(None, pl.String)
    periods = pl.col("periods") if "periods" in names else pl.lit(None, pl.Int32)
    return catalog.filter(pl.col("numerator").is_not_null()).select(
        "id",
        "numerator",
        "denominator",
        "scale",
        derivation.fill_null("ratio").alias("derivation"),
        periods.fill_null(1).cast(pl.Int32).alias("periods"),
    )


def derivation_layers(catalog: pl.DataFrame) -> list[list[str]]:
    """Derived ids in layers: each layer needs only raw values and earlier layers.

    >>> cat = pl.DataFrame({"id": ["a", "b", "c"], "numerator": [None, "a", "b"],
    ...                     "denominator": [None, None, None], "scale": [None, None, None]})
    >>> derivation_layers(cat)
    [['b'], ['c']]
    """
    specs = _specs(catalog)
    needs = {
        row["id"]: {p for p in (row["numerator"], row["denominator"]) if p is not None}
        for row in specs.iter_rows(named=True)
    }
    layers: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(needs):
        ready = sorted(
            i for i, n in needs.items() if i not in done and not (n & needs.keys()) - done
        )
        if not ready:
            raise DerivationCycle(_cycle(needs, done))
        layers.append(ready)
        done.update(ready)
    return layers


def _cycle(needs: dict[str, set[str]], done: set[str]) -> list[str]:
    """One cycle among the ids not yet computed, in dependency order, closed on its first id."""
    start = sorted(i for i in needs if i not in done)[0]
    path = [start]
    while True:
        nxt = sorted(n for n in needs[path[-1]] if n in needs and n not in done)[0]
        if nxt in path:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)


def derive_all(
    observations: pl.LazyFrame, catalog: pl.DataFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Observations plus every derived indicator of the catalog, layer by layer; and the warnings
    (hard bounds: left out; soft bounds: kept)."""
    specs = _specs(catalog)
    if specs.height == 0:
        return observations, pl.LazyFrame(schema=WARNINGS)
    obs, dropped = observations, []
    for layer in derivation_layers(catalog):
        ratios = catalog.filter(
            pl.col("id").is_in(specs.filter(pl.col("derivation") == "ratio")["id"].to_list())
            & pl.col("id").is_in(layer)
        )
        if ratios.height:
            obs, lost = derive_ratios(obs, ratios.with_columns(pl.col("scale").fill_null(1.0)))
            dropped.append(lost)
        over = specs.filter(pl.col("id").is_in(layer) & pl.col("derivation").is_in(OVER_TIME))
        if over.height:
            obs, lost = _derive_over_time(obs, over, catalog)
            dropped.append(lost)
    return obs, pl.concat([*dropped, _soft_warnings(obs, catalog, specs)])


def _derive_over_time(
    obs: pl.LazyFrame, specs: pl.DataFrame, catalog: pl.DataFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    spec = specs.select(
        pl.col("id").alias("_derived"),
        pl.col("numerator").alias("indicator"),
        "denominator",
        pl.col("scale").fill_null(1.0).alias("_scale"),
        pl.col("derivation").alias("_kind"),
        pl.col("periods").alias("_n"),
    )
    keyed = obs.join(spec.lazy(), on="indicator", how="inner")
    earlier = obs.select(
        "city_id",
        pl.col("year").alias("_then"),
        "indicator",
        pl.col("value").alias("_before"),
    )
    den = obs.select(
        "city_id", "year", pl.col("indicator").alias("denominator"), pl.col("value").alias("_den")
    )
    changes = (
        keyed.filter(pl.col("_kind") != "lag")
        .with_columns((pl.col("year") - pl.col("_n")).cast(pl.Int32).alias("_then"))
        .join(earlier, on=["city_id", "_then", "indicator"], how="left")
        .join(den, on=["city_id", "year", "denominator"], how="left")
    )
    ratio = pl.col("value") / pl.col("_before")
    kind = pl.col("_kind")
    value = (
        pl.when((kind == "growth") & (pl.col("_before") != 0))
        .then(100 * (ratio - 1))
        .when((kind == "cagr") & (ratio > 0))
        .then(100 * (ratio.pow(1 / pl.col("_n")) - 1))
        .when((kind == "difference") & pl.col("denominator").is_not_null())
        .then(pl.col("value") - pl.col("_den"))
        .when((kind == "difference") & pl.col("denominator").is_null())
        .then(pl.col("value") - pl.col("_before"))
    )
    # a lag is shown N years later than the value it repeats, whether or not year t was reported
    lagged = keyed.filter(pl.col("_kind") == "lag").with_columns(
        (pl.col("year") + pl.col("_n")).cast(pl.Int32).alias("year")
    )
    derived = pl.concat(
        [
            changes.with_columns((pl.col("_scale") * value).alias("value")),
            lagged.with_columns((pl.col("_scale") * pl.col("value")).alias("value")),
        ],
        how="diagonal_relaxed",
    ).filter(pl.col("value").is_finite())
    derived = derived.with_columns(
        pl.col("indicator").alias("numerator_id"),
        pl.col("_derived").alias("indicator"),
        pl.concat_str([pl.lit("derived"), pl.col("flag")], separator=",", ignore_nulls=True).alias(
            "flag"
        ),
    )
    return admit(
        obs,
        derived,
        catalog,
        why="",
        hint=pl.format("check {} of this city around this year", "numerator_id"),
    )


def _soft_warnings(obs: pl.LazyFrame, catalog: pl.DataFrame, specs: pl.DataFrame) -> pl.LazyFrame:
    """Derived values outside their soft bounds: kept, and said, as raw ones are."""
    soft = catalog.filter(
        (pl.col("bound_type") == "soft") & pl.col("id").is_in(specs["id"].to_list())
    ).select(pl.col("id").alias("indicator"), "lower", "upper", pl.col("unit").fill_null(""))
    if soft.height == 0:
        return pl.LazyFrame(schema=WARNINGS)
    v = pl.col("value")
    outside = ((v < pl.col("lower")) | (v > pl.col("upper"))).fill_null(False)
    return (
        obs.filter(pl.col("flag").str.contains("derived"))
        .join(soft.lazy(), on="indicator", how="inner")
        .filter(outside)
        .select(
            "source",
            "row",
            pl.lit("value").alias("column"),
            pl.lit("soft_bounds").alias("rule"),
            pl.format(
                "derived {} {} {} = {} is outside the plausible range [{}, {}] {}",
                "city_id",
                "year",
                "indicator",
                "value",
                "lower",
                "upper",
                "unit",
            ).alias("message"),
            pl.lit("kept; check the values it is derived from").alias("hint"),
        )
        .cast(WARNINGS)
    )
