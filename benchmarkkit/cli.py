"""The ``benchmarkkit`` command line.

Start-up must stay light (``benchmarkkit --help`` well under 0.3 s): this module imports only Click
at the top; Polars, the engine, Altair and the report code are imported inside the commands.
Every user mistake ends as one line on stderr and a non-zero exit code; a traceback is shown only
for a bug, and only with ``--debug``.

Exit codes: 0 done; 1 some input rows were rejected (``validate``); 2 a user error (bad option,
unusable file, a scorer asked for by name failed); 3 an internal error (a bug in benchmarkkit);
4 done, but a plugin failed or was skipped (each named in an ``error:`` line) — the output holds
what the other plugins produced. A plugin left out with ``--disable-plugin`` is not a failure.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from collections.abc import Sequence

    import polars as pl

    from benchmarkkit.errors import PluginError
    from benchmarkkit.plugins import Registry

PLUGIN_FAILED = 4
"""Exit code: the command finished, but a plugin failed or was skipped (see the error lines)."""
DEFAULT_PLUGIN_TIMEOUT = 300.0
"""The default of ``--plugin-timeout`` (the same as ``benchmarkkit.api.DEFAULT_PLUGIN_TIMEOUT``,
repeated here so that ``--help`` does not import the API)."""


@dataclass
class Context:
    plugin_files: tuple[Path, ...] = ()
    plugins_dirs: tuple[Path, ...] = ()
    disabled: tuple[str, ...] = ()
    debug: bool = False
    plugin_timeout: float | None = DEFAULT_PLUGIN_TIMEOUT
    """Time limit in seconds on each call into plugin code (``--plugin-timeout``); 0: none."""
    max_input_size: str | None = None
    """``--max-input-size``: the largest data file read (others limits: SECURITY.md)."""
    plugin_failures: list[PluginError] = field(default_factory=list)
    """Every plugin that failed to load, register or run in this command: exit code 4."""
    _registry: Any = field(default=None, repr=False)

    def registry(self, *, quiet: bool = False) -> Registry:
        """Plugins are loaded once per run, on first need; problems are printed, not fatal."""
        if self._registry is None:
            from benchmarkkit.api import load_plugins

            self._registry = load_plugins(
                self.plugin_files, self.plugins_dirs, self.disabled, timeout=self.plugin_timeout
            )
            for problem in self._registry.problems:
                self.plugin_failed(problem, quiet=quiet)
            self._registry.on_failure = self._failed_at_run_time
        return self._registry

    def plugin_failed(self, err: PluginError, *, quiet: bool = False) -> None:
        """Record a plugin failure and say it once (a report per city would repeat it)."""
        if any(str(seen) == str(err) for seen in self.plugin_failures):
            return
        self.plugin_failures.append(err)
        if not quiet:
            click.echo(f"error: {err}", err=True)

    def _failed_at_run_time(self, err: PluginError) -> None:
        if self.debug and err.__cause__ is not None:
            raise err  # --debug: stop at the failure and show the plugin's traceback
        self.plugin_failed(err)


class Group(click.Group):
    """Turns user-facing errors into one line and an exit code, whatever the command."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Click's usage errors (bad option value, unknown option) become one line too."""
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as err:
            click.echo(err.ctx.get_help() if err.ctx else str(err))
            sys.exit(0)
        except click.UsageError as err:
            command = err.ctx.command_path if err.ctx else "benchmarkkit"
            click.echo(f"error: {err.format_message()} (see '{command} --help')", err=True)
            sys.exit(2)
        except click.Abort:
            click.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except SystemExit as done:  # sys.exit() in a command: keep a non-zero code
            if done.code in (None, 0) and _plugins_failed(ctx):
                ctx.exit(PLUGIN_FAILED)
            raise
        except Exception as err:
            from benchmarkkit.errors import BenchmarkkitError

            debug = "--debug" in sys.argv or getattr(ctx.obj, "debug", False)
            if isinstance(err, BenchmarkkitError):
                if debug:
                    raise
                click.echo(f"error: {err}", err=True)
                ctx.exit(err.exit_code)
            if isinstance(err, BrokenPipeError):
                ctx.exit(0)
            if debug:
                raise
            click.echo(
                f"internal error: {type(err).__name__}: {err} "
                "(this is a bug; run again with --debug and report the traceback)",
                err=True,
            )
            ctx.exit(3)
        except BaseException as err:
            # a panic inside Polars (Rust) arrives as pyo3's PanicException, a BaseException:
            # still a bug, still one line — but Ctrl-C and the like pass through untouched
            if type(err).__name__ != "PanicException" or "--debug" in sys.argv:
                raise
            first = str(err).strip().splitlines()[0] if str(err).strip() else "no message"
            click.echo(
                f"internal error: a panic in a library ({first}) "
                "(this is a bug; run again with --debug and report the traceback)",
                err=True,
            )
            ctx.exit(3)
        if result in (None, 0) and _plugins_failed(ctx):
            ctx.exit(PLUGIN_FAILED)
        return result


def _plugins_failed(ctx: click.Context) -> bool:
    return isinstance(ctx.obj, Context) and bool(ctx.obj.plugin_failures)


