"""How sure is the rank? Uncertainty (``ua``) and Sobol sensitivity (``sobol``) analysis.

An index rests on choices — imputation, treatment, normalisation, weights, aggregation, which
indicators are in — that reasonable people make differently. The OECD/JRC Handbook and COINr's
``get_sensitivity`` answer "how much do the ranks depend on them" by re-building the index many
times with the choices drawn at random and reading the spread of each city's rank.

**Inputs** are declared as specs (``parse_vary``)::

    weights:0.25          every weight × U(0.75, 1.25), independently (COINr get_noisy_weights)
    weights:0.25@2        only the weights of level-2 nodes;  weights:1@NODE  only that node's
    normalise:minmax,zscore          one of the methods, equally likely (parameters allowed:
    aggregate:arithmetic,geometric   normalise:minmax:1,100,zscore:10,2 — a number or key=value
    impute:none,mean,group-mean:COL  after a comma continues the previous method's parameters;
    treat:none,jrc                   ``|`` separates choices explicitly)
    drop-indicator        leave one indicator out (or none), equally likely

Each input is one or more *factors* on [0, 1] (a weights input has one factor per weight it
varies; Sobol indices are reported per input, SALib's ``groups``). A discrete input takes choice
``floor(u·k)``; a weight factor is ``1 − noise + 2·noise·u``. ``ua`` draws the factors from
``numpy.random.default_rng(seed)``; ``sobol`` from SALib's scrambled Sobol' sequence (Saltelli's
design, ``N·(G + 2)`` runs for G inputs) and estimates first-order (Saltelli 2010) and total
(Jansen) indices with SALib's bootstrap confidence intervals. The scalar each Sobol index explains
is, per node, the mean over cities of ``|rank − nominal rank|`` (COINr's choice).

**Every sample is a full re-score**, batched: samples that share their method choices are scored
in *one* engine call, each sample as its own copy of the framework tree (nodes renamed
``node<US>slot``, weights and left-out indicators per copy) over the observations replicated once
per slot and encoded once for the whole analysis. Normalisation, imputation, treatment and ranks
run per indicator/node, so the copies never see each other. Memory is bounded by the batch: at
most ``batch_cells`` level-1 cells (cities × indicators × samples) per engine call. The tree is
bounded too, at ``batch_nodes`` nodes per call. The engine's dense layout (one column per node)
grows faster than linearly with the nodes, so it switches to grouping when a level has more
nodes than units (``engine.levels.worth_dense``); with that, bigger batches are faster (measured:
ASEM, 1,000 samples: 3.7 s at 1,000 nodes per call, 1.7 s at 20,000; 1,000 cities × 150
indicators, 500 samples: 16 s either way).

**Failures are data.** When a batch fails (e.g. a geometric mean meets a zero), its samples are
re-run one by one and those that fail are listed in ``failures`` with the engine's message; the
statistics use the others and say how many (``n_samples``). Sobol indices need every run, so a
Sobol analysis with a failed run is refused with the count.

**Deterministic**: the design is drawn from the seed before anything runs, and every result is
keyed by its sample number, so the executor and the number of workers change nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from benchmarkkit.analysis.audit import framework_year
from benchmarkkit.columns import text_keys
from benchmarkkit.errors import BenchmarkkitError, InputError, MethodError, did_you_mean

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Framework, Pipeline

SEP = "\x1f"
"""Separates a node from its copy's slot in a batched framework (ASCII unit separator)."""
KINDS = ("weights", "normalise", "aggregate", "impute", "treat", "drop-indicator")
_REGISTRY_KIND = {
    "normalise": "normaliser",
    "aggregate": "aggregator",
    "impute": "imputer",
    "treat": "treatment",
}
MIN_SOBOL = 16
"""Smallest Sobol base sample N (runs = N·(inputs + 2)); below it the bootstrap CIs are noise."""
BATCH_CELLS = 2_000_000
"""Default bound on level-1 cells (cities × indicators × samples) scored in one engine call."""
BATCH_NODES = 20_000
"""Default bound on framework nodes (tree copies × nodes of the tree) in one engine call."""

