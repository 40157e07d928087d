"""The Python API: every command of the CLI is one of these functions, so a notebook can do all
that the command line does, and the CLI is a thin shell that parses, calls, prints and exits.

    import benchmarkkit as bk
    data = bk.load()                                    # the embedded demo; or paths, or a frame
    scores = bk.score(data, options=bk.ScoreOptions(normalise="minmax:0,100"))
    result = bk.compare(scores, city="ES001C", year=2023, peers="size:3")
    bk.report(scores, city="ES001C", year=2023, out="report.html", lang="en")

Plain data in (paths, a mapping, a Polars frame), frozen results out. Nothing here prints or
imports Click: warnings, rejected rows and plugin failures come back *as data* on the results
(``notes``, ``rejected``, ``plugin_failures``), and the caller decides what to show. The layers
below (io → methods → engine → analysis → report) never import this module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import polars as pl

from benchmarkkit.columns import text_keys
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
    from benchmarkkit.analysis.audit import Audit
    from benchmarkkit.analysis.compare import Comparison
    from benchmarkkit.analysis.sensitivity import Sensitivity
    from benchmarkkit.engine.score import ScoreResult
    from benchmarkkit.io.load import Loaded
    from benchmarkkit.io.mapping import Mapping as ColumnMapping
    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Framework, Pipeline

DEFAULT_PLUGIN_TIMEOUT = 300.0
"""Seconds any one call into a plugin may take. Generous, because the built-in indices are plugins
too and score millions of rows through the same path; it is there to end a hang, not to police
speed."""
DEFAULT_PEERS = "size:3"
"""Cities within a factor 3 of the city's population: big enough a group to rank in, similar
enough in scale to learn from."""
MIN_PEERS = 3
"""The fewest peers with a score for a rank, a peer median or a gap to mean anything: with fewer,
the report and ``compare`` say why instead ("rank 1 of 1" is not a standing)."""


# ---------------------------------------------------------------------------------------------
# plugins


def load_plugins(
    files: Sequence[str | Path] = (),
    dirs: Sequence[str | Path] = (),
    disabled: Sequence[str] = (),
    timeout: float | None = DEFAULT_PLUGIN_TIMEOUT,
) -> Registry:
    """A fresh registry: the built-ins and installed plugins (entry points), plus one-file
    plugins and plugin folders. A plugin that cannot be loaded is in ``registry.problems``, not
    raised: one broken third-party package must not stop the others. ``timeout`` bounds each call
    into plugin code (None or 0: no limit)."""
    from benchmarkkit.plugins import build_registry

    return build_registry(
        tuple(Path(f) for f in files),
        tuple(Path(d) for d in dirs),
        tuple(disabled),
        timeout=timeout or None,
    )


def peer_spec_help(registry: Registry) -> str:
    """The peer-spec forms every registered peer rule understands (``--peers`` help)."""
    from benchmarkkit.analysis.peers import spec_help

    return spec_help(registry)


def _failures(registry: Registry) -> tuple[PluginError, ...]:
    return (*registry.problems, *registry.failures)


# ---------------------------------------------------------------------------------------------
# load


@dataclass(frozen=True)
class Data:
    """Validated observations, the cities table, the catalog they were checked against (the
    registered one plus your own indicators), and what was rejected or put aside — the input of
    ``score``. ``rows_read == accepted + rejected + ignored`` always holds."""

    loaded: Loaded
    catalog: pl.DataFrame
    registry: Registry = field(repr=False)
    sources: tuple[Path, ...] = ()
    """The files read, in order; empty for the embedded demo and for a frame."""
    framework: Path | None = None
    """A COINr iMeta file that said how the data file is laid out (then also ``score``'s
    default framework)."""
    dataset: str | None = None
    """The embedded data set these data are (``demo``, ``ascn``), or None for your own."""

    @property
    def demo(self) -> bool:
        """The data are an embedded data set (not files or a frame of your own)."""
        return self.dataset is not None

    @property
    def observations(self) -> pl.DataFrame:
        return self.loaded.observations

    @property
    def cities(self) -> pl.DataFrame:
        return self.loaded.cities

    @property
    def rejected(self) -> pl.DataFrame:
        """Every row not accepted: source, row (as the spreadsheet numbers it), column, rule,
        message, hint; a file that could not be used at all has an empty row."""
        return self.loaded.validated.rejected

    @property
    def warnings(self) -> pl.DataFrame:
        """Rows kept but worth a look (soft bounds, derived values dropped)."""
        return self.loaded.validated.warnings

    @property
    def rows_read(self) -> int:
        """Cells of your tables read: ``accepted + rejected + ignored``."""
        return int(self.loaded.validated.rows_read)

    @property
    def ignored(self) -> int:
        """Cells in columns the mapping put aside (``ignore = [...]``, ``only_named``)."""
        return int(self.loaded.validated.ignored)

    @property
    def counts(self) -> pl.DataFrame:
        """Per source: read, accepted, rejected, ignored (read = accepted + rejected + ignored)."""
        return self.loaded.validated.counts

    @property
    def by_rule(self) -> pl.DataFrame:
        return self.loaded.validated.by_rule

    @property
    def unusable_files(self) -> int:
        return self.loaded.unusable_files

    @property
    def plugin_failures(self) -> tuple[PluginError, ...]:
        return _failures(self.registry)


def load(
    source: str | Path | Sequence[str | Path] | pl.DataFrame | None = None,
    *,
    mapping: str | Path | ColumnMapping | None = None,
    shape: str | None = None,
    columns: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    separator: str | None = None,
    sheet: str | None = None,
    cities: str | Path | pl.DataFrame | None = None,
    framework: str | Path | None = None,
    registry: Registry | None = None,
    max_input_size: str | int | None = None,
    dataset: str | None = None,
    indicators: str | Path | Sequence[str | Path] | None = None,
) -> Data:
    """Read, map, validate and derive: the first stage of every command.

    ``source``: nothing (an embedded data set: ``dataset``, by default ``demo``, the Eurostat
    city statistics; ``ascn``: the ASEAN cities), one path or several (CSV, Parquet, Arrow,
    Excel; every file is read with the loader registered for its suffix), or a Polars frame.
    ``mapping`` (a TOML file or a ``Mapping``), ``shape``, ``columns`` (role → header) and
    ``constants`` (role → value) say how your table maps onto cities, years and indicators;
    ``cities`` adds city context (population, area, networks) for peer groups; ``indicators``
    (indicator CSVs in the layout ``benchmarkkit indicators --format csv`` prints) and the
    mapping's ``[indicators.ID]`` tables declare indicators of your own. With a COINr
    ``framework`` (an iMeta .csv) the single data file is read as COINr's iData.

    Every file is checked against size limits before it is parsed (see SECURITY.md);
    ``max_input_size`` (``"8GiB"``, ``"500M"`` or bytes) raises the main one.

    Rejected rows are returned, not raised (``Data.rejected``); a mistake in the options raises
    ``InputError`` with a hint.
    """
    from benchmarkkit.io.catalog import catalog_from_registry

    registry = registry if registry is not None else load_plugins()
    catalog = catalog_from_registry(registry)
    if dataset is not None and isinstance(source, pl.DataFrame):
        raise InputError(
            f"the embedded data set '{dataset}' takes files beside it, not a frame",
            hint="write the frame to a CSV or Parquet file first",
        )
    if isinstance(source, pl.DataFrame):
        return _load_frame(
            source, registry, catalog, mapping, shape, columns, constants, cities, indicators
        )
    paths = _paths(source)
    described = _described_options(mapping, shape, columns, constants, encoding, separator, sheet)
    if indicators:
        described.append("indicators")
    if not paths:
        given = described + (["cities"] if cities is not None else [])
        if framework is not None:
            given.append("framework")
        if given:
            raise InputError(
                f"'{given[0]}' applies to your own data files, and none was given (without files "
                "the embedded demo data, with their own city table, are used)",
                hint=f"name your data file(s), or drop '{given[0]}'",
            )
        from benchmarkkit.io.demo import dataset as embedded
        from benchmarkkit.io.demo import load_dataset

        name = embedded(dataset or "demo").name
        return Data(load_dataset(name, registry, catalog), catalog, registry, dataset=name)
    options = _read_options(encoding, separator, sheet, max_input_size)
    if framework is not None and Path(framework).suffix.lower() == ".csv":
        from benchmarkkit.io.coinr import load_coinr
        from benchmarkkit.io.framework import read_framework

        read_framework(Path(framework))  # a malformed iMeta is said as such, before its data
        loaded, coinr_catalog = load_coinr(
            Path(framework), paths, options, registry, _mapping(mapping, shape, columns, constants)
        )
        return Data(loaded, coinr_catalog, registry, tuple(paths), Path(framework))
    from benchmarkkit.io.load import load as load_files

    column_map = _mapping(mapping, shape, columns, constants)
    extra, city_table = [], _cities(cities, registry)
    if dataset is not None:  # your files beside an embedded data set: validated together
        from benchmarkkit.io.demo import dataset as embedded
        from benchmarkkit.io.demo import raw_observations, read_cities
        from benchmarkkit.io.mapping import Mapped

        dataset = embedded(dataset).name
        extra = [Mapped(raw_observations(dataset), {}, source=f"benchmarkkit {dataset}")]
        city_table = _merge_cities(read_cities(dataset), city_table)
    loaded = load_files(
        paths,
        registry,
        catalog,
        mapping=column_map,
        options=options,
        cities=city_table,
        indicator_files=_paths(indicators),
        extra=extra,
    )
    framework_path = Path(framework) if framework is not None else None
    return Data(loaded, _catalog(loaded, catalog), registry, tuple(paths), framework_path, dataset)


def _merge_cities(embedded: pl.DataFrame, yours: pl.DataFrame | None) -> pl.DataFrame:
    """The data set's cities table, your cities file's values winning where both have one."""
    if yours is None:
        return embedded
    merged = embedded.join(yours, on="city_id", how="full", coalesce=True, suffix="_yours")
    for column in yours.columns:
        if f"{column}_yours" in merged.columns:
            merged = merged.with_columns(pl.coalesce(f"{column}_yours", column).alias(column)).drop(
                f"{column}_yours"
            )
    return merged


def _catalog(loaded: Loaded, registered: pl.DataFrame) -> pl.DataFrame:
    """The catalog the data were checked against: your own indicators included, so that they
    are scored with their own direction and shown with their own names."""
    return loaded.catalog if loaded.catalog is not None else registered


def _paths(source: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if source is None:
        return []
    if isinstance(source, (str, Path)):
        return [Path(source)]
    return [Path(p) for p in source]


def _described_options(
    mapping: object,
    shape: object,
    columns: object,
    constants: object,
    encoding: str,
    separator: object,
    sheet: object,
) -> list[str]:
    """The options that describe the user's files (they mean nothing for the demo)."""
    pairs = (
        ("mapping", mapping),
        ("shape", shape),
        ("columns", columns),
        ("constants", constants),
        ("separator", separator),
        ("sheet", sheet),
        ("encoding", encoding if encoding.lower() not in ("utf-8", "utf8") else None),
    )
    return [name for name, value in pairs if value]


