"""The output: every level's blocks as rows of the canonical scores frame, ranked.

Why a module of its own: it is the one place where codes become strings again, and where the
levels' layout is relied on to be the output order (no sort on the dense path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.columns import SCORES
from benchmarkkit.engine.context import node_year_key

if TYPE_CHECKING:
    from benchmarkkit.engine.context import Run
    from benchmarkkit.engine.levels import Level


RANK_TOLERANCE = 1e-12
"""Scores closer than this, relative to the larger, share a rank: the same number computed in
another order (R adds in long double, Polars' grouped sums in their own order) must not split a
tie. Chains are one tie: with a ≈ b ≈ c, all three share the best rank."""


def tolerant_rank(frame: pl.DataFrame) -> pl.Series:
    """Rank (1 = highest) of ``score`` within each ``_rk`` run of ``frame`` (runs contiguous, as
    a level's layout makes them), ties within ``RANK_TOLERANCE`` sharing the best rank; null for
    a missing score.

    In each run the scores are sorted, a new rank starts where the gap to the one above is beyond
    the tolerance, and each row takes the rank of its sorted position.

    >>> f = pl.DataFrame({"_rk": [0, 0, 0, 0, 1], "score": [100.0, 99.99999999999999, 50.0, None,
    ...     7.0]})
    >>> tolerant_rank(f).to_list()
    [1, 1, 3, None, 1]
    """
    n = frame.height
    if n == 0:
        return pl.Series("rank", [], dtype=pl.UInt32)
    # one sort per run: the row of each sorted position (nulls last), and the position in its run
    order = frame.select(
        pl.col("score").arg_sort(descending=True, nulls_last=True).over("_rk").alias("_a"),
        pl.int_range(pl.len(), dtype=pl.UInt32).over("_rk").alias("_w"),
    )
    row = pl.int_range(n, dtype=pl.Int64, eager=True)
    first = row - order["_w"].cast(pl.Int64)  # the run's first row, at every row of the run
    sorted_row = first + order["_a"].cast(pl.Int64)
    ranked = pl.DataFrame({"_s": frame["score"].gather(sorted_row), "_w": order["_w"]})
    above = pl.col("_s").shift(1)
    gap = above - pl.col("_s") > RANK_TOLERANCE * pl.max_horizontal(above.abs(), pl.col("_s").abs())
    start = ranked.select(
        pl.when((pl.col("_w") == 0) | gap).then(pl.col("_w") + 1).forward_fill().alias("_b")
    )["_b"]
    rank = pl.repeat(0, n, dtype=pl.UInt32, eager=True).scatter(sorted_row, start)
    return pl.select(pl.when(frame["score"].is_not_null()).then(rank)).to_series().alias("rank")


def assemble(blocks: dict[int, Level], run: Run, dense: bool) -> pl.DataFrame:
    """Every level's rows in the output order — level (top first), node, year, city — with
    ranks within (node, year), as the canonical scores frame."""
    units = run.units
    # the keys as categories: each output row gathers a small code, not a string
    names = pl.Series(run.node_names, dtype=pl.String).cast(pl.Categorical)
    cities = units.cities.cast(pl.String).cast(pl.Categorical)
    ranked = []
    for level in sorted(blocks, reverse=True):
        block = blocks[level]
        frame = block.frame
        key = node_year_key(frame["_k"], frame["_u"], run).alias("_rk")
        frame = frame.with_columns(pl.col("score").fill_nan(None), key)
        frame = frame.with_columns(
            tolerant_rank(frame),
            pl.lit(level, pl.Int32).alias("level"),
            block.node_codes.gather(frame["_k"]).alias("_n"),
        )
        ranked.append(
            frame.select(
                "_n", "_u", "level", "score", "rank", "n_present", "n_children", "coverage"
            )
        )
    # the levels' own layout (top level first, node-major, units by year then city) is the
    # output order: nothing is reordered
    out = pl.concat(ranked)
    out = out.select(
        cities.gather(units.city.gather(out["_u"])).alias("city_id"),
        units.year_values(out["_u"]),
        pl.lit(run.framework.name, pl.Categorical).alias("scorer"),
        names.gather(out["_n"]).alias("node"),
        "level",
        "score",
        "rank",
        "n_present",
        "n_children",
        "coverage",
    ).cast(SCORES)  # type: ignore[arg-type]
    if not dense:
        out = out.sort(
            "level",
            "node",
            "year",
            "city_id",
            descending=[True, False, False, False],
            maintain_order=True,
        )
    return out
