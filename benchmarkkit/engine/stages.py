"""The steps on the indicator cells: select and denominate, grid, screen, impute, treat, normalise.

Why a module of its own: these steps all work on the same dense cell frame (``_i`` leaf code,
``_u`` unit code, ``value``, ``_present``, ``_imputed``), and each hands a plugin method what its
contract in ``methods/spec.py`` promises — nothing more — then checks what came back. The order in
which they run is the pipeline's (``score.py``), not theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.engine.context import KIND_WORD, Run, keep_units, node_year_key
from benchmarkkit.engine.encode import Encoded, lookup, nulls, sorted_key
from benchmarkkit.errors import MethodError, PluginError

if TYPE_CHECKING:
    from benchmarkkit.methods.parse import MethodCall
    from benchmarkkit.methods.spec import Normaliser
    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Pipeline

_CELL_COLUMNS = ("city_id", "year", "indicator", "value", "_present")
"""Columns of the engine's cell frame as plugins know it (an imputation group must not clash)."""


def indicator_columns(leaves: pl.DataFrame, method: Normaliser) -> pl.DataFrame:
    """``node``, ``direction`` and every per-indicator parameter ``method`` declares, on the
    direction-adjusted scale its expression sees (``methods/spec.py``, ``IndicatorParam``): a
    parameter in the indicator's units is multiplied by the direction, an interval end swaps with
    its ``pair`` and negates for lower-is-better, a unitless one passes unchanged. A column the
    framework lacks is an error when required, nulls (the method's own default) when optional."""
    declared = method.indicator_params
    missing = [p.name for p in declared if p.required and p.name not in leaves.columns]
    if "direction" not in leaves.columns or missing:
        raise MethodError(
            f"normaliser '{method.name}' needs per-indicator '{(missing or ['direction'])[0]}'",
            hint="give it in the framework file (an iMeta column, or a key of each "
            "[[indicator]] in a TOML framework)",
        )
    d = pl.col("direction").cast(pl.Float64)
    flip = d < 0
    columns = []
    for param in method.indicator_params:
        value = _column(leaves, param.name, param.kind)
        if param.units == "indicator":
            if param.pair is not None:
                value = pl.when(flip).then(-_column(leaves, param.pair, float)).otherwise(value)
            else:
                value = value * d
        columns.append(value.alias(param.name))
    return leaves.select("node", "direction", *columns)


def _column(leaves: pl.DataFrame, name: str, kind: type) -> pl.Expr:
    """Column ``name`` of the framework as ``kind`` (float or bool; yes/no words read as
    booleans), all null when the framework has no such column."""
    dtype = pl.Boolean if kind is bool else pl.Float64
    if name not in leaves.columns:
        return pl.lit(None, dtype)
    col = pl.col(name)
    if kind is bool and leaves.schema[name] == pl.String:
        text = col.str.strip_chars().str.to_lowercase()
        return (
            pl.when(text.is_in(["true", "t", "1", "yes", "y"]))
            .then(True)
            .when(text.is_in(["false", "f", "0", "no", "n"]))
            .then(False)
        )
    return col.cast(dtype)


def select_data(
    encoded: Encoded,
    leaves: pl.DataFrame,
    leaf_names: list[str],
    pipeline: Pipeline,
    years: list[int] | None,
    panel: bool,
) -> pl.DataFrame:
    """The observations of the framework's indicators: ``_c`` (city code), ``year``, ``_i``
    (leaf code), ``value``; missing and NaN values dropped. Integer lookups only."""
    names = encoded.indicators.to_list()
    position = {name: k for k, name in enumerate(names)}
    leaf_of = nulls(len(names), pl.UInt32)
    known = [(position[n], i) for i, n in enumerate(leaf_names) if n in position]
    if known:
        leaf_of = leaf_of.scatter([k for k, _ in known], [i for _, i in known])
    frame = encoded.frame
    data = frame.select(
        "_c", "year", leaf_of.gather(frame["_ind"]).alias("_i"), "value", "_ind"
    ).filter(pl.col("_i").is_not_null())
    if pipeline.denominate:
        data = denominate(data, encoded, leaves, leaf_names, position)
    if years is not None and pipeline.reference == "year" and not panel:
        data = data.filter(pl.col("year").is_in(years))
    return data.select("_c", "year", "_i", "value")