def _read_options(
    encoding: str, separator: str | None, sheet: str | None, max_input_size: str | int | None
) -> Any:
    from benchmarkkit.io.limits import Limits
    from benchmarkkit.io.read import ReadOptions

    if separator is not None:
        given = separator
        separator = {"tab": "\t", "\\t": "\t"}.get(separator, separator)
        if len(separator) != 1:
            raise InputError(
                f"the separator must be one character, got '{given}'",
                hint="e.g. --separator ';' or --separator tab",
            )
    return ReadOptions(encoding, separator, sheet, Limits.with_input_size(max_input_size))


def _mapping(
    mapping: str | Path | ColumnMapping | None,
    shape: str | None,
    columns: Mapping[str, str] | None,
    constants: Mapping[str, str] | None,
) -> ColumnMapping:
    """The mapping file, overridden by the options given one by one; roles checked."""
    from benchmarkkit.io import mapping as mapping_mod

    if isinstance(mapping, mapping_mod.Mapping):
        base = mapping
    elif mapping is not None:
        base = mapping_mod.read_mapping(Path(mapping))
    else:
        base = mapping_mod.Mapping()
    given = mapping_mod.Mapping(
        shape=shape, columns=dict(columns or {}), constants=dict(constants or {})
    )
    for role in (*given.columns, *given.constants):
        if role not in mapping_mod.ROLES:
            raise InputError(
                f"unknown role '{role}'",
                hint=did_you_mean(role, mapping_mod.ROLES)
                or f"roles: {', '.join(mapping_mod.ROLES)}",
            )
    return base.merged(given)


