"""Where a city stands among its peers: ranks, gaps, change since last time, and what would help.

``compare`` is the stage after scoring: it takes the long scores frame of every scorer and turns it
into the frames a yearly report shows. Every number the report, its charts and the ``compare``
command print is defined here, once:

* **Peers exclude the city.** The peer median, the best peer and ``n_peers`` are the peers' own;
  the city's rank is counted in the group (the city and its peers) on unrounded scores,
  descending, ties sharing the best rank: "rank ``rank`` of ``n_ranked``", where ``n_ranked`` is
  the group's cities with a score that year, the city included. A city ahead of every peer has a
  positive gap to the best peer, which is what it is.
* **Gaps point towards "better".** ``gap_to_median`` is the city minus the peer median for an
  index, and for an indicator ``(value − median) × direction``: positive always means better.
* **Coverage is counted against the framework's indicators**, not against the indicators somebody
  reported that year (the engine's ``coverage``), so an index resting on one of 39 indicators says
  so; below the pipeline's ``min_index_coverage`` the index is withheld (``thin coverage``), for
  the city and for every peer alike.
* **A guarded headline.** With fewer than ``min_peers`` peers scored, an index or an indicator has
  no rank, median or gap (``too few peers``): "rank 1 of 1" is not a result. Levers, strengths
  and weaknesses are drawn only from what has a standing.
* **Change is like for like.** The previous year is the latest earlier year in which the city has
  indicator data. For each index the city and its peers are re-scored on the indicators the city
  has in *both* years (``change_basis`` of them) in one ``rescore`` call, so a survey run only
  this year does not show up as a change; ``comparable`` says whether there is such a basis.
* **Indicators are ranked on their raw values**, direction applied, not on normalised scores:
  outlier treatment can tie different raw values, and a city deserves credit for the actual value.
* **Strengths and weaknesses use the relative position** ``(rank − 1) / (n_ranked − 1)`` (0 = best,
  1 = last), because indicators are reported by different numbers of cities: 3rd of 3 is a
  weakness, 3rd of 80 a strength. Strengths come from the better half, weaknesses from the worse.
* **A city without a score is still a city.** A city with data but none of an index's
  indicators has that index "not scored"; the peers' standing (median, best, ``n_peers``) is
  still there, ``needed`` says how many of the index's indicators would give it a score, and
  ``context`` holds what the data do have for it (population, growth) beside the peers' median
  and range. Nothing is estimated for the city.
* **Levers are measured by re-scoring**, not by a linear approximation, so any aggregation method
  (geometric, Copeland …) is handled honestly. See ``levers`` below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.analysis.peers import city_hint
from benchmarkkit.columns import conform, text_keys
from benchmarkkit.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Framework, Pipeline

LEVER_SEP = "__lever__"
"""Scenario cities for the levers are ``<city>__lever__<indicator>``; ``<city>__lever__`` is the
unchanged copy the gains are measured from."""
BASIS_SEP = "__basis__"
"""Like-for-like copies: ``<city>__basis__`` holds a group member's observations of the two years
restricted to the indicators the compared city has in both."""

TOP = 5
FLAT = 1e-9
"""Relative change below which an indicator counts as flat (rounding noise from derivation)."""
MIN_PEERS = 3
"""Fewest peers with a value for a rank, a median or a gap to mean something (``min_peers``)."""

OK, NOT_SCORED, THIN, FEW = "ok", "not scored", "thin coverage", "too few peers"
"""The ``status`` of a summary row: shown; no score; withheld (coverage below the pipeline's
``min_index_coverage``, counted against the framework); scored but fewer than ``min_peers`` peers
have a score, so no rank, median or gap."""

SUMMARY: dict[str, pl.DataType] = {
    "scorer": pl.String(),
    "node": pl.String(),
    "name": pl.String(),
    "level": pl.Int32(),
    "status": pl.String(),
    "score": pl.Float64(),
    "rank": pl.UInt32(),
    "n_ranked": pl.UInt32(),
    "n_tied": pl.UInt32(),
    "n_peers": pl.UInt32(),
    "peer_median": pl.Float64(),
    "peer_best": pl.Float64(),
    "gap_to_median": pl.Float64(),
    "gap_to_best": pl.Float64(),
    "n_present": pl.UInt32(),
    "n_indicators": pl.UInt32(),
    "coverage": pl.Float64(),
    "previous_year": pl.Int32(),
    "previous_score": pl.Float64(),
    "comparable": pl.Boolean(),
    "change_basis": pl.UInt32(),
    "basis_score": pl.Float64(),
    "basis_previous_score": pl.Float64(),
    "change": pl.Float64(),
    "basis_peer_median": pl.Float64(),
    "basis_previous_peer_median": pl.Float64(),
    "basis_n_peers": pl.UInt32(),
    "basis_rank": pl.UInt32(),
    "basis_previous_rank": pl.UInt32(),
    "rank_change": pl.Int64(),
}
"""One row per scorer × node above the indicators (the index and its focus areas).

