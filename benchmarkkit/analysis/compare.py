"""Where a city stands among its peers: ranks, gaps, change since last time, and what would help.

``compare`` is the stage after scoring: it takes the long scores frame of every scorer and turns it
into the frames a yearly report shows. The choices, and why:

* **The group is the city and its peers.** Ranks are re-computed within it (descending, ties share
  the minimum rank, on unrounded scores), ``n_peers`` counts the members with a value (the city
  included, so ``rank ≤ n_peers``), and the median and best are the group's: a city that leads its
  group has a gap of 0 to the best, not a confusing positive one.
* **The previous year is the latest earlier year in which the city has indicator data**, the same
  for every number (a "change since 2022" column means one thing). City statistics are irregular
  (2004, 2008, 2014 …), so "year − 1" would often be empty. Previous ranks use the *same* peers.
* **Indicators are ranked on their raw values**, direction applied, not on normalised scores:
  outlier treatment can tie different raw values, and a city deserves credit for the actual value.
  Gaps are in the indicator's own unit, signed so that positive means better than the reference.
* **Strengths and weaknesses use the relative position** ``(rank − 1) / (n_peers − 1)`` (0 = best,
  1 = last), because indicators are reported by different numbers of cities: 3rd of 3 is a
  weakness, 3rd of 80 a strength. Strengths come from the better half, weaknesses from the worse.
* **Levers are measured by re-scoring**, not by a linear approximation, so any aggregation method
  (geometric, Copeland …) is handled honestly. See ``levers`` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.analysis.peers import city_hint
from benchmarkkit.columns import conform
from benchmarkkit.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Framework, Pipeline

LEVER_SEP = "__lever__"
"""Scenario cities for the levers are ``<city>__lever__<indicator>``; ``<city>__lever__`` is the
unchanged copy the gains are measured from."""

TOP = 5
FLAT = 1e-9
"""Relative change below which an indicator counts as flat (rounding noise from derivation)."""

SUMMARY: dict[str, pl.DataType] = {
    "scorer": pl.String(),
    "node": pl.String(),
    "name": pl.String(),
    "level": pl.Int32(),
    "score": pl.Float64(),
    "rank": pl.UInt32(),
    "n_peers": pl.UInt32(),
    "peer_median": pl.Float64(),
    "peer_best": pl.Float64(),
    "gap_to_median": pl.Float64(),
    "gap_to_best": pl.Float64(),
    "previous_year": pl.Int32(),
    "previous_score": pl.Float64(),
    "previous_rank": pl.UInt32(),
    "previous_n_peers": pl.UInt32(),
    "change": pl.Float64(),
    "rank_change": pl.Int64(),
    "coverage": pl.Float64(),
    "previous_coverage": pl.Float64(),
    "status": pl.String(),
}
"""One row per scorer × node above the indicators (the index and its focus areas)."""

INDICATORS: dict[str, pl.DataType] = {
    "scorer": pl.String(),
    "indicator": pl.String(),
    "name": pl.String(),
    "unit": pl.String(),
    "parent": pl.String(),
    "direction": pl.Int8(),
    "value": pl.Float64(),
    "score": pl.Float64(),
    "rank": pl.UInt32(),
    "n_peers": pl.UInt32(),
    "position": pl.Float64(),
    "peer_median": pl.Float64(),
    "peer_best": pl.Float64(),
    "gap_to_median": pl.Float64(),
    "gap_to_best": pl.Float64(),
    "previous_year": pl.Int32(),
    "previous_value": pl.Float64(),
    "change": pl.Float64(),
    "trend": pl.String(),
    "trend_better": pl.Boolean(),
}
"""One row per scorer × indicator of its framework; ``value`` etc. are null where the city has no
value. ``score`` is the engine's normalised 0–100 score; everything else is in raw units."""

EXTREMES: dict[str, pl.DataType] = {
    "indicator": pl.String(),
    "name": pl.String(),
    "unit": pl.String(),
    "value": pl.Float64(),
    "score": pl.Float64(),
    "rank": pl.UInt32(),
    "n_peers": pl.UInt32(),
    "position": pl.Float64(),
    "peer_median": pl.Float64(),
    "peer_best": pl.Float64(),
    "gap_to_median": pl.Float64(),
    "scorers": pl.List(pl.String()),
}
"""Strengths and weaknesses: one row per indicator (an indicator feeding several indices once)."""