def _cities(cities: str | Path | pl.DataFrame | None, registry: Registry) -> pl.DataFrame | None:
    if cities is None or isinstance(cities, pl.DataFrame):
        return cities
    from benchmarkkit.io.cities import read_cities

    return read_cities(Path(cities), registry)


def _load_frame(
    frame: pl.DataFrame,
    registry: Registry,
    catalog: pl.DataFrame,
    mapping: str | Path | ColumnMapping | None,
    shape: str | None,
    columns: Mapping[str, str] | None,
    constants: Mapping[str, str] | None,
    cities: str | Path | pl.DataFrame | None,
    indicators: str | Path | Sequence[str | Path] | None,
) -> Data:
    from benchmarkkit.io.load import load_frame

    loaded = load_frame(
        frame,
        registry,
        catalog,
        mapping=_mapping(mapping, shape, columns, constants),
        cities=_cities(cities, registry),
        indicator_files=_paths(indicators),
    )
    return Data(loaded, _catalog(loaded, catalog), registry)


def template(
    out: str | Path,
    *,
    cities: Sequence[str | tuple[str, str]],
    years: Sequence[int],
    indicator_set: str | None = None,
    framework: str | Path | None = None,
    indicators: Sequence[str] = (),
    indicator_files: str | Path | Sequence[str | Path] | None = None,
    mapping: str | Path | ColumnMapping | None = None,
    lang: str = "en",
    fill: Data | None = None,
    registry: Registry | None = None,
) -> Path:
    """A data-entry workbook (``.xlsx``: a sheet to fill in, an instructions sheet, number
    validation) or ``.csv`` for the indicators of an indicator set, a framework or a list of ids,
    and the given cities (ids, or ``(id, name)`` pairs) and years, with headers in ``lang`` (en,
    vi, zh). It loads back as it is: ``bk.load(out, indicators=...)``. ``fill`` prefills the
    values those data already hold."""
    from benchmarkkit.io.catalog import catalog_from_registry
    from benchmarkkit.io.load import own_catalog
    from benchmarkkit.io.template import template_indicators, write_template

    registry = registry if registry is not None else load_plugins()
    catalog = own_catalog(
        catalog_from_registry(registry),
        _mapping(mapping, None, None, None),
        _paths(indicator_files),
    )
    ids = template_indicators(
        catalog,
        indicator_set=indicator_set,
        framework=Path(framework) if framework is not None else None,
        ids=list(indicators),
    )
    values = fill.observations if fill is not None else None
    return write_template(Path(out), catalog, ids, list(cities), list(years), lang, values=values)


# ---------------------------------------------------------------------------------------------
# score


