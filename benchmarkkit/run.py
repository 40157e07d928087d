"""Glue for the commands that score: data → frameworks → scores, shared by score/compare/report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit.errors import BenchmarkkitError, InputError, PluginError, did_you_mean

if TYPE_CHECKING:
    from benchmarkkit.cli import Context, DataRequest
    from benchmarkkit.load import Loaded
    from benchmarkkit.score import ScoreResult
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


def run_scoring(
    obj: Context,
    request: DataRequest,
    framework_file: Path | None,
    scorers: tuple[str, ...],
    years: list[int] | None,
    options: dict[str, Any],
) -> Scored:
    from benchmarkkit.cli import load_data
    from benchmarkkit.framework import complete_from_catalog, read_framework
    from benchmarkkit.score import score

    registry = obj.registry()
    frameworks = []
    if framework_file is not None:
        framework = read_framework(framework_file)
        if framework_file.suffix.lower() == ".csv":
            from benchmarkkit.coinr import load_coinr

            loaded, catalog = load_coinr(framework_file, request, registry)
        else:
            loaded, catalog, _ = load_data(obj, request)
        frameworks.append((complete_from_catalog(framework, catalog), framework.pipeline))
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
    for name in chosen:
        if name not in available:
            raise InputError(
                f"unknown scorer '{name}'",
                hint=did_you_mean(name, available) or f"scorers: {', '.join(sorted(available))}",
            )
        scorer = available[name]
        try:
            built = scorer.build(catalog, loaded.observations)
            _check_framework(built, registry.owner[("scorer", name)], name)
            if built.nodes.filter(pl.col("level") == 1).height == 0:
                message = f"scorer '{name}' has none of its indicators in this data"
                if name in scorers:  # asked for by name: an error; otherwise skipped, said once
                    raise InputError(message, hint="check `benchmarkkit indicators --index "
                                     f"{name}` against your data")
                import click

                click.echo(f"warning: {message}; skipped", err=True)
                continue
            frameworks.append((built, scorer.pipeline))
        except BenchmarkkitError:
            raise
        except Exception as err:
            raise PluginError(
                registry.owner[("scorer", name)],
                f"scorer '{name}' failed to build its framework ({type(err).__name__}: {err})",
            ) from None
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
    for framework, pipeline in frameworks:
        chosen_pipeline = pipeline.with_options(**options)
        try:
            results[framework.name] = score(
                framework,
                loaded.observations,
                loaded.cities,
                chosen_pipeline,
                registry,
                years=years,
            )
        except BenchmarkkitError:
            raise
        except Exception as err:
            owner = registry.owner.get(("scorer", framework.name), framework.name)
            raise PluginError(
                owner,
                f"scoring '{framework.name}' failed ({type(err).__name__}: {err})",
                hint="check the scorer's framework and methods",
            ) from None
        top = results[framework.name].scores.filter(pl.col("level") == pl.col("level").max())
        if top.height and top["score"].null_count() == top.height:
            import click

            owner = registry.owner.get(("scorer", framework.name), framework.name)
            click.echo(
                f"warning: plugin '{owner}': scorer '{framework.name}' gave no score to "
                "any city (every index value is missing)",
                err=True,
            )
        used[framework.name] = framework
        pipelines[framework.name] = chosen_pipeline
    if not results:
        raise InputError("no index can be scored: the data hold none of the scorers' indicators",
                         hint="list indicator ids with `benchmarkkit indicators`")
    scores = pl.concat([r.scores for r in results.values()])
    warnings = pl.concat([r.warnings for r in results.values()])
    return Scored(loaded, scores, warnings, results, catalog, used, pipelines)