RANKS: dict[str, pl.DataType] = {
    "city_id": pl.String(),
    "node": pl.String(),
    "level": pl.Int32(),
    "nominal_rank": pl.Int64(),
    "rank_p05": pl.Int64(),
    "rank_median": pl.Int64(),
    "rank_p95": pl.Int64(),
    "mean_abs_rank_shift": pl.Float64(),
    "n_samples": pl.Int64(),
    "rank_p025": pl.Int64(),
    "rank_p975": pl.Int64(),
}
"""Rank quantiles are ranks that occurred (nearest order statistic), so "between 3 and 6".
p05–p95 holds 90 % of the samples; p025–p975 (extra columns) 95 %."""
SCORES: dict[str, pl.DataType] = {
    "city_id": pl.String(),
    "node": pl.String(),
    "level": pl.Int32(),
    "nominal_score": pl.Float64(),
    "score_p05": pl.Float64(),
    "score_median": pl.Float64(),
    "score_p95": pl.Float64(),
    "mean_abs_score_shift": pl.Float64(),
    "n_samples": pl.Int64(),
    "score_p025": pl.Float64(),
    "score_p975": pl.Float64(),
}
"""Score quantiles interpolate linearly between order statistics."""
SOBOL: dict[str, pl.DataType] = {
    "input": pl.String(),
    "node": pl.String(),
    "s1": pl.Float64(),
    "s1_conf": pl.Float64(),
    "st": pl.Float64(),
    "st_conf": pl.Float64(),
}
FAILURES: dict[str, pl.DataType] = {"sample": pl.Int64(), "message": pl.String()}


@dataclass(frozen=True)
class Input:
    """One uncertain input, parsed from its spec."""

    kind: str
    spec: str
    choices: tuple[str, ...] = ()
    """Discrete inputs: the choices, as method specs ("none" for no imputation/treatment,
    "none" or an indicator id for drop-indicator)."""
    noise: float = 0.0
    nodes: tuple[str, ...] = ()
    """Weights: the nodes whose weights vary, one factor each."""

    @property
    def factors(self) -> tuple[str, ...]:
        """Names of this input's factors (design columns)."""
        if self.kind == "weights":
            return tuple(f"weight:{n}" for n in self.nodes)
        return (self.kind,)


@dataclass(frozen=True)
class Sensitivity:
    """An uncertainty or sensitivity analysis of one framework in one year (see the schemas)."""

    method: Literal["ua", "sobol"]
    seed: int
    year: int
    inputs: tuple[Input, ...]
    design: pl.DataFrame
    """One row per sample: ``sample``, each input's choice (discrete) or weight factor
    (``weight:NODE``), and ``ok`` (false: the sample failed, see ``failures``)."""
    ranks: pl.DataFrame
    scores: pl.DataFrame
    sobol: pl.DataFrame
    """Empty for ``ua``."""
    runs: pl.DataFrame
    """Every successful sample's scores and ranks: ``sample``, ``node``, ``level``, ``city_id``,
    ``score``, ``rank`` (rows = samples × nodes × cities; what the summaries are made from)."""
    failures: pl.DataFrame
    engine_calls: int
    """Engine calls made (batches, retries of failed batches one by one, and the nominal run)."""

    @property
    def n_samples(self) -> int:
        return self.design.height

    @property
    def n_failed(self) -> int:
        return self.failures.height


# --- specs ------------------------------------------------------------------------------------


def parse_vary(
    specs: Sequence[str | Input], framework: Framework, registry: Registry
) -> tuple[Input, ...]:
    """The uncertain inputs of ``specs`` (see the module docstring; parsed inputs pass through);
    one-line errors with a hint. Refuses an input given twice, an empty list and a list where
    nothing can vary (single choices, zero noise)."""
    inputs = [s if isinstance(s, Input) else _parse_one(s, framework, registry) for s in specs]
    kinds = [i.kind for i in inputs]
    for kind in dict.fromkeys(kinds):
        if kinds.count(kind) > 1:
            raise InputError(
                f"--vary {kind} is given {kinds.count(kind)} times",
                hint=f"list every choice in one spec, e.g. {_EXAMPLES[kind]}",
            )
    if not inputs or all(_fixed(i) for i in inputs):
        given = ", ".join(i.spec for i in inputs)
        raise InputError(
            "nothing to vary" + (f" in {given}" if given else ""),
            hint="give at least two choices or a noise above 0, e.g. --vary weights:0.25 "
            "--vary normalise:minmax,zscore",
        )
    return tuple(inputs)


_EXAMPLES = {
    "weights": "weights:0.25 or weights:0.25@2",
    "normalise": "normalise:minmax,zscore",
    "aggregate": "aggregate:arithmetic,geometric",
    "impute": "impute:none,mean,group-mean:COL",
    "treat": "treat:none,jrc",
    "drop-indicator": "drop-indicator",
}