@dataclass(frozen=True)
class ScoreOptions:
    """Method choices that override every scorer's defaults, spelled as on the command line
    (``minmax:0,100``, ``group-mean:country``, ``jrc:3``); None keeps the scorer's own choice.
    ``benchmarkkit methods`` lists every registered method with its parameters."""

    denominate: bool | None = None
    impute: str | None = None
    treat: str | None = None
    normalise: str | None = None
    aggregate: str | tuple[str, ...] | None = None
    """One method for every level, or one per level above the indicators: ``"a/b"`` or a tuple."""
    reference: str | None = None
    """``year``: normalise within each year; ``pooled``: over all years together."""
    min_coverage: float | None = None
    screen: float | None = None
    steps: str | tuple[str, ...] | None = None
    """The order of the steps (``benchmarkkit.scorer.STEPS`` by default: denominate, screen,
    impute, treat, normalise, aggregate), e.g. ``"denominate,impute,screen,treat,normalise,
    aggregate"`` — COINr's recipe order (``scorer.COINR_STEPS``), the default of a COINr iMeta
    framework."""

    def __post_init__(self) -> None:
        for name in ("min_coverage", "screen"):
            share = getattr(self, name)
            if share is not None and not 0 <= share <= 1:
                raise InputError(
                    f"{name.replace('_', '-')} is a share between 0 and 1, got {share}",
                    hint="e.g. 0.5 for half",
                )
        if self.reference is not None and self.reference not in ("year", "pooled"):
            raise InputError(f"unknown reference '{self.reference}'", hint="use 'year' or 'pooled'")
        if isinstance(self.aggregate, str) and "/" in self.aggregate:
            object.__setattr__(self, "aggregate", tuple(self.aggregate.split("/")))
        if isinstance(self.steps, str):
            object.__setattr__(
                self, "steps", tuple(s.strip() for s in self.steps.split(",") if s.strip())
            )

    def changes(self) -> dict[str, Any]:
        """The options that were given, as ``Pipeline`` field changes."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


@dataclass(frozen=True)
class Scores:
    """Every node of every level of every index, with ranks and coverage (``scores``), and what
    the run has to say: ``warnings`` (a frame: thin coverage, screened-out cities …), ``notes``
    (one sentence each: an index skipped for lack of indicators, rows rejected on input) and
    ``plugin_failures``."""

    data: Data
    scores: pl.DataFrame
    warnings: pl.DataFrame
    results: Mapping[str, ScoreResult]
    frameworks: Mapping[str, Framework]
    pipelines: Mapping[str, Pipeline]
    notes: tuple[str, ...] = ()

    @property
    def loaded(self) -> Loaded:
        return self.data.loaded

    @property
    def catalog(self) -> pl.DataFrame:
        return self.data.catalog

    @property
    def registry(self) -> Registry:
        return self.data.registry

    @property
    def plugin_failures(self) -> tuple[PluginError, ...]:
        return _failures(self.data.registry)

    @property
    def methods(self) -> dict[str, str]:
        """Scorer → the methods that made its scores, in one line (``Pipeline.describe``)."""
        return {name: p.describe() for name, p in sorted(self.pipelines.items())}

    @property
    def weights(self) -> pl.DataFrame:
        """Each node's effective weight in its index (product of normalised weights)."""
        return pl.concat(
            [
                r.weights.with_columns(pl.lit(name).alias("scorer"))
                for name, r in self.results.items()
            ]
        ).select("scorer", "node", "level", "effective_weight")