def grid(data: pl.DataFrame, n_leaves: int, n_units: int) -> tuple[pl.DataFrame, bool]:
    """Every unit × every leaf, leaf-major, values scattered in by position.

    Returns the cells and whether they are dense (one row per leaf × unit). Repeated keys (not
    possible after validation) keep every row, as a left join would, and the layout stays sorted.
    """
    n = n_leaves * n_units
    leaf = sorted_key(n_leaves, n_units)
    unit = pl.int_range(n, dtype=pl.UInt32, eager=True) % max(n_units, 1)
    pos = data["_i"].cast(pl.UInt64) * n_units + data["_u"].cast(pl.UInt64)
    value = (
        nulls(n, pl.Float64).scatter(pos, data["value"]) if n else pl.Series([], dtype=pl.Float64)
    )
    if n - value.null_count() == data.height:
        cells = pl.DataFrame({"_i": leaf, "_u": unit, "value": value})
        return cells.with_columns(pl.col("value").is_not_null().alias("_present")), True
    grid = pl.DataFrame({"_i": leaf, "_u": unit})
    cells = grid.join(
        data.select("_i", "_u", "value"), on=["_i", "_u"], how="left", maintain_order="left"
    ).with_columns(pl.col("_i").set_sorted())
    return cells.with_columns(pl.col("value").is_not_null().alias("_present")), False


def check_output(
    inputs: pl.DataFrame, column: str, output: str, registry: Registry, kind: str, call: MethodCall
) -> None:
    """A normaliser that turns usable values into nothing (all missing or NaN) is broken, not a
    data problem: say which method of which plugin, instead of an index of empty scores.
    (Aggregators are not checked this way: minimum coverage or zero weights can legitimately
    leave every parent empty; the scorer-level check in ``run.py`` catches an empty index.)"""
    result = inputs[output]
    if result.dtype.is_numeric() and result.cast(pl.Float64).is_finite().any():
        return  # the usual case, settled in one cheap pass
    # a constant indicator (one city alone, all equal) legitimately normalises to nothing:
    # count inputs only of indicators whose usable values differ
    # per partition the method ran over (indicator, or indicator and year): one value in each
    # of two years is no spread for a per-year normaliser
    spread = (
        inputs.filter(pl.col(column).is_finite())
        .group_by("_p" if "_p" in inputs.columns else "_i")
        .agg((pl.col(column).min() < pl.col(column).max()).alias("_v"), pl.len().alias("_n"))
    )
    had = int(spread.filter("_v")["_n"].sum())
    if not had or not result.dtype.is_numeric():
        if had and not result.dtype.is_numeric():
            owner = registry.owner.get((kind, call.name), call.name)
            raise PluginError(
                owner,
                f"{KIND_WORD[kind]} '{call.name}' returned {result.dtype} values, not numbers",
            )
        return
    usable = result.is_not_null() & result.cast(pl.Float64).is_finite()
    if not usable.any():
        owner = registry.owner.get((kind, call.name), call.name)
        raise PluginError(
            owner,
            f"{KIND_WORD[kind]} '{call.name}' returned no usable value "
            f"(all {result.len()} results missing, NaN or infinite, from {had} "
            "usable inputs)",
            hint=f"fix the method, or skip the plugin with --disable-plugin {owner}",
        )


def check_filled(imputed: pl.DataFrame, registry: Registry, call: MethodCall | None) -> None:
    """An imputer may leave a gap, but must not fill one with NaN or infinity."""
    if call is None or imputed.height == 0:
        return
    bad = imputed.filter(pl.col("value").is_nan() | pl.col("value").is_infinite())
    if bad.height:
        first = bad.row(0, named=True)
        owner = registry.owner.get(("imputer", call.name), call.name)
        raise PluginError(
            owner,
            f"imputer '{call.name}' filled {bad.height} cells with NaN or "
            f"infinity (first: {first['city_id']}, {first['year']}, "
            f"{first['indicator']})",
            hint="an imputer should leave a gap missing",
        )