LEVERS: dict[str, pl.DataType] = {
    "scorer": pl.String(),
    "indicator": pl.String(),
    "name": pl.String(),
    "unit": pl.String(),
    "value": pl.Float64(),
    "target": pl.Float64(),
    "index_now": pl.Float64(),
    "index_at_median": pl.Float64(),
    "gain": pl.Float64(),
}


@dataclass(frozen=True)
class Comparison:
    """Everything a report says about one city in one year, as frames (see the schemas above)."""

    city_id: str
    year: int
    previous_year: int | None
    peers: tuple[str, ...]
    """The city first, then its peers."""
    summary: pl.DataFrame
    indicators: pl.DataFrame
    strengths: pl.DataFrame
    weaknesses: pl.DataFrame
    levers: pl.DataFrame
    """Per scorer, the top indicators whose move to the peer median would raise the index most;
    empty when ``compare`` was given no ``rescore``."""
    city_name: str = ""
    peer_spec: str = ""
    """The peer rule that chose ``peers`` (e.g. ``size:3``), for saying whom the city is
    compared with."""


def compare(
    scores: pl.DataFrame,
    observations: pl.DataFrame,
    catalog: pl.DataFrame,
    frameworks: dict[str, Framework],
    city_id: str,
    year: int,
    peers: list[str],
    rescore: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> Comparison:
    """Compare ``city_id`` with ``peers`` in ``year``.

    Args:
        scores: the engine's scores of every scorer in ``frameworks`` (``columns.SCORES``), for
            ``year`` and, for the change columns, the earlier years.
        observations: the long observations the scores came from (raw values, trends).
        catalog: the indicator catalog (``id``, ``name``, ``unit``); indicators missing from it
            keep the framework's name and unit.
        frameworks: scorer name → the framework it was scored with.
        peers: the peer group (``peers.find_peers``); the city is added when absent.
        rescore: observations → scores of every scorer, the same way ``scores`` was made
            (``rescorer`` builds one). Needed for ``levers`` only.
    """
    tree = framework_tree(frameworks, catalog)
    leaves = tree.filter(pl.col("level") == 1).select(pl.col("node").alias("indicator")).unique()
    own = observations.filter(pl.col("city_id") == city_id).join(leaves, on="indicator", how="semi")
    _check_data(own, observations, city_id, year)
    previous = own.filter(pl.col("year") < year).select(pl.col("year").max()).item()
    group = (city_id, *sorted(set(peers) - {city_id}))
    indicators = _indicators(scores, observations, tree, city_id, year, previous, group)
    strengths, weaknesses = _extremes(indicators)
    return Comparison(
        city_id=city_id,
        year=year,
        previous_year=previous,
        peers=group,
        summary=_summary(scores, tree, city_id, year, previous, group),
        indicators=indicators,
        strengths=strengths,
        weaknesses=weaknesses,
        levers=(
            _levers(scores, observations, indicators, tree, city_id, year, rescore)
            if rescore is not None
            else pl.DataFrame(schema=LEVERS)
        ),
    )


def framework_tree(frameworks: dict[str, Framework], catalog: pl.DataFrame) -> pl.DataFrame:
    """Every framework's nodes in one frame with a ``scorer`` column, indicator names and units
    from the catalog, and the framework's own node order kept (``_order``) for display."""
    nodes = pl.concat(
        [fw.nodes.with_columns(pl.lit(name).alias("scorer")) for name, fw in frameworks.items()],
        how="diagonal_relaxed",
    )
    cat = catalog.select(
        pl.col("id").alias("node"),
        pl.col("name").alias("_cat_name"),
        pl.col("unit").alias("_cat_unit"),
    ).unique("node")
    leaf = pl.col("level") == 1
    return (
        nodes.with_row_index("_order")
        .join(cat, on="node", how="left")
        .with_columns(
            pl.when(leaf).then(pl.coalesce("_cat_name", "name")).otherwise("name").alias("name"),
            pl.when(leaf).then(pl.coalesce("_cat_unit", "unit")).otherwise("unit").alias("unit"),
            pl.col("direction").fill_null(1).cast(pl.Int8),
        )
        .drop("_cat_name", "_cat_unit")
        .sort("_order")
    )


def _check_data(own: pl.DataFrame, observations: pl.DataFrame, city_id: str, year: int) -> None:
    if own.height == 0:
        known = (
            observations.select(
                "city_id", *(["city_name"] if "city_name" in observations.columns else [])
            )
            .unique("city_id")
            .sort("city_id")
        )
        raise InputError(f"no indicator data for city '{city_id}'", hint=city_hint(city_id, known))
    years = sorted(own["year"].unique().to_list())
    if year not in years:
        shown = ", ".join(map(str, years[-12:]))
        raise InputError(
            f"{city_id} has no indicator data in {year}",
            hint=f"years with data for {city_id}: {shown}",
        )


def _standing(frame: pl.DataFrame, by: list[str], city_id: str) -> pl.DataFrame:
    """Per group ``by`` of peer rows (each with a value): the group's size, median and best
    ``_value`` (best = highest ``_key``), and the city's rank on ``_key`` (descending, ties min)."""
    stats = frame.group_by(by).agg(
        pl.len().cast(pl.UInt32).alias("n_peers"),
        pl.col("_value").median().alias("peer_median"),
        pl.col("_value").sort_by("_key", descending=True).first().alias("peer_best"),
    )
    rank = (
        frame.with_columns(
            pl.col("_key").rank("min", descending=True).over(by).cast(pl.UInt32).alias("rank")
        )
        .filter(pl.col("city_id") == city_id)
        .select(*by, "rank")
    )
    return stats.join(rank, on=by, how="left")


def _summary(
    scores: pl.DataFrame,
    tree: pl.DataFrame,
    city_id: str,
    year: int,
    previous: int | None,
    group: tuple[str, ...],
) -> pl.DataFrame:
    by = ["scorer", "node"]
    now, before = pl.col("year") == year, pl.col("year") == pl.lit(previous, pl.Int32)
    upper = scores.filter(pl.col("level") >= 2).with_columns(pl.col("score").fill_nan(None))
    mine = upper.filter(pl.col("city_id") == city_id)
    pool = upper.filter(pl.col("city_id").is_in(group) & pl.col("score").is_not_null()).select(
        *by, "year", "city_id", pl.col("score").alias("_key"), pl.col("score").alias("_value")
    )
    frame = (
        tree.filter(pl.col("level") >= 2)
        .select(*by, "name", "level", "_order")
        .join(mine.filter(now).select(*by, "score", "coverage"), on=by, how="left")
        .join(_standing(pool.filter(now), by, city_id), on=by, how="left")
        .join(
            mine.filter(before).select(
                *by,
                pl.col("score").alias("previous_score"),
                pl.col("coverage").alias("previous_coverage"),
            ),
            on=by,
            how="left",
        )
        .join(
            _standing(pool.filter(before), by, city_id).select(
                *by,
                pl.col("rank").alias("previous_rank"),
                pl.col("n_peers").alias("previous_n_peers"),
            ),
            on=by,
            how="left",
        )
    )
    frame = frame.sort("_order").with_columns(
        (pl.col("score") - pl.col("peer_median")).alias("gap_to_median"),
        (pl.col("score") - pl.col("peer_best")).alias("gap_to_best"),
        pl.lit(previous, pl.Int32).alias("previous_year"),
        (pl.col("score") - pl.col("previous_score")).alias("change"),
        (pl.col("previous_rank").cast(pl.Int64) - pl.col("rank").cast(pl.Int64)).alias(
            "rank_change"
        ),
        pl.when(pl.col("score").is_null())
        .then(pl.lit("not scored"))
        .otherwise(pl.lit("ok"))
        .alias("status"),
    )
    return conform(frame, SUMMARY).collect()


def _indicators(
    scores: pl.DataFrame,
    observations: pl.DataFrame,
    tree: pl.DataFrame,
    city_id: str,
    year: int,
    previous: int | None,
    group: tuple[str, ...],
) -> pl.DataFrame:
    by = ["scorer", "indicator"]
    now, before = pl.col("year") == year, pl.col("year") == pl.lit(previous, pl.Int32)
    leaves = tree.filter(pl.col("level") == 1).select(
        "scorer", pl.col("node").alias("indicator"), "name", "unit", "parent", "direction", "_order"
    )
    values = observations.filter(
        pl.col("city_id").is_in(group)
        & (now | before)
        & pl.col("value").is_not_null()
        & pl.col("value").is_not_nan()
    ).select("city_id", "year", "indicator", "value")
    pool = (
        leaves.select(*by, "direction")
        .join(values, on="indicator")
        .with_columns(
            (pl.col("value") * pl.col("direction")).alias("_key"), pl.col("value").alias("_value")
        )
    )
    mine = pool.filter(pl.col("city_id") == city_id)
    normalised = scores.filter((pl.col("city_id") == city_id) & now & (pl.col("level") == 1))
    frame = (
        leaves.join(mine.filter(now).select(*by, "value"), on=by, how="left")
        .join(
            normalised.select(
                "scorer", pl.col("node").alias("indicator"), pl.col("score").fill_nan(None)
            ),
            on=by,
            how="left",
        )
        .join(_standing(pool.filter(now), by, city_id), on=by, how="left")
        .join(
            mine.filter(before).select(*by, pl.col("value").alias("previous_value")),
            on=by,
            how="left",
        )
    )
    d = pl.col("direction").cast(pl.Float64)
    change = pl.col("value") - pl.col("previous_value")
    flat = change.abs() <= FLAT * pl.max_horizontal(pl.col("previous_value").abs(), pl.lit(1.0))
    frame = frame.sort("_order").with_columns(
        ((pl.col("rank").cast(pl.Float64) - 1) / (pl.col("n_peers").cast(pl.Float64) - 1)).alias(
            "position"
        ),
        ((pl.col("value") - pl.col("peer_median")) * d).alias("gap_to_median"),
        ((pl.col("value") - pl.col("peer_best")) * d).alias("gap_to_best"),
        pl.lit(previous, pl.Int32).alias("previous_year"),
        change.alias("change"),
        pl.when(flat)
        .then(pl.lit("flat"))
        .when(change > 0)
        .then(pl.lit("up"))
        .when(change < 0)
        .then(pl.lit("down"))
        .alias("trend"),
        pl.when(~flat).then(change * d > 0).alias("trend_better"),
    )
    return conform(frame, INDICATORS).collect()


def _extremes(indicators: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Top and bottom indicators by relative position, ties broken by the normalised score."""
    ranked = (
        indicators.filter(pl.col("position").is_not_nan())
        .group_by("indicator", maintain_order=True)
        .agg(pl.all().exclude("scorer").first(), pl.col("scorer").alias("scorers"))
    )
    keys = ["position", "score", "indicator"]
    strengths = (
        ranked.filter(pl.col("position") < 0.5)
        .sort(keys, descending=[False, True, False], nulls_last=True)
        .head(TOP)
    )
    weaknesses = (
        ranked.filter(pl.col("position") > 0.5)
        .sort(keys, descending=[True, False, False], nulls_last=True)
        .head(TOP)
    )
    return (conform(strengths, EXTREMES).collect(), conform(weaknesses, EXTREMES).collect())


def _levers(
    scores: pl.DataFrame,
    observations: pl.DataFrame,
    indicators: pl.DataFrame,
    tree: pl.DataFrame,
    city_id: str,
    year: int,
    rescore: Callable[[pl.DataFrame], pl.DataFrame],
) -> pl.DataFrame:
    """What reaching the peer median would do to each index, measured by re-scoring.

    Every candidate (an indicator where the city has a value worse than the peer median) becomes
    one scenario city ``<city>__lever__<indicator>``: a copy of the city's observations in
    ``year`` with that one value set to the median. All scenarios, plus an unchanged copy
    ``<city>__lever__``, are scored in ONE ``rescore`` call. The copies join the pool the
    normalisation and outlier treatment are computed on, so those references may shift slightly
    (min-max bounds cannot: every copy holds either the city's own value or a peer median, both
    inside the range). Measuring each gain against the unchanged copy *in the same call* cancels
    that shift to first order; ``index_at_median`` is the city's actual index plus that gain.
    """
    below = indicators.filter(pl.col("gap_to_median") < 0)
    if below.height == 0:
        return pl.DataFrame(schema=LEVERS)
    prefix = city_id + LEVER_SEP
    targets = below.group_by("indicator").agg(pl.col("peer_median").first().alias("_target"))
    own = observations.filter((pl.col("city_id") == city_id) & (pl.col("year") == year))
    scenarios = (
        own.join(targets.rename({"indicator": "_lever"}), how="cross")
        .with_columns(
            pl.when(pl.col("indicator") == pl.col("_lever"))
            .then(pl.col("_target"))
            .otherwise(pl.col("value"))
            .alias("value"),
            (pl.lit(prefix) + pl.col("_lever")).alias("city_id"),
        )
        .select(own.columns)
    )
    baseline = own.with_columns(pl.lit(prefix).alias("city_id"))
    rescored = rescore(pl.concat([observations, baseline, scenarios], how="vertical_relaxed"))

    roots = tree.filter(pl.col("parent").is_null()).select("scorer", "node")
    index = rescored.filter(
        (pl.col("year") == year) & pl.col("city_id").str.starts_with(prefix)
    ).join(roots, on=["scorer", "node"], how="semi")
    base = index.filter(pl.col("city_id") == prefix).select(
        "scorer", pl.col("score").fill_nan(None).alias("_base")
    )
    moved = index.filter(pl.col("city_id") != prefix).select(
        "scorer",
        pl.col("city_id").str.strip_prefix(prefix).alias("indicator"),
        pl.col("score").fill_nan(None).alias("_moved"),
    )
    now = (
        scores.filter((pl.col("city_id") == city_id) & (pl.col("year") == year))
        .join(roots, on=["scorer", "node"], how="semi")
        .select("scorer", pl.col("score").fill_nan(None).alias("index_now"))
    )
    levers = (
        below.select(
            "scorer", "indicator", "name", "unit", "value", pl.col("peer_median").alias("target")
        )
        .join(moved, on=["scorer", "indicator"], how="inner")
        .join(base, on="scorer", how="inner")
        .join(now, on="scorer", how="left")
        .with_columns((pl.col("_moved") - pl.col("_base")).alias("gain"))
        .with_columns((pl.col("index_now") + pl.col("gain")).alias("index_at_median"))
        .filter(pl.col("gain") > FLAT)
        .sort(["scorer", "gain", "indicator"], descending=[False, True, False])
        .group_by("scorer", maintain_order=True)
        .head(TOP)
    )
    return conform(levers, LEVERS).collect()


def rescorer(
    frameworks: dict[str, Framework],
    pipelines: Mapping[str, Pipeline],
    cities: pl.DataFrame,
    registry: Registry,
    *,
    years: list[int] | None = None,
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """The ``rescore`` that ``compare`` needs: every framework scored again, the same way.

    Pass the pipelines the scores were made with (e.g. ``scorer.pipeline.with_options(...)``);
    a framework without one uses its own. Lever cities get their city's context row, so group
    imputation treats a scenario like the city it copies.
    """
    from benchmarkkit.engine.score import encode, score

    def rescore(observations: pl.DataFrame) -> pl.DataFrame:
        context = pl.concat([cities, _lever_context(observations, cities)])
        encoded = encode(observations)  # once for every framework
        return pl.concat(
            [
                score(
                    fw,
                    observations,
                    context,
                    pipelines.get(name, fw.pipeline),
                    registry,
                    years=years,
                    encoded=encoded,
                ).scores
                for name, fw in frameworks.items()
            ]
        )

    return rescore


def _lever_context(observations: pl.DataFrame, cities: pl.DataFrame) -> pl.DataFrame:
    ids = observations.select(pl.col("city_id").unique()).filter(
        pl.col("city_id").str.contains(LEVER_SEP, literal=True)
    )
    base = ids.with_columns(pl.col("city_id").str.split(LEVER_SEP).list.first().alias("_base"))
    return base.join(cities.rename({"city_id": "_base"}), on="_base", how="inner").select(
        cities.columns
    )


def compare_city(
    scored: Any,
    city: str,
    year: int | None,
    peer_spec: str,
    *,
    levers: bool = True,
) -> Comparison:
    """Resolve the city (id or name), the year and the peer group, then ``compare`` — with the
    levers re-scored the same way the scores were made when ``levers``.

    ``scored`` is a scoring run (``benchmarkkit.Scores``): its ``scores``, ``loaded`` (cities,
    observations), ``catalog``, ``frameworks``, ``pipelines`` and ``registry`` are read.
    """
    from dataclasses import replace

    from benchmarkkit.analysis.peers import find_peers
    from benchmarkkit.analysis.target import resolve_target

    cities, observations = scored.loaded.cities, scored.loaded.observations
    target = resolve_target(cities, scored.scores, city, year)
    peers = find_peers(
        scored.registry, target.city_id, target.year, peer_spec, cities, observations
    )
    rescore = (
        rescorer(dict(scored.frameworks), scored.pipelines, cities, scored.registry)
        if levers
        else None
    )
    comparison = compare(
        scored.scores,
        observations,
        scored.catalog,
        dict(scored.frameworks),
        target.city_id,
        target.year,
        peers,
        rescore,
    )
    return replace(comparison, city_name=target.city_name, peer_spec=peer_spec)