def score(
    data: Data | str | Path | Sequence[str | Path] | pl.DataFrame | None = None,
    *,
    framework: str | Path | None = None,
    scorers: Sequence[str] = (),
    years: Sequence[int] | None = None,
    options: ScoreOptions | None = None,
    levels: Sequence[int] | None = None,
    registry: Registry | None = None,
) -> Scores:
    """Score the data with the chosen scorers (default: every registered one), or with your own
    ``framework`` (a COINr iMeta .csv or a native .toml).

    ``data`` is what ``load`` returned (or anything ``load`` takes). ``levels`` limits the output
    rows to those levels (much faster on big data: the indicator level is then not built).

    A scorer that fails (crashes, takes longer than its time limit, returns a malformed framework
    or gives no city a score) is skipped and listed in ``plugin_failures``; the others still run.
    It raises only when that scorer was asked for by name, for a ``framework`` file, or when no
    scorer is left.
    """
    from benchmarkkit.engine.score import encode
    from benchmarkkit.engine.score import score as score_framework
    from benchmarkkit.io.framework import complete_from_catalog, read_framework

    if not isinstance(data, Data):
        data = load(data, framework=framework, registry=registry)
    registry = data.registry
    options = options or ScoreOptions()
    framework = Path(framework) if framework is not None else data.framework
    timeout = registry.timeout
    notes: list[str] = []
    frameworks: list[tuple[Framework, Pipeline, str | None]] = []  # owner None: a framework file
    if framework is not None:
        if framework.suffix.lower() == ".csv" and data.framework is None:
            raise InputError(
                "a COINr framework (iMeta .csv) says how its data file is laid out",
                hint="load the data with the framework: bk.load(path, framework=...)",
            )
        read = read_framework(framework)
        frameworks.append((complete_from_catalog(read, data.catalog), read.pipeline, None))
    notes += _require_usable(data)
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
            built = _build(scorer, owner, data.catalog, data.observations, timeout)
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
            notes.append(f"{message}; skipped")
            continue
        frameworks.append((built, scorer.pipeline, owner))
    _check_years(data, years)
    results: dict[str, ScoreResult] = {}
    used: dict[str, Framework] = {}
    pipelines: dict[str, Pipeline] = {}
    encoded = encode(data.observations)  # the string keys coded once for every index
    changes = options.changes()
    for framework_, pipeline, owner in frameworks:
        chosen_pipeline = pipeline.with_options(**changes)
        plugin = owner or framework_.name
        try:
            with time_limit(timeout if owner else None, plugin, f"scoring '{framework_.name}'"):
                result = score_framework(
                    framework_,
                    data.observations,
                    data.cities,
                    chosen_pipeline,
                    registry,
                    years=list(years) if years else None,
                    encoded=encoded,
                    levels=list(levels) if levels else None,
                )
            nothing = owner and _scored_nothing(
                result, framework_, chosen_pipeline, data.observations
            )
            if nothing:
                raise PluginError(
                    plugin,
                    nothing,
                    hint="check its weights and methods, or skip it with "
                    f"--disable-plugin {plugin}",
                )
        except (PluginError, MethodError) as err:
            # a method error may be the user's option (then every scorer fails: see below) or
            # this scorer's own defaults (then only it fails)
            if owner is None or framework_.name in scorers:
                raise
            reported = (
                err
                if isinstance(err, PluginError)
                else PluginError(
                    owner, f"scoring '{framework_.name}' failed ({err})", hint=fix_hint(owner)
                )
            )
            failures.append((reported, err))
            continue
        except BenchmarkkitError:
            raise
        except Exception as err:
            failed = PluginError(
                owner or framework_.name,
                f"scoring '{framework_.name}' failed ({type(err).__name__}: {err})",
                hint="check the scorer's framework and methods",
            )
            if owner is None or framework_.name in scorers:
                raise failed from err
            failures.append((failed, failed))
            continue
        top = result.scores.filter(pl.col("level") == pl.col("level").max())
        if top.height and top["score"].null_count() == top.height:
            notes.append(  # the data are too thin for it (see _scored_nothing): not the plugin's
                f"scorer '{framework_.name}' gave no score to any city (every index value is "
                "missing: too few cities or indicators in the data)"
            )
        results[framework_.name] = result
        used[framework_.name] = framework_
        pipelines[framework_.name] = chosen_pipeline
    if not results:
        _nothing_left(failures, registry)
    for reported, _ in failures:
        registry.failed(reported)
    scores = pl.concat([r.scores for r in results.values()])
    if levels:
        scores = scores.filter(pl.col("level").is_in(list(levels)))
    warnings = pl.concat([r.warnings for r in results.values()])
    return Scores(data, scores, warnings, results, used, pipelines, tuple(notes))


def _require_usable(data: Data) -> list[str]:
    """Scoring refuses a file it cannot read: a result missing a whole file would look complete
    but is not. Rejected rows are announced, not fatal (``validate`` lists them)."""
    if not data.sources:  # an embedded data set alone, or a frame: nothing unreadable
        return []
    rejected = data.rejected
    unusable = rejected.filter(pl.col("row").is_null())
    if unusable.height:
        row = unusable.row(0, named=True)
        raise InputError(
            row["message"], source=row["source"], column=row["column"], hint=row["hint"]
        )
    if rejected.height:
        return [
            f"{rejected.height} input rows were rejected and are not used "
            "(see `benchmarkkit validate FILE --rejected OUT.csv`)"
        ]
    return []


def _check_years(data: Data, years: Sequence[int] | None) -> None:
    if not years:
        return
    known = set(data.observations["year"].unique())
    for y in years:
        if y not in known:
            raise InputError(
                f"no data for year {y}",
                hint=f"years in the data: {min(known)}–{max(known)}"
                if known
                else "the data are empty",
            )


# ---------------------------------------------------------------------------------------------
# audit and sensitivity: how coherent is each index, and how sure are its ranks


def _analysis_year(scores: Scores, scorer: str, year: int | None) -> int | None:
    """The year an audit or a sensitivity analysis looks at, by default: the latest in which
    the index scores at least half as many cities as in its best year — the latest year alone
    may hold a handful of early reporters (the demo's 2024), whose ranks say little."""
    if year is not None:
        return year
    top = scores.scores.filter(
        (pl.col("scorer") == scorer)
        & (pl.col("level") == pl.col("level").max())
        & pl.col("score").is_not_null()
    )
    counts = top.group_by("year").len()
    if counts.height == 0:
        return None
    enough = counts.filter(pl.col("len") * 2 >= counts["len"].max())
    return int(enough["year"].max())  # type: ignore[arg-type]


def audit(scores: Scores, *, year: int | None = None) -> dict[str, Audit]:
    """The statistical audit of every index of a scoring run, as COINr's ``get_stats``,
    ``get_corr``, ``get_cronbach``, ``get_PCA`` and ``get_eff_weights`` compute it, on the raw
    data and on the data as scored (after the run's own imputation, treatment and
    normalisation): scorer → ``Audit`` (frames ``stats``, ``correlations``, ``cronbach``,
    ``pca``, ``pca_loadings``, ``effective_weights``). ``year``: by default, each index's latest
    year in which it scores at least half as many cities as in its best year."""
    from benchmarkkit.analysis.audit import audit_scores, framework_year

    _check_years(scores.data, [year] if year is not None else None)
    out = {}
    for name, framework in sorted(scores.frameworks.items()):
        at = framework_year(scores.data.observations, framework, _analysis_year(scores, name, year))
        mine = scores.scores.filter(pl.col("scorer") == name)
        out[name] = audit_scores(framework, scores.data.observations, mine, at)
    return out