def _fixed(i: Input) -> bool:
    return (i.kind == "weights" and i.noise == 0) or (i.kind != "weights" and len(i.choices) < 2)


def _parse_one(spec: str, framework: Framework, registry: Registry) -> Input:
    kind, _, rest = spec.strip().partition(":")
    kind = kind.strip().lower().replace("_", "-")
    kind = {"normalize": "normalise", "drop": "drop-indicator"}.get(kind, kind)
    if kind not in KINDS:
        raise InputError(
            f"--vary '{spec}': unknown input '{kind}'",
            hint=did_you_mean(kind, KINDS) or f"one of {', '.join(KINDS)}",
        )
    nodes = framework.nodes
    if kind == "weights":
        return _parse_weights(spec, rest, nodes)
    if kind == "drop-indicator":
        leaves = nodes.filter(pl.col("level") == 1)["node"].to_list()
        chosen = [t.strip() for t in rest.split(",") if t.strip()] if rest.strip() else leaves
        for t in chosen:
            if t not in leaves:
                raise InputError(
                    f"--vary '{spec}': '{t}' is not an indicator of {framework.name}",
                    hint=did_you_mean(t, leaves) or "drop-indicator alone leaves each one out",
                )
        return Input(kind, spec, ("none", *chosen))
    if not rest.strip():
        raise InputError(f"--vary '{spec}' lists no choices", hint=f"e.g. {_EXAMPLES[kind]}")
    return Input(kind, spec, _choices(kind, rest, registry))


def _parse_weights(spec: str, rest: str, nodes: pl.DataFrame) -> Input:
    noise_text, _, target = rest.partition("@")
    try:
        noise = float(noise_text)
    except ValueError:
        noise = math.nan
    if not 0 <= noise <= 1:
        raise InputError(
            f"--vary '{spec}': the noise must be a number from 0 to 1",
            hint="weights:0.25 multiplies each weight by U(0.75, 1.25)",
        )
    varied = nodes.filter(pl.col("parent").is_not_null())
    target = target.strip()
    if target:
        if target.lstrip("-").isdigit():
            varied = varied.filter(pl.col("level") == int(target))
            levels = sorted(set(nodes["level"].to_list()) - {nodes["level"].max()})
            if not varied.height:
                raise InputError(
                    f"--vary '{spec}': no weights at level {target}",
                    hint=f"levels with weights: {', '.join(map(str, levels))}",
                )
        else:
            names = varied["node"].to_list()
            if target not in names:
                raise InputError(
                    f"--vary '{spec}': no node '{target}' with a weight",
                    hint=did_you_mean(target, names) or "@LEVEL (a number) or @NODE",
                )
            varied = varied.filter(pl.col("node") == target)
    return Input("weights", spec, noise=noise, nodes=tuple(varied["node"].to_list()))


def _choices(kind: str, rest: str, registry: Registry) -> tuple[str, ...]:
    from benchmarkkit.methods.parse import parse_spec

    methods = registry.of(_REGISTRY_KIND[kind])

    def continues(token: str) -> bool:
        """A number or ``key=value`` after a comma is a parameter of the previous method
        (``minmax:1,100``); anything else starts a choice (and is checked as one)."""
        try:
            float(token)
        except ValueError:
            return "=" in token
        return True

    explicit = "|" in rest
    choices: list[str] = []
    for token in (t.strip() for t in (rest.split("|") if explicit else rest.split(","))):
        if not token:
            continue
        if choices and not explicit and continues(token):
            choices[-1] += "," + token
        else:
            choices.append(token)
    for choice in choices:
        if kind == "impute" and choice.lower() == "none":
            continue
        try:
            parse_spec(choice, _REGISTRY_KIND[kind], methods)
        except MethodError as err:
            raise MethodError(f"--vary {kind}: {err.message}", hint=err.hint) from None
    if len(set(choices)) < len(choices):
        raise InputError(f"--vary {kind}:{rest} repeats a choice", hint="list each choice once")
    return tuple(choices)


# --- design -----------------------------------------------------------------------------------


def problem(inputs: Sequence[Input]) -> dict[str, Any]:
    """SALib's problem for ``inputs``: every factor on [0, 1], grouped by input."""
    names = [f for i in inputs for f in i.factors]
    groups = [i.kind for i in inputs for _ in i.factors]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)} | (
        {"groups": groups}
    )


