"""Framework files: a custom index without code, in COINr's own layout or in a native TOML.

COINr users can move over as they are: ``iMeta.csv`` (Level, iCode, iName, Direction, Weight, Unit,
Target, Denominator, Parent, Type, optional goalpost_*) is read directly, and its ``iData.csv``
(uCode, uName, *_group, Time, one column per indicator or denominator) loads as data. Any other
iMeta column (``dist2targ_cap_max``, ...) is kept as a node column of the same name, so a method
that declares it as a per-indicator parameter reads it, as COINr's ``f_n_para = "use_iMeta"``
does. An iMeta framework runs COINr's recipe order (``COINR_STEPS``: impute before screen).

Native TOML (levels follow from the tree; directions, bounds and units default to the catalog)::

    name = "digital_readiness"
    title = "Digital readiness"
    [methods]                       # optional defaults, the CLI overrides them
    normalise = "minmax:0,100"
    aggregate = "arithmetic"
    [[node]]                        # aggregates; the one without a parent is the index
    id = "digital_readiness"
    [[node]]
    id = "connectivity"
    parent = "digital_readiness"
    weight = 2
    [[indicator]]
    id = "household_internet_access"
    parent = "connectivity"
    weight = 1                      # optional: direction, target, goalposts = [lo, hi], denominator
                                    # any other key: a per-indicator parameter (dist2targ_cap_max)

``[methods]`` may also set ``steps = ["denominate", "impute", "screen", "treat", "normalise",
"aggregate"]``, the order of the steps (default: ``scorer.STEPS``).
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from benchmarkkit.errors import InputError, MethodError, did_you_mean
from benchmarkkit.scorer import COINR_STEPS, FRAMEWORK_NODES, RECOMMENDED, Framework, Pipeline

NODE_SCHEMA = {k: getattr(pl, v)() for k, v in FRAMEWORK_NODES.items()}
COINR_TYPES = ("Indicator", "Aggregate", "Group", "Denominator", "Other")
IMETA_COLUMNS = (
    "Level",
    "iCode",
    "iName",
    "Direction",
    "Weight",
    "Unit",
    "Target",
    "Denominator",
    "Parent",
    "Type",
    "goalpost_lower",
    "goalpost_upper",
    "goalpost_scale",
    "goalpost_trunc2posts",
)
"""iMeta columns read into the framework's own columns; any other column is kept as it is."""
_TRUE, _FALSE = ("TRUE", "T", "1", "YES"), ("FALSE", "F", "0", "NO")


def read_framework(path: Path) -> Framework:
    if not path.is_file():
        raise InputError("framework file not found", source=str(path))
    if path.suffix.lower() == ".toml":
        return read_toml_framework(path)
    if path.suffix.lower() == ".csv":
        return read_imeta(path)
    raise InputError("a framework is a COINr iMeta .csv or a native .toml file", source=str(path))


def _check_tree(nodes: pl.DataFrame, source: str) -> pl.DataFrame:
    """One root, every parent known, no cycles; levels recomputed from depth when absent."""
    known = set(nodes["node"])
    dup = nodes.filter(pl.col("node").is_duplicated())
    if dup.height:
        raise InputError(f"node '{dup['node'][0]}' is defined twice", source=source)
    for row in nodes.filter(pl.col("parent").is_not_null()).iter_rows(named=True):
        if row["parent"] not in known:
            raise InputError(
                f"'{row['node']}' has unknown parent '{row['parent']}'",
                source=source,
                hint=did_you_mean(row["parent"], known),
            )
    roots = nodes.filter(pl.col("parent").is_null())["node"].to_list()
    if len(roots) != 1:
        raise InputError(
            f"a framework needs exactly one top node (index), found {len(roots)}: "
            f"{', '.join(roots[:5])}",
            source=source,
            hint="give every other node a parent",
        )
    parent = dict(zip(nodes["node"], nodes["parent"], strict=True))
    depth: dict[str, int] = {}
    for node in parent:
        seen, cur, d = set(), node, 0
        while parent[cur] is not None:
            if cur in seen:
                raise InputError(f"the tree has a cycle through '{node}'", source=source)
            seen.add(cur)
            cur, d = parent[cur], d + 1
        depth[node] = d
    leaves = nodes.filter(pl.col("level") == 1)
    if leaves.height == 0:
        raise InputError("the framework has no indicators", source=source)
    # an aggregate with nothing under it would silently vanish from every output
    parents = set(nodes["parent"].drop_nulls())
    empty = [
        node
        for node, level in zip(nodes["node"], nodes["level"], strict=True)
        if level != 1 and node not in parents
    ]
    if empty:
        raise InputError(
            f"node '{empty[0]}' has nothing under it: no indicator and no other node names it as "
            "its parent" + (f" (nor {len(empty) - 1} more)" if len(empty) > 1 else ""),
            source=source,
            hint=f'give it an indicator (parent = "{empty[0]}") or remove it',
        )
    return nodes


