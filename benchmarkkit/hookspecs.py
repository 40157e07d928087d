"""Every hook benchmarkkit calls. The docstrings are the plugin author's reference.

A plugin is any module (an installed package's entry point in the ``benchmarkkit`` group, a single
``.py`` file passed with ``--plugin``, or a file in ``--plugins-dir``) with functions decorated by
``benchmarkkit.hookimpl`` and named like the hooks below. The ``register_*`` hooks receive a
``register`` callable: call it once per object you provide; the host validates the object, tags it
with your plugin's name and refuses name clashes. Hook implementations may accept fewer arguments
than the spec (so hooks can grow without breaking plugins), never more or differently named ones.

Built-in methods, scorers, the indicator catalog and the report sections are registered through
these same hooks: the core never imports its defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import polars as pl

hookspec = pluggy.HookspecMarker("benchmarkkit")

Register = Callable[[Any], None]


@hookspec
def register_scorers(register: Register) -> None:
    """Register composite indices: ``register(benchmarkkit.Scorer(...))``.

    A ``Scorer`` names the index, its framework (the tree indicators → groups → index, with weights
    and directions) and its default methods. The engine runs every registered scorer through the
    same pipeline (denominate → impute → treat → normalise → aggregate → rank); a scorer only
    *describes*.
    Scorer names must be unique across plugins: a clash is an error naming both plugins.
    """


@hookspec
def register_normalisers(register: Register) -> None:
    """Register normalisation methods: ``register(benchmarkkit.methods.spec.Normaliser(...))``.

    ``fn(x, params)`` returns a Polars expression of the direction-adjusted value ``x`` that the
    engine evaluates per (indicator, year) partition. See ``benchmarkkit.methods.spec`` for the
    contract.
    """


@hookspec
def register_aggregators(register: Register) -> None:
    """Register aggregation methods: ``register(benchmarkkit.methods.spec.Aggregator(...))``.

    ``fn(x, w, params)`` is evaluated in a ``group_by`` over the children present for one city,
    year and parent; ``frame_fn`` instead receives the whole child frame (for methods such as
    Copeland that compare cities with each other).
    """


@hookspec
def register_imputers(register: Register) -> None:
    """Register imputation methods: ``register(benchmarkkit.methods.spec.Imputer(...))``.

    Imputed cells are flagged ``imputed`` by the engine; a method only computes the fill value.
    """


@hookspec
def register_treatments(register: Register) -> None:
    """Register outlier treatments: ``register(benchmarkkit.methods.spec.Treatment(...))``."""


@hookspec
def register_indicator_sets(register: Register) -> None:
    """Register indicator catalogs: ``register(benchmarkkit.IndicatorSet(name, path))``.

    The file is a CSV with at least ``id, short_name, unit, higher_is_better, focus_area, indices``
    (see ``indicators/README.md`` for every column). Indicator ids must be unique across sets.
    """


@hookspec
def register_loaders(register: Register) -> None:
    """Register readers for more file formats: ``register(benchmarkkit.Loader(...))``.

    A ``Loader`` has ``suffixes`` (e.g. ``(".json",)``) and ``read(path, options) -> pl.DataFrame``
    returning the file's table *as text columns* (validation then types it, row by row).
    """


@hookspec
def register_report_sections(register: Register) -> None:
    """Register sections of the yearly report: ``register(benchmarkkit.ReportSection(...))``.

    A section has a name, an ``order`` (lower comes first) and ``render(context) -> str`` returning
    an HTML fragment. Text from data must be escaped with ``html.escape``.
    """


@hookspec
def register_peer_rules(register: Register) -> None:
    """Register a prefix of the peer spec: ``register(benchmarkkit.PeerRule(...))``.

    A ``PeerRule`` has a ``name`` (the prefix, e.g. ``province`` for ``province:Guangdong``) and
    either ``filter(query) -> pl.Expr`` (a boolean expression over the cities table) or
    ``pick(query, candidates) -> pl.DataFrame`` (choose among the cities the filters kept, as
    ``similar:K`` does). ``query`` is a ``PeerQuery``: ``value`` (the text after the colon),
    ``city`` (the city's row), ``cities``, ``year`` and ``observations``. The host splits the spec
    at ``+`` and intersects the parts, so a plugin's rule combines with every other rule.
    """


@hookspec(firstresult=True)
def select_peers(
    city_id: str, year: int, spec: str, cities: pl.DataFrame, observations: pl.DataFrame
) -> list[str] | None:
    """Choose the peer group of ``city_id`` for a peer ``spec`` (e.g. ``similar:5``).

    Return the list of peer city ids (the city itself included or not: the host adds it), or
    ``None`` to let the next plugin decide. The first non-``None`` answer wins; when no plugin
    answers, the spec is read with the registered peer rules (``register_peer_rules``), which
    is the simpler way to add a prefix: it then combines with the others through ``+``.
    """
