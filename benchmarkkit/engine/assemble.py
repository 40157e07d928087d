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
    # one plan: per run, the position of each sorted place (scores descending, nulls last) and
    # the place in the run; the row of each sorted place; the rank that place starts. Positions
    # are sorted by score rather than ``arg_sort``ed: the same permutation up to the order of
    # equal scores, which share a rank anyway, and about twice as fast in Polars 2.1.
    position = pl.int_range(pl.len(), dtype=pl.UInt32 if n < 2**32 else pl.UInt64)
    w, s = pl.col("_w"), pl.col("_s")
    above = s.shift(1)
    gap = above - s > RANK_TOLERANCE * pl.max_horizontal(above.abs(), s.abs())
    starts = pl.when((w == 0) | gap).then(w + 1).forward_fill().cast(pl.UInt32)
    order = (
        frame.lazy()
        .select(
            "score",
            position.over("_rk").alias("_w"),
            position.sort_by("score", descending=True, nulls_last=True).over("_rk").alias("_a"),
        )
        .with_columns((position - w + pl.col("_a")).alias("_r"))  # the row of each sorted place
        .select("_r", w, pl.col("score").gather(pl.col("_r")).alias("_s"))
        .select("_r", starts.alias("_b"))
        .collect(engine="in-memory")  # in memory, as eager frames run: the windows need order
    )
    sorted_row, start = order["_r"], order["_b"]
    rank = pl.repeat(0, n, dtype=pl.UInt32, eager=True).scatter(sorted_row, start)
    return pl.select(pl.when(frame["score"].is_not_null()).then(rank)).to_series().alias("rank")


def assemble(blocks: dict[int, Level], run: Run, dense: bool) -> pl.DataFrame:
    """Every level's rows in the output order — level (top first), node, year, city — with
    ranks within (node, year), as the canonical scores frame."""
    units = run.units
    # the keys as categories, one per unit and per node: each output row gathers a small code
    names = pl.Series(run.node_names, dtype=pl.String).cast(pl.Categorical)
    city_of_unit = units.cities.cast(pl.String).cast(pl.Categorical).gather(units.city)
    year_of_unit = units.years.gather(units.year)
    parts = []
    for level in sorted(blocks, reverse=True):
        block = blocks[level]
        frame = block.frame.with_columns(pl.col("score").fill_nan(None))
        key = (
            frame["_rk"]  # level 1 brings it from the normalisation
            if "_rk" in frame.columns
            else node_year_key(frame["_k"], frame["_u"], run).alias("_rk")
        )
        rank = tolerant_rank(pl.DataFrame([key, frame["score"]]))
        parts.append(
            frame.with_columns(rank)
            .lazy()
            .select(
                pl.lit(city_of_unit).gather(pl.col("_u")).alias("city_id"),
                pl.lit(year_of_unit).gather(pl.col("_u")).alias("year"),
                pl.lit(run.framework.name, pl.Categorical).alias("scorer"),
                pl.lit(names.gather(block.node_codes)).gather(pl.col("_k")).alias("node"),
                pl.lit(level, pl.Int32).alias("level"),
                "score",
                "rank",
                "n_present",
                "n_children",
                "coverage",
            )
        )
    # the levels' own layout (top level first, node-major, units by year then city) is the
    # output order: nothing is reordered; one plan builds every level's rows
    out = (
        pl.concat(parts)
        .cast(SCORES)  # type: ignore[arg-type]
        .collect(engine="streaming")
    )
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