def read_imeta(path: Path) -> Framework:
    """COINr's iMeta table. Levels and weights as given; directions ±1; Group rows name groups."""
    source = str(path)
    try:
        meta = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.PolarsError as err:
        raise InputError(f"cannot read iMeta ({err})", source=source) from None
    required = ("Level", "iCode", "Parent", "Type")
    for col in required:
        if col not in meta.columns:
            raise InputError(
                f"iMeta lacks the column '{col}'",
                source=source,
                column=col,
                hint=did_you_mean(col, meta.columns),
            )
    meta = meta.with_row_index("_line", offset=2)
    bad_type = meta.filter(~pl.col("Type").is_in(COINR_TYPES))
    if bad_type.height:
        raise InputError(
            f"Type '{bad_type['Type'][0]}' is not one of {', '.join(COINR_TYPES)}",
            source=source,
            row=int(bad_type["_line"][0]),
            column="Type",
        )

    def num(col: str) -> pl.Expr:
        if col not in meta.columns:
            return pl.lit(None, dtype=pl.Float64)
        return pl.col(col).str.strip_chars().cast(pl.Float64, strict=False)

    def text(col: str) -> pl.Expr:
        if col not in meta.columns:
            return pl.lit(None, dtype=pl.String)
        c = pl.col(col).str.strip_chars()
        return pl.when((c == "") | (c == "NA")).then(None).otherwise(c)

    tree = meta.filter(pl.col("Type").is_in(["Indicator", "Aggregate"]))
    nodes = tree.select(
        text("iCode").alias("node"),
        pl.coalesce(text("iName"), text("iCode")).alias("name"),
        num("Level").cast(pl.Int32).alias("level"),
        text("Parent").alias("parent"),
        num("Weight").fill_null(1.0).alias("weight"),
        pl.when(pl.col("Type") == "Indicator")
        .then(num("Direction").fill_null(1.0))
        .cast(pl.Int8)
        .alias("direction"),
        num("Target").alias("target"),
        num("goalpost_lower").alias("goalpost_lower"),
        num("goalpost_upper").alias("goalpost_upper"),
        num("goalpost_scale").alias("goalpost_scale"),
        _flag(text("goalpost_trunc2posts")).alias("goalpost_trunc2posts"),
        text("Denominator").alias("denominator"),
        text("Unit").alias("unit"),
        pl.lit(None, dtype=pl.String).alias("focus_area"),
        *[_extra(tree, col, text(col)).alias(col) for col in _extras(meta.columns)],
    )
    bad_dir = nodes.filter(pl.col("direction").is_not_null() & ~pl.col("direction").is_in([1, -1]))
    if bad_dir.height:
        raise InputError(
            f"Direction of '{bad_dir['node'][0]}' must be 1 or -1",
            source=source,
            column="Direction",
        )
    groups = tuple(meta.filter(pl.col("Type") == "Group")["iCode"].to_list())
    nodes = _check_tree(nodes.cast(NODE_SCHEMA), source)  # type: ignore[arg-type]
    name = path.stem
    return Framework(
        name=name,
        nodes=nodes,
        title=name,
        pipeline=Pipeline(steps=COINR_STEPS),
        groups=groups,
    )