def _salib(part: str) -> Any:
    """SALib's Sobol sampler or estimator; SALib is an optional extra (it brings pandas and
    matplotlib), so its absence is a one-line error saying how to install it."""
    import importlib

    try:
        return importlib.import_module(f"SALib.{part}.sobol")
    except ImportError:
        raise InputError(
            "a Sobol analysis needs SALib, which is not installed",
            hint="pip install 'benchmarkkit[sensitivity]', or use --method ua",
        ) from None


def sobol_design(problem: dict[str, Any], n: int, seed: int) -> np.ndarray:
    """Saltelli's design from SALib's scrambled Sobol' sequence: ``n·(G + 2)`` rows for G groups
    (first-order and total indices only). ``n`` must be a power of 2 and at least ``MIN_SOBOL``."""
    sobol_sample = _salib("sample")

    if n < MIN_SOBOL or n & (n - 1):
        low = max(MIN_SOBOL, 1 << max(n - 1, 1).bit_length() - 1)
        hint = f"use {low}" + (f" or {low * 2}" if low * 2 != low and n > MIN_SOBOL else "")
        raise InputError(
            f"--samples {n} is too few for Sobol: it needs a power of 2, at least {MIN_SOBOL}"
            if n < MIN_SOBOL
            else f"--samples {n} is not a power of 2 (Sobol' sequences need one)",
            hint=hint + " (runs = samples × (inputs + 2))",
        )
    return sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)


def sobol_indices(
    problem: dict[str, Any],
    outputs: pl.DataFrame,
    *,
    seed: int,
    num_resamples: int = 1000,
    conf_level: float = 0.95,
) -> pl.DataFrame:
    """First-order and total Sobol indices of each column of ``outputs`` (one row per run of
    ``sobol_design``, in its order), by SALib's estimators with bootstrap confidence intervals.
    Returns ``SOBOL`` with ``node`` = the output column; an output that never changes has null
    indices (its variance is zero, so no share of it can be attributed)."""
    sobol_analyze = _salib("analyze")

    groups = list(dict.fromkeys(problem.get("groups") or problem["names"]))
    frames = []
    for column in outputs.columns:
        y = outputs[column].to_numpy().astype(float)
        if np.ptp(y) == 0:  # nothing moves this output: its indices are undefined (0 / 0)
            nothing = [None] * len(groups)
            frames.append(
                pl.DataFrame(
                    {
                        "input": groups,
                        "node": [column] * len(groups),
                        "s1": nothing,
                        "s1_conf": nothing,
                        "st": nothing,
                        "st_conf": nothing,
                    },
                    schema=SOBOL,
                )
            )
            continue
        res = sobol_analyze.analyze(
            problem,
            y,
            calc_second_order=False,
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=seed,
        )
        frames.append(
            pl.DataFrame(
                {
                    "input": groups,
                    "node": [column] * len(groups),
                    "s1": res["S1"],
                    "s1_conf": res["S1_conf"],
                    "st": res["ST"],
                    "st_conf": res["ST_conf"],
                },
                schema=SOBOL,
            )
        )
    return pl.concat(frames) if frames else pl.DataFrame(schema=SOBOL)


def design_frame(inputs: Sequence[Input], u: np.ndarray) -> pl.DataFrame:
    """The settings of each sample from its factors ``u`` (rows on [0, 1]^factors)."""
    cols: dict[str, Any] = {"sample": np.arange(u.shape[0], dtype=np.int64)}
    j = 0
    for inp in inputs:
        if inp.kind == "weights":
            for name in inp.factors:
                cols[name] = 1 - inp.noise + 2 * inp.noise * u[:, j]
                j += 1
        else:
            k = len(inp.choices)
            pick = np.minimum((u[:, j] * k).astype(np.int64), k - 1)
            cols[inp.kind] = pl.Series(inp.choices, dtype=pl.String).gather(pick)
            j += 1
    return pl.DataFrame(cols)


# --- running the samples ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What every batch shares: the replicated observations (encoded once) and the context."""

    framework: Framework
    observations: pl.DataFrame
    encoded: Any
    cities: pl.DataFrame
    year: int
    levels: tuple[int, ...]
    slots: int


def _replicate(observations: pl.DataFrame, leaves: list[str], slots: int) -> pl.DataFrame:
    """Each leaf's observations once per slot, renamed ``leaf<US>slot``; other rows as they are
    (denominators keep their names)."""
    is_leaf = pl.col("indicator").is_in(leaves)
    copies = (
        observations.filter(is_leaf)
        .join(pl.DataFrame({"_slot": np.arange(slots, dtype=np.int64)}), how="cross")
        .with_columns(pl.format("{}" + SEP + "{}", "indicator", "_slot").alias("indicator"))
        .drop("_slot")
    )
    return pl.concat([copies, observations.filter(~is_leaf)])


