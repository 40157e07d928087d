"""The levels above the indicators: aggregation one tree level at a time, coverage, thin index.

Why a module of its own: a level is a dense node-major block (``node × units``), and the three
things done to blocks — aggregate the children present, sum coverage counts up the tree, withhold
an index resting on too few indicators — share that layout and nothing else with the cell stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.engine.context import Run
from benchmarkkit.engine.encode import lookup, nulls, sorted_key
from benchmarkkit.methods.aggregate import check_positive, ordered_sum
from benchmarkkit.methods.spec import outside

if TYPE_CHECKING:
    from benchmarkkit.methods.parse import MethodCall


@dataclass
class Level:
    """One level's rows, node-major: ``_k`` = the node's position in ``node_codes`` (sorted by
    name), ``_u`` the unit. Coverage columns are added by ``coverage``."""

    node_codes: pl.Series
    """Global node code (index into the run's sorted node names) of each local node."""
    frame: pl.DataFrame


def _edges(run: Run) -> pl.DataFrame:
    """Each node's code, level, parent's code, parent's level and weight."""
    code = {name: i for i, name in enumerate(run.node_names)}
    nodes = run.nodes.unique("node", keep="first", maintain_order=True)
    level_of = dict(zip(nodes["node"], nodes["level"], strict=True))
    rows = [
        (
            code[n],
            lv,
            code.get(p) if p is not None else None,
            level_of.get(p) if p is not None else None,
            w,
        )
        for n, lv, p, w in nodes.select("node", "level", "parent", "weight").iter_rows()
    ]
    return pl.DataFrame(
        rows,
        schema={
            "node": pl.UInt32,
            "level": pl.Int32,
            "parent": pl.UInt32,
            "parent_level": pl.Int32,
            "weight": pl.Float64,
        },
        orient="row",
    ).sort("node")


def _by_code(edges: pl.DataFrame, column: str, codes: pl.Series) -> pl.Series:
    """``column`` of the edge rows of ``codes`` (null where a code has no row)."""
    table = pl.DataFrame({"node": codes}).join(edges, on="node", how="left", maintain_order="left")
    return table[column]


def aggregate_level(
    children: Level, run: Run, level: int, call: MethodCall, min_coverage: float | None
) -> Level:
    edges = _edges(run)
    parents = edges.filter(pl.col("level") == level)["node"]  # sorted by name = by code
    n_p, n_u = parents.len(), run.units.n
    local = (
        pl.Series([None] * len(run.node_names), dtype=pl.UInt32).scatter(
            parents, pl.int_range(n_p, dtype=pl.UInt32, eager=True)
        )
        if n_p
        else pl.Series([None] * len(run.node_names), dtype=pl.UInt32)
    )
    lower = edges.filter(pl.col("level") < level)
    n_children = pl.DataFrame({"parent": parents}).join(
        lower.group_by("parent").len("_n"), on="parent", how="left", maintain_order="left"
    )["_n"]
    # each child row's parent (local index) and weight, when the parent is at this level
    child_parent = _by_code(lower, "parent", children.node_codes)
    child_parent = pl.Series(
        [None if p is None else local[p] for p in child_parent.to_list()], dtype=pl.UInt32
    )
    child_weight = _by_code(lower, "weight", children.node_codes)
    n = n_p * n_u
    n_k = children.node_codes.len()
    method = call.method
    domain = method.domain_for(call.params)
    if (
        method.weighted_mean
        and method.frame_fn is None
        and domain == "any"
        and children.frame.height == n_k * n_u
        and child_weight.null_count() == 0
        and worth_dense(n_k, n_u)
    ):
        # declared: exactly the weighted arithmetic mean, so dense horizontal sums give its bits
        score, count = _dense_weighted_mean(
            children.frame["score"], child_parent.to_list(), child_weight.to_list(), n_p, n_u
        )
    else:
        frame = children.frame.with_columns(
            child_parent.gather(children.frame["_k"]).alias("_p"),
            child_weight.gather(children.frame["_k"]).alias("weight"),
        ).filter(pl.col("_p").is_not_null())
        present = frame.filter(pl.col("score").is_not_null() & pl.col("score").is_not_nan())
        _check_domain(present, children, parents, run, call)
        given = present if method.skips(call.params) else frame
        if method.frame_fn is not None:
            agg = _frame_aggregate(given, children, parents, run, call)
        elif method.weighted_mean:
            agg = _weighted_mean(present, n_u)
        else:
            agg = (
                given.lazy()
                .group_by("_u", "_p")
                .agg(
                    method.fn(pl.col("score"), pl.col("weight"), call.params).alias("score"),
                    _present_count(given is present),
                )
                .collect()
            )
        pos = agg["_p"].cast(pl.UInt64) * n_u + agg["_u"].cast(pl.UInt64)
        score = (
            nulls(n, pl.Float64).scatter(pos, agg["score"].cast(pl.Float64))
            if n
            else pl.Series([], dtype=pl.Float64)
        )
        count = (
            pl.repeat(0, n, dtype=pl.UInt32, eager=True).scatter(
                pos, agg["n_present"].cast(pl.UInt32)
            )
            if n
            else pl.Series([], dtype=pl.UInt32)
        )
    out = pl.DataFrame(
        {
            "_k": sorted_key(n_p, n_u),
            "_u": pl.int_range(n, dtype=pl.UInt32, eager=True) % max(n_u, 1),
            "score": score,
        }
    )
    if min_coverage is not None:
        share = count / n_children.gather(out["_k"])
        out = out.with_columns(
            pl.when(share < min_coverage).then(None).otherwise(pl.col("score")).alias("score")
        )
    empty = (
        out.with_columns(run.units.year.gather(out["_u"]).alias("_y"))
        .group_by("_k", "_y")
        .agg(pl.col("score").is_not_null().sum().alias("_k2"))
        .filter(pl.col("_k2") == 0)
        .sort("_y", "_k")
    )
    names = pl.Series(run.node_names, dtype=pl.String)
    run.warn(
        empty.select(
            pl.lit(None, pl.String).alias("scorer"),
            run.units.years.gather(empty["_y"]),
            names.gather(parents.gather(empty["_k"])).alias("node"),
            pl.lit(None, pl.String).alias("city_id"),
            pl.lit("empty_group").alias("kind"),
            pl.lit("no city has any data under this node this year").alias("message"),
        )
    )
    return Level(node_codes=parents, frame=out)


def _present_count(all_present: bool) -> pl.Expr:
    """Children present in a group: its length when only present children were passed."""
    if all_present:
        return pl.len().alias("n_present")
    ok = pl.col("score").is_not_null() & pl.col("score").is_not_nan()
    return ok.sum().alias("n_present")


DENSE_NODES = 256
"""Up to this many nodes per level (or as many as there are units) the dense path is used."""


def worth_dense(n_nodes: int, n_units: int) -> bool:
    """The dense path builds one column and one expression per node, so its cost grows faster
    than the cells when a level has many nodes over few units — the shape of a batched
    sensitivity analysis (hundreds of renamed tree copies over 51 units); there ``group_by``
    is much faster (ASEM, 1,000 samples: 6.5 s → 1.9 s). Ordinary indices (tens of nodes, or
    fewer nodes than cities) keep the dense path and its exact bits."""
    return n_nodes <= max(DENSE_NODES, n_units)


def _dense_weighted_mean(
    scores: pl.Series,
    parent_of: list[int | None],
    weights: list[float],
    n_parents: int,
    n_units: int,
) -> tuple[pl.Series, pl.Series]:
    """The built-in arithmetic mean on a dense level, without grouping: a child's scores are a
    contiguous slice (``child × units``), so each parent is a weighted sum (``ordered_sum``: the
    same bits every run) over its children's slices — zero-copy columns, no hashing — with
    COINr's order of operations, ``sum(w / sum(w present) * x)``. Returns the parents' scores
    and children-present counts, parent-major like every level."""
    if n_units == 0 or not any(q is not None for q in parent_of):
        return (
            nulls(n_parents * n_units, pl.Float64),
            pl.repeat(0, n_parents * n_units, dtype=pl.UInt32, eager=True),
        )
    # NaN counts as missing: make it null once, then nulls drop out of every horizontal sum
    wide = pl.DataFrame(
        {f"c{k}": scores.slice(k * n_units, n_units) for k in range(len(parent_of))}
    ).select(pl.all().fill_nan(None))
    kids = {p: [k for k, q in enumerate(parent_of) if q == p] for p in range(n_parents)}
    totals = wide.select(
        *[
            ordered_sum([pl.col(f"c{k}").is_not_null() * weights[k] for k in kids[p]]).alias(
                f"w{p}"
            )
            for p in range(n_parents)
            if kids[p]
        ],
        *[
            pl.sum_horizontal(pl.col(f"c{k}").is_not_null() for k in kids[p])
            .cast(pl.UInt32)
            .alias(f"n{p}")
            for p in range(n_parents)
            if kids[p]
        ],
    )
    wide = pl.concat([wide, totals], how="horizontal")
    out = wide.select(
        pl.when(pl.col(f"n{p}") > 0)
        .then(ordered_sum([weights[k] / pl.col(f"w{p}") * pl.col(f"c{k}") for k in kids[p]]))
        .alias(f"s{p}")
        for p in range(n_parents)
        if kids[p]
    )
    empty_score, empty_count = (
        nulls(n_units, pl.Float64),
        pl.repeat(0, n_units, dtype=pl.UInt32, eager=True),
    )
    score = pl.concat(
        [out[f"s{p}"].cast(pl.Float64) if kids[p] else empty_score for p in range(n_parents)]
    )
    count = pl.concat([totals[f"n{p}"] if kids[p] else empty_count for p in range(n_parents)])
    return score, count


def _weighted_mean(present: pl.DataFrame, n_units: int) -> pl.DataFrame:
    """The built-in arithmetic mean, ``sum(w / sum(w) * x)`` in COINr's order of operations,
    as two flat ``group_by`` sums with the weight total gathered back by group position: the
    same numbers as the generic nested expression, about 4× faster."""
    g = (pl.col("_p").cast(pl.UInt64) * n_units + pl.col("_u").cast(pl.UInt64)).alias("_g")
    rows = present.select(g, "score", "weight")
    totals = rows.group_by("_g").agg(
        pl.col("weight").sum().alias("_w"), pl.len().alias("n_present")
    )
    table = lookup(rows["_g"], totals["_g"], totals["_w"])
    sums = (
        rows.with_columns(table.alias("_w"))
        .group_by("_g")
        .agg((pl.col("weight") / pl.col("_w") * pl.col("score")).sum().alias("score"))
    )
    return sums.join(totals.select("_g", "n_present"), on="_g").select(
        (pl.col("_g") % n_units).cast(pl.UInt32).alias("_u"),
        (pl.col("_g") // n_units).cast(pl.UInt32).alias("_p"),
        "score",
        "n_present",
    )


def _check_domain(
    present: pl.DataFrame, children: Level, parents: pl.Series, run: Run, call: MethodCall
) -> None:
    """Refuse values outside the method's declared domain (COINr stops), with the first bad cell
    named: city, year, parent and child (the indicator or node)."""
    rule = outside(call.method.domain_for(call.params), pl.col("score"))
    if rule is None:
        return
    bad = present.filter(rule)
    if bad.height == 0:
        return
    names = pl.Series(run.node_names, dtype=pl.String)
    check_positive(
        pl.DataFrame(
            [
                run.units.city_ids(bad["_u"]),
                run.units.year_values(bad["_u"]),
                names.gather(parents.gather(bad["_p"])).alias("parent"),
                names.gather(children.node_codes.gather(bad["_k"])).alias("child"),
                bad["score"].alias("x"),
            ]
        ),
        call.method,
        call.params,
    )


def _frame_aggregate(
    present: pl.DataFrame, children: Level, parents: pl.Series, run: Run, call: MethodCall
) -> pl.DataFrame:
    """Methods that compare cities (Copeland) get the child frame with its string keys (the
    children present, or every child when the method does not skip missing ones)."""
    names = pl.Series(run.node_names, dtype=pl.String)
    frame = pl.DataFrame(
        [
            run.units.city_ids(present["_u"]),
            run.units.year_values(present["_u"]),
            names.gather(parents.gather(present["_p"])).alias("parent"),
            names.gather(children.node_codes.gather(present["_k"])).alias("child"),
            present["score"].alias("x"),
            present["weight"].alias("w"),
        ]
    )
    result = call.method.frame_fn(frame.lazy(), call.params).collect()  # type: ignore[misc]
    codes = pl.DataFrame(
        {
            "_u": present["_u"],
            "_p": present["_p"],
            "city_id": frame["city_id"],
            "year": frame["year"],
            "parent": frame["parent"],
        }
    ).unique(["_u", "_p"])
    ok = pl.col("score").is_not_null() & pl.col("score").is_not_nan()
    counts = present.group_by("_u", "_p").agg(ok.sum().alias("n_present"))
    return (
        result.join(codes, on=["city_id", "year", "parent"], how="inner")
        .select("_u", "_p", "score")
        .join(counts, on=["_u", "_p"], how="left")
    )


def coverage(blocks: dict[int, Level], level1: pl.DataFrame, run: Run) -> None:
    """Share of a node's indicators the city has (before imputation), among the indicators that
    any city has that year — an indicator nobody reports cannot count against a city.

    Summed up the tree: a node's counts are the sums of its children's (any level below), the
    leaves counting 1 when reported (``n_present``) and available (``n_children``)."""
    n_years = run.units.years.len()
    key = level1["_ny"]
    avail = (
        pl.DataFrame({"_key": key, "_present": level1["_present"]})
        .group_by("_key")
        .agg(pl.col("_present").any().alias("_a"))
    )
    available = (
        pl.repeat(False, run.n_leaves * n_years, eager=True).scatter(avail["_key"], avail["_a"])
        if avail.height
        else pl.Series([], dtype=pl.Boolean)
    )
    a = available.gather(key) if level1.height else pl.Series([], dtype=pl.Boolean)
    counts: dict[int, pl.DataFrame] = {
        1: pl.DataFrame(
            {
                "_k": level1["_i"],
                "_u": level1["_u"],
                "n_present": (level1["_present"] & a).cast(pl.UInt32),
                "n_children": a.cast(pl.UInt32),
            }
        )
    }
    edges = _edges(run)
    n_u = run.units.n
    dense = level1.height == run.n_leaves * n_u and worth_dense(run.n_leaves, n_u)
    for level in sorted(blocks):
        if level == 1:
            continue
        block = blocks[level]
        if dense:
            counts[level] = _dense_counts(counts, blocks, edges, level, n_u)
            continue
        parts = []
        for lower in sorted(counts):
            codes = blocks[lower].node_codes
            parent = _by_code(edges, "parent", codes)
            plevel = _by_code(edges, "parent_level", codes)
            local = pl.DataFrame({"node": block.node_codes}).with_row_index("_p")
            to_local = pl.DataFrame({"node": parent}).join(
                local, on="node", how="left", maintain_order="left"
            )["_p"]
            to_local = pl.Series(
                [
                    p if lv == level else None
                    for p, lv in zip(to_local.to_list(), plevel.to_list(), strict=True)
                ],
                dtype=pl.UInt32,
            )
            if to_local.null_count() == to_local.len():
                continue
            c = counts[lower]
            parts.append(
                c.with_columns(to_local.gather(c["_k"]).alias("_p"))
                .filter(pl.col("_p").is_not_null())
                .select("_p", "_u", "n_present", "n_children")
            )
        n_p, n_u = block.node_codes.len(), run.units.n
        n = n_p * n_u
        n_present = pl.repeat(0, n, dtype=pl.UInt32, eager=True)
        n_children = pl.repeat(0, n, dtype=pl.UInt32, eager=True)
        if parts:
            summed = (
                pl.concat(parts)
                .lazy()
                .group_by("_p", "_u")
                .agg(pl.col("n_present").sum(), pl.col("n_children").sum())
                .collect()
            )
            pos = summed["_p"].cast(pl.UInt64) * n_u + summed["_u"].cast(pl.UInt64)
            n_present = n_present.scatter(pos, summed["n_present"].cast(pl.UInt32))
            n_children = n_children.scatter(pos, summed["n_children"].cast(pl.UInt32))
        counts[level] = pl.DataFrame(
            {
                "_k": block.frame["_k"],
                "_u": block.frame["_u"],
                "n_present": n_present,
                "n_children": n_children,
            }
        )
    for level, block in blocks.items():
        c = counts[level]
        block.frame = block.frame.with_columns(
            c["n_present"],
            c["n_children"],
            # a node with no available indicator has no coverage (null), not 0 of 0
            pl.when(c["n_children"] > 0).then(c["n_present"] / c["n_children"]).alias("coverage"),
        )


def _dense_counts(
    counts: dict[int, pl.DataFrame],
    blocks: dict[int, Level],
    edges: pl.DataFrame,
    level: int,
    n_u: int,
) -> pl.DataFrame:
    """A level's coverage counts on dense levels: each parent sums its children's contiguous
    slices (from every level below whose parent is at this level) with ``sum_horizontal``."""
    block = blocks[level]
    local = {int(code): i for i, code in enumerate(block.node_codes.to_list())}
    kids: dict[int, list[tuple[int, int]]] = {}
    for lower in sorted(counts):
        codes = blocks[lower].node_codes
        parents = _by_code(edges, "parent", codes).to_list()
        plevels = _by_code(edges, "parent_level", codes).to_list()
        for k, (parent, plevel) in enumerate(zip(parents, plevels, strict=True)):
            if plevel == level and parent in local:
                kids.setdefault(local[parent], []).append((lower, k))
    n_p = block.node_codes.len()
    columns: dict[str, pl.Series] = {}
    for lower, k in {pair for pairs in kids.values() for pair in pairs}:
        c = counts[lower]
        columns[f"p{lower}_{k}"] = c["n_present"].slice(k * n_u, n_u)
        columns[f"c{lower}_{k}"] = c["n_children"].slice(k * n_u, n_u)
    wide = pl.DataFrame(columns) if columns else pl.DataFrame({"_": pl.repeat(0, n_u, eager=True)})
    zero = pl.lit(0, pl.UInt32)
    exprs = []
    for p in range(n_p):
        pairs = kids.get(p, [])
        for prefix in ("p", "c"):
            total = (
                pl.sum_horizontal(pl.col(f"{prefix}{lv}_{k}") for lv, k in pairs) if pairs else zero
            )
            exprs.append(total.cast(pl.UInt32).alias(f"{prefix}{p}"))
    out = wide.select(exprs) if exprs else pl.DataFrame()
    empty = pl.Series([], dtype=pl.UInt32)
    return pl.DataFrame(
        {
            "_k": block.frame["_k"],
            "_u": block.frame["_u"],
            "n_present": pl.concat([out[f"p{p}"] for p in range(n_p)]) if n_p else empty,
            "n_children": pl.concat([out[f"c{p}"] for p in range(n_p)]) if n_p else empty,
        }
    )


def thin_index(block: Level, top: int, threshold: float, run: Run) -> None:
    if threshold <= 0:
        return
    thin = (pl.col("coverage") < threshold) & pl.col("score").is_not_null()
    rows = block.frame.filter(thin).sort("_u", "_k")
    names = pl.Series(run.node_names, dtype=pl.String)
    run.warn(
        rows.select(
            pl.lit(None, pl.String).alias("scorer"),
            run.units.year_values(rows["_u"]),
            names.gather(block.node_codes.gather(rows["_k"])).alias("node"),
            run.units.city_ids(rows["_u"]),
            pl.lit("thin_coverage").alias("kind"),
            pl.format(
                "only {} of {} indicators: too thin to score (needs {} %)",
                "n_present",
                "n_children",
                pl.lit(round(threshold * 100)),
            ).alias("message"),
        )
    )
    block.frame = block.frame.with_columns(
        pl.when(thin).then(None).otherwise(pl.col("score")).alias("score")
    )