def audit_warnings(result: Audit) -> pl.DataFrame:
    """What an audit says a reader should know (an indicator negatively correlated with its
    group, Cronbach's alpha under 0.7, collinear siblings, skewed or sparse raw data): kind,
    node, group, value, message."""
    from benchmarkkit.analysis.audit import audit_warnings as warnings_of

    return warnings_of(result)


def sensitivity(
    scores: Scores,
    *,
    vary: Sequence[str],
    samples: int = 1000,
    method: str = "ua",
    seed: int = 0,
    year: int | None = None,
    executor: str = "local",
    scorers: Sequence[str] = (),
    levels: Sequence[int] | None = None,
) -> dict[str, Sensitivity]:
    """How sure are the ranks: every index re-scored under the uncertain choices in ``vary``
    (``weights:0.25``, ``normalise:minmax,zscore``, ``aggregate:arithmetic,geometric``,
    ``impute:none,mean,group-mean:COL``, ``treat:none,jrc``, ``drop-indicator``), ``samples`` at
    random (``ua``) or in Saltelli's design (``sobol``, base ``samples`` a power of 2), each
    sample a full re-score. Scorer → ``Sensitivity`` (frames ``ranks``, ``scores``, ``sobol``,
    ``design``, ``failures``). Deterministic for a ``seed``, whatever the ``executor`` (``local``
    or ``ray``)."""
    from benchmarkkit.analysis.sensitivity import sensitivity as analyse

    if not vary:
        raise InputError(
            "nothing to vary", hint="e.g. vary=['weights:0.25', 'normalise:minmax,zscore']"
        )
    if method not in ("ua", "sobol"):
        raise InputError(f"unknown method '{method}'", hint="use ua or sobol")
    chosen = list(scorers) or sorted(scores.frameworks)
    for name in chosen:
        if name not in scores.frameworks:
            raise InputError(
                f"no index '{name}' in this run",
                hint=did_you_mean(name, scores.frameworks)
                or f"indices: {', '.join(sorted(scores.frameworks))}",
            )
    _check_years(scores.data, [year] if year is not None else None)
    return {
        name: analyse(
            scores.frameworks[name],
            scores.data.observations,
            scores.data.cities,
            scores.pipelines[name],
            scores.registry,
            list(vary),
            method=method,  # type: ignore[arg-type]
            samples=samples,
            seed=seed,
            year=_analysis_year(scores, name, year),
            levels=levels,
            executor=executor,  # type: ignore[arg-type]
        )
        for name in chosen
    }


# ---------------------------------------------------------------------------------------------
# compare, report, chart


def compare(
    scores: Scores,
    *,
    city: str | None = None,
    year: int | None = None,
    peers: str = DEFAULT_PEERS,
    levers: bool = True,
    min_peers: int = MIN_PEERS,
    uncertainty: int = 0,
    vary: Sequence[str] = (),
    seed: int = 0,
) -> Comparison:
    """The city against its peers in one year: scores, ranks, peer median and best, gaps, change
    since the previous year, strengths, weaknesses and — when ``levers`` — the indicators whose
    move to the peer median would raise each index most (re-scored, not guessed).

    ``city`` is an id or a unique name (default: the demo's Madrid, ES001C, on the demo data);
    ``year`` defaults to the city's latest scored year; ``peers`` is a peer spec such as
    ``size:3``, ``country:ES+size:2`` or ``all``. The default year is the latest in which the
    city and at least ``min_peers`` peers have an index; with fewer peers an index has no rank,
    median or gap (its ``status`` says why). Peer medians and ``n_peers`` leave the city out;
    ``rank`` is "of ``n_ranked``"; ``change`` is like for like (both years re-scored on the
    indicators reported in both: ``change_basis``, ``comparable``). With ``uncertainty``
    samples, each index's row also says how sure its rank is: ``rank_low`` to ``rank_high`` in
    90 % of that many re-scorings (``rank_samples``), varying ``vary`` (``REPORT_VARY``).
    """
    from benchmarkkit.analysis.compare import compare_city

    comparison = compare_city(
        scores, _city(scores, city), year, peers, levers=levers, min_peers=min_peers
    )
    comparison = _with_methods(comparison, scores)
    analyse = _uncertainty(scores, uncertainty, vary, seed)
    if analyse is None:
        return comparison
    return _with_rank_ranges(comparison, analyse(comparison.year))


def _with_methods(comparison: Comparison, scores: Scores) -> Comparison:
    """Every summary row says which methods made its score (``methods``), so a comparison read
    on its own (a CSV or JSON file) still says how it was computed."""
    from dataclasses import replace

    methods = pl.DataFrame(
        {
            "scorer": list(scores.pipelines),
            "methods": [p.describe() for p in scores.pipelines.values()],
        },
        schema={"scorer": pl.String, "methods": pl.String},
    )
    summary = comparison.summary.join(methods, on="scorer", how="left", maintain_order="left")
    return replace(comparison, summary=summary)