def _batch_framework(job: _Job, design: pl.DataFrame) -> Framework:
    """The framework with one copy of the tree per sample of ``design`` (slot = row)."""
    nodes = job.framework.nodes
    slots = design.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_slot"), "sample")
    tree = nodes.join(slots, how="cross")
    factors = [c for c in design.columns if c.startswith("weight:")]
    if factors:
        long = design.select("sample", *factors).unpivot(
            factors, index="sample", variable_name="node", value_name="_f"
        )
        long = long.with_columns(pl.col("node").str.strip_prefix("weight:"))
        tree = tree.join(long, on=["sample", "node"], how="left").with_columns(
            (pl.col("weight").fill_null(1.0) * pl.col("_f").fill_null(1.0)).alias("weight")
        )
    if "drop-indicator" in design.columns:
        drop = design.select("sample", pl.col("drop-indicator").alias("_drop"))
        tree = tree.join(drop, on="sample", how="left").filter(
            pl.col("_drop").is_null() | (pl.col("node") != pl.col("_drop"))
        )
    tree = tree.with_columns(
        pl.format("{}" + SEP + "{}", "node", "_slot").alias("node"),
        pl.when(pl.col("parent").is_not_null())
        .then(pl.format("{}" + SEP + "{}", "parent", "_slot"))
        .alias("parent"),
    ).select(nodes.columns)
    return replace(job.framework, nodes=tree)


def _score_batch(
    job: _Job, design: pl.DataFrame, pipeline: Pipeline, registry: Registry
) -> pl.DataFrame:
    """One engine call for the samples of ``design`` (one method choice): sample, node, level,
    city_id, score, rank."""
    from benchmarkkit.engine.score import score

    result = score(
        _batch_framework(job, design),
        job.observations,
        job.cities,
        pipeline,
        registry,
        years=[job.year],
        encoded=job.encoded,
        levels=job.levels,
    )
    slot_sample = design.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_slot"), pl.col("sample")
    )
    parts = pl.col("node").str.split_exact(SEP, 1)
    return (
        text_keys(
            result.scores.lazy().filter(
                pl.col("year") == job.year, pl.col("level").is_in(job.levels)
            )
        )
        .select(
            parts.struct.field("field_0").alias("node"),
            parts.struct.field("field_1").cast(pl.Int64).alias("_slot"),
            "level",
            "city_id",
            "score",
            pl.col("rank").cast(pl.Int64),
        )
        .join(slot_sample.lazy(), on="_slot")
        .select("sample", "node", "level", "city_id", "score", "rank")
        .collect()
    )


def _run_group(
    job: _Job, design: pl.DataFrame, pipeline: Pipeline, registry: Registry
) -> tuple[list[pl.DataFrame], list[tuple[int, str]], int]:
    """The samples of one method choice in batches of ``job.slots``; a failed batch is re-run
    sample by sample. Returns results, failures and the number of engine calls."""
    out: list[pl.DataFrame] = []
    failed: list[tuple[int, str]] = []
    calls = 0
    for start in range(0, design.height, job.slots):
        batch = design.slice(start, job.slots)
        calls += 1
        try:
            out.append(_score_batch(job, batch, pipeline, registry))
            continue
        except BenchmarkkitError as err:
            if batch.height == 1:
                failed.append((int(batch["sample"][0]), _unslotted(str(err))))
                continue
        for one in batch.iter_slices(1):
            calls += 1
            try:
                out.append(_score_batch(job, one, pipeline, registry))
            except BenchmarkkitError as err:
                failed.append((int(one["sample"][0]), _unslotted(str(err))))
    return out, failed, calls


def _unslotted(message: str) -> str:
    """An engine message about a tree copy, with the copy's slot taken off its node names (as
    the character or as its repr, ``\\x1f``)."""
    return re.sub(r"(?:\x1f|\\x1f)\d+", "", message)


_METHOD_KINDS = ("impute", "treat", "normalise", "aggregate")


def _groups(design: pl.DataFrame, pipeline: Pipeline) -> list[tuple[Pipeline, pl.DataFrame]]:
    """Samples grouped by their method choices, each with its pipeline (order: first sample)."""
    keys = [k for k in _METHOD_KINDS if k in design.columns]
    if not keys:
        return [(pipeline, design)]
    out = []
    for values, part in design.group_by(keys, maintain_order=True):
        out.append((pipeline.with_options(**dict(zip(keys, values, strict=True))), part))
    return out