``n_present`` of the framework's ``n_indicators`` under the node have a value (``coverage``).
The change columns are like for like: ``basis_*`` are the city's and the peer median's scores in
both years re-scored on the ``change_basis`` indicators the city has in both years; ``change`` is
``basis_score − basis_previous_score`` when ``comparable``; ``rank_change`` (positive = up) is
between the basis ranks, among the peers scored on that basis in both years, when at least
``min_peers`` are."""

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
    "n_ranked": pl.UInt32(),
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
    "n_indices": pl.UInt32(),
}
"""One row per scorer × indicator of its framework; ``value`` etc. are null where the city has no
value, rank to gaps null with fewer than ``min_peers`` peers. ``score`` is the engine's normalised
0–100 score; everything else is in raw units. ``n_indices``: how many indices it feeds."""

EXTREMES: dict[str, pl.DataType] = {
    "indicator": pl.String(),
    "name": pl.String(),
    "unit": pl.String(),
    "value": pl.Float64(),
    "score": pl.Float64(),
    "rank": pl.UInt32(),
    "n_ranked": pl.UInt32(),
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

GROUP: dict[str, pl.DataType] = {
    "scorer": pl.String(),
    "node": pl.String(),
    "level": pl.Int32(),
    "city_id": pl.String(),
    "score": pl.Float64(),
    "rank": pl.UInt32(),
}
"""This year's shown scores (thin coverage withheld) of every group member, for the charts."""

HISTORY: dict[str, pl.DataType] = {
    "scorer": pl.String(),
    "year": pl.Int32(),
    "series": pl.String(),
    "score": pl.Float64(),
    "stretch": pl.Int32(),
    "n_peers": pl.UInt32(),
}
"""Per index and year of the city's shown scores: the city (``series`` "city") and the peer
median ("peer median", peers excluding the city). ``stretch`` numbers runs of consecutive years
whose city index rests on the same indicators: a trend line is drawn within a stretch only."""

INDICATOR_HISTORY: dict[str, pl.DataType] = {
    "indicator": pl.String(),
    "year": pl.Int32(),
    "series": pl.String(),
    "value": pl.Float64(),
    "n_peers": pl.UInt32(),
}
"""Per indicator the city has this year: the city's raw value and the peer median over the
years (the median only where at least ``min_peers`` peers have a value)."""

CONTEXT: dict[str, pl.DataType] = {
    "indicator": pl.String(),
    "name": pl.String(),
    "unit": pl.String(),
    "value": pl.Float64(),
    "flag": pl.String(),
    "source": pl.String(),
    "row": pl.Int64(),
    "n_peers": pl.UInt32(),
    "peer_median": pl.Float64(),
    "peer_low": pl.Float64(),
    "peer_high": pl.Float64(),
}
"""What the data hold for the city this year outside every index (context: population,
growth): its value with the row it came from (``source``, ``row``, ``flag`` such as
``projected``), and the peers' median, lowest and highest value (``n_peers`` of them; median and
range only where at least ``min_peers`` peers have a value). Context is shown, never ranked:
fast growth is neither good nor bad by itself."""


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
    empty when ``compare`` was given no ``rescore``, and for an index without a standing."""
    city_name: str = ""
    peer_spec: str = ""
    """The peer rule that chose ``peers`` (e.g. ``size:3``), for saying whom the city is
    compared with."""
    min_peers: int = MIN_PEERS
    group: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=GROUP))
    history: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=HISTORY))
    indicator_history: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=INDICATOR_HISTORY)
    )
    context: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CONTEXT))
    needed: Mapping[str, int] = field(default_factory=dict)
    """Scorer → the fewest of its indicators a city must report for the index to be shown: the
    pipeline's ``min_index_coverage`` of the framework's indicators, at least one."""

    @property
    def scored(self) -> bool:
        """The city has a score this year in some index (shown, withheld as thin or without
        enough peers); False when every index is "not scored" — a city with data but none of
        the indices' indicators."""
        return bool((self.summary["status"] != NOT_SCORED).any())