class RegistryHelp(click.Option):
    """An option whose help lists what the plugins registered (normalisers, peer rules …), built
    only when that help is shown: ``--help`` of the group stays light, and a plugin's method is
    listed beside the built-ins (``benchmarkkit --plugin p.py score --help``)."""

    def __init__(self, *args: Any, lead: str, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lead, self.kind = lead, kind

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        obj = ctx.find_object(Context)
        if obj is not None:
            listed = _registered(obj.registry(quiet=True), self.kind)
            self.help = f"{self.lead} {listed}" if self.lead else listed
        return super().get_help_record(ctx)


def _registered(registry: Registry, kind: str) -> str:
    if kind == "peer_rule":
        from benchmarkkit.api import peer_spec_help

        return peer_spec_help(registry)
    forms = []
    for name, method in sorted(registry.of(kind).items()):
        params = ",".join(p.name.upper() for p in method.params)
        forms.append(f"{name.replace('_', '-')}{':' + params if params else ''}")
    return "|".join(forms) + " (see `benchmarkkit methods`)."


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(
    name="benchmarkkit", cls=Group, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="benchmarkkit")
@click.option(
    "--plugin",
    "plugin_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Load a one-file plugin (repeatable).",
)
@click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Load every .py plugin in this folder.",
)
@click.option(
    "--disable-plugin",
    "disabled",
    multiple=True,
    metavar="NAME",
    help="Do not load this plugin (repeatable).",
)
@click.option(
    "--plugin-timeout",
    "plugin_timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_PLUGIN_TIMEOUT,
    show_default=True,
    envvar="BENCHMARKKIT_PLUGIN_TIMEOUT",
    show_envvar=True,
    metavar="SECONDS",
    help="Stop a plugin call (import, build, score, section …) that takes longer; 0 = no limit. "
    "Not enforced on Windows.",
)
@click.option(
    "--max-input-size",
    metavar="SIZE",
    help="Refuse data files larger than this before reading them (default 2GiB; e.g. 8GiB); "
    "also BENCHMARKKIT_MAX_INPUT_SIZE.",
)
@click.option(
    "--debug", is_flag=True, help="Show tracebacks of internal errors and of plugin failures."
)
@click.pass_context
def main(
    ctx: click.Context,
    plugin_files: tuple[Path, ...],
    plugins_dirs: tuple[Path, ...],
    disabled: tuple[str, ...],
    plugin_timeout: float,
    max_input_size: str | None,
    debug: bool,
) -> None:
    """Benchmark a city against its peers: livability, competitiveness, sustainability.

    Start with `benchmarkkit report` for the yearly comparison report on the embedded demo data.

    Exit codes: 0 done, 1 rows rejected (validate), 2 user error, 3 internal error (a bug),
    4 done but a plugin failed or was skipped.
    """
    ctx.obj = Context(
        plugin_files=plugin_files,
        plugins_dirs=plugins_dirs,
        disabled=disabled,
        debug=debug,
        plugin_timeout=plugin_timeout or None,
        max_input_size=max_input_size,
    )


# ---------------------------------------------------------------------------------------------
# shared options for commands that read data


def _decorated(fn: Any, options: list[Any]) -> Any:
    """``fn`` under a list of Click options, the first listed shown first in ``--help``."""
    for option in reversed(options):
        fn = option(fn)
    return fn


METHOD_KEYS = (
    "denominate",
    "impute",
    "treat",
    "normalise",
    "aggregate",
    "reference",
    "min_coverage",
    "screen",
    "steps",
)
"""The method options (``method_options``), as ``ScoreOptions`` fields."""


def data_options(fn: Any) -> Any:
    options = [
        click.option(
            "--mapping",
            type=click.Path(path_type=Path),
            help="TOML file mapping your columns, declaring your own indicators and city "
            "attributes (see docs/own-data.md).",
        ),
        click.option(
            "--indicators",
            "indicator_files",
            multiple=True,
            type=click.Path(path_type=Path),
            help="An indicator CSV of your own (the columns `benchmarkkit indicators --format "
            "csv` prints; repeatable).",
        ),
        click.option(
            "--shape",
            type=click.Choice(["long", "wide", "wide_years"]),
            help="Table shape (guessed when omitted).",
        ),
        click.option(
            "--column",
            "columns",
            multiple=True,
            metavar="ROLE=HEADER",
            help="Which header plays a role: city_id, city_name, country, year, "
            "indicator, value, flag (repeatable).",
        ),
        click.option(
            "--constant",
            "constants",
            multiple=True,
            metavar="ROLE=VALUE",
            help="A role the file has no column for, e.g. year=2023 (repeatable).",
        ),
        click.option(
            "--encoding",
            default="utf-8",
            show_default=True,
            help="Text encoding of CSV files, e.g. gbk or cp1252.",
        ),
        click.option("--separator", help="CSV separator (sniffed among , ; and tab when omitted)."),
        click.option("--sheet", help="Excel sheet name (default: the first sheet)."),
        click.option(
            "--cities",
            "cities_file",
            type=click.Path(path_type=Path),
            help="A table of city context (population, area, networks …).",
        ),
        click.option(
            "--dataset",
            metavar="NAME",
            help="An embedded data set instead of files: demo (Eurostat, the default) or ascn "
            "(ASEAN cities, UN data).",
        ),
    ]
    return _decorated(fn, options)


