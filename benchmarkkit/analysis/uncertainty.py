"""How sure is the city's rank *among its peers*: the sensitivity analysis read for one group.

A sensitivity analysis ranks every city of the data in every sample; a report speaks of the city
and its peers. So the rank interval a card shows is defined here, once: in each sample the group's
cities are ranked among themselves on the sample's scores (descending, ties share the best rank),
and the interval is the 5th to 95th percentile of those ranks over the samples (90 % of the
variations; the lower bound rounded down, the upper up, so it never looks narrower than it is).
The nominal rank is the group rank on the run's own scores — the rank the cards print.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from benchmarkkit.analysis.sensitivity import Sensitivity

INTERVAL = (0.05, 0.95)
"""The share of variations an interval holds: 90 %."""


def group_rank_intervals(result: Sensitivity, group: Sequence[str]) -> pl.DataFrame:
    """Per node of the index's top level and city of ``group``: ``nominal_rank`` (among the
    group), ``rank_low``, ``rank_median``, ``rank_high`` (90 % of the samples), ``n_samples`` and
    ``n_ranked`` (group cities with a score in the nominal run)."""
    top = result.runs["level"].max()
    members = pl.Series(list(group), dtype=pl.String).implode()
    runs = result.runs.filter((pl.col("level") == top) & pl.col("city_id").is_in(members))
    in_group = runs.filter(pl.col("score").is_not_null()).with_columns(
        pl.col("score").rank("min", descending=True).over("sample", "node").alias("group_rank")
    )
    nominal = (
        result.scores.filter(
            (pl.col("level") == top)
            & pl.col("city_id").is_in(members)
            & pl.col("nominal_score").is_not_null()
        )
        .with_columns(
            pl.col("nominal_score").rank("min", descending=True).over("node").alias("nominal_rank"),
            pl.len().over("node").alias("n_ranked"),
        )
        .select("node", "city_id", "nominal_rank", "n_ranked")
    )
    low, high = INTERVAL
    spread = in_group.group_by("node", "city_id").agg(
        pl.col("group_rank").quantile(low, "lower").alias("rank_low"),
        pl.col("group_rank").median().alias("rank_median"),
        pl.col("group_rank").quantile(high, "higher").alias("rank_high"),
        pl.col("sample").n_unique().alias("n_samples"),
    )
    return (
        nominal.join(spread, on=["node", "city_id"], how="left")
        .with_columns(pl.col("rank_low", "rank_high").cast(pl.Int64))
        .sort("node", "nominal_rank", "city_id")
    )


def comparison_intervals(
    comparison: Any, results: Mapping[str, Sensitivity]
) -> dict[str, pl.DataFrame]:
    """Per index of a ``Comparison`` whose city has a rank: ``group_rank_intervals`` over the
    group's cities the comparison ranks at the index's top level — what the report's cards and
    section and ``compare``'s ``rank_low``/``rank_high`` all read."""
    out = {}
    group = comparison.group
    for scorer, result in sorted(results.items()):
        top = group.filter(pl.col("scorer") == scorer)
        top = top.filter(pl.col("level") == pl.col("level").max())
        ranked = top.filter(pl.col("rank").is_not_null())["city_id"].to_list()
        if comparison.city_id in ranked:
            out[scorer] = group_rank_intervals(result, ranked)
    return out


def moving_inputs(result: Sensitivity, *, top_n: int = 3) -> pl.DataFrame:
    """The inputs that move the index's ranks most (``input``, ``effect``: a share of the rank
    shifts' variance, from Sobol indices when the analysis was a Sobol one, else estimated from
    the samples), largest first."""
    from benchmarkkit.analysis.sensitivity import input_effects

    top = result.runs["level"].max()
    index_nodes = result.runs.filter(pl.col("level") == top)["node"].unique().implode()
    if result.sobol.height:
        frame = result.sobol.select("input", "node", pl.col("st").alias("effect"))
    else:
        frame = input_effects(result)
    return (
        frame.filter(pl.col("node").is_in(index_nodes) & pl.col("effect").is_not_null())
        .group_by("input")
        .agg(pl.col("effect").max())
        .sort("effect", "input", descending=[True, False])
        .head(top_n)
    )