def denominate(
    data: pl.DataFrame,
    encoded: Encoded,
    leaves: pl.DataFrame,
    leaf_names: list[str],
    position: dict[str, int],
) -> pl.DataFrame:
    """COINr ``Denominate``: x / denominator of the same city and year; an indicator without a
    denominator keeps its value, one whose denominator is missing for that city-year drops out
    (missing stays missing), as does a 0/0."""
    den_of = dict(zip(leaves["node"].to_list(), leaves["denominator"].to_list(), strict=True))
    codes = [
        position.get(den_of.get(name) or "") if den_of.get(name) else None for name in leaf_names
    ]
    missing_den = [
        i for i, name in enumerate(leaf_names) if den_of.get(name) and den_of[name] not in position
    ]
    den_code = pl.Series(codes, dtype=pl.UInt32)
    data = data.with_columns(den_code.gather(data["_i"]).alias("_dind"))
    if missing_den:  # a denominator nobody reports: every value of that indicator is missing
        data = data.filter(~pl.col("_i").is_in(missing_den))
    den = encoded.frame.select(
        "_c", "year", pl.col("_ind").alias("_dind"), pl.col("value").alias("_den")
    )
    out = data.join(den, on=["_c", "year", "_dind"], how="left", maintain_order="left")
    return out.with_columns(
        pl.when(pl.col("_dind").is_null())
        .then(pl.col("value"))
        .otherwise(pl.col("value") / pl.col("_den"))
        .alias("value")
    ).filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan())


def screen(cells: pl.DataFrame, threshold: float, run: Run) -> tuple[pl.DataFrame, pl.DataFrame]:
    """COINr ``Screen`` by missing data: drop the units (city-years) whose share of indicators
    with a value is below ``threshold``, each one warned about.

    The share counts the values there *now*: before imputation that is the data as reported;
    after it (COINr's recipe order) a filled cell counts, so imputing first screens out fewer.
    Returns the cells and the dropped units' ``city_id, year``."""
    share = cells.group_by("_u").agg(pl.col("value").is_not_null().mean().alias("_share"))
    dropped = share.filter(pl.col("_share") < threshold).sort("_u")
    keys = pl.DataFrame([run.units.city_ids(dropped["_u"]), run.units.year_values(dropped["_u"])])
    run.warn(
        dropped.select(
            pl.lit(None, pl.String).alias("scorer"),
            keys["year"],
            pl.lit(None, pl.String).alias("node"),
            keys["city_id"],
            pl.lit("screened_out").alias("kind"),
            pl.format(
                "only {} of indicators present, below --screen {}",
                pl.col("_share").round(3),
                pl.lit(threshold),
            ).alias("message"),
        )
    )
    if dropped.height:
        mask = pl.repeat(True, run.units.n, eager=True).scatter(dropped["_u"], False)
        cells = keep_units(cells, run, mask)
    return cells, keys


def impute(
    cells: pl.DataFrame, call: MethodCall | None, cities: pl.DataFrame, run: Run
) -> tuple[pl.DataFrame, pl.DataFrame]:
    empty = pl.DataFrame(
        schema={"city_id": pl.String, "year": pl.Int32, "indicator": pl.String, "value": pl.Float64}
    )
    if call is None:
        if "_imputed" in cells.columns:
            return cells, empty
        return cells.with_columns(pl.lit(False).alias("_imputed")), empty
    method, params = call.method, call.params
    group = params.get("group")
    frame = cells
    if group:
        if group not in cities.columns:
            raise MethodError(
                f"imputation group column '{group}' is not in the cities table",
                hint=f"columns: {', '.join(cities.columns)}",
            )
        if group in _CELL_COLUMNS:
            raise MethodError(
                f"imputation group column '{group}' clashes with a column of the engine",
                hint="rename the column in the cities table",
            )
        of_city = pl.DataFrame({"city_id": run.units.cities}).join(
            cities.select("city_id", pl.col(group).cast(pl.String).alias("_grp")).unique(
                "city_id", keep="first", maintain_order=True
            ),
            on="city_id",
            how="left",
            maintain_order="left",
        )["_grp"]
        frame = frame.with_columns(of_city.gather(run.units.city.gather(frame["_u"])).alias(group))
    expr = method.fn(pl.col("value"), params)
    roots = set(expr.meta.root_names())
    if method.panel:
        frame = frame.with_columns(_panel_fill(frame, expr, roots, run))
    else:
        frame = frame.with_columns(node_year_key(frame["_i"], frame["_u"], run).alias("_p"))
        frame = run.with_names(frame, roots).with_columns(
            expr.over(["_p", *([group] if group else [])]).alias("_filled")
        )
    frame = frame.with_columns(
        (pl.col("value").is_null() & pl.col("_filled").is_not_null()).alias("_imputed"),
        pl.coalesce("value", "_filled").alias("value"),
    ).select("_i", "_u", "value", "_present", "_imputed")
    done = frame.filter(pl.col("_imputed"))
    imputed = pl.DataFrame(
        [
            run.units.city_ids(done["_u"]),
            run.units.year_values(done["_u"]),
            run.leaf_series(done["_i"]),
            done["value"],
        ]
    )
    return frame, imputed