def method_options(fn: Any) -> Any:
    """The method options of ``score`` (and of ``audit`` and ``sensitivity``, which score too)."""
    options = [
        click.option(
            "--denominate",
            is_flag=True,
            default=None,
            help="Divide by the framework's denominators.",
        ),
        click.option("--impute", cls=RegistryHelp, kind="imputer", lead="Fill gaps: none or"),
        click.option("--treat", cls=RegistryHelp, kind="treatment", lead="Outliers:"),
        click.option(
            "--normalise", "normalise", cls=RegistryHelp, kind="normaliser", lead="Normalisation:"
        ),
        click.option(
            "--aggregate",
            cls=RegistryHelp,
            kind="aggregator",
            lead="Aggregation, one for all levels or one per level separated by '/' (e.g. "
            "arithmetic/geometric):",
        ),
        click.option(
            "--reference",
            type=click.Choice(["year", "pooled"]),
            help="Normalise within each year or over all years together.",
        ),
        click.option("--min-coverage", type=float, help="Share of children a parent needs (0–1)."),
        click.option(
            "--screen", type=float, help="Drop cities with a smaller share of indicators (0–1)."
        ),
        click.option(
            "--steps",
            metavar="A,B,…",
            help="The order of the steps among denominate, impute, screen, treat, normalise, "
            "aggregate (COINr's recipe: denominate,impute,screen,treat,normalise,aggregate).",
        ),
    ]
    return _decorated(fn, options)


def score_options(**given: Any) -> Any:
    """``ScoreOptions`` from the method options as parsed (shares checked in the CLI's words)."""
    from benchmarkkit.api import ScoreOptions

    for name in ("min_coverage", "screen"):
        share = given.get(name)
        if share is not None and not 0 <= share <= 1:
            fail(f"--{name.replace('_', '-')} is a share between 0 and 1, got {share}")
    return ScoreOptions(**{k: given.get(k) for k in METHOD_KEYS})


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"{option} '{item}' must look like NAME=VALUE")
        out[key.strip()] = value.strip()
    return out


def load_data(obj: Context, files: tuple[Path, ...], framework: Path | None = None, **data: Any):
    """The API's ``load`` with the data options as the command line spells them."""
    from benchmarkkit.api import load

    if not files:  # said in the command line's words before the API says it in its own
        given = [
            flag
            for flag, key in (
                ("--cities", "cities_file"),
                ("--mapping", "mapping"),
                ("--indicators", "indicator_files"),
                ("--shape", "shape"),
                ("--column", "columns"),
                ("--constant", "constants"),
                ("--separator", "separator"),
                ("--sheet", "sheet"),
            )
            if data.get(key)
        ]
        if (data.get("encoding") or "utf-8").lower() not in ("utf-8", "utf8"):
            given.append("--encoding")
        if given:
            fail(
                f"{given[0]} applies to your own data files, and none was given (without files "
                "the embedded demo data, with their own city table, are used) "
                f"(name your data file(s) before the options, or drop {given[0]})"
            )

    return load(
        files or None,
        mapping=data.get("mapping"),
        shape=data.get("shape"),
        columns=_pairs(data.get("columns", ()), "--column") or None,
        constants=_pairs(data.get("constants", ()), "--constant") or None,
        encoding=data.get("encoding") or "utf-8",
        separator=data.get("separator"),
        sheet=data.get("sheet"),
        cities=data.get("cities_file"),
        framework=framework,
        registry=obj.registry(),
        max_input_size=obj.max_input_size,
        dataset=data.get("dataset"),
        indicators=data.get("indicator_files") or None,
    )


def scored(obj: Context, files: tuple[Path, ...], framework: Path | None = None, **kwargs: Any):
    """Load and score with every registered scorer (or the framework), printing the notes."""
    from benchmarkkit.api import score

    options = {k: kwargs.pop(k) for k in ("scorers", "years", "options", "levels") if k in kwargs}
    result = score(load_data(obj, files, framework, **kwargs), framework=framework, **options)
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    return result


def write_table(frame: pl.DataFrame, out: Path) -> None:
    """Write csv/parquet/json by suffix, atomically; CSV cells are made formula-safe."""
    from benchmarkkit.io.export import write_frame

    write_frame(frame, out)


def echo_frame(frame: pl.DataFrame, fmt: str, table_columns: Sequence[str] | None = None) -> None:
    """Print a frame as an aligned text table, CSV or JSON (records)."""
    from benchmarkkit.io.export import _flat, neutralise_formulas, text_table

    if fmt == "csv":
        click.echo(neutralise_formulas(_flat(frame)).write_csv(), nl=False)
    elif fmt == "json":
        import json

        click.echo(json.dumps(_flat(frame).to_dicts(), ensure_ascii=False, indent=1, default=str))
    else:
        shown = _flat(frame.select(table_columns) if table_columns else frame)
        click.echo(text_table(shown))


