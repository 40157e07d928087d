"""Glue for the commands that score: data → frameworks → scores, shared by score/compare/report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import polars as pl

from benchmarkkit.errors import (
    BenchmarkkitError,
    InputError,
    MethodError,
    PluginError,
    did_you_mean,
)
from benchmarkkit.plugins import describe, fix_hint
from benchmarkkit.timelimit import time_limit

if TYPE_CHECKING:
    from benchmarkkit.cli import Context, DataRequest
    from benchmarkkit.engine.score import ScoreResult
    from benchmarkkit.io.load import Loaded
    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Framework, Pipeline


@dataclass(frozen=True)
class Scored:
    loaded: Loaded
    scores: pl.DataFrame
    warnings: pl.DataFrame
    results: dict[str, ScoreResult]
    catalog: pl.DataFrame
    frameworks: dict[str, Framework]
    pipelines: dict[str, Pipeline]


def _check_framework(framework: object, plugin: str, name: str) -> None:
    """A plugin's framework must have the shape the engine reads; say what is wrong, not crash."""
    from benchmarkkit.scorer import Framework

    if not isinstance(framework, Framework):
        raise PluginError(
            plugin,
            f"scorer '{name}' returned {type(framework).__name__}, "
            "not a benchmarkkit.scorer.Framework",
        )
    if not isinstance(framework.nodes, pl.DataFrame):
        raise PluginError(
            plugin,
            f"scorer '{name}' returned a framework whose nodes are "
            f"{type(framework.nodes).__name__}, not a polars DataFrame",
            hint="build nodes with schema=framework.NODE_SCHEMA",
        )
    missing = [
        c
        for c in ("node", "level", "parent", "weight", "direction")
        if c not in framework.nodes.columns
    ]
    if missing:
        raise PluginError(
            plugin,
            f"scorer '{name}' returned a framework without the column '{missing[0]}'",
            hint="build nodes with schema=framework.NODE_SCHEMA",
        )
    if not framework.nodes["level"].dtype.is_integer():
        raise PluginError(
            plugin,
            f"scorer '{name}' returned a framework whose 'level' column is "
            f"{framework.nodes['level'].dtype}, not integers",
            hint="build nodes with schema=framework.NODE_SCHEMA",
        )
    if framework.name != name:
        raise PluginError(
            plugin,
            f"scorer '{name}' returned a framework named '{framework.name}'",
            hint="a scorer's framework carries the scorer's name",
        )


def _build(
    scorer: Any,
    plugin: str,
    catalog: pl.DataFrame,
    observations: pl.DataFrame,
    timeout: float | None,
) -> Framework:
    """The scorer's framework for these data: bounded in time, checked, failures named."""
    try:
        with time_limit(timeout, plugin, f"building scorer '{scorer.name}'"):
            built = scorer.build(catalog, observations)
    except BenchmarkkitError:
        raise
    except Exception as err:
        raise PluginError(
            plugin,
            f"scorer '{scorer.name}' failed to build its framework ({describe(err)})",
            hint=fix_hint(plugin),
        ) from err
    _check_framework(built, plugin, scorer.name)
    return built


def _scored_nothing(
    result: ScoreResult, framework: Framework, pipeline: Pipeline, observations: pl.DataFrame
) -> str | None:
    """Why every index value is missing, when the data could have been scored; else None.

    "NaN everywhere" (a weight or a method of the plugin returning NaN) must not pass for thin
    data. So it is the plugin's fault only when no city got an index value although some city had
    indicators and was not withheld by the engine's own rules (thin coverage, ``--screen``), some
    indicator told two cities apart in a year (else no normaliser can score), and no minimum
    coverage is set (a coverage threshold may legitimately blank every node).
    """
    scores = result.scores
    top = scores.filter(pl.col("level") == pl.col("level").max())
    if top.height == 0 or top["score"].fill_nan(None).null_count() < top.height:
        return None
    if pipeline.min_coverage:
        return None
    withheld = result.warnings.filter(pl.col("kind").is_in(["thin_coverage", "screened_out"]))
    had_data = top.filter(pl.col("n_present") > 0).join(
        withheld.select("city_id", "year").unique(), on=["city_id", "year"], how="anti"
    )
    if had_data.height == 0:
        return None
    leaves = framework.nodes.filter(pl.col("level") == 1)["node"].implode()
    separable = (
        observations.filter(pl.col("indicator").is_in(leaves) & pl.col("value").is_not_null())
        .group_by("indicator", "year")
        .agg(pl.col("value").n_unique().alias("distinct"))
        .filter(pl.col("distinct") > 1)
    )
    if separable.height == 0:
        return None
    cities = had_data["city_id"].n_unique()
    return (
        f"scorer '{framework.name}' gave no score to any city although {cities} cities had "
        "its indicators (every index value is missing or NaN)"
    )