def _flag(text: pl.Expr) -> pl.Expr:
    """COINr's logical cells (TRUE/FALSE, T/F, 1/0) as booleans; empty or NA stays null, so the
    method's own parameter applies (an absent column is not FALSE)."""
    upper = text.str.to_uppercase()
    return pl.when(upper.is_in(_TRUE)).then(True).when(upper.is_in(_FALSE)).then(False)


def _extras(columns: list[str]) -> list[str]:
    """The iMeta columns kept as they are (per-indicator parameters of some method)."""
    own = set(IMETA_COLUMNS) | set(FRAMEWORK_NODES) | {"_line"}
    return [c for c in columns if c not in own]


def _extra(tree: pl.DataFrame, column: str, text: pl.Expr) -> pl.Expr:
    """An extra iMeta column typed by its cells: logical, numeric, else text."""
    cells = tree.select(text.alias("v")).drop_nulls()["v"]
    if cells.len() and cells.str.to_uppercase().is_in([*_TRUE, *_FALSE]).all():
        return _flag(text)
    if cells.len() and cells.cast(pl.Float64, strict=False).null_count() == 0:
        return text.cast(pl.Float64)
    return text


def _toml_pipeline(methods: dict[str, Any], source: str) -> Pipeline:
    allowed = {
        "impute",
        "treat",
        "normalise",
        "aggregate",
        "min_coverage",
        "screen",
        "reference",
        "denominate",
        "min_index_coverage",
        "steps",
    }
    for key in methods:
        if key not in allowed:
            raise InputError(
                f"[methods] has unknown key '{key}'", source=source, hint=did_you_mean(key, allowed)
            )
    for key in ("aggregate", "steps"):
        if isinstance(methods.get(key), list):
            methods = {**methods, key: tuple(methods[key])}
    steps = methods.get("steps")
    if steps is not None and "treat" not in methods and "treat" not in steps:
        methods = {**methods, "treat": "none"}  # a chain without the step asks for no treatment
    try:  # what the file does not say is the built-in indices' choice (scorer.RECOMMENDED)
        return replace(RECOMMENDED, **methods)
    except MethodError as err:
        raise InputError(f"[methods]: {err.message}", source=source, hint=err.hint) from None


def read_toml_framework(path: Path) -> Framework:
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"not valid TOML ({err})", source=source) from None
    rows: list[dict[str, Any]] = []
    extra: dict[str, list[Any]] = {}
    for entry in data.get("node", []):
        if "id" not in entry:
            raise InputError("every [[node]] needs an id", source=source)
        rows.append(
            {
                "node": entry["id"],
                "name": entry.get("name", entry["id"]),
                "level": None,
                "parent": entry.get("parent"),
                "weight": float(entry.get("weight", 1.0)),
            }
        )
    for entry in data.get("indicator", []):
        if "id" not in entry or "parent" not in entry:
            raise InputError("every [[indicator]] needs an id and a parent", source=source)
        goal = entry.get("goalposts") or [None, None]
        rows.append(
            {
                "node": entry["id"],
                "name": entry.get("name", entry["id"]),
                "level": 1,
                "parent": entry["parent"],
                "weight": float(entry.get("weight", 1.0)),
                "direction": entry.get("direction"),
                "target": entry.get("target"),
                "goalpost_lower": goal[0],
                "goalpost_upper": goal[1],
                "goalpost_scale": entry.get("goalpost_scale"),
                "goalpost_trunc2posts": entry.get("trunc2posts"),
                "denominator": entry.get("denominator"),
                "unit": entry.get("unit"),
            }
        )
        for key, value in entry.items():
            if key not in _TOML_KEYS:
                extra.setdefault(key, []).append(value)
    nodes = pl.DataFrame(rows, schema=NODE_SCHEMA)
    if extra:
        nodes = _with_extra(nodes, [e for e in data.get("indicator", [])], extra, source)
    nodes = _levels_from_depth(nodes, source)
    pipeline = _toml_pipeline(dict(data.get("methods", {})), source)
    name = str(data.get("name", path.stem))
    return Framework(
        name=name,
        nodes=_check_tree(nodes, source),
        title=str(data.get("title", name)),
        pipeline=pipeline,
        groups=tuple(data.get("groups", ())),
    )