# ---------------------------------------------------------------------------------------------


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@data_options
@click.option(
    "--rejected",
    "rejected_out",
    type=click.Path(path_type=Path),
    help="Write the rejected rows (source, row, column, rule, message, hint) here.",
)
@click.option(
    "--warnings",
    "warnings_out",
    type=click.Path(path_type=Path),
    help="Write the warnings (rows kept but out of their plausible range) here.",
)
@click.option(
    "--show",
    default=20,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many rejected rows to print.",
)
@click.option("--rules", "list_rules", is_flag=True, help="List every validation rule and exit.")
@click.pass_obj
def validate(
    obj: Context,
    files: tuple[Path, ...],
    rejected_out: Path | None,
    warnings_out: Path | None,
    show: int,
    list_rules: bool,
    **data: Any,
) -> None:
    """Check data files against the indicator catalog; report every rejected row.

    Exit code 0 when every row was accepted, 1 when some were rejected, 2 when a file could not be
    used at all.
    """
    if list_rules:
        from benchmarkkit.io.validate import RULES

        for name, meaning in RULES.items():
            click.echo(f"{name:24} {meaning}")
        return
    if not files and not data.get("dataset"):
        fail(
            "give one or more data files to validate (CSV, Parquet, Arrow, Excel), "
            "or --dataset NAME for an embedded data set"
        )
    loaded = load_data(obj, files, **data)
    v = loaded.loaded.validated
    read, rejected = v.rows_read, v.rejected.filter(pl_row_not_null()).height
    accepted = v.observations.height
    ignored = f"ignored: {loaded.ignored}   " if loaded.ignored else ""
    click.echo(
        f"rows read: {read}   accepted: {accepted}   rejected: {rejected}   {ignored}"
        f"warnings: {v.warnings.height}"
    )
    if v.counts.height > 1:
        for row in v.counts.iter_rows(named=True):
            ignored_here = f", ignored {row['ignored']}" if row.get("ignored") else ""
            click.echo(
                f"  {row['source']}: read {row['read']}, accepted {row['accepted']}, "
                f"rejected {row['rejected']}{ignored_here}"
            )
    if v.rejected.height:
        click.echo("rejected by rule:")
        for row in v.by_rule.iter_rows(named=True):
            click.echo(f"  {row['rule']:24} {row['rows']}")
        for row in v.rejected.head(show).iter_rows(named=True):
            where = row["source"] + (f", row {row['row']}" if row["row"] is not None else "")
            where += f", column '{row['column']}'" if row["column"] else ""
            hint = f" ({row['hint']})" if row["hint"] else ""
            click.echo(f"  {where}: [{row['rule']}] {row['message']}{hint}")
        if v.rejected.height > show:
            click.echo(f"  … and {v.rejected.height - show} more (write them all with --rejected)")
    if rejected_out is not None:
        write_table(v.rejected, rejected_out)
        click.echo(f"rejected rows written to {rejected_out}")
    if warnings_out is not None:
        write_table(v.warnings, warnings_out)
        click.echo(f"warnings written to {warnings_out}")
    if loaded.unusable_files:
        sys.exit(2)
    if rejected:
        sys.exit(1)


def pl_row_not_null() -> Any:
    import polars as pl

    return pl.col("row").is_not_null()


@main.command()
@click.option("--focus-area", "focus_area", help="Only this ASCN focus area, e.g. safety_security.")
@click.option("--index", "index", help="Only indicators feeding this index.")
@click.option("--set", "set_name", help="Only this indicator set.")
@click.option(
    "--indicators",
    "indicator_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Also list the indicators of this CSV of your own (repeatable).",
)
@click.option(
    "--kind",
    type=click.Choice(["indicator", "raw", "context", "all"]),
    default="indicator",
    show_default=True,
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.pass_obj
def indicators(
    obj: Context,
    focus_area: str | None,
    index: str | None,
    set_name: str | None,
    kind: str,
    fmt: str,
    indicator_files: tuple[Path, ...],
) -> None:
    """List the indicator catalog (every registered indicator set, and your own).

    `--format csv` prints the columns an indicator CSV of your own has (`--indicators FILE`):
    one schema in and out.
    """
    import polars as pl

    from benchmarkkit.errors import InputError, did_you_mean
    from benchmarkkit.io.catalog import catalog_csv_frame, catalog_from_registry
    from benchmarkkit.io.load import own_catalog
    from benchmarkkit.io.mapping import Mapping

    catalog = own_catalog(catalog_from_registry(obj.registry()), Mapping(), indicator_files)
    areas = sorted(catalog["focus_area"].drop_nulls().unique().to_list())
    indices = sorted(catalog["indices"].explode().drop_nulls().unique().to_list())
    sets = sorted(catalog["set"].unique().to_list())
    for value, known, what, plural in (
        (focus_area, areas, "focus area", "focus areas"),
        (index, indices, "index", "indices"),
        (set_name, sets, "indicator set", "sets"),
    ):
        if value is not None and value not in known:
            raise InputError(
                f"unknown {what} '{value}'",
                hint=did_you_mean(value, known) or f"{plural}: {', '.join(known)}",
            )
    frame = catalog
    if kind != "all":
        frame = frame.filter(pl.col("kind") == kind)
    if focus_area:
        frame = frame.filter(pl.col("focus_area") == focus_area)
    if index:
        frame = frame.filter(pl.col("indices").list.contains(index))
    if set_name:
        frame = frame.filter(pl.col("set") == set_name)
    frame = frame.sort("set", "focus_area", "id", nulls_last=True)
    echo_frame(
        catalog_csv_frame(frame),
        fmt,
        table_columns=["id", "name", "unit", "direction", "focus_area", "indices"],
    )
    if fmt == "table":
        click.echo(f"{frame.height} indicators")


@main.command()
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_obj
def plugins(obj: Context, show_all: bool, fmt: str) -> None:
    """List plugins: name, version, source, hooks and what each registered."""
    import json

    registry = obj.registry(quiet=fmt == "json")
    infos = [p for p in registry.plugins if show_all or not p.builtin or p.error]
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "version": p.version,
                        "source": p.source,
                        "builtin": p.builtin,
                        "hooks": p.hooks,
                        "registered": p.registered,
                        "error": p.error,
                    }
                    for p in infos
                ],
                indent=2,
            )
        )
        return
    if not infos:
        click.echo("no third-party plugins (use --all to see the built-in ones)")
    for p in infos:
        status = f"  ERROR: {p.error}" if p.error else ""
        click.echo(f"{p.name} {p.version or ''}  [{p.source}]{status}")
        if p.hooks:
            click.echo(f"    hooks: {', '.join(p.hooks)}")
        for kind, names in p.registered.items():
            click.echo(f"    {kind}: {', '.join(names)}")