def _execute(
    job: _Job,
    groups: list[tuple[Pipeline, pl.DataFrame]],
    registry: Registry,
    executor: str,
) -> tuple[list[pl.DataFrame], list[tuple[int, str]], int]:
    if executor == "local":
        results, failed, calls = [], [], 0
        for pipeline, part in groups:
            r, f, c = _run_group(job, part, pipeline, registry)
            results += r
            failed += f
            calls += c
        return results, failed, calls
    if executor == "ray":
        return _execute_ray(job, groups, registry)
    raise InputError(f"unknown executor '{executor}'", hint="use local or ray")


def _execute_ray(
    job: _Job, groups: list[tuple[Pipeline, pl.DataFrame]], registry: Registry
) -> tuple[list[pl.DataFrame], list[tuple[int, str]], int]:
    """Each method choice's samples as Ray tasks on the running cluster (``ray.init()`` is
    called when none is). The registry travels without its plugin manager and host callback."""
    try:
        import ray
    except ImportError:
        raise InputError(
            "the ray executor needs Ray, which is not installed",
            hint="pip install 'benchmarkkit[ray]' (or use --executor local)",
        ) from None
    if not ray.is_initialized():
        import logging

        ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    portable = replace(registry, manager=None, on_failure=None)
    shared = ray.put((job, portable))
    task = ray.remote(_ray_group)
    futures = [task.remote(shared, pipeline, part) for pipeline, part in groups]
    results, failed, calls = [], [], 0
    for r, f, c in ray.get(futures):
        results += r
        failed += f
        calls += c
    return results, failed, calls


def _ray_group(
    shared: tuple[_Job, Registry], pipeline: Pipeline, design: pl.DataFrame
) -> tuple[list[pl.DataFrame], list[tuple[int, str]], int]:
    job, registry = shared
    from benchmarkkit.engine.score import encode

    # the encoding holds the observations by identity: re-made once in the worker
    job = replace(job, encoded=encode(job.observations))
    return _run_group(job, design, pipeline, registry)


# --- the analysis -----------------------------------------------------------------------------