def _with_rank_ranges(comparison: Comparison, results: Mapping[str, Sensitivity]) -> Comparison:
    """The summary's index rows with the rank's 90 % range among the ranked group."""
    from dataclasses import replace

    from benchmarkkit.analysis.uncertainty import comparison_intervals

    rows = [
        frame.filter(pl.col("city_id") == comparison.city_id).select(
            pl.lit(scorer).alias("scorer"),
            "node",
            "rank_low",
            "rank_high",
            pl.col("n_samples").cast(pl.Int64).alias("rank_samples"),
        )
        for scorer, frame in comparison_intervals(comparison, results).items()
    ]
    ranges = (
        pl.concat(rows)
        if rows
        else pl.DataFrame(
            schema={
                "scorer": pl.String,
                "node": pl.String,
                "rank_low": pl.Int64,
                "rank_high": pl.Int64,
                "rank_samples": pl.Int64,
            }
        )
    )
    summary = comparison.summary.join(ranges, on=["scorer", "node"], how="left")
    return replace(comparison, summary=summary)


def _city(scores: Scores, city: str | None) -> str:
    if city is not None:
        return city
    if scores.data.dataset is None:
        raise InputError(
            "give the city with city=… (--city ID)",
            hint="only the embedded data sets have a default city (the demo's is Madrid, ES001C)",
        )
    from benchmarkkit.io.demo import dataset

    return dataset(scores.data.dataset).default_city


@dataclass(frozen=True)
class Report:
    """One yearly report: the HTML text (self-contained, opens without a network) and whom it
    is about; ``path`` when it was written."""

    html: str
    city_id: str
    city_name: str
    year: int
    path: Path | None = None
    attribution: str = ""
    """The credit line the data's licence asks for (an embedded data set's), to show with it."""


def report(
    scores: Scores,
    *,
    city: str | None = None,
    year: int | None = None,
    peers: str = DEFAULT_PEERS,
    lang: str = "en",
    out: str | Path | None = None,
    min_peers: int = MIN_PEERS,
    uncertainty: int = 0,
    vary: Sequence[str] = (),
    seed: int = 0,
    highlight: Sequence[str] = (),
) -> Report:
    """The yearly comparison report for one city, as one HTML file (written to ``out`` when
    given, atomically). Byte-identical for the same inputs (the date comes only from
    ``SOURCE_DATE_EPOCH``). ``uncertainty``: samples of a sensitivity analysis (0: none) that
    gives each rank its range ("How sure is this rank?"), varying ``vary`` (default
    ``REPORT_VARY``) with ``seed``."""
    from benchmarkkit.reporting.build import build_report

    path = _html_path(out)
    comparison, html = build_report(
        scores,
        _city(scores, city),
        year,
        peers,
        lang,
        lambda: _audit(scores),
        min_peers=min_peers,
        uncertainty=_uncertainty(scores, uncertainty, vary, seed),
        highlight=_highlight(scores, highlight),
    )
    if path is not None:
        _write_text(path, html)
    return Report(
        html,
        comparison.city_id,
        comparison.city_name,
        comparison.year,
        path,
        _attribution(scores.data),
    )


def _attribution(data: Data) -> str:
    if data.dataset is None:
        return ""
    from benchmarkkit.io.demo import dataset

    return dataset(data.dataset).attribution


REPORT_VARY = ("weights:0.25", "normalise:minmax,zscore:50,10", "treat:none,jrc")
"""What a report varies when asked how sure its ranks are and not told what to vary: the weights
(COINr's 25 % noise), the normalisation and the outlier treatment — choices a methodologist
could defend either way, all valid for every index (a geometric mean would fail on the zeros of
a min-max)."""


def _uncertainty(
    scores: Scores, samples: int, vary: Sequence[str], seed: int
) -> Callable[[int], dict[str, Sensitivity]] | None:
    """The report's sensitivity analysis for its year, or None when not asked (``samples`` 0)."""
    if samples <= 0:
        return None

    def analyse(year: int) -> dict[str, Sensitivity]:
        return sensitivity(
            scores, vary=list(vary) or list(REPORT_VARY), samples=samples, seed=seed, year=year
        )

    return analyse


def _highlight(scores: Scores, cities: Sequence[str]) -> tuple[str, ...]:
    """Cities a reader asks to see named in every chart, by id or name (checked: a city that
    is not in the data is an error, not a silent miss)."""
    from benchmarkkit.analysis.target import resolve_city

    return tuple(resolve_city(scores.loaded.cities, c)[0] for c in cities)


def _html_path(out: str | Path | None) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"the report is an .html file, got '{path}'", hint="e.g. report.html")
    return path


def _write_text(path: Path, text: str) -> None:
    from benchmarkkit.io.export import atomic_write

    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


@dataclass(frozen=True)
class ReportBatch:
    """One report per city of a peer group, written into ``folder`` as they are made: iterate to
    write them; each step yields ``(city_id, path)``, or ``(city_id, None)`` with the reason in
    ``skipped`` when that city cannot be reported on (no score that year)."""

    scores: Scores
    members: tuple[str, ...]
    year: int
    peers: str
    lang: str
    folder: Path
    min_peers: int = MIN_PEERS
    skipped: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[str, Path | None]]:
        from benchmarkkit.reporting.build import build_report, safe_filename

        for member in self.members:
            try:
                comparison, html = build_report(
                    self.scores,
                    member,
                    self.year,
                    self.peers,
                    self.lang,
                    lambda: _audit(self.scores),
                    min_peers=self.min_peers,
                )
            except InputError as err:
                self.skipped.append(f"{member}: {err}")
                yield member, None
                continue
            path = self.folder / f"{safe_filename(comparison.city_id)}-{comparison.year}.html"
            _write_text(path, html)
            yield member, path

    def __len__(self) -> int:
        return len(self.members)