@main.command()
@click.option(
    "--kind",
    type=click.Choice(["normaliser", "normalizer", "aggregator", "imputer", "treatment"]),
    help="Only this kind of method.",
)
@click.pass_obj
def methods(obj: Context, kind: str | None) -> None:
    """List every registered method with its parameters (and the plugin that registered it)."""
    registry = obj.registry()
    kind = "normaliser" if kind == "normalizer" else kind  # the American spelling is an alias
    for k in ("normaliser", "aggregator", "imputer", "treatment"):
        if kind and k != kind:
            continue
        click.echo(f"{k}s:")
        for name, method in sorted(registry.of(k).items()):
            params = ", ".join(f"{p.name}={p.default}" for p in method.params)
            owner = registry.owner[(k, name)]
            click.echo(f"  {name}({params})  — {method.summary}  [{owner}]")


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@data_options
@click.option(
    "--framework",
    "framework_file",
    type=click.Path(path_type=Path),
    help="A custom index: COINr iMeta .csv or native .toml.",
)
@click.option(
    "--scorer",
    "scorers",
    multiple=True,
    help="Scorer(s) to run (default: every registered scorer, or the framework).",
)
@click.option("--year", "years", multiple=True, type=int, help="Only these years (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), help="Write scores (.csv/.parquet/.json).")
@method_options
@click.option("--level", "levels", multiple=True, type=int, help="Only these levels in the output.")
@click.option(
    "--weights",
    "weights_out",
    type=click.Path(path_type=Path),
    help="Write each node's effective weight in its index here (csv/parquet/json).",
)
@click.pass_obj
def score(
    obj: Context,
    files: tuple[Path, ...],
    framework_file: Path | None,
    scorers: tuple[str, ...],
    years: tuple[int, ...],
    out: Path | None,
    denominate: bool | None,
    impute: str | None,
    treat: str | None,
    normalise: str | None,
    aggregate: str | None,
    reference: str | None,
    min_coverage: float | None,
    screen: float | None,
    levels: tuple[int, ...],
    weights_out: Path | None,
    steps: str | None,
    **data: Any,
) -> None:
    """Score cities: every node of every level, with ranks and coverage, as one long table."""
    import polars as pl

    options = score_options(
        denominate=denominate,
        impute=impute,
        treat=treat,
        normalise=normalise,
        aggregate=aggregate,
        reference=reference,
        min_coverage=min_coverage,
        screen=screen,
        steps=steps,
    )
    result = scored(
        obj,
        files,
        framework_file,
        scorers=scorers,
        years=list(years) or None,
        options=options,
        levels=levels or None,  # the engine then skips building the rows nobody asked for
        **data,
    )
    scores = result.scores
    if weights_out is not None:
        write_table(result.weights, weights_out)
        click.echo(f"effective weights written to {weights_out}")
    for row in result.warnings.group_by("scorer", "kind").len().sort("scorer", "kind").iter_rows():
        click.echo(f"warning: {row[0]}: {row[2]} × {row[1]} (see --out for details)", err=True)
    if out is not None:
        write_table(_with_names(scores, result.loaded.cities), out)
        methods = out.with_name(out.stem + ".methods.json")
        _write_json(methods, result.methods)
        click.echo(f"{scores.height} scores written to {out} (methods: {methods.name})")
        return
    top = scores.filter(pl.col("level") == pl.col("level").max().over("scorer"))
    shown = (
        top.filter(pl.col("score").is_not_null())
        .sort("scorer", "year", "rank")
        .group_by("scorer", "year", maintain_order=True)
        .head(10)
    )
    from benchmarkkit.io.export import text_table

    shown = _with_names(shown, result.loaded.cities)
    click.echo(
        text_table(
            shown.select("scorer", "year", "rank", "city_id", "city_name", "score", "coverage")
        )
    )
    click.echo(f"({top.height} index scores; write every level with --out FILE)")


def framework_option(fn: Any) -> Any:
    return click.option(
        "--framework",
        "framework_file",
        type=click.Path(path_type=Path),
        help="Your own index instead of the built-in ones: a COINr iMeta .csv or a native .toml.",
    )(fn)


def _write_json(path: Path, value: Any) -> None:
    import json

    from benchmarkkit.io.export import atomic_write

    text = json.dumps(value, ensure_ascii=False, indent=1) + "\n"
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def _ids(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _with_names(scores: pl.DataFrame, cities: pl.DataFrame) -> pl.DataFrame:
    """The score rows with each city's name beside its id (a reader knows cities by name).

    Names are gathered by each id's category code, not joined on the text: the output of a large
    run has tens of millions of rows and only as many distinct ids as cities."""
    import polars as pl

    ids = scores["city_id"].cast(pl.Categorical)
    known = cities["city_id"].cast(pl.Categorical).to_physical()
    size = max(int(ids.to_physical().max() or 0), int(known.max() or 0)) + 1
    row_of = pl.repeat(None, size, dtype=pl.UInt32, eager=True).scatter(
        known, pl.int_range(known.len(), dtype=pl.UInt32, eager=True)
    )  # category code → row of the cities table (null: an id the table lacks)
    names = cities["city_name"].cast(pl.Categorical).gather(row_of.gather(ids.to_physical()))
    at = scores.columns.index("city_id") + 1
    # on a (shallow) copy: ``insert_column`` works in place, and the caller's scores stay as
    # they were (a second call raised DuplicateError)
    return scores.clone().insert_column(at, names.alias("city_name"))


def target_options(fn: Any) -> Any:
    """--city, --year and --peers: who is compared, when, and with whom (compare/report/chart)."""
    fn = click.option(
        "--peers",
        "peer_spec",
        default="size:3",
        show_default=True,
        cls=RegistryHelp,
        kind="peer_rule",
        lead="",
    )(fn)
    fn = click.option(
        "--highlight",
        metavar="ID,…",
        help="Cities to name in every chart, whatever the size of the group (ids or names).",
    )(fn)
    fn = click.option(
        "--min-peers",
        type=click.IntRange(min=1),
        default=3,
        show_default=True,
        help="Fewest peers with a score for a rank, a peer median or a gap (else the report says "
        "why).",
    )(fn)
    fn = click.option(
        "--year",
        type=int,
        help="Year (default: the latest in which the city and --min-peers peers have an index).",
    )(fn)
    return click.option(
        "--city", help="City id or name (default: the data set's own, the demo's Madrid)."
    )(fn)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@data_options
@target_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="Write the summary (.csv/.parquet/.json)."
)
@click.option("--no-levers", is_flag=True, help="Skip the levers (they re-score the data).")
@click.option(
    "--uncertainty",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="SAMPLES",
    help="Give each index's rank its 90 % range over this many re-scorings (0 = none).",
)
@framework_option
@click.pass_obj
def compare(
    obj: Context,
    files: tuple[Path, ...],
    framework_file: Path | None,
    city: str | None,
    year: int | None,
    peer_spec: str,
    min_peers: int,
    highlight: str | None,
    fmt: str,
    out: Path | None,
    no_levers: bool,
    uncertainty: int,
    **data: Any,
) -> None:
    """Compare a city with its peers: scores, ranks, gaps, change, strengths, weaknesses, levers."""
    import polars as pl

    from benchmarkkit.api import compare as compare_city

    if files and city is None:
        fail("give the city to compare with --city ID")
    comparison = compare_city(
        scored(obj, files, framework_file, **data),
        city=city,
        year=year,
        peers=peer_spec,
        levers=not no_levers,
        min_peers=min_peers,
        uncertainty=uncertainty,
    )
    summary = comparison.summary
    if out is not None:
        write_table(summary, out)
        click.echo(f"comparison written to {out}")
        return
    if fmt != "table":
        echo_frame(summary, fmt)
        return
    click.echo(
        f"{comparison.city_name} ({comparison.city_id}), {comparison.year}: "
        f"{len(comparison.peers) - 1} peers ({peer_spec}); previous year "
        f"{comparison.previous_year or '–'}"
    )
    echo_frame(
        summary.sort("scorer", "level", "node", descending=[False, True, False]),
        "table",
        table_columns=[
            "scorer",
            "node",
            "status",
            "score",
            "rank",
            "n_ranked",
            "peer_median",
            "gap_to_median",
            "coverage",
            "change",
            "change_basis",
            "comparable",
            "rank_change",
            *(["rank_low", "rank_high"] if uncertainty else []),
        ],
    )
    for title, frame in (
        ("strengths", comparison.strengths),
        ("weaknesses", comparison.weaknesses),
    ):
        click.echo(f"\n{title}:")
        echo_frame(
            frame,
            "table",
            table_columns=[
                c
                for c in ("scorer", "name", "rank", "n_ranked", "value", "peer_median")
                if c in frame.columns
            ],
        )
    if comparison.levers.height:
        click.echo("\nlevers (index gain if the city reached the peer median, re-scored):")
        echo_frame(
            comparison.levers.filter(pl.col("gain") > 0),
            "table",
            table_columns=["scorer", "name", "value", "target", "gain"],
        )


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@data_options
@target_options
@click.option("--lang", default="en", show_default=True, help="Report language: en, vi or zh.")
@click.option(
    "--uncertainty",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="SAMPLES",
    help="Add 'How sure is this rank?': re-score this many times with other weights, "
    "normalisation and outlier treatment (about 5 s per 100 on the demo; 0 = none).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="The HTML file to write (default report.html; with --all, a folder).",
)
@click.option(
    "--all",
    "batch",
    is_flag=True,
    help="One report per city of the peer group, written into the --out folder.",
)
@framework_option
@click.pass_obj
def report(
    obj: Context,
    files: tuple[Path, ...],
    framework_file: Path | None,
    city: str | None,
    year: int | None,
    peer_spec: str,
    min_peers: int,
    highlight: str | None,
    lang: str,
    uncertainty: int,
    out: Path | None,
    batch: bool,
    **data: Any,
) -> None:
    """Write the yearly comparison report: one HTML file that opens without a network."""
    from benchmarkkit import api

    if files and city is None:
        fail("give the city to report on with --city ID (the demo data default to Madrid, ES001C)")
    if batch:
        folder = out or Path("reports-out")
        if folder.suffix.lower() in (".html", ".htm"):
            fail(f"with --all, --out is a folder, got '{folder}'")
        run = scored(obj, files, framework_file, **data)
        batch_run = api.reports(
            run,
            city=city,
            year=year,
            peers=peer_spec,
            lang=lang,
            folder=folder,
            min_peers=min_peers,
        )
        with click.progressbar(batch_run, label="reports", file=None) as bar:
            written = [path for _, path in bar if path is not None]
        for line in batch_run.skipped:
            click.echo(f"skipped {line}", err=True)
        click.echo(f"{len(written)} reports written to {folder}")
        return
    out = out or Path("report.html")
    if out.suffix.lower() not in (".html", ".htm"):
        fail(f"--out must be an .html file, got '{out}'")
    done = api.report(
        scored(obj, files, framework_file, **data),
        city=city,
        year=year,
        peers=peer_spec,
        lang=lang,
        out=out,
        min_peers=min_peers,
        uncertainty=uncertainty,
        highlight=_ids(highlight),
    )
    click.echo(
        f"report for {done.city_name} ({done.city_id}), {done.year} written to {out}"
        f" ({len(done.html) // 1024} KiB)"
    )
    if done.attribution:
        click.echo(done.attribution)


CHART_KINDS = ("ranking", "heatmap", "strip", "trend", "slope", "coverage", "history")


@main.command()
@click.argument("kind", type=click.Choice(CHART_KINDS))
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@data_options
@target_options
@click.option(
    "--index",
    "index",
    default="livability",
    show_default=True,
    help="For the ranking chart: which index.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="FILE.html (self-contained), .png, .svg or .json (the Vega-Lite spec).",
)
@click.option("--lang", default="en", show_default=True, help="Chart language: en, vi or zh.")
@framework_option
@click.pass_obj
def chart(
    obj: Context,
    kind: str,
    files: tuple[Path, ...],
    framework_file: Path | None,
    city: str | None,
    year: int | None,
    peer_spec: str,
    min_peers: int,
    highlight: str | None,
    index: str,
    out: Path,
    lang: str,
    **data: Any,
) -> None:
    """Draw one chart of the report: ranking, heatmap, strip, trend, slope, coverage, history."""
    from benchmarkkit.api import chart as draw

    if out.suffix.lower() not in (".html", ".png", ".svg", ".json"):
        fail(f"--out must end in .html, .png, .svg or .json, got '{out}'")
    if files and city is None:
        fail("give the city to chart with --city ID")
    draw(
        scored(obj, files, framework_file, **data),
        kind,
        city=city,
        year=year,
        peers=peer_spec,
        index=index,
        out=out,
        lang=lang,
        min_peers=min_peers,
        highlight=_ids(highlight),
    )
    click.echo(f"{kind} chart written to {out}")


@main.command()
@click.option("--set", "set_name", help="The indicators of this indicator set.")
@click.option(
    "--framework",
    "framework_file",
    type=click.Path(path_type=Path),
    help="The indicators of this framework (.toml or COINr iMeta .csv).",
)
@click.option("--indicator", "ids", multiple=True, metavar="ID", help="One indicator (repeatable).")
@click.option(
    "--indicators",
    "indicator_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="An indicator CSV of your own, for your indicators' names, units and bounds.",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path),
    help="A mapping file whose [indicators.ID] tables declare your indicators.",
)
@click.option(
    "--city",
    "cities",
    multiple=True,
    required=True,
    metavar="ID[=NAME]",
    help="A city of the template (repeatable).",
)
@click.option(
    "--year", "years", multiple=True, required=True, type=int, help="A year (repeatable)."
)
@click.option(
    "--lang",
    type=click.Choice(["en", "vi", "zh"]),
    default="en",
    show_default=True,
    help="Language of the headers and instructions.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="FILE.xlsx (or .csv) to write."
)
@click.option(
    "--fill",
    "fill_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Prefill the values these data files already hold (read with --mapping/--indicators).",
)
@click.pass_obj
def template(
    obj: Context,
    set_name: str | None,
    framework_file: Path | None,
    ids: tuple[str, ...],
    indicator_files: tuple[Path, ...],
    mapping: Path | None,
    cities: tuple[str, ...],
    years: tuple[int, ...],
    lang: str,
    out: Path,
    fill_files: tuple[Path, ...],
) -> None:
    """Write a data-entry workbook for your indicators, cities and years (it validates as is)."""
    from benchmarkkit import api

    if not (set_name or framework_file or ids):
        fail("say which indicators: --set NAME, --framework FILE or --indicator ID")
    pairs = [tuple(c.split("=", 1)) if "=" in c else c for c in cities]
    fill = None
    if fill_files:
        fill = load_data(obj, fill_files, mapping=mapping, indicator_files=indicator_files or None)
    written = api.template(
        out,
        cities=pairs,
        years=years,
        indicator_set=set_name,
        framework=framework_file,
        indicators=ids,
        indicator_files=indicator_files or None,
        mapping=mapping,
        lang=lang,
        fill=fill,
        registry=obj.registry(),
    )
    click.echo(f"template for {len(cities)} cities × {len(years)} years written to {written}")


def _method_values(given: dict[str, Any]) -> dict[str, Any]:
    """Split the method options (for ``score_options``) from the data options (``**data``)."""
    return {k: given.pop(k) for k in METHOD_KEYS if k in given}


def _out_dir(out: Path) -> Path:
    if out.suffix:
        fail(f"--out is a folder for the CSV files, got '{out}'")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail(f"cannot create the folder '{out}' ({err.strerror})")
    return out


def _tables(results: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """One table per name over every index, with a ``scorer`` column first."""
    import polars as pl

    out = {}
    for name in names:
        frames = [
            getattr(r, name).select(pl.lit(scorer).alias("scorer"), pl.all())
            for scorer, r in results.items()
        ]
        out[name] = pl.concat(frames, how="diagonal_relaxed") if frames else None
    return out


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@data_options
@framework_option
@method_options
@click.option("--year", type=int, help="The year audited (default: each index's latest).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="A folder for stats.csv, correlations.csv, cronbach.csv, pca.csv, pca_loadings.csv, "
    "effective_weights.csv and warnings.csv.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table"]), help="Print the audit's warnings and alphas."
)
@click.pass_obj
def audit(
    obj: Context,
    files: tuple[Path, ...],
    framework_file: Path | None,
    year: int | None,
    out: Path | None,
    fmt: str | None,
    **given: Any,
) -> None:
    """The statistical audit of each index, as COINr computes it: statistics, correlations,
    Cronbach's alpha, PCA and effective weights, on the raw data and as scored."""
    import polars as pl

    from benchmarkkit import api

    if out is None and fmt is None:
        fail("say where the audit goes: --out FOLDER, or --format table")
    options = score_options(**_method_values(given))
    run = scored(obj, files, framework_file, options=options, **given)
    results = api.audit(run, year=year)
    tables = _tables(
        results,
        ("stats", "correlations", "cronbach", "pca", "pca_loadings", "effective_weights"),
    )
    warnings = pl.concat(
        [
            api.audit_warnings(r).select(pl.lit(s).alias("scorer"), pl.all())
            for s, r in results.items()
        ],
        how="diagonal_relaxed",
    )
    if out is not None:
        folder = _out_dir(out)
        for name, frame in {**tables, "warnings": warnings}.items():
            if frame is not None:
                write_table(frame, folder / f"{name}.csv")
        click.echo(f"audit of {', '.join(results)} written to {folder}")
    if fmt == "table" or out is None:
        for scorer, result in results.items():
            click.echo(f"{scorer} ({result.year}):")
            alphas = result.cronbach.filter(pl.col("stage") == "scored")
            echo_frame(alphas, "table", table_columns=["group", "level", "k", "alpha"])
        if warnings.height:
            click.echo("warnings:")
            for row in warnings.iter_rows(named=True):
                click.echo(f"  {row['scorer']}: {row['message']}")


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@data_options
@framework_option
@method_options
@click.option(
    "--vary",
    multiple=True,
    metavar="SPEC",
    help="An uncertain input (repeatable): weights:NOISE[@LEVEL], normalise:minmax,zscore, "
    "aggregate:arithmetic,geometric, impute:none,mean,group-mean:COL, treat:none,jrc, "
    "drop-indicator.",
)
@click.option("--samples", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option(
    "--method",
    type=click.Choice(["ua", "sobol"]),
    default="ua",
    show_default=True,
    help="ua: random samples; sobol: Saltelli's design and Sobol indices (SALib).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--year", type=int, help="The year analysed (default: each index's latest).")
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="ray: fan the batches out over a Ray cluster (pip install 'benchmarkkit[ray]').",
)
@click.option("--scorer", "scorers", multiple=True, help="Only this index (repeatable).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="A folder for ranks.csv, scores.csv, sobol.csv, design.csv and failures.csv.",
)
@click.pass_obj
def sensitivity(
    obj: Context,
    files: tuple[Path, ...],
    framework_file: Path | None,
    vary: tuple[str, ...],
    samples: int,
    method: str,
    seed: int,
    year: int | None,
    executor: str,
    scorers: tuple[str, ...],
    out: Path,
    **given: Any,
) -> None:
    """How sure are the ranks: re-score every index under uncertain choices, many times."""
    import polars as pl

    from benchmarkkit import api

    if not vary:
        fail(
            "say what is uncertain with --vary SPEC, e.g. --vary weights:0.25 --vary "
            "normalise:minmax,zscore"
        )
    folder = _out_dir(out)
    options = score_options(**_method_values(given))
    run = scored(obj, files, framework_file, options=options, **given)
    results = api.sensitivity(
        run,
        vary=vary,
        samples=samples,
        method=method,
        seed=seed,
        year=year,
        executor=executor,
        scorers=scorers,
    )
    tables = _tables(results, ("ranks", "scores", "sobol", "design", "failures"))
    for name, frame in tables.items():
        if frame is not None:
            write_table(frame, folder / f"{name}.csv")
    for scorer, r in results.items():
        failed = r.failures.row(0, named=True)["message"] if r.failures.height else ""
        click.echo(
            f"{scorer} ({r.year}): {r.n_samples} samples, {r.n_failed} failed"
            + (f" (first: {failed})" if failed else "")
        )
    top = tables["ranks"]
    if top is not None:
        widest = top.filter(pl.col("level") == pl.col("level").max().over("scorer")).sort(
            pl.col("rank_p95") - pl.col("rank_p05"), descending=True
        )
        click.echo(
            f"written to {folder}; widest rank interval: "
            + ", ".join(
                f"{r['scorer']} {r['city_id']} {r['rank_p05']}–{r['rank_p95']}"
                for r in widest.head(3).iter_rows(named=True)
            )
        )


if __name__ == "__main__":  # python -m benchmarkkit.cli
    main()