def _panel_fill(frame: pl.DataFrame, expr: pl.Expr, roots: set[str], run: Run) -> pl.Series:
    """Panel imputation: every city × indicator series over every year of the data (gaps as
    null rows), in year order, the method run ``over`` each series; the fill of each cell."""
    units = run.units
    year_codes = units.year.unique().sort()
    city_codes = units.city.unique().sort()
    n_y, n_c = year_codes.len(), city_codes.len()
    ypos = lookup(units.year, year_codes, pl.int_range(n_y, dtype=pl.UInt32, eager=True))
    cpos = lookup(units.city, city_codes, pl.int_range(n_c, dtype=pl.UInt32, eager=True))
    u = frame["_u"]
    pos = (frame["_i"].cast(pl.UInt64) * n_c + cpos.gather(u).cast(pl.UInt64)) * n_y + ypos.gather(
        u
    ).cast(pl.UInt64)
    n = run.n_leaves * n_c * n_y
    series_key = sorted_key(run.n_leaves * n_c, n_y)
    full = pl.DataFrame(
        {
            "_s": series_key,
            "value": nulls(n, pl.Float64).scatter(pos, frame["value"]),
        }
    )
    extra = {}
    if "year" in roots:
        extra["year"] = units.years.gather(year_codes).gather(
            pl.int_range(n, dtype=pl.UInt32, eager=True) % n_y
        )
    if "city_id" in roots:
        extra["city_id"] = units.cities.gather(city_codes).gather(
            (series_key % n_c) if n_c else series_key
        )
    if "indicator" in roots:
        extra["indicator"] = run.leaf_series(series_key // max(n_c, 1))
    full = full.with_columns(**extra)
    filled = full.select(expr.over("_s").alias("_filled"))["_filled"]
    return filled.gather(pos)


def treat(
    cells: pl.DataFrame, call: MethodCall, reference: str, run: Run
) -> tuple[pl.DataFrame, pl.DataFrame]:
    # _part numbers the partitions 1, 2, … in (indicator, year) order, as a dense rank would
    units = run.units
    if reference == "pooled":
        n_parts, per_leaf = run.n_leaves, 1
        part = pl.col("_i").cast(pl.Int64) + 1
        parts = pl.DataFrame(
            {
                "_part": pl.int_range(1, n_parts + 1, eager=True),
                "indicator": pl.Series(run.leaf_names, dtype=pl.String),
            }
        )
    else:
        present = units.year.unique().sort()
        per_leaf = present.len()
        dense = lookup(units.year, present, pl.int_range(per_leaf, dtype=pl.UInt32, eager=True))
        part = (
            pl.col("_i").cast(pl.Int64) * per_leaf
            + pl.Series(dense.gather(cells["_u"])).cast(pl.Int64)
            + 1
        )
        n_parts = run.n_leaves * per_leaf
        i = pl.int_range(n_parts, dtype=pl.UInt32, eager=True)
        parts = pl.DataFrame(
            {
                "_part": pl.int_range(1, n_parts + 1, eager=True),
                "indicator": run.leaf_series(i // max(per_leaf, 1)),
                "year": units.years.gather(present.gather(i % max(per_leaf, 1)))
                if per_leaf
                else pl.Series([], dtype=units.years.dtype),
            }
        )
    frame = cells.with_columns(part.alias("_part"), pl.col("value").alias("x"))
    frame = frame.with_columns(pl.col("_part").set_sorted())
    if call.method.lean:
        # declared: reads only _part and x, keeps the rows in order — no string keys built
        treated, log = _lean_result(call.method.fn(frame.select("_part", "x"), call.params), frame)
        frame = frame.with_columns(treated["x"])
    else:
        full = run.with_names(frame, {"city_id", "year", "indicator"}).select(
            "city_id",
            "year",
            "indicator",
            "value",
            "_present",
            "_imputed",
            "_part",
            "x",
            "_i",
            "_u",
        )
        frame, log = _treatment_result(call.method.fn(full, call.params), full.height, call)
        frame = frame.sort("_i", "_u", maintain_order=True).with_columns(pl.col("_i").set_sorted())
    if not frame.height:
        parts = parts.clear()
    log = parts.join(log, on="_part", how="right").drop("_part")
    return frame.with_columns(pl.col("x").alias("value")).select(
        "_i", "_u", "value", "_present", "_imputed"
    ), log


def _lean_result(result: object, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A lean treatment's ``(frame, log)``, checked as far as taking ``x`` by position needs."""
    what = "treatment declared lean must return (frame, log) with x, row for row"
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f"{what}; it returned {type(result).__name__}")
    treated, log = result
    if not isinstance(treated, pl.DataFrame) or not isinstance(log, pl.DataFrame):
        raise TypeError(f"{what}; it returned ({type(treated).__name__}, {type(log).__name__})")
    if "x" not in treated.columns or treated.height != frame.height:
        raise ValueError(f"{what}; it returned {treated.height} rows for {frame.height}")
    if "_part" not in log.columns:
        raise ValueError("its log has no '_part' column")
    return treated, log


def _treatment_result(
    result: object, height: int, call: MethodCall
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A plugin treatment's ``(frame, log)`` as the contract in methods.py says, or a MethodError
    saying what is wrong (``method_guard`` names the plugin)."""
    what = f"treatment '{call.name}' must return (frame, log) with frame keeping every column"
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f"{what}; it returned {type(result).__name__}")
    frame, log = result
    if not isinstance(frame, pl.DataFrame) or not isinstance(log, pl.DataFrame):
        raise TypeError(f"{what}; it returned ({type(frame).__name__}, {type(log).__name__})")
    missing = [c for c in ("_i", "_u", "x", "_present", "_imputed") if c not in frame.columns]
    if missing:
        raise ValueError(f"it returned a frame without the column '{missing[0]}'")
    if frame.height != height:
        raise ValueError(f"it returned {frame.height} rows for {height}")
    if "_part" not in log.columns:
        raise ValueError("its log has no '_part' column")
    return frame, log


def normalise(
    cells: pl.DataFrame, call: MethodCall, leaves: pl.DataFrame, reference: str, run: Run
) -> pl.DataFrame:
    columns = indicator_columns(leaves, call.method)
    needed = columns.columns[1:]
    meta = pl.DataFrame({"node": pl.Series(run.leaf_names, dtype=pl.String)}).join(
        columns.unique("node", keep="first", maintain_order=True),
        on="node",
        how="left",
        maintain_order="left",
    )
    frame = cells.with_columns(meta[c].gather(cells["_i"]) for c in needed)
    if reference == "pooled":
        frame = frame.with_columns(pl.col("_i").alias("_p"))
    else:
        frame = frame.with_columns(node_year_key(frame["_i"], frame["_u"], run).alias("_p"))
    # x as a column of its own, not an expression inside the method's: Polars then evaluates the
    # window once over a plain column — 3-4x faster than re-deriving x inside every group
    frame = frame.with_columns(
        pl.col("_p").set_sorted(),
        (pl.col("value") * pl.col("direction").cast(pl.Float64)).alias("_x"),
    )
    expr = call.method.fn(pl.col("_x"), call.params)
    frame = run.with_names(frame, set(expr.meta.root_names()))
    return frame.with_columns(expr.over("_p").alias("_score")).select(
        "_i", "_u", "value", "_present", "_score", "_p"
    )


def normalisation_warnings(level1: pl.DataFrame, run: Run) -> pl.DataFrame:
    n_years = run.units.years.len()
    stats = (
        level1.select("value", pl.col("_ny").alias("_key"))
        .group_by("_key")
        .agg(
            (pl.col("value").min() == pl.col("value").max()).alias("_same"),
            pl.col("value").is_not_null().sum().alias("_n"),
        )
        .sort("_key")
        .with_columns(
            (pl.col("_key") // n_years).cast(pl.UInt32).alias("_i"),
            (pl.col("_key") % n_years).cast(pl.UInt32).alias("_y"),
        )
    )
    stats = stats.with_columns(
        run.units.years.gather(stats["_y"]).alias("year"),
        run.leaf_series(stats["_i"]).alias("indicator"),
    )
    constant = stats.filter(pl.col("_same").fill_null(False) & (pl.col("_n") > 1)).select(
        pl.lit(None, pl.String).alias("scorer"),
        "year",
        pl.col("indicator").alias("node"),
        pl.lit(None, pl.String).alias("city_id"),
        pl.lit("constant_column").alias("kind"),
        pl.format(
            "all {} cities have the same value: the indicator cannot tell them apart"
            " and is left out of the aggregate",
            "_n",
        ).alias("message"),
    )
    empty = stats.filter(pl.col("_n") == 0).select(
        pl.lit(None, pl.String).alias("scorer"),
        "year",
        pl.col("indicator").alias("node"),
        pl.lit(None, pl.String).alias("city_id"),
        pl.lit("all_missing").alias("kind"),
        pl.lit("no city has a value this year").alias("message"),
    )
    return pl.concat([constant, empty])