def reports(
    scores: Scores,
    *,
    city: str | None = None,
    year: int | None = None,
    peers: str = DEFAULT_PEERS,
    lang: str = "en",
    folder: str | Path = "reports-out",
    min_peers: int = MIN_PEERS,
) -> ReportBatch:
    """Reports for every city of ``city``'s peer group in ``year``, scoring the data once."""
    from benchmarkkit.analysis.compare import shown_scores
    from benchmarkkit.analysis.peers import find_peers
    from benchmarkkit.analysis.target import resolve_target

    folder = Path(folder)
    if folder.suffix.lower() in (".html", ".htm"):
        raise InputError(f"a batch of reports goes into a folder, got '{folder}'")
    cities, observations = scores.loaded.cities, scores.loaded.observations

    def peers_for(city_id: str, at: int) -> list[str]:
        return find_peers(scores.registry, city_id, at, peers, cities, observations)

    target = resolve_target(
        cities,
        scores.scores,
        _city(scores, city),
        year,
        shown=lambda: shown_scores(scores.scores, dict(scores.frameworks), scores.pipelines),
        peers_for=peers_for,
        min_peers=min_peers,
    )
    group = peers_for(target.city_id, target.year)
    folder.mkdir(parents=True, exist_ok=True)
    return ReportBatch(scores, tuple(group), target.year, peers, lang, folder, min_peers)


CHART_KINDS = ("ranking", "heatmap", "strip", "trend", "slope", "coverage", "history")


def chart(
    scores: Scores,
    kind: str,
    *,
    city: str | None = None,
    year: int | None = None,
    peers: str = DEFAULT_PEERS,
    index: str = "livability",
    out: str | Path | None = None,
    lang: str = "en",
    min_peers: int = MIN_PEERS,
    highlight: Sequence[str] = (),
) -> dict[str, Any]:
    """One chart of the report as a Vega-Lite spec (a dict); written to ``out`` when given:
    ``.json`` (the spec), ``.html`` (self-contained), ``.png`` or ``.svg``."""
    from benchmarkkit.reporting.build import chart_spec, write_chart

    if kind not in CHART_KINDS:
        raise InputError(
            f"unknown chart '{kind}'",
            hint=did_you_mean(kind, CHART_KINDS) or f"charts: {', '.join(CHART_KINDS)}",
        )
    path = Path(out) if out is not None else None
    if path is not None and path.suffix.lower() not in (".html", ".png", ".svg", ".json"):
        raise InputError(
            f"a chart is written as .html, .png, .svg or .json, got '{path}'",
            hint="e.g. chart.html",
        )
    spec = chart_spec(
        scores,
        kind,
        _city(scores, city),
        year,
        peers,
        index,
        lang=lang,
        min_peers=min_peers,
        highlight=_highlight(scores, highlight),
    )
    if path is not None:
        write_chart(spec, path)
    return spec


def _audit(scores: Scores) -> dict[str, Any]:
    """The report's audit trail: which files (with their SHA-256), methods and plugins."""
    import os
    from datetime import UTC, datetime

    from benchmarkkit import __version__

    data = scores.data
    files, note = [], ""
    if data.dataset is not None:
        from benchmarkkit.io.demo import dataset

        embedded = dataset(data.dataset)
        files = [
            {
                "name": f"benchmarkkit {embedded.name}: {name}",
                "sha256": _sha256((embedded.folder / name).read_bytes()),
            }
            for name in embedded.files
        ]
        note = embedded.attribution
    files += [{"name": str(p), "sha256": _sha256(p.read_bytes())} for p in data.sources]
    methods = {
        f"{name}: {step}": value
        for name, result in sorted(scores.results.items())
        for step, value in result.methods.items()
    }
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    generated = (
        datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")
        if epoch and epoch.isdigit()
        else "–"
    )
    failed_at_run = {err.plugin for err in scores.registry.failures}  # named, skipped this run
    used = [
        {"name": p.name, "version": p.version, "source": p.source}
        for p in scores.registry.plugins
        if not p.error and p.name not in failed_at_run
    ]
    return {
        "files": files,
        "methods": methods,
        "plugins": used,
        "version": __version__,
        "generated": generated,
        "attribution": note,
    }


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# ---------------------------------------------------------------------------------------------
# helpers of score (a scorer plugin's framework checked, built and judged)


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
    from benchmarkkit.io.framework import complete_from_catalog

    try:  # directions, units and focus areas the plugin left out, from the catalog
        return complete_from_catalog(built, catalog)
    except InputError as err:  # the plugin's omission, said in its name, not the normaliser's
        raise PluginError(plugin, err.detail, hint=err.hint) from None


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
    had_data = text_keys(top.filter(pl.col("n_present") > 0)).join(
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
