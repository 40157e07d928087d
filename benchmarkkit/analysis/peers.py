"""Peer groups: which cities a city is measured against, chosen by a short spec.

A rank means little without saying *among whom*: Madrid's 54th of 900 European cities and its 3rd
of the Spanish cities are both true. The peer spec makes that choice explicit and repeatable::

    all                              every city with data that year
    ids:ES002C,ES003C  (or a bare ES002C,ES003C)   an explicit list
    country:ES   region:Southern Europe   network:EU27    any column of the cities table
    country                          a bare column: the same value as the city (for a list
                                     column such as networks: sharing any member)
    size:2                           population within a factor 2 (half to double)
    similar:5                        the 5 nearest cities on standardised context attributes
    region:Southern Europe+size:3    parts joined by ``+`` intersect

Only cities with data in the year can be peers (a city without data adds nothing to a ranking),
and the city itself is always in its group. ``similar:K`` is applied after the other parts, so
``region:Southern Europe+similar:5`` means the five most similar cities *of that region* — a pure
intersection with the five nearest cities overall would mostly be empty.

Each prefix (``all``, ``ids``, ``size``, ``similar`` — and a plugin's, e.g. ``province``) is a
``PeerRule`` registered through ``register_peer_rules``: a filter (a boolean expression over the
cities table) or a pick (choose among the cities every filter kept). The host, not the rule,
splits the spec at ``+`` and intersects the parts, so a plugin's ``province:Guangdong`` combines
with the built-in ``size:3`` whoever registered each. A part whose prefix no rule claims is read
as a column of the cities table (``country:ES``, a bare ``country``) or as a list of ids.
A plugin that wants the whole spec string still can: the ``select_peers`` hook is asked first.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.errors import InputError
from benchmarkkit.methods.aggregate import ordered_sum

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry

SPECS = (
    "all",
    "ids:A,B,C",
    "<column>:<value>",
    "<column>",
    "network:NAME",
    "size:F",
    "similar:K",
    "PART+PART",
)
"""The built-in spec forms, as the error messages list them."""

SPEC_HINT = "peer specs: " + ", ".join(SPECS) + " (e.g. country:ES, region:Southern Europe+size:3)"


@dataclass(frozen=True)
class PeerQuery:
    """What a peer rule is asked about: the text after its prefix (``"Guangdong"`` in
    ``province:Guangdong``), the city's own row of the cities table, the cities table, the year
    and the observations (only cities with data that year can be peers; the host sees to that)."""

    value: str
    city: dict[str, Any]
    cities: pl.DataFrame
    year: int
    observations: pl.DataFrame


@dataclass(frozen=True)
class PeerRule:
    """One prefix of the peer spec, as a plugin registers it with ``register_peer_rules``.

    Give ``filter`` — ``filter(query) -> pl.Expr``, a boolean expression over the cities table
    (rows where it is true stay) — or ``pick`` — ``pick(query, candidates) -> pl.DataFrame``,
    choosing among the cities that every filter of the spec kept (``similar:K`` is a pick, so
    ``region:X+similar:5`` means the five most similar of region X). Raise
    ``benchmarkkit.InputError`` with a hint for a bad value.
    """

    name: str
    """The prefix, lower case: ``size`` answers ``size:3``."""
    filter: Callable[[PeerQuery], pl.Expr] | None = None
    pick: Callable[[PeerQuery, pl.DataFrame], pl.DataFrame] | None = None
    summary: str = ""
    example: str = ""
    """A spec showing the rule, e.g. ``size:3`` (listed in ``--peers`` help)."""
    bare: bool = False
    """True when the prefix alone is a complete spec (``all``)."""
    kind: Literal["peer_rule"] = field(default="peer_rule", init=False)


NOT_SIMILARITY = frozenset({"population", "area_km2"})
"""Numeric columns ``similar:K`` does not standardise as they are: population enters as its
logarithm (a city of 2 million is as far from one of 1 million as 1 million is from 500 000) and
the administrative area is an accident of borders, not a trait of the city."""


def find_peers(
    registry: Registry,
    city_id: str,
    year: int,
    spec: str,
    cities: pl.DataFrame,
    observations: pl.DataFrame,
) -> list[str]:
    """The peer group of ``city_id``: the city first, then its peers sorted by id.

    Asks the ``select_peers`` hook (plugins first, the built-in selector last) and checks the
    answer, so a plugin's mistake (an unknown id, an empty group) reads the same as a user's.
    Not itself named ``select_peers``: that name belongs to the hook implementation at the end
    of this module, which pluggy finds by name.
    """
    check_city(city_id, cities)
    if not spec.strip():
        raise InputError("the peer spec is empty", hint=SPEC_HINT)
    answer = None
    if registry.manager is not None:
        from benchmarkkit.plugins import ask_select_peers  # each selector bounded, attributed

        answer = ask_select_peers(
            registry,
            city_id=city_id,
            year=year,
            spec=spec,
            cities=cities,
            observations=observations,
        )
    if answer is None:
        answer = by_rules(rules_of(registry), city_id, year, spec, cities, observations)
    return _group(city_id, year, spec, list(answer), cities)


def rules_of(registry: Registry) -> dict[str, PeerRule]:
    """The registered peer rules, each call bounded by the time limit and a crash named with
    its plugin; the built-ins when the registry holds none (a bare registry in a test)."""
    from benchmarkkit.plugins import call_plugin

    registered = registry.of("peer_rule") or {r.name: r for r in BUILTIN_RULES}
    out = {}
    for name, rule in registered.items():
        owner = registry.owner.get(("peer_rule", name), "peers")
        doing = f"peer rule '{name}'"

        def bounded(fn: Callable[..., Any] | None, _owner: str = owner, _doing: str = doing) -> Any:
            if fn is None:
                return None
            return lambda *args: call_plugin(_owner, _doing, registry.timeout, fn, *args)

        out[name] = PeerRule(
            name, bounded(rule.filter), bounded(rule.pick), rule.summary, rule.example, rule.bare
        )
    return out


def spec_help(registry: Registry) -> str:
    """The ``--peers`` help, from the registered rules (a plugin's rule is listed too)."""
    rules = sorted(rules_of(registry).values(), key=lambda r: r.name)
    forms = [r.example or f"{r.name}:VALUE" for r in rules]
    return (
        "Peer group: "
        + " | ".join([*forms, "<column>:<value>", "<column>"])
        + "; combine with '+' (intersection)."
    )


def check_city(city_id: str, cities: pl.DataFrame) -> None:
    """Refuse an unknown city with a hint that also matches city *names* (users type 'Madrid')."""
    if cities.filter(pl.col("city_id") == city_id).height:
        return
    raise InputError(f"unknown city '{city_id}'", hint=city_hint(city_id, cities))


def city_hint(word: str, cities: pl.DataFrame) -> str:
    """``did you mean 'ES001C' (Madrid)?`` from ids, names and names without their
    parenthesised qualifier ('Madrid (greater city)' → 'Madrid'); else an example of ids."""
    ids = cities["city_id"].to_list()
    names = cities["city_name"].to_list() if "city_name" in cities.columns else [None] * len(ids)
    label: dict[str, tuple[str, str | None]] = {}
    for cid, name in zip(ids, names, strict=True):
        label.setdefault(cid.lower(), (cid, name))
        if name:
            label.setdefault(name.lower(), (cid, name))
            label.setdefault(re.sub(r"\s*\(.*?\)", "", name).strip().lower(), (cid, name))
    match = difflib.get_close_matches(word.strip().lower(), list(label), n=1, cutoff=0.6)
    if match:
        cid, name = label[match[0]]
        return f"did you mean '{cid}'" + (f" ({name})?" if name else "?")
    shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
    return f"city ids look like: {shown}" if ids else "the cities table is empty"


def _group(
    city_id: str, year: int, spec: str, answer: list[str], cities: pl.DataFrame
) -> list[str]:
    unknown = sorted(set(answer) - set(cities["city_id"]))
    if unknown:
        raise InputError(
            f"peer spec '{spec}' chose unknown cities: {', '.join(unknown[:5])}",
            hint=city_hint(unknown[0], cities),
        )
    others = sorted(set(answer) - {city_id})
    if not others:
        raise InputError(
            f"the peer group of {city_id} for '{spec}' is empty: no other city with "
            f"data in {year} matches",
            hint="widen the spec, e.g. drop a '+' part",
        )
    return [city_id, *others]


# ---------------------------------------------------------------------------------------------
# the built-in selector


def by_rules(
    rules: dict[str, PeerRule],
    city_id: str,
    year: int,
    spec: str,
    cities: pl.DataFrame,
    observations: pl.DataFrame,
) -> list[str]:
    """The spec's parts intersect as one boolean expression; a pick part then chooses among the
    rest. Only cities with data in the year are candidates."""
    parts = [p.strip() for p in spec.split("+")]
    if not all(parts):
        raise InputError(f"peer spec '{spec}' has an empty part", hint=SPEC_HINT)
    city = cities.filter(pl.col("city_id") == city_id).row(0, named=True)
    with_data = observations.filter(pl.col("year") == year).select("city_id").unique()
    keep = pl.col("city_id").is_in(with_data["city_id"].implode())
    picks: list[tuple[str, PeerRule, PeerQuery]] = []
    for part in parts:
        key, _, value = part.partition(":")
        rule = rules.get(key.strip().lower())
        if rule is None:
            keep = keep & _part(part, city, cities).fill_null(False)
            continue
        query = PeerQuery(value.strip(), city, cities, year, observations)
        if rule.pick is not None:
            picks.append((part, rule, query))
        if rule.filter is not None:
            keep = keep & rule.filter(query).fill_null(False)
    if len(picks) > 1:
        raise InputError(
            f"peer spec '{spec}' has two parts that pick ({picks[0][0]}, {picks[1][0]})",
            hint="give one of them",
        )
    chosen = cities.filter(keep & (pl.col("city_id") != city_id))
    for _, rule, query in picks:
        assert rule.pick is not None
        chosen = rule.pick(query, chosen)
    return [city_id, *chosen["city_id"].to_list()]


def _part(part: str, city: dict[str, Any], cities: pl.DataFrame) -> pl.Expr:
    """One spec part → a boolean expression over the cities table."""
    key, sep, value = part.partition(":")
    key, value = key.strip(), value.strip()
    if not sep:
        column = _column(key, cities)
        if column is not None:
            return _same_as(column, city, cities)
        return _ids(part, cities)
    column = _column(key, cities)
    if column is None:
        guess = _close(key, ["all", "ids", "size", "similar", "network", *cities.columns])
        raise InputError(
            f"unknown peer spec '{part}': the cities table has no column '{key}'",
            hint=guess or f"{SPEC_HINT}; columns: {', '.join(cities.columns)}",
        )
    return _equals(column, value, cities)


def _column(key: str, cities: pl.DataFrame) -> str | None:
    """A column by name, case-insensitively; ``network`` also finds ``networks``."""
    by_lower = {c.lower(): c for c in cities.columns}
    lower = key.lower()
    return by_lower.get(lower) or (by_lower.get("networks") if lower == "network" else None)


def _ids(text: str, cities: pl.DataFrame) -> pl.Expr:
    ids = [t.strip() for t in text.split(",") if t.strip()]
    known = set(cities["city_id"])
    for cid in ids:
        if cid not in known:
            if len(ids) == 1 and "," not in text:
                raise InputError(f"unknown peer spec '{text}'", hint=SPEC_HINT)
            raise InputError(f"unknown city '{cid}' in the peer list", hint=city_hint(cid, cities))
    if not ids:
        raise InputError("the peer list is empty", hint="give ids:A,B,C")
    return pl.col("city_id").is_in(ids)


def _equals(column: str, value: str, cities: pl.DataFrame) -> pl.Expr:
    """Case-insensitive match; a list column matches when the value is one of its members."""
    dtype = cities.schema[column]
    want = value.lower()
    if isinstance(dtype, pl.List):
        expr = pl.col(column).list.eval(pl.element().cast(pl.String).str.to_lowercase())
        members = cities.select(pl.col(column).explode().cast(pl.String).drop_nulls().unique())
        values, expr = members.to_series().to_list(), expr.list.contains(want)
    else:
        expr = pl.col(column).cast(pl.String).str.to_lowercase() == want
        values = cities[column].cast(pl.String).drop_nulls().unique().sort().to_list()
    if want not in {v.lower() for v in values}:
        shown = ", ".join(sorted(values)[:8]) + (" …" if len(values) > 8 else "")
        raise InputError(
            f"no city has {column} '{value}'",
            hint=_close(value, values) or f"values of {column}: {shown}",
        )
    return expr


def _close(word: str, values: list[str]) -> str | None:
    by_lower = {v.lower(): v for v in values}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"did you mean '{by_lower[match[0]]}'?" if match else None


def _same_as(column: str, city: dict[str, Any], cities: pl.DataFrame) -> pl.Expr:
    """A bare column: the city's own value (for a list column, sharing any member)."""
    own = city[column]
    if own is None or (isinstance(own, list) and not own):
        raise InputError(
            f"{city['city_id']} has no {column} to match peers on",
            hint="give a value, e.g. " + f"{column}:VALUE",
        )
    if isinstance(cities.schema[column], pl.List):
        return pl.col(column).list.eval(pl.element().is_in(own)).list.any()
    return pl.col(column) == own


def _size(query: PeerQuery) -> pl.Expr:
    """Population within a factor F either way: size:2 keeps half to double the city's size."""
    value, city, cities = query.value, query.city, query.cities
    try:
        factor = float(value)
    except ValueError:
        factor = math.nan
    if not factor >= 1:
        raise InputError(f"size:{value} needs a factor of at least 1", hint="e.g. size:2")
    population = city.get("population")
    if "population" not in cities.columns or population is None or population <= 0:
        raise InputError(
            f"{city['city_id']} has no population, so size:F cannot be used",
            hint="add population to the cities table, or use another spec",
        )
    return pl.col("population").is_between(population / factor, population * factor)


def _nearest(query: PeerQuery, candidates: pl.DataFrame) -> pl.DataFrame:
    """The K candidates nearest to the city, Euclidean on z-scores computed over *all* cities
    (so a peer's distance does not depend on which other parts narrowed the candidates)."""
    text, city, cities = query.value, query.city, query.cities
    if not text.isdigit() or int(text) < 1:
        raise InputError(f"similar:{text} needs a whole number of cities", hint="e.g. similar:5")
    attributes = similarity_attributes(cities, city)
    if not attributes:
        raise InputError(
            f"{city['city_id']} has no numeric context (population, climate …) "
            "to measure similarity on",
            hint="use another spec, e.g. country:XX",
        )
    z = cities.select("city_id", *[_zscore(c).alias(c) for c in attributes]).drop_nulls()
    me = z.filter(pl.col("city_id") == city["city_id"]).row(0, named=True)
    # the same bits every run: two cities at equal distance keep their order (by id)
    distance = ordered_sum([(pl.col(c) - me[c]) ** 2 for c in attributes]).sqrt()
    return (
        z.join(candidates.select("city_id"), on="city_id", how="semi")
        .with_columns(distance.alias("_distance"))
        .sort("_distance", "city_id")
        .head(int(text))
    )


def similarity_attributes(cities: pl.DataFrame, city: dict[str, Any]) -> list[str]:
    """log population plus every other numeric context column the city has a value for
    (climate, income …), leaving out area and bookkeeping columns (``*_year``, ``*_id``)."""

    def has(name: str) -> bool:
        value = city.get(name)
        return value is not None and not (isinstance(value, float) and math.isnan(value))

    out = []
    if "population" in cities.columns and has("population") and city["population"] > 0:
        out.append("population")
    for name, dtype in cities.schema.items():
        if (
            dtype.is_numeric()
            and name not in NOT_SIMILARITY
            and not name.endswith(("_year", "_id", "_code"))
            and has(name)
        ):
            out.append(name)
    return out


def _zscore(column: str) -> pl.Expr:
    """Standardised attribute; a constant attribute cannot separate cities and counts as 0."""
    x = pl.col(column).cast(pl.Float64).fill_nan(None)
    if column == "population":
        x = pl.when(x > 0).then(x.log())
    sd = x.std()
    return pl.when(sd > 0).then((x - x.mean()) / sd).otherwise(x * 0.0)


def _all(query: PeerQuery) -> pl.Expr:
    if query.value:
        raise InputError(f"'all:{query.value}' takes no value", hint="write just 'all'")
    return pl.lit(True)


def _id_list(query: PeerQuery) -> pl.Expr:
    return _ids(query.value, query.cities)


BUILTIN_RULES = (
    PeerRule(
        "all", filter=_all, summary="every city with data that year", example="all", bare=True
    ),
    PeerRule("ids", filter=_id_list, summary="an explicit list of city ids", example="ids:A,B"),
    PeerRule(
        "size",
        filter=_size,
        summary="population within a factor F (half to double: 2)",
        example="size:F",
    ),
    PeerRule(
        "similar",
        pick=_nearest,
        summary="the K cities nearest on standardised context",
        example="similar:K",
    ),
)


@hookimpl
def register_peer_rules(register: Any) -> None:
    """The built-in rules, registered exactly as a plugin's would be."""
    for rule in BUILTIN_RULES:
        register(rule)