def compare(
    scores: pl.DataFrame,
    observations: pl.DataFrame,
    catalog: pl.DataFrame,
    frameworks: dict[str, Framework],
    city_id: str,
    year: int,
    peers: list[str],
    rescore: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    *,
    min_peers: int = MIN_PEERS,
    levers: bool = True,
    pipelines: Mapping[str, Pipeline] | None = None,
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
        rescore: observations → scores of every scorer, the same way ``scores`` was made but
            without withholding thin indices (``rescorer`` builds one). Needed for the
            like-for-like change and the levers; without it the change is left empty.
        min_peers: fewest peers with a value for a rank, median or gap.
        levers: measure the levers (one more set of scenario cities in the same re-scoring).
        pipelines: the pipelines the scores were made with (``min_index_coverage``); a
            framework without one uses its own.
    """
    tree = framework_tree(frameworks, catalog)
    scores = text_keys(scores)  # joined with text-keyed tables below
    leaves = tree.filter(pl.col("level") == 1).select(pl.col("node").alias("indicator")).unique()
    mine = observations.filter(pl.col("city_id") == city_id)
    _check_data(mine, observations, city_id, year)
    own = mine.join(leaves, on="indicator", how="semi")
    previous = previous_year(own, year)
    group = (city_id, *sorted(set(peers) - {city_id}))
    shown = shown_scores(scores, frameworks, pipelines, tree)
    indicators = _indicators(scores, observations, tree, city_id, year, previous, group, min_peers)
    summary = _summary(shown, tree, city_id, year, previous, group, min_peers)
    strengths, weaknesses = _extremes(indicators)
    basis = _basis_observations(observations, tree, city_id, year, previous, group)
    lever = (
        _lever_scenarios(observations, indicators, city_id, year)
        if rescore is not None and levers
        else None
    )
    extra = [f for f in (basis, lever[1] if lever else None) if f is not None]
    rescored = (
        rescore(pl.concat([observations, *extra], how="vertical_relaxed"))
        if rescore is not None and extra
        else None
    )
    if basis is not None and rescored is not None:
        summary = _like_for_like(summary, rescored, city_id, year, previous, min_peers)
    lever_frame = (
        _levers(scores, rescored, lever[0], tree, city_id, year)
        if rescored is not None and lever is not None
        else pl.DataFrame(schema=LEVERS)
    )
    return Comparison(
        city_id=city_id,
        year=year,
        previous_year=previous,
        peers=group,
        summary=summary,
        indicators=indicators,
        strengths=strengths,
        weaknesses=weaknesses,
        levers=lever_frame.join(
            summary.filter(
                (pl.col("status") == OK) & (pl.col("level") == pl.col("level").max().over("scorer"))
            )
            .select("scorer")
            .unique(),
            on="scorer",
            how="semi",
        ),
        min_peers=min_peers,
        group=_group_scores(shown, group, year),
        history=_history(shown, scores, city_id, group, min_peers),
        indicator_history=_indicator_history(observations, indicators, city_id, group, min_peers),
        context=_context(observations, catalog, tree, city_id, year, group, min_peers),
        needed=_needed(tree, frameworks, pipelines),
    )


def previous_year(own: pl.DataFrame, year: int) -> int | None:
    """The latest year before ``year`` in which the city has indicator data (``own``: the city's
    observations of the frameworks' indicators). City statistics are irregular (2004, 2008,
    2014 …), so "year − 1" would often be empty."""
    return own.filter(pl.col("year") < year).select(pl.col("year").max()).item()


def _needed(
    tree: pl.DataFrame,
    frameworks: Mapping[str, Framework],
    pipelines: Mapping[str, Pipeline] | None,
) -> dict[str, int]:
    import math

    pipelines = pipelines or {}
    roots = tree.filter(pl.col("parent").is_null())
    total = dict(zip(roots["scorer"].to_list(), roots["n_indicators"].to_list(), strict=True))
    return {
        name: max(
            1,
            math.ceil(
                float(pipelines.get(name, fw.pipeline).min_index_coverage) * (total.get(name) or 0)
                - 1e-9
            ),
        )
        for name, fw in frameworks.items()
    }


def _context(
    observations: pl.DataFrame,
    catalog: pl.DataFrame,
    tree: pl.DataFrame,
    city_id: str,
    year: int,
    group: tuple[str, ...],
    min_peers: int,
) -> pl.DataFrame:
    leaves = tree.filter(pl.col("level") == 1)["node"].unique().implode()
    values = observations.filter(
        pl.col("city_id").is_in(group)
        & (pl.col("year") == year)
        & ~pl.col("indicator").is_in(leaves)
        & pl.col("value").is_not_null()
        & pl.col("value").is_not_nan()
    )
    city = values.filter(pl.col("city_id") == city_id).unique("indicator", keep="first")
    peer = (
        values.filter(pl.col("city_id") != city_id)
        .group_by("indicator")
        .agg(
            pl.len().cast(pl.UInt32).alias("n_peers"),
            pl.col("value").median().alias("peer_median"),
            pl.col("value").min().alias("peer_low"),
            pl.col("value").max().alias("peer_high"),
        )
        .with_columns(
            pl.when(pl.col("n_peers") >= min_peers).then(pl.col(c)).alias(c)
            for c in ("peer_median", "peer_low", "peer_high")
        )
    )
    names = catalog.select(pl.col("id").alias("indicator"), "name", "unit").unique("indicator")
    frame = (
        city.select(
            "indicator",
            "value",
            *(c for c in ("flag", "source", "row") if c in city.columns),
        )
        .join(names, on="indicator", how="left")
        .join(peer, on="indicator", how="left")
        .with_columns(pl.col("n_peers").fill_null(0))
        .sort("indicator")
    )
    order = {i: k for k, i in enumerate(catalog["id"].to_list())}
    frame = frame.with_columns(
        pl.col("indicator").replace_strict(order, default=None, return_dtype=pl.Int64).alias("_o")
    ).sort("_o", "indicator", nulls_last=True)
    return conform(frame, CONTEXT).collect()


def framework_tree(frameworks: dict[str, Framework], catalog: pl.DataFrame) -> pl.DataFrame:
    """Every framework's nodes in one frame with a ``scorer`` column, indicator names and units
    from the catalog, the framework's own node order kept (``_order``) for display, and
    ``n_indicators``: how many of the framework's indicators sit under each node (1 for a leaf)."""
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
    tree = (
        nodes.with_row_index("_order")
        .join(cat, on="node", how="left")
        .with_columns(
            pl.when(leaf).then(pl.coalesce("_cat_name", "name")).otherwise("name").alias("name"),
            pl.when(leaf).then(pl.coalesce("_cat_unit", "unit")).otherwise("unit").alias("unit"),
            pl.col("direction").fill_null(1).cast(pl.Int8),
        )
        .drop("_cat_name", "_cat_unit")
    )
    # every (leaf, ancestor) pair, walking up one level at a time
    up = tree.filter(leaf).select(
        "scorer", pl.col("node").alias("leaf"), pl.col("node").alias("at")
    )
    parents = tree.select("scorer", pl.col("node").alias("at"), pl.col("parent").alias("_up"))
    pairs, step = [up], up
    for _ in range(int(tree["level"].max() or 1)):
        step = (
            step.join(parents, on=["scorer", "at"], how="inner")
            .filter(pl.col("_up").is_not_null())
            .select("scorer", "leaf", pl.col("_up").alias("at"))
        )
        if step.is_empty():
            break
        pairs.append(step)
    counts = (
        pl.concat(pairs)
        .unique()
        .group_by("scorer", "at")
        .agg(pl.len().cast(pl.UInt32).alias("n_indicators"))
        .rename({"at": "node"})
    )
    return tree.join(counts, on=["scorer", "node"], how="left").sort("_order")


def shown_scores(
    scores: pl.DataFrame,
    frameworks: Mapping[str, Framework],
    pipelines: Mapping[str, Pipeline] | None = None,
    tree: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The scores above the indicators as the report shows them, for every city and year.

    ``coverage`` is recounted against the framework (``n_present`` of ``n_indicators``); an index
    below its pipeline's ``min_index_coverage`` is withheld (``score`` null, ``status``
    "thin coverage"), for every city alike, so a peer resting on one indicator is no median."""
    tree = (
        framework_tree(dict(frameworks), pl.DataFrame(schema=_NO_CATALOG)) if tree is None else tree
    )
    pipelines = pipelines or {}
    thresholds = pl.DataFrame(
        {
            "scorer": list(frameworks),
            "_min": [
                float(pipelines.get(n, fw.pipeline).min_index_coverage)
                for n, fw in frameworks.items()
            ],
        },
        schema={"scorer": pl.String, "_min": pl.Float64},
    )
    sizes = tree.filter(pl.col("level") >= 2).select("scorer", "node", "n_indicators")
    top = pl.col("level") == pl.col("level").max().over("scorer")
    cover = (pl.col("n_present").cast(pl.Float64) / pl.col("n_indicators")).alias("coverage")
    frame = (
        text_keys(scores.lazy().filter(pl.col("level") >= 2))
        .drop("coverage")
        .join(sizes.lazy(), on=["scorer", "node"], how="inner")
        .join(thresholds.lazy(), on="scorer", how="left")
        .with_columns(pl.col("score").fill_nan(None), cover)
        .with_columns(
            pl.when(pl.col("score").is_null())
            .then(pl.lit(NOT_SCORED))
            .when(top & (pl.col("coverage") < pl.col("_min").fill_null(0.0)))
            .then(pl.lit(THIN))
            .otherwise(pl.lit(OK))
            .alias("status")
        )
        .with_columns(
            pl.when(pl.col("status") == OK).then(pl.col("score")).alias("score"),
            pl.col("n_present").cast(pl.UInt32),
        )
        .select(
            "scorer",
            "node",
            "level",
            "year",
            "city_id",
            "score",
            "n_present",
            "n_indicators",
            "coverage",
            "status",
        )
    )
    return frame.collect()


_NO_CATALOG = {"id": pl.String(), "name": pl.String(), "unit": pl.String()}


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


def _standing(frame: pl.DataFrame, by: list[str], city_id: str, min_peers: int) -> pl.DataFrame:
    """Per group ``by`` of member rows (each with a value): the peers' count, median and best
    ``_value`` (best = highest ``_key``; the city left out), the members ranked (``n_ranked``,
    the city included) and the city's rank on ``_key`` (descending, ties min). With fewer than
    ``min_peers`` peers there is no rank, median or best."""
    peer = pl.col("city_id") != city_id
    stats = frame.group_by(by).agg(
        pl.len().cast(pl.UInt32).alias("n_ranked"),
        peer.sum().cast(pl.UInt32).alias("n_peers"),
        pl.col("_value").filter(peer).median().alias("peer_median"),
        pl.col("_value")
        .filter(peer)
        .sort_by(pl.col("_key").filter(peer), descending=True)
        .first()
        .alias("peer_best"),
    )
    rank = _tied_ranks(frame, by).filter(pl.col("city_id") == city_id).select(*by, "rank", "n_tied")
    few = pl.col("n_peers") < min_peers
    return stats.join(rank, on=by, how="left").with_columns(
        pl.when(~few).then(pl.col(c)).alias(c)
        for c in ("rank", "n_tied", "peer_median", "peer_best")
    )


def _tied_ranks(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """``frame`` with ``rank`` on ``_key`` within each ``by`` group — descending, values equal
    within the engine's relative tolerance (``engine.assemble.RANK_TOLERANCE``) tied at the best
    rank, as the engine ranks — and ``n_tied``, how many others share that rank ("rank 1 of 45,
    with 14 others")."""
    from benchmarkkit.engine.assemble import tolerant_rank

    ordered = frame.sort(by).with_columns(pl.struct(by).rank("dense").cast(pl.Int64).alias("_rk"))
    ranked = ordered.with_columns(
        tolerant_rank(ordered.select("_rk", pl.col("_key").cast(pl.Float64).alias("score")))
        .cast(pl.UInt32)
        .alias("rank")
    )
    return ranked.with_columns(
        (pl.len().over([*by, "rank"]) - 1).cast(pl.UInt32).alias("n_tied")
    ).drop("_rk")


def _summary(
    shown: pl.DataFrame,
    tree: pl.DataFrame,
    city_id: str,
    year: int,
    previous: int | None,
    group: tuple[str, ...],
    min_peers: int,
) -> pl.DataFrame:
    by = ["scorer", "node"]
    now, before = pl.col("year") == year, pl.col("year") == pl.lit(previous, pl.Int32)
    mine = shown.filter(pl.col("city_id") == city_id)
    pool = shown.filter(
        pl.col("city_id").is_in(group) & pl.col("score").is_not_null() & now
    ).select(*by, "city_id", pl.col("score").alias("_key"), pl.col("score").alias("_value"))
    frame = (
        tree.filter(pl.col("level") >= 2)
        .select(*by, "name", "level", "_order", "n_indicators")
        .join(
            mine.filter(now).select(*by, "score", "n_present", "coverage", "status"),
            on=by,
            how="left",
        )
        .join(_standing(pool, by, city_id, min_peers), on=by, how="left")
        .join(
            mine.filter(before).select(*by, pl.col("score").alias("previous_score")),
            on=by,
            how="left",
        )
    )
    scored = pl.col("status") == OK
    few = scored & (pl.col("n_peers").fill_null(0) < min_peers)
    frame = (
        frame.sort("_order")
        .with_columns(
            pl.when(few)
            .then(pl.lit(FEW))
            .otherwise(pl.col("status").fill_null(NOT_SCORED))
            .alias("status"),
            pl.col("n_present").fill_null(0),
            pl.coalesce("coverage", pl.lit(0.0) * pl.col("n_indicators").cast(pl.Float64)).alias(
                "coverage"
            ),
            pl.col("n_ranked").fill_null(0),
            pl.col("n_peers").fill_null(0),
        )
        .with_columns(
            (pl.col("score") - pl.col("peer_median")).alias("gap_to_median"),
            (pl.col("score") - pl.col("peer_best")).alias("gap_to_best"),
            pl.lit(previous, pl.Int32).alias("previous_year"),
            pl.lit(previous is not None and False).alias("comparable"),
            pl.lit(0 if previous is not None else None, pl.UInt32).alias("change_basis"),
        )
    )
    return conform(frame, SUMMARY).collect()


def _like_for_like(
    summary: pl.DataFrame,
    rescored: pl.DataFrame,
    city_id: str,
    year: int,
    previous: int | None,
    min_peers: int,
) -> pl.DataFrame:
    """The change columns, from the group's basis copies scored in both years."""
    by = ["scorer", "node"]
    copies = (
        rescored.filter(
            pl.col("city_id").str.ends_with(BASIS_SEP)
            & (pl.col("level") >= 2)
            & pl.col("year").is_in([year, previous])
        )
        .with_columns(
            pl.col("city_id").str.strip_suffix(BASIS_SEP),
            pl.col("score").fill_nan(None),
        )
        .filter(pl.col("score").is_not_null())
    )
    wide = copies.group_by(*by, "city_id").agg(
        pl.col("score").filter(pl.col("year") == year).first().alias("_now"),
        pl.col("score").filter(pl.col("year") == previous).first().alias("_then"),
        pl.col("n_present").filter(pl.col("year") == year).first().alias("_n"),
    )
    both = wide.filter(pl.col("_now").is_not_null() & pl.col("_then").is_not_null())
    ranked = both.with_columns(
        pl.col("_now").rank("min", descending=True).over(by).cast(pl.UInt32).alias("_rank_now"),
        pl.col("_then").rank("min", descending=True).over(by).cast(pl.UInt32).alias("_rank_then"),
    )
    peer = pl.col("city_id") != city_id
    peers = ranked.group_by(by).agg(
        peer.sum().cast(pl.UInt32).alias("basis_n_peers"),
        pl.col("_now").filter(peer).median().alias("basis_peer_median"),
        pl.col("_then").filter(peer).median().alias("basis_previous_peer_median"),
    )
    city = wide.filter(pl.col("city_id") == city_id).join(
        ranked.filter(pl.col("city_id") == city_id).select(*by, "_rank_now", "_rank_then"),
        on=by,
        how="left",
    )
    enough = (pl.col("basis_n_peers").fill_null(0) >= min_peers) & (pl.col("status") == OK)
    comparable = (
        pl.col("basis_score").is_not_null()
        & pl.col("basis_previous_score").is_not_null()
        & pl.col("status").is_in([OK, FEW])
    )
    out = (
        summary.drop(
            "comparable",
            "change_basis",
            "basis_score",
            "basis_previous_score",
            "change",
            "basis_peer_median",
            "basis_previous_peer_median",
            "basis_n_peers",
            "basis_rank",
            "basis_previous_rank",
            "rank_change",
        )
        .join(
            city.select(
                *by,
                pl.col("_now").alias("basis_score"),
                pl.col("_then").alias("basis_previous_score"),
                pl.col("_n").cast(pl.UInt32).alias("change_basis"),
                pl.col("_rank_now").alias("basis_rank"),
                pl.col("_rank_then").alias("basis_previous_rank"),
            ),
            on=by,
            how="left",
        )
        .join(peers, on=by, how="left")
        .with_columns(
            comparable.alias("comparable"),
            pl.col("change_basis").fill_null(0),
            pl.col("basis_n_peers").fill_null(0),
            pl.when(comparable)
            .then(pl.col("basis_score") - pl.col("basis_previous_score"))
            .alias("change"),
        )
        .with_columns(
            pl.when(comparable & enough).then(pl.col(c)).alias(c)
            for c in (
                "basis_peer_median",
                "basis_previous_peer_median",
                "basis_rank",
                "basis_previous_rank",
            )
        )
        .with_columns(
            (
                pl.col("basis_previous_rank").cast(pl.Int64) - pl.col("basis_rank").cast(pl.Int64)
            ).alias("rank_change")
        )
    )
    return conform(out, SUMMARY).collect()


def _basis_observations(
    observations: pl.DataFrame,
    tree: pl.DataFrame,
    city_id: str,
    year: int,
    previous: int | None,
    group: tuple[str, ...],
) -> pl.DataFrame | None:
    """Copies ``<member>__basis__`` of every group member's observations in the two years, on
    the indicators the city has in both; None without a previous year or a common indicator."""
    if previous is None:
        return None
    leaves = tree.filter(pl.col("level") == 1)["node"].unique().implode()
    has = pl.col("value").is_not_null() & pl.col("value").is_not_nan()
    two = observations.filter(
        pl.col("year").is_in([year, previous]) & pl.col("indicator").is_in(leaves) & has
    )
    common = (
        two.filter(pl.col("city_id") == city_id)
        .group_by("indicator")
        .agg(pl.col("year").n_unique().alias("_n"))
        .filter(pl.col("_n") == 2)
        .select("indicator")
    )
    if common.is_empty():
        return None
    return (
        two.filter(pl.col("city_id").is_in(group))
        .join(common, on="indicator", how="semi")
        .with_columns((pl.col("city_id") + BASIS_SEP).alias("city_id"))
    )


def _indicators(
    scores: pl.DataFrame,
    observations: pl.DataFrame,
    tree: pl.DataFrame,
    city_id: str,
    year: int,
    previous: int | None,
    group: tuple[str, ...],
    min_peers: int,
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
        .join(_standing(pool.filter(now), by, city_id, min_peers), on=by, how="left")
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
        ((pl.col("rank").cast(pl.Float64) - 1) / (pl.col("n_ranked").cast(pl.Float64) - 1)).alias(
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
        pl.len().over("indicator").cast(pl.UInt32).alias("n_indices"),
        pl.col("n_ranked").fill_null(0),
        pl.col("n_peers").fill_null(0),
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


def _lever_scenarios(
    observations: pl.DataFrame, indicators: pl.DataFrame, city_id: str, year: int
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The candidates (indicators worse than the peer median) and their scenario cities.

    Every candidate becomes one scenario city ``<city>__lever__<indicator>``: a copy of the
    city's observations in ``year`` with that one value set to the median; ``<city>__lever__``
    is the unchanged copy."""
    below = indicators.filter(pl.col("gap_to_median") < 0)
    if below.height == 0:
        return None
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
    return below, pl.concat([baseline, scenarios], how="vertical_relaxed")


def _levers(
    scores: pl.DataFrame,
    rescored: pl.DataFrame,
    below: pl.DataFrame,
    tree: pl.DataFrame,
    city_id: str,
    year: int,
) -> pl.DataFrame:
    """What reaching the peer median would do to each index, measured by re-scoring.

    All scenarios (``_lever_scenarios``), plus the unchanged copy, were scored in ONE
    ``rescore`` call. The copies join the pool the normalisation and outlier treatment are
    computed on, so those references may shift slightly (min-max bounds cannot: every copy holds
    either the city's own value or a peer median, both inside the range). Measuring each gain
    against the unchanged copy *in the same call* cancels that shift to first order;
    ``index_at_median`` is the city's actual index plus that gain.
    """
    prefix = city_id + LEVER_SEP
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


def _group_scores(shown: pl.DataFrame, group: tuple[str, ...], year: int) -> pl.DataFrame:
    frame = shown.filter(pl.col("city_id").is_in(group) & (pl.col("year") == year)).with_columns(
        pl.col("score")
        .rank("min", descending=True)
        .over("scorer", "node")
        .cast(pl.UInt32)
        .alias("rank")
    )
    return conform(frame.sort("scorer", "node", "city_id"), GROUP).collect()


def _history(
    shown: pl.DataFrame,
    scores: pl.DataFrame,
    city_id: str,
    group: tuple[str, ...],
    min_peers: int,
) -> pl.DataFrame:
    top = shown.filter(
        (pl.col("level") == pl.col("level").max().over("scorer"))
        & pl.col("city_id").is_in(group)
        & pl.col("score").is_not_null()
    )
    city = top.filter(pl.col("city_id") == city_id).select("scorer", "year", "score")
    sets = (
        scores.filter(
            (pl.col("city_id") == city_id)
            & (pl.col("level") == 1)
            & pl.col("score").fill_nan(None).is_not_null()
        )
        .group_by("scorer", "year")
        .agg(pl.col("node").sort().str.join(",").alias("_set"))
    )
    city = (
        city.join(sets, on=["scorer", "year"], how="left")
        .sort("scorer", "year")
        .with_columns(
            (pl.col("_set") != pl.col("_set").shift(1).over("scorer"))
            .fill_null(True)
            .cast(pl.Int32)
            .cum_sum()
            .over("scorer")
            .alias("stretch")
        )
    )
    peers = (
        top.filter(pl.col("city_id") != city_id)
        .group_by("scorer", "year")
        .agg(pl.col("score").median(), pl.len().cast(pl.UInt32).alias("n_peers"))
        .filter(pl.col("n_peers") >= min_peers)
        .join(city.select("scorer", "year", "stretch"), on=["scorer", "year"], how="inner")
    )
    frame = pl.concat(
        [
            city.select(
                "scorer",
                "year",
                pl.lit("city").alias("series"),
                "score",
                "stretch",
                pl.lit(None, pl.UInt32).alias("n_peers"),
            ),
            peers.select(
                "scorer",
                "year",
                pl.lit("peer median").alias("series"),
                "score",
                "stretch",
                "n_peers",
            ),
        ]
    ).sort("scorer", "series", "year")
    return conform(frame, HISTORY).collect()


def _indicator_history(
    observations: pl.DataFrame,
    indicators: pl.DataFrame,
    city_id: str,
    group: tuple[str, ...],
    min_peers: int,
) -> pl.DataFrame:
    wanted = indicators.filter(pl.col("value").is_not_null())["indicator"].unique().implode()
    values = observations.filter(
        pl.col("city_id").is_in(group)
        & pl.col("indicator").is_in(wanted)
        & pl.col("value").is_not_null()
        & pl.col("value").is_not_nan()
    ).select("city_id", "year", "indicator", "value")
    city = values.filter(pl.col("city_id") == city_id)
    peers = (
        values.filter(pl.col("city_id") != city_id)
        .join(city.select("indicator", "year"), on=["indicator", "year"], how="semi")
        .group_by("indicator", "year")
        .agg(pl.col("value").median(), pl.len().cast(pl.UInt32).alias("n_peers"))
        .filter(pl.col("n_peers") >= min_peers)
    )
    frame = pl.concat(
        [
            city.select(
                "indicator",
                "year",
                pl.lit("city").alias("series"),
                "value",
                pl.lit(None, pl.UInt32).alias("n_peers"),
            ),
            peers.select(
                "indicator", "year", pl.lit("peer median").alias("series"), "value", "n_peers"
            ),
        ]
    ).sort("indicator", "series", "year")
    return conform(frame, INDICATOR_HISTORY).collect()


def rescorer(
    frameworks: dict[str, Framework],
    pipelines: Mapping[str, Pipeline],
    cities: pl.DataFrame,
    registry: Registry,
    *,
    years: list[int] | None = None,
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """The ``rescore`` that ``compare`` needs: every framework scored again, the same way,
    except that no index is withheld as thin (``min_index_coverage`` 0): a like-for-like basis
    of a few indicators is said, not hidden, and a lever scenario has its city's coverage.

    Pass the pipelines the scores were made with (e.g. ``scorer.pipeline.with_options(...)``);
    a framework without one uses its own. Scenario and basis cities get their city's context
    row, so group imputation treats a copy like the city it copies.
    """
    from dataclasses import replace

    from benchmarkkit.engine.score import encode, score

    def rescore(observations: pl.DataFrame) -> pl.DataFrame:
        context = pl.concat([cities, _copy_context(observations, cities)])
        encoded = encode(observations)  # once for every framework
        return text_keys(
            pl.concat(
                [
                    score(
                        fw,
                        observations,
                        context,
                        replace(pipelines.get(name, fw.pipeline), min_index_coverage=0.0),
                        registry,
                        years=years,
                        encoded=encoded,
                    ).scores
                    for name, fw in frameworks.items()
                ]
            )
        )

    return rescore


def _copy_context(observations: pl.DataFrame, cities: pl.DataFrame) -> pl.DataFrame:
    ids = observations.select(pl.col("city_id").unique()).filter(
        pl.col("city_id").str.contains(LEVER_SEP, literal=True)
        | pl.col("city_id").str.ends_with(BASIS_SEP)
    )
    base = ids.with_columns(
        pl.col("city_id")
        .str.strip_suffix(BASIS_SEP)
        .str.split(LEVER_SEP)
        .list.first()
        .alias("_base")
    )
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
    min_peers: int = MIN_PEERS,
) -> Comparison:
    """Resolve the city (id or name), the year and the peer group, then ``compare`` — with the
    like-for-like change and the levers re-scored the same way the scores were made.

    The default year is the latest in which the city and at least ``min_peers`` of its peers
    have an index shown (``target.guarded_year``), so a headline never rests on nobody.
    ``scored`` is a scoring run (``benchmarkkit.Scores``): its ``scores``, ``loaded`` (cities,
    observations), ``catalog``, ``frameworks``, ``pipelines`` and ``registry`` are read.
    """
    from dataclasses import replace

    from benchmarkkit.analysis.peers import find_peers
    from benchmarkkit.analysis.target import resolve_target

    cities, observations = scored.loaded.cities, scored.loaded.observations
    frameworks = dict(scored.frameworks)

    def peers_for(city_id: str, at: int) -> list[str]:
        return find_peers(scored.registry, city_id, at, peer_spec, cities, observations)

    target = resolve_target(
        cities,
        scored.scores,
        city,
        year,
        shown=lambda: shown_scores(scored.scores, frameworks, scored.pipelines),
        peers_for=peers_for,
        min_peers=min_peers,
        observations=observations,
    )
    peers = peers_for(target.city_id, target.year)
    leaves = pl.concat([fw.nodes.filter(pl.col("level") == 1) for fw in frameworks.values()])
    own = observations.filter(
        (pl.col("city_id") == target.city_id) & pl.col("indicator").is_in(leaves["node"].implode())
    )
    years = [y for y in (target.year, previous_year(own, target.year)) if y is not None]
    rescore = rescorer(frameworks, scored.pipelines, cities, scored.registry, years=years)
    comparison = compare(
        scored.scores,
        observations,
        scored.catalog,
        frameworks,
        target.city_id,
        target.year,
        peers,
        rescore,
        min_peers=min_peers,
        levers=levers,
        pipelines=scored.pipelines,
    )
    return replace(comparison, city_name=target.city_name, peer_spec=peer_spec)