_TOML_KEYS = frozenset(
    {
        "id",
        "name",
        "parent",
        "weight",
        "direction",
        "target",
        "goalposts",
        "goalpost_scale",
        "trunc2posts",
        "denominator",
        "unit",
    }
)
"""Keys of an ``[[indicator]]`` read into the framework's own columns; others are kept."""


def _with_extra(
    nodes: pl.DataFrame, indicators: list[dict[str, Any]], extra: dict[str, list[Any]], source: str
) -> pl.DataFrame:
    """Extra ``[[indicator]]`` keys as node columns (null for the nodes that do not give them),
    typed by their values: all booleans, all numbers, else text."""
    columns = {}
    for key, values in extra.items():
        if key in nodes.columns:
            raise InputError(
                f"[[indicator]] key '{key}' clashes with a framework column", source=source
            )
        if all(isinstance(v, bool) for v in values):
            dtype: pl.DataType = pl.Boolean()
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            dtype = pl.Float64()
        else:
            dtype = pl.String()
        by_id = {e["id"]: e.get(key) for e in indicators}
        cells = [by_id.get(n) for n in nodes["node"]]
        if dtype == pl.String():
            cells = [None if c is None else str(c) for c in cells]
        columns[key] = pl.Series(key, cells, dtype=dtype)
    return nodes.with_columns(**columns)


def _levels_from_depth(nodes: pl.DataFrame, source: str) -> pl.DataFrame:
    """Indicators are level 1; an aggregate sits one level above its highest child."""
    parent = dict(zip(nodes["node"], nodes["parent"], strict=True))
    level = {n: 1 for n, lv in zip(nodes["node"], nodes["level"], strict=True) if lv == 1}
    changed = True
    guard = 0
    while changed:
        changed, guard = False, guard + 1
        if guard > 100:
            raise InputError("the tree is deeper than 100 levels or has a cycle", source=source)
        for node, lv in list(level.items()):
            p = parent.get(node)
            if p is not None and level.get(p, 0) < lv + 1:
                level[p] = lv + 1
                changed = True
    return nodes.with_columns(
        pl.col("node").replace_strict(level, default=None, return_dtype=pl.Int32).alias("level")
    )


def complete_from_catalog(framework: Framework, catalog: pl.DataFrame) -> Framework:
    """Fill direction, unit and focus area from the catalog where the framework file is silent."""
    cat = catalog.select(
        pl.col("id").alias("node"),
        pl.col("direction").alias("_dir"),
        pl.col("unit").alias("_unit"),
        pl.col("focus_area").alias("_fa"),
    )
    nodes = (
        framework.nodes.join(cat, on="node", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("level") == 1)
            .then(pl.coalesce("direction", "_dir"))
            .cast(pl.Int8)
            .alias("direction"),
            pl.coalesce("unit", "_unit").alias("unit"),
            pl.coalesce("focus_area", "_fa").alias("focus_area"),
        )
        .drop("_dir", "_unit", "_fa")
    )
    lost = nodes.filter((pl.col("level") == 1) & pl.col("direction").is_null())["node"]
    if lost.len():
        # a guessed +1 would score a lower-is-better indicator backwards, and silently
        raise InputError(
            f"indicator '{lost[0]}' of '{framework.name}' has no direction: the framework gives "
            "none and the catalog does not know it"
            + (f" (nor {lost.len() - 1} more)" if lost.len() > 1 else ""),
            hint="give direction = 1 (higher is better) or -1 on the indicator, or declare it "
            "in the mapping or an indicator CSV (--indicators)",
        )
    return Framework(framework.name, nodes, framework.title, framework.pipeline, framework.groups)
