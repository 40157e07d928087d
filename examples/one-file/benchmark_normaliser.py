"""A normaliser with a per-indicator parameter, in one file: ``benchmark`` scores each value as a
share of the indicator's own benchmark (a WHO guideline, a national target), 100 at or beyond it.

The benchmark is a column of the framework: a ``benchmark = …`` key on each ``[[indicator]]`` of a
TOML framework (or a ``benchmark`` column of a COINr iMeta). Declaring it as an
``IndicatorParam`` in the indicator's own units is all it takes: the engine looks the column up,
and converts it for lower-is-better indicators (the method sees ``direction × value``, so it gets
``direction × benchmark``). Load it with ``benchmarkkit --plugin benchmark_normaliser.py score DATA
--framework my_index.toml --normalise benchmark``.
"""

from __future__ import annotations

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.methods.spec import IndicatorParam, Normaliser, Param


def share_of_benchmark(x: pl.Expr, params) -> pl.Expr:
    """``100 × (x − worst) / (benchmark − worst)``, capped at ``cap`` (default 100): how far a
    city has come from the worst city towards the benchmark."""
    x = x.fill_nan(None)
    worst = x.min()
    share = (x - worst) / (pl.col("benchmark") - worst) * 100.0
    return pl.min_horizontal(share, pl.lit(float(params.get("cap", 100.0))))


@hookimpl
def register_normalisers(register):
    register(
        Normaliser(
            "benchmark",
            share_of_benchmark,
            (Param("cap", float, 100.0, "the score at or beyond the benchmark"),),
            indicator_params=(IndicatorParam("benchmark", units="indicator"),),
            summary="Share of the way from the worst city to the indicator's benchmark",
        )
    )
