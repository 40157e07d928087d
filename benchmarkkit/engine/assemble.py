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


def assemble(blocks: dict[int, Level], run: Run, dense: bool) -> pl.DataFrame:
    """Every level's rows in the output order — level (top first), node, year, city — with
    ranks within (node, year), as the canonical scores frame."""
    units = run.units
    names = pl.Series(run.node_names, dtype=pl.String)
    ranked = []
    for level in sorted(blocks, reverse=True):
        block = blocks[level]
        frame = block.frame
        key = node_year_key(frame["_k"], frame["_u"], run).alias("_rk")
        frame = frame.with_columns(pl.col("score").fill_nan(None), key).with_columns(
            pl.col("score").rank("min", descending=True).over("_rk").alias("rank"),
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
        units.city_ids(out["_u"]),
        units.year_values(out["_u"]),
        pl.lit(run.framework.name).alias("scorer"),
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
