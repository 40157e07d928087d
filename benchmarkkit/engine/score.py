"""The composite chain: denominate → screen → impute → treat → normalise → aggregate → rank.

Every scorer (built-in or third-party) runs through this one function. All methods are Polars
expressions over the long table — one pass covers every indicator and city; aggregation goes one
tree level at a time with ``group_by``. The output keeps every node of every level, with coverage,
so a report can explain any number from the indicators up.

Missing data follow COINr: missing stays missing through normalisation; NaN counts as missing;
a parent is the weighted mean of the children *present*, weights renormalised; it is missing only
when every child is (or when a minimum coverage is set and not met). Ranks are descending, ties
share the minimum rank, computed on unrounded scores.

How it stays fast (see BENCHMARKS.md for the numbers). The engine's frames are *dense*: every
city-year with data × every node of a level, so instead of joining on string keys the engine works
on integer codes and positions:

* city ids, years and node ids become codes that sort like the strings they stand for, so the
  levels' own layout is already the output's order (level ↓, node, year, city): no sort;
* a level is laid out node-major, ``row = node × units + unit``, with units sorted by (year, city):
  every partition a method runs over ((indicator), (indicator, year)) is then a contiguous run of
  rows, the partition key is flagged sorted, and ``over()`` takes Polars' fast sorted path (about
  3× faster than hashing, far faster than the string keys it replaced);
* values are *scattered* into the grid by position instead of left-joined, and per-node
  statistics are gathered back by code instead of joined;
* coverage is summed up the tree one level at a time instead of joining every leaf to each of its
  ancestors (which multiplied the indicator rows by the depth of the tree);
* aggregations that are plain ``group_by`` run lazily (Polars 2's streaming engine), window
  expressions eagerly on the sorted layout, where the in-memory engine is faster.

Plugin methods see what they always saw: an expression over ``value`` (with ``city_id``,
``indicator`` and ``year`` columns added when the expression reads them), or for treatments the
full frame with string keys.

Where each part lives, in the order a run meets them: ``encode.py`` (integer codes),
``context.py`` (what the steps share), ``stages.py`` (the steps on the indicator cells),
``levels.py`` (aggregation, coverage, the thin-index rule) and ``assemble.py`` (rows and ranks).
This module only runs the pipeline's steps in order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit.engine.assemble import assemble
from benchmarkkit.engine.context import WARNING_SCHEMA, Run, keep_units, method_guard, node_year_key
from benchmarkkit.engine.encode import Encoded, encode, encode_units
from benchmarkkit.engine.levels import Level, aggregate_level, coverage, thin_index
from benchmarkkit.engine.stages import (
    check_filled,
    check_output,
    grid,
    impute,
    normalisation_warnings,
    normalise,
    screen,
    select_data,
    treat,
)
from benchmarkkit.errors import MethodError
from benchmarkkit.methods.parse import parse_spec

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Framework, Pipeline


@dataclass(frozen=True)
class ScoreResult:
    scores: pl.DataFrame
    warnings: pl.DataFrame
    treatment: pl.DataFrame
    imputed: pl.DataFrame
    weights: pl.DataFrame
    """Effective weight of every indicator in the index, through the hierarchy."""
    methods: dict[str, str]


def effective_weights(nodes: pl.DataFrame) -> pl.DataFrame:
    """Each node's share of the index: its weight among siblings × its parent's share (COINr's
    ``get_eff_weights``). The tree is small, so plain Python is the clear way to walk it."""
    rows = nodes.select("node", "parent", pl.col("weight").fill_null(1.0), "level").rows()
    total: dict[str | None, float] = {}
    for _, parent, weight, _ in rows:
        total[parent] = total.get(parent, 0.0) + weight
    parent_of = {n: p for n, p, _, _ in rows}
    own = {n: (w / total[p] if total[p] else 0.0) for n, p, w, _ in rows}

    def share(node: str) -> float:
        p = parent_of[node]
        return own[node] * (share(p) if p is not None else 1.0)

    return pl.DataFrame(
        {
            "node": [r[0] for r in rows],
            "level": [r[3] for r in rows],
            "effective_weight": [share(r[0]) if r[1] is not None else 1.0 for r in rows],
        }
    )


_NO_IMPUTED = pl.DataFrame(
    schema={"city_id": pl.String, "year": pl.Int32, "indicator": pl.String, "value": pl.Float64}
)
_NO_TREATMENT = pl.DataFrame(schema={"indicator": pl.String, "year": pl.Int32})
"""The logs of a step the pipeline leaves out."""


def _calls(pipeline: Pipeline, registry: Registry, levels: list[int]) -> dict[str, Any]:
    calls: dict[str, Any] = {
        "normalise": parse_spec(pipeline.normalise, "normaliser", registry.of("normaliser")),
        "treat": parse_spec(pipeline.treat, "treatment", registry.of("treatment")),
        "impute": (
            None
            if pipeline.impute.strip().lower() == "none"
            else parse_spec(pipeline.impute, "imputer", registry.of("imputer"))
        ),
    }
    agg = pipeline.aggregate
    specs = [agg] * len(levels) if isinstance(agg, str) else list(agg)
    if len(specs) != len(levels):
        raise MethodError(
            f"{len(specs)} aggregation methods given for {len(levels)} levels",
            hint="give one method, or one per level above the indicators",
        )
    calls["aggregate"] = {
        lv: parse_spec(s, "aggregator", registry.of("aggregator"))
        for lv, s in zip(levels, specs, strict=True)
    }
    return calls


def score(
    framework: Framework,
    observations: pl.DataFrame,
    cities: pl.DataFrame,
    pipeline: Pipeline,
    registry: Registry,
    *,
    years: list[int] | None = None,
    encoded: Encoded | None = None,
    levels: Collection[int] | None = None,
) -> ScoreResult:
    """Score ``observations`` with ``framework`` and ``pipeline`` (see the module docstring).

    ``levels``: the levels to return (None: all). Every level is still computed — a parent needs
    its children — but the others are not ranked or turned into output rows, which at 10,000
    cities is most of the time and memory (level 1 alone is one row per city, year and
    indicator). The top level (the index) is always returned.
    """
    nodes = framework.nodes
    leaves = nodes.filter(pl.col("level") == 1)
    top = int(nodes["level"].max())  # type: ignore[arg-type]
    calls = _calls(pipeline, registry, list(range(2, top + 1)))
    leaf_names = sorted(set(leaves["node"].to_list()))
    panel = calls["impute"] is not None and calls["impute"].method.panel
    if encoded is None:
        encoded = encode(observations)
    elif encoded.observations is not observations:
        raise ValueError("score(): `encoded` was made from another observations frame")
    data, units = encode_units(
        select_data(encoded, leaves, leaf_names, pipeline, years, panel), encoded.cities
    )
    run = Run(framework, leaf_names, sorted(set(nodes["node"].to_list())), nodes, units)
    cells, dense = grid(data, run.n_leaves, units.n)
    del data

    # the steps before normalise, in the pipeline's order (denominate, if asked, is first: it
    # divided the raw observations in select_data)
    cells = cells.with_columns(pl.lit(False).alias("_imputed"))
    imputed, treatment = _NO_IMPUTED, _NO_TREATMENT
    for step in pipeline.steps[:-2]:
        if step == "screen" and pipeline.screen is not None:
            cells, dropped = screen(cells, pipeline.screen, run)
            if dropped.height and imputed.height:  # screened after imputing: not imputed after all
                imputed = imputed.join(dropped, on=["city_id", "year"], how="anti")
        elif step == "impute":
            with method_guard(registry, "imputer", calls["impute"]):
                cells, imputed = impute(cells, calls["impute"], cities, run)
                check_filled(imputed, registry, calls["impute"])
        elif step == "treat":
            with method_guard(registry, "treatment", calls["treat"]):
                cells, treatment = treat(cells, calls["treat"], pipeline.reference, run)
    with method_guard(registry, "normaliser", calls["normalise"]):
        level1 = normalise(cells, calls["normalise"], leaves, pipeline.reference, run)
        check_output(level1, "value", "_score", registry, "normaliser", calls["normalise"])
    del cells
    # (indicator, year) once, for the warnings, the coverage and the level-1 ranks: normalising
    # within years ran over exactly that key (a unit keeps its year code when units are dropped)
    by_year = pipeline.reference == "year"
    level1 = level1.rename({"_p": "_ny"}) if by_year else level1.drop("_p")
    if years is not None:
        wanted = run.units.years.is_in(years)
        mask = wanted.gather(run.units.year)
        if not mask.all():
            level1 = keep_units(level1, run, mask)
    if "_ny" in level1.columns:
        level1 = level1.with_columns(pl.col("_ny").set_sorted())  # filtering keeps it sorted
    else:
        level1 = level1.with_columns(node_year_key(level1["_i"], level1["_u"], run).alias("_ny"))
    run.warn(normalisation_warnings(level1, run))

    node_code = {name: i for i, name in enumerate(run.node_names)}
    leaf_nodes = pl.Series([node_code[n] for n in leaf_names], dtype=pl.UInt32)
    blocks = {
        1: Level(
            node_codes=leaf_nodes,
            frame=level1.select(
                pl.col("_i").alias("_k"),
                "_u",
                pl.col("_score").alias("score"),
                pl.col("_ny").alias("_rk"),  # the ranks' key, made once (assemble)
            ),
        )
    }
    for level in range(2, top + 1):
        call = calls["aggregate"][level]
        with method_guard(registry, "aggregator", call):
            blocks[level] = aggregate_level(
                blocks[level - 1], run, level, call, pipeline.min_coverage
            )
    coverage(blocks, level1, run)
    del level1
    thin_index(blocks[top], top, pipeline.min_index_coverage, run)
    keep = None if levels is None else {*levels, top}
    scores = assemble({lv: b for lv, b in blocks.items() if keep is None or lv in keep}, run, dense)
    methods = {
        "normalise": calls["normalise"].spec,
        "treat": calls["treat"].spec,
        "impute": pipeline.impute,
        "aggregate": ", ".join(f"level {lv}: {c.spec}" for lv, c in calls["aggregate"].items()),
        "reference": pipeline.reference,
        "min_coverage": str(pipeline.min_coverage),
        "screen": str(pipeline.screen),
        "steps": ",".join(pipeline.steps),
    }
    return ScoreResult(
        scores=scores,
        warnings=(pl.concat(run.warnings) if run.warnings else pl.DataFrame(schema=WARNING_SCHEMA)),
        treatment=treatment,
        imputed=imputed,
        weights=effective_weights(nodes),
        methods=methods,
    )


__all__ = ["WARNING_SCHEMA", "Encoded", "ScoreResult", "effective_weights", "encode", "score"]
