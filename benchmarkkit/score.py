"""The composite chain: denominate → screen → impute → treat → normalise → aggregate → rank.

Every scorer (built-in or third-party) runs through this one function. All methods are Polars
expressions over the long table — one pass covers every indicator and city; aggregation goes one
tree level at a time with ``group_by``. The output keeps every node of every level, with coverage,
so a report can explain any number from the indicators up.

Missing data follow COINr: missing stays missing through normalisation; NaN counts as missing;
a parent is the weighted mean of the children *present*, weights renormalised; it is missing only
when every child is (or when a minimum coverage is set and not met). Ranks are descending, ties
share the minimum rank, computed on unrounded scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit.aggregate import check_positive
from benchmarkkit.columns import SCORES
from benchmarkkit.errors import MethodError
from benchmarkkit.methodspec import MethodCall, parse_spec

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Framework, Pipeline

KEYS = ["city_id", "year"]
WARNING_SCHEMA = {"scorer": pl.String, "year": pl.Int32, "node": pl.String,
                  "city_id": pl.String, "kind": pl.String, "message": pl.String}


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

    return pl.DataFrame({"node": [r[0] for r in rows], "level": [r[3] for r in rows],
                         "effective_weight": [share(r[0]) if r[1] is not None else 1.0
                                              for r in rows]})


def _leaf_ancestors(nodes: pl.DataFrame) -> pl.DataFrame:
    """(leaf, ancestor) pairs, the leaf itself included: coverage counts leaves under a node."""
    parent_of = dict(zip(nodes["node"], nodes["parent"], strict=True))
    leaves = nodes.filter(pl.col("level") == 1)["node"].to_list()
    pairs = []
    for leaf in leaves:
        cur: str | None = leaf
        while cur is not None:
            pairs.append((leaf, cur))
            cur = parent_of[cur]
    return pl.DataFrame(pairs, schema={"indicator": pl.String, "node": pl.String}, orient="row")


def _direction_columns(leaves: pl.DataFrame) -> pl.DataFrame:
    """Per-indicator parameters on the direction-adjusted scale (see normalize.py's contract):
    goalposts swap and negate for lower-is-better, targets are negated."""
    d = pl.col("direction").cast(pl.Float64)
    flip = d < 0
    return leaves.with_columns(
        pl.when(flip).then(-pl.col("goalpost_upper")).otherwise(pl.col("goalpost_lower"))
        .alias("goalpost_lower"),
        pl.when(flip).then(-pl.col("goalpost_lower")).otherwise(pl.col("goalpost_upper"))
        .alias("goalpost_upper"),
        (pl.col("target") * d).alias("target"),
    )


def _calls(pipeline: Pipeline, registry: Registry, levels: list[int]) -> dict[str, Any]:
    calls: dict[str, Any] = {
        "normalise": parse_spec(pipeline.normalise, "normaliser", registry.of("normalizer")),
        "treat": parse_spec(pipeline.treat, "treatment", registry.of("treatment")),
        "impute": (None if pipeline.impute.strip().lower() == "none"
                   else parse_spec(pipeline.impute, "imputer", registry.of("imputer"))),
    }
    agg = pipeline.aggregate
    specs = [agg] * len(levels) if isinstance(agg, str) else list(agg)
    if len(specs) != len(levels):
        raise MethodError(f"{len(specs)} aggregation methods given for {len(levels)} levels",
                          hint="give one method, or one per level above the indicators")
    calls["aggregate"] = {lv: parse_spec(s, "aggregator", registry.of("aggregator"))
                          for lv, s in zip(levels, specs, strict=True)}
    return calls


def score(
    framework: Framework,
    observations: pl.DataFrame,
    cities: pl.DataFrame,
    pipeline: Pipeline,
    registry: Registry,
    *,
    years: list[int] | None = None,
) -> ScoreResult:
    nodes = framework.nodes
    leaves = nodes.filter(pl.col("level") == 1)
    top = int(nodes["level"].max())  # type: ignore[arg-type]
    calls = _calls(pipeline, registry, list(range(2, top + 1)))
    warnings: list[pl.DataFrame] = []

    def warn(frame: pl.DataFrame) -> None:
        if frame.height:
            warnings.append(frame.with_columns(pl.lit(framework.name).alias("scorer"))
                            .select(list(WARNING_SCHEMA)).cast(WARNING_SCHEMA))  # type: ignore

    data = observations.filter(pl.col("indicator").is_in(leaves["node"].implode())).select(
        "city_id", "year", "indicator", "value")
    data = _denominate(data, observations, leaves) if pipeline.denominate else data
    panel = calls["impute"] is not None and calls["impute"].method.panel
    if years is not None and pipeline.reference == "year" and not panel:
        data = data.filter(pl.col("year").is_in(years))
    data = data.filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan())

    # the grid: every city-year with any data × every indicator, so missing is explicit
    units = data.select(KEYS).unique()
    grid = units.join(leaves.select(pl.col("node").alias("indicator")), how="cross")
    cells = grid.join(data, on=[*KEYS, "indicator"], how="left").with_columns(
        pl.col("value").is_not_null().alias("_present"))

    if pipeline.screen is not None:
        share = cells.group_by(KEYS).agg(pl.col("_present").mean().alias("_share"))
        dropped = share.filter(pl.col("_share") < pipeline.screen)
        warn(dropped.select(pl.lit(None, pl.String).alias("scorer"), "year",
                            pl.lit(None, pl.String).alias("node"), "city_id",
                            pl.lit("screened_out").alias("kind"),
                            pl.format("only {} of indicators present, below --screen {}",
                                      pl.col("_share").round(3), pl.lit(pipeline.screen))
                            .alias("message")))
        cells = cells.join(dropped.select(KEYS), on=KEYS, how="anti")

    cells, imputed = _impute(cells, calls["impute"], cities)
    cells, treatment = _treat(cells, calls["treat"], pipeline.reference)
    level1 = _normalise(cells, calls["normalise"], _direction_columns(leaves), pipeline.reference)
    if years is not None:
        level1 = level1.filter(pl.col("year").is_in(years))
    warn(_normalisation_warnings(level1))

    scored = [level1.select(*KEYS, pl.col("indicator").alias("node"), pl.lit(1).alias("level"),
                            pl.col("_score").alias("score"))]
    children = scored[0]
    for level in range(2, top + 1):
        children = _aggregate_level(children, nodes, level, calls["aggregate"][level],
                                    pipeline.min_coverage, warn)
        scored.append(children)
    scores = pl.concat(scored, how="vertical_relaxed")
    scores = _coverage(scores, level1, nodes)
    scores = _thin_index(scores, top, pipeline.min_index_coverage, warn)
    scores = scores.with_columns(
        pl.col("score").fill_nan(None),
    ).with_columns(
        pl.col("score").rank("min", descending=True).over("year", "node").alias("rank"),
        pl.lit(framework.name).alias("scorer"),
    )
    scores = scores.select(list(SCORES)).cast(SCORES).sort(  # type: ignore[arg-type]
        "year", "level", "node", "city_id", descending=[False, True, False, False])
    methods = {"normalise": calls["normalise"].spec, "treat": calls["treat"].spec,
               "impute": pipeline.impute,
               "aggregate": ", ".join(f"level {lv}: {c.spec}"
                                      for lv, c in calls["aggregate"].items()),
               "reference": pipeline.reference,
               "min_coverage": str(pipeline.min_coverage), "screen": str(pipeline.screen)}
    return ScoreResult(
        scores=scores,
        warnings=(pl.concat(warnings) if warnings else pl.DataFrame(schema=WARNING_SCHEMA)),
        treatment=treatment, imputed=imputed, weights=effective_weights(nodes), methods=methods,
    )


def _denominate(data: pl.DataFrame, observations: pl.DataFrame,
                leaves: pl.DataFrame) -> pl.DataFrame:
    """COINr ``Denominate``: x / denominator of the same city and year; missing stays missing."""
    den_of = leaves.select(pl.col("node").alias("indicator"), "denominator")
    den = observations.select(*KEYS, pl.col("indicator").alias("denominator"),
                              pl.col("value").alias("_den"))
    return (data.join(den_of, on="indicator", how="left")
            .join(den, on=[*KEYS, "denominator"], how="left")
            .with_columns(pl.when(pl.col("denominator").is_null()).then(pl.col("value"))
                          .otherwise(pl.col("value") / pl.col("_den")).alias("value"))
            .select(*KEYS, "indicator", "value"))


def _impute(cells: pl.DataFrame, call: MethodCall | None,
            cities: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    empty = pl.DataFrame(schema={"city_id": pl.String, "year": pl.Int32, "indicator": pl.String,
                                 "value": pl.Float64})
    if call is None:
        return cells.with_columns(pl.lit(False).alias("_imputed")), empty
    method, params = call.method, call.params
    group = params.get("group")
    frame = cells
    if group:
        if group not in cities.columns:
            raise MethodError(f"imputation group column '{group}' is not in the cities table",
                              hint=f"columns: {', '.join(cities.columns)}")
        if group in frame.columns:
            raise MethodError(f"imputation group column '{group}' clashes with a column of the "
                              "engine", hint="rename the column in the cities table")
        frame = frame.join(cities.select("city_id", pl.col(group).cast(pl.String)),
                           on="city_id", how="left")
    if method.panel:
        # fill along time: every city-indicator needs a row for every year of the data
        years = frame.select("year").unique()
        full = (frame.select("city_id", "indicator").unique().join(years, how="cross")
                .join(frame, on=[*KEYS, "indicator"], how="left"))
        filled = full.sort("year").with_columns(
            method.fn(pl.col("value"), params).over("city_id", "indicator").alias("_filled"))
        frame = frame.join(filled.select(*KEYS, "indicator", "_filled"),
                           on=[*KEYS, "indicator"], how="left")
    else:
        part = ["indicator", "year", *([group] if group else [])]
        frame = frame.with_columns(method.fn(pl.col("value"), params).over(part).alias("_filled"))
    frame = frame.with_columns(
        (pl.col("value").is_null() & pl.col("_filled").is_not_null()).alias("_imputed"),
        pl.coalesce("value", "_filled").alias("value"),
    ).drop("_filled", *([group] if group else []))
    imputed = frame.filter(pl.col("_imputed")).select(*KEYS, "indicator", "value")
    return frame, imputed


def _treat(cells: pl.DataFrame, call: MethodCall,
           reference: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    part = ["indicator"] if reference == "pooled" else ["indicator", "year"]
    frame = cells.with_columns(pl.struct(part).rank("dense").cast(pl.Int64).alias("_part"),
                               pl.col("value").alias("x"))
    treated, log = call.method.fn(frame, call.params)
    parts = frame.select("_part", *part).unique()
    log = parts.join(log, on="_part", how="right").drop("_part")
    return treated.with_columns(pl.col("x").alias("value")).drop("x", "_part"), log


def _normalise(cells: pl.DataFrame, call: MethodCall, leaves: pl.DataFrame,
               reference: str) -> pl.DataFrame:
    part = ["indicator"] if reference == "pooled" else ["indicator", "year"]
    needed = ["direction", *call.method.columns]
    missing = [c for c in needed if c not in leaves.columns]
    if missing:
        raise MethodError(f"normaliser '{call.name}' needs per-indicator '{missing[0]}'",
                          hint="give it in the framework file")
    meta = leaves.select(pl.col("node").alias("indicator"), *needed)
    frame = cells.join(meta, on="indicator", how="left")
    x = pl.col("value") * pl.col("direction").cast(pl.Float64)
    return frame.with_columns(call.method.fn(x, call.params).over(part).alias("_score"))


def _normalisation_warnings(level1: pl.DataFrame) -> pl.DataFrame:
    stats = level1.group_by("year", "indicator").agg(
        pl.col("value").drop_nulls().n_unique().alias("_distinct"),
        pl.col("value").is_not_null().sum().alias("_n"),
        pl.col("_score").is_nan().sum().alias("_nan"),
    )
    constant = stats.filter((pl.col("_distinct") == 1) & (pl.col("_n") > 1)).select(
        pl.lit(None, pl.String).alias("scorer"), "year", pl.col("indicator").alias("node"),
        pl.lit(None, pl.String).alias("city_id"), pl.lit("constant_column").alias("kind"),
        pl.format("all {} cities have the same value: the indicator cannot tell them apart"
                  " and is left out of the aggregate", "_n").alias("message"))
    empty = stats.filter(pl.col("_n") == 0).select(
        pl.lit(None, pl.String).alias("scorer"), "year", pl.col("indicator").alias("node"),
        pl.lit(None, pl.String).alias("city_id"), pl.lit("all_missing").alias("kind"),
        pl.lit("no city has a value this year").alias("message"))
    return pl.concat([constant, empty])


def _aggregate_level(children: pl.DataFrame, nodes: pl.DataFrame, level: int, call: MethodCall,
                     min_coverage: float | None, warn: Any) -> pl.DataFrame:
    edges = nodes.filter(pl.col("level") < level).select(
        pl.col("node").alias("_child"), pl.col("parent"), pl.col("weight"))
    parents = nodes.filter(pl.col("level") == level).select(pl.col("node").alias("parent"))
    n_children = edges.group_by("parent").len("_n_children")
    frame = children.rename({"node": "_child"}).join(edges, on="_child", how="inner").join(
        parents, on="parent", how="semi")
    present = frame.filter(pl.col("score").is_not_null() & pl.col("score").is_not_nan())
    check_positive(present.select(*KEYS, "parent", pl.col("_child").alias("child"),
                                  pl.col("score").alias("x")), call.name, call.params)
    if call.method.frame_fn is not None:
        agg = call.method.frame_fn(
            present.lazy().select(*KEYS, "parent", pl.col("_child").alias("child"),
                                  pl.col("score").alias("x"), pl.col("weight").alias("w")),
            call.params).collect()
        counts = present.group_by(*KEYS, "parent").len("n_present")
        agg = agg.join(counts, on=[*KEYS, "parent"], how="left")
    else:
        agg = present.group_by(*KEYS, "parent").agg(
            call.method.fn(pl.col("score"), pl.col("weight"), call.params).alias("score"),
            pl.len().alias("n_present"))
    units = children.select(KEYS).unique()
    out = (units.join(parents, how="cross")
           .join(agg, on=[*KEYS, "parent"], how="left")
           .join(n_children, on="parent", how="left")
           .with_columns(pl.col("n_present").fill_null(0)))
    if min_coverage is not None:
        out = out.with_columns(
            pl.when(pl.col("n_present") / pl.col("_n_children") < min_coverage)
            .then(None).otherwise(pl.col("score")).alias("score"))
    empty = out.group_by("year", "parent").agg(pl.col("score").is_not_null().sum().alias("_k"))
    warn(empty.filter(pl.col("_k") == 0).select(
        pl.lit(None, pl.String).alias("scorer"), "year", pl.col("parent").alias("node"),
        pl.lit(None, pl.String).alias("city_id"), pl.lit("empty_group").alias("kind"),
        pl.lit("no city has any data under this node this year").alias("message")))
    return out.select(*KEYS, pl.col("parent").alias("node"), pl.lit(level).alias("level"),
                      "score")


def _coverage(scores: pl.DataFrame, level1: pl.DataFrame, nodes: pl.DataFrame) -> pl.DataFrame:
    """Share of a node's indicators the city has (before imputation), among the indicators that
    any city has that year — an indicator nobody reports cannot count against a city."""
    pairs = _leaf_ancestors(nodes)
    have = level1.select(*KEYS, "indicator", "_present")
    available = have.group_by("year", "indicator").agg(pl.col("_present").any().alias("_avail"))
    cov = (have.join(available, on=["year", "indicator"]).filter(pl.col("_avail"))
           .join(pairs, on="indicator", how="inner")
           .group_by(*KEYS, "node").agg(pl.col("_present").sum().cast(pl.UInt32)
                                        .alias("n_present"),
                                        pl.len().cast(pl.UInt32).alias("n_children")))
    return scores.join(cov, on=[*KEYS, "node"], how="left").with_columns(
        pl.col("n_present", "n_children").fill_null(0),
        (pl.col("n_present") / pl.col("n_children")).alias("coverage"),
    )


def _thin_index(scores: pl.DataFrame, top: int, threshold: float, warn: Any) -> pl.DataFrame:
    if threshold <= 0:
        return scores
    thin = (pl.col("level") == top) & (pl.col("coverage") < threshold) & pl.col("score").is_not_null()
    warn(scores.filter(thin).select(
        pl.lit(None, pl.String).alias("scorer"), "year", "node", "city_id",
        pl.lit("thin_coverage").alias("kind"),
        pl.format("only {} of {} indicators: too thin to score (needs {} %)", "n_present",
                  "n_children", pl.lit(round(threshold * 100))).alias("message")))
    return scores.with_columns(pl.when(thin).then(None).otherwise(pl.col("score")).alias("score"))