def sensitivity(
    framework: Framework,
    observations: pl.DataFrame,
    cities: pl.DataFrame,
    pipeline: Pipeline,
    registry: Registry,
    vary: Sequence[str | Input],
    *,
    method: Literal["ua", "sobol"] = "ua",
    samples: int = 1000,
    seed: int = 0,
    year: int | None = None,
    levels: Sequence[int] | None = None,
    executor: Literal["local", "ray"] = "local",
    batch_cells: int = BATCH_CELLS,
    batch_nodes: int = BATCH_NODES,
    num_resamples: int = 1000,
) -> Sensitivity:
    """Re-score ``framework`` under the uncertain inputs ``vary`` and summarise ranks and scores.

    Args:
        vary: specs (``parse_vary``) or parsed inputs.
        method: ``ua`` draws ``samples`` samples at random; ``sobol`` uses Saltelli's design with
            base ``samples`` (a power of 2, ≥ ``MIN_SOBOL``): ``samples × (inputs + 2)`` runs.
        year: the year analysed (default: the latest with observations).
        levels: the node levels summarised (default: every level above the indicators).
        executor: ``local`` (this process; Polars uses every core) or ``ray`` (a Ray cluster).
        batch_cells: bound on cities × indicators × samples per engine call (memory).
        batch_nodes: bound on tree copies × tree nodes per engine call (engine speed).
    """
    from benchmarkkit.engine.score import encode, score

    if samples < 1:
        raise InputError(f"--samples {samples}: give at least 1", hint="e.g. --samples 1000")
    if executor not in ("local", "ray"):
        raise InputError(f"unknown executor '{executor}'", hint="use local or ray")
    inputs = parse_vary(vary, framework, registry)
    nodes = framework.nodes
    year = framework_year(observations, framework, year)
    top = int(nodes["level"].max())  # type: ignore[arg-type]
    levels = tuple(sorted(set(levels) if levels else set(range(2, top + 1))))

    prob = problem(inputs)
    if method == "sobol":
        u = sobol_design(prob, samples, seed)
    elif method == "ua":
        u = np.random.default_rng(seed).random((samples, prob["num_vars"]))
    else:
        raise InputError(f"unknown method '{method}'", hint="use ua or sobol")
    design = design_frame(inputs, u)

    leaves = nodes.filter(pl.col("level") == 1)["node"].to_list()
    obs = (
        observations.filter(pl.col("year") == year)
        if _cross_section(inputs, pipeline, registry)
        else observations
    )
    units = max(obs.filter(pl.col("indicator").is_in(leaves))["city_id"].n_unique(), 1)
    groups = _groups(design, pipeline)
    largest = max(part.height for _, part in groups)
    slots = max(
        1,
        min(largest, batch_cells // max(units * len(leaves), 1), batch_nodes // nodes.height),
    )
    replicated = _replicate(obs, leaves, slots)
    job = _Job(framework, replicated, encode(replicated), cities, year, levels, slots)

    nominal = score(framework, obs, cities, pipeline, registry, years=[year], levels=levels)
    nominal_rows = text_keys(
        nominal.scores.filter(pl.col("year") == year, pl.col("level").is_in(levels)).select(
            "node", "level", "city_id", "score", pl.col("rank").cast(pl.Int64)
        )
    )

    results, failed, calls = _execute(job, groups, registry, executor)
    failures = pl.DataFrame(failed, schema=FAILURES, orient="row").sort("sample")
    if failures.height == design.height:
        raise MethodError(
            f"all {design.height} samples failed; the first: {failures['message'][0]}",
            hint="remove the choice that cannot run on these data (see the message)",
        )
    runs = (
        pl.concat(results).sort("sample", "node", "city_id")
        if results
        else pl.DataFrame(
            schema={
                "sample": pl.Int64,
                "node": pl.String,
                "level": pl.Int32,
                "city_id": pl.String,
                "score": pl.Float64,
                "rank": pl.Int64,
            }
        )
    )
    design = design.with_columns(~pl.col("sample").is_in(failures["sample"].implode()).alias("ok"))
    ranks, scores_ = summarise(runs, nominal_rows)
    sobol = pl.DataFrame(schema=SOBOL)
    if method == "sobol":
        if failures.height:
            raise MethodError(
                f"{failures.height} of {design.height} Sobol runs failed "
                f"(sample {failures['sample'][0]}: {failures['message'][0]})",
                hint="Sobol indices need every run: drop the failing choice or use --method ua",
            )
        sobol = sobol_indices(
            prob, rank_shift(runs, nominal_rows), seed=seed, num_resamples=num_resamples
        )
    return Sensitivity(
        method=method,
        seed=seed,
        year=year,
        inputs=inputs,
        design=design,
        ranks=ranks,
        scores=scores_,
        sobol=sobol,
        runs=runs,
        failures=failures,
        engine_calls=calls + 1,
    )


def _cross_section(inputs: Sequence[Input], pipeline: Pipeline, registry: Registry) -> bool:
    """Whether only the analysed year's observations matter (no panel imputation, per-year
    normalisation); otherwise every year is kept."""
    if pipeline.reference != "year":
        return False
    imputers = registry.of("imputer")
    specs = [pipeline.impute, *(c for i in inputs if i.kind == "impute" for c in i.choices)]
    for spec in specs:
        name = spec.partition(":")[0].strip().lower().replace("-", "_")
        if getattr(imputers.get(name), "panel", False):
            return False
    return True


def summarise(runs: pl.DataFrame, nominal: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rank and score intervals of each city and node over the samples of ``runs`` (rows:
    sample, node, city_id, score, rank) against the ``nominal`` run (node, level, city_id,
    score, rank)."""
    joined = nominal.rename({"score": "_nominal_score", "rank": "_nominal_rank"}).join(
        runs.select("node", "city_id", "score", "rank"), on=["node", "city_id"], how="left"
    )
    rank, score = pl.col("rank"), pl.col("score")
    keys = ["city_id", "node", "level"]
    agg = joined.group_by(keys).agg(
        pl.col("_nominal_rank").first().alias("nominal_rank"),
        rank.quantile(0.025, "nearest").cast(pl.Int64).alias("rank_p025"),
        rank.quantile(0.975, "nearest").cast(pl.Int64).alias("rank_p975"),
        rank.quantile(0.05, "nearest").cast(pl.Int64).alias("rank_p05"),
        rank.quantile(0.5, "nearest").cast(pl.Int64).alias("rank_median"),
        rank.quantile(0.95, "nearest").cast(pl.Int64).alias("rank_p95"),
        (rank - pl.col("_nominal_rank")).abs().mean().alias("mean_abs_rank_shift"),
        pl.col("_nominal_score").first().alias("nominal_score"),
        score.quantile(0.025, "linear").alias("score_p025"),
        score.quantile(0.975, "linear").alias("score_p975"),
        score.quantile(0.05, "linear").alias("score_p05"),
        score.quantile(0.5, "linear").alias("score_median"),
        score.quantile(0.95, "linear").alias("score_p95"),
        (score - pl.col("_nominal_score")).abs().mean().alias("mean_abs_score_shift"),
        rank.count().cast(pl.Int64).alias("n_samples"),
    )
    agg = agg.sort(
        "level",
        "node",
        "nominal_rank",
        "city_id",
        descending=[True, False, False, False],
        nulls_last=True,
    )
    return agg.select(list(RANKS)), agg.select(list(SCORES))


def rank_shift(runs: pl.DataFrame, nominal: pl.DataFrame) -> pl.DataFrame:
    """Per sample (rows, in sample order) and node (columns): the mean over cities of
    ``|rank − nominal rank|`` — the scalar the Sobol indices explain."""
    shift = (
        runs.join(
            nominal.select("node", "city_id", pl.col("rank").alias("_nominal")),
            on=["node", "city_id"],
        )
        .group_by("sample", "node")
        .agg((pl.col("rank") - pl.col("_nominal")).abs().mean().alias("shift"))
    )
    wide = shift.pivot("node", index="sample", values="shift").sort("sample")
    return wide.drop("sample").fill_null(0.0)


EFFECTS: dict[str, pl.DataType] = {
    "input": pl.String(),
    "node": pl.String(),
    "effect": pl.Float64(),
}


def input_effects(result: Sensitivity, *, bins: int = 10) -> pl.DataFrame:
    """Which inputs move the ranks most, from the samples already run (``ua`` or ``sobol``):
    per input and node, the share of the variance of the mean absolute rank shift explained by
    the input's choice — a first-order effect estimated from the samples (the correlation ratio
    with the small-sample correction ε² = (SS_between − (k − 1)·MS_within) / SS_total, at least
    0; a weight factor is cut into ``bins`` equal-count bins; a weights input sums its factors).
    Rougher than Sobol indices, but free with any uncertainty analysis: what the report shows
    when no Sobol analysis was run. Ordered by node, then effect (largest first)."""
    nominal = result.ranks.select("node", "city_id", pl.col("nominal_rank").alias("rank"))
    wide = rank_shift(result.runs, nominal)
    if not wide.width:
        return pl.DataFrame(schema=EFFECTS)
    samples = result.runs.select(pl.col("sample").unique().sort())
    y = pl.concat([samples, wide], how="horizontal").unpivot(
        index="sample", variable_name="node", value_name="y"
    )
    frames = []
    for inp in result.inputs:
        for factor in inp.factors:
            x = result.design.select("sample", pl.col(factor).alias("_x"))
            if inp.kind == "weights":
                x = x.with_columns(
                    pl.col("_x").rank("ordinal").sub(1).mul(bins).floordiv(pl.len()).alias("_x")
                )
            frames.append(
                _epsilon_squared(y.join(x, on="sample")).with_columns(
                    pl.lit(inp.kind).alias("input")
                )
            )
    if not frames:
        return pl.DataFrame(schema=EFFECTS)
    return (
        pl.concat(frames)
        .group_by("input", "node", maintain_order=True)
        .agg(pl.col("effect").sum())
        .sort(["node", "effect"], descending=[False, True])
        .select(list(EFFECTS))
    )


def _epsilon_squared(frame: pl.DataFrame) -> pl.DataFrame:
    """ε² of ``y`` on the groups ``_x``, per node."""
    mean = pl.col("y").mean().over("node")
    groups = (
        frame.with_columns(mean.alias("_m"))
        .group_by("node", "_x")
        .agg(
            pl.len().alias("_n"),
            ((pl.col("y").mean() - pl.col("_m").first()) ** 2 * pl.len()).alias("_between"),
            ((pl.col("y") - pl.col("y").mean()) ** 2).sum().alias("_within"),
        )
    )
    return groups.group_by("node").agg(
        (
            (
                pl.col("_between").sum()
                - (pl.len() - 1) * pl.col("_within").sum() / (pl.col("_n").sum() - pl.len())
            )
            / (pl.col("_between").sum() + pl.col("_within").sum())
        )
        .fill_nan(None)
        .clip(lower_bound=0.0)
        .alias("effect")
    )