def run_scoring(
    obj: Context,
    request: DataRequest,
    framework_file: Path | None,
    scorers: tuple[str, ...],
    years: list[int] | None,
    options: dict[str, Any],
    *,
    levels: tuple[int, ...] | None = None,
) -> Scored:
    """Score the data with the chosen scorers (default: every registered one).

    A scorer that fails (crashes, takes longer than ``--plugin-timeout``, returns a malformed
    framework or gives no city a score) is reported as one line and skipped: the others still
    run and the command ends with exit code 4. It is fatal only when the user asked for that
    scorer by name (``--scorer``), for a ``--framework`` file, or when no scorer is left.
    """
    from benchmarkkit.cli import load_data
    from benchmarkkit.engine.score import encode, score
    from benchmarkkit.io.framework import complete_from_catalog, read_framework

    registry = obj.registry()
    timeout = obj.plugin_timeout
    frameworks: list[tuple[Framework, Pipeline, str | None]] = []  # owner None: --framework
    if framework_file is not None:
        framework = read_framework(framework_file)
        if framework_file.suffix.lower() == ".csv":
            from benchmarkkit.io.coinr import load_coinr

            loaded, catalog = load_coinr(framework_file, request, registry)
        else:
            loaded, catalog, _ = load_data(obj, request)
        frameworks.append((complete_from_catalog(framework, catalog), framework.pipeline, None))
    else:
        loaded, catalog, _ = load_data(obj, request)
    if request.paths:
        from benchmarkkit.cli import require_usable

        require_usable(loaded)
    available = registry.of("scorer")
    chosen = list(scorers) or ([] if frameworks else sorted(available))
    if not chosen and not frameworks:
        raise BenchmarkkitError(
            "no scorer is registered", hint="check `benchmarkkit plugins --all`"
        )
    failures: list[tuple[PluginError, BenchmarkkitError]] = []  # (as reported, as raised)
    for name in chosen:
        if name not in available:
            raise InputError(
                f"unknown scorer '{name}'",
                hint=did_you_mean(name, available) or f"scorers: {', '.join(sorted(available))}",
            )
        scorer = available[name]
        owner = registry.owner[("scorer", name)]
        try:
            built = _build(scorer, owner, catalog, loaded.observations, timeout)
        except PluginError as err:
            if name in scorers:
                raise
            failures.append((err, err))
            continue
        if built.nodes.filter(pl.col("level") == 1).height == 0:
            message = f"scorer '{name}' has none of its indicators in this data"
            if name in scorers:  # asked for by name: an error; otherwise skipped, said once
                raise InputError(
                    message,
                    hint=f"check `benchmarkkit indicators --index {name}` against your data",
                )
            import click

            click.echo(f"warning: {message}; skipped", err=True)
            continue
        frameworks.append((built, scorer.pipeline, owner))
    if years:
        known = set(loaded.observations["year"].unique())
        for y in years:
            if y not in known:
                raise InputError(
                    f"no data for year {y}",
                    hint=f"years in the data: {min(known)}–{max(known)}"
                    if known
                    else "the data are empty",
                )
    results, used, pipelines = {}, {}, {}
    encoded = encode(loaded.observations)  # the string keys coded once for every index
    for framework, pipeline, owner in frameworks:
        chosen_pipeline = pipeline.with_options(**options)
        plugin = owner or framework.name
        try:
            with time_limit(timeout if owner else None, plugin, f"scoring '{framework.name}'"):
                result = score(
                    framework,
                    loaded.observations,
                    loaded.cities,
                    chosen_pipeline,
                    registry,
                    years=years,
                    encoded=encoded,
                    levels=levels or None,
                )
            nothing = owner and _scored_nothing(
                result, framework, chosen_pipeline, loaded.observations
            )
            if nothing:
                raise PluginError(
                    plugin,
                    nothing,
                    hint="check its weights and methods, or "
                    f"skip it with --disable-plugin {plugin}",
                )
        except (PluginError, MethodError) as err:
            # a method error may be the user's option (then every scorer fails: see below) or
            # this scorer's own defaults (then only it fails)
            if owner is None or framework.name in scorers:
                raise
            reported = (
                err
                if isinstance(err, PluginError)
                else PluginError(
                    owner, f"scoring '{framework.name}' failed ({err})", hint=fix_hint(owner)
                )
            )
            failures.append((reported, err))
            continue
        except BenchmarkkitError:
            raise
        except Exception as err:
            owner_name = owner or framework.name
            failed = PluginError(
                owner_name,
                f"scoring '{framework.name}' failed ({type(err).__name__}: {err})",
                hint="check the scorer's framework and methods",
            )
            if owner is None or framework.name in scorers:
                raise failed from err
            failures.append((failed, failed))
            continue
        top = result.scores.filter(pl.col("level") == pl.col("level").max())
        if top.height and top["score"].null_count() == top.height:
            import click

            click.echo(  # the data are too thin for it (see _scored_nothing): not the plugin's
                f"warning: scorer '{framework.name}' gave no score to any city (every index "
                "value is missing: too few cities or indicators in the data)",
                err=True,
            )
        results[framework.name] = result
        used[framework.name] = framework
        pipelines[framework.name] = chosen_pipeline
    if not results:
        _nothing_left(failures, registry)
    for reported, _ in failures:
        registry.failed(reported)
    scores = pl.concat([r.scores for r in results.values()])
    warnings = pl.concat([r.warnings for r in results.values()])
    return Scored(loaded, scores, warnings, results, catalog, used, pipelines)


def _nothing_left(
    failures: list[tuple[PluginError, BenchmarkkitError]], registry: Registry
) -> NoReturn:
    """No scorer gave a result: fatal, as one line when one thing went wrong."""
    if failures and all(isinstance(raised, MethodError) for _, raised in failures):
        raise failures[0][1]  # every scorer refused the same option: the user's mistake
    if len(failures) == 1:
        raise failures[0][0]
    if failures:
        for reported, _ in failures:
            registry.failed(reported)
        raise BenchmarkkitError(
            f"no index could be scored: all {len(failures)} scorers failed (see above)",
            hint="fix the plugins, or skip them with --disable-plugin NAME",
        )
    raise InputError(
        "no index can be scored: the data hold none of the scorers' indicators",
        hint="list indicator ids with `benchmarkkit indicators`",
    )
