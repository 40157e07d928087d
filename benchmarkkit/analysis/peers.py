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

Choosing peers is the ``select_peers`` hook (first answer wins): a plugin can add specs or override
these. The built-in selector below runs last.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.errors import InputError

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
    manager = registry.manager
    if manager is None:
        answer = _builtin(city_id, year, spec, cities, observations)
    else:
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
        raise InputError(f"no peer selector understands '{spec}'", hint=SPEC_HINT)
    return _group(city_id, year, spec, list(answer), cities)


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


def _builtin(
    city_id: str, year: int, spec: str, cities: pl.DataFrame, observations: pl.DataFrame
) -> list[str]:
    """Filters intersect as one boolean expression; ``similar:K`` then picks among the rest."""
    parts = [p.strip() for p in spec.split("+")]
    if not all(parts):
        raise InputError(f"peer spec '{spec}' has an empty part", hint=SPEC_HINT)
    nearest = [p for p in parts if p.lower().startswith("similar:")]
    if len(nearest) > 1:
        raise InputError(f"peer spec '{spec}' asks for similar:K twice", hint="give it once")
    city = cities.filter(pl.col("city_id") == city_id).row(0, named=True)
    with_data = observations.filter(pl.col("year") == year).select("city_id").unique()
    keep = pl.col("city_id").is_in(with_data["city_id"].implode())
    for part in parts:
        if part not in nearest:
            keep = keep & _part(part, city, cities).fill_null(False)
    chosen = cities.filter(keep & (pl.col("city_id") != city_id))
    if nearest:
        chosen = _nearest(nearest[0], city, cities, chosen)
    return [city_id, *chosen["city_id"].to_list()]


def _part(part: str, city: dict[str, Any], cities: pl.DataFrame) -> pl.Expr:
    """One spec part → a boolean expression over the cities table."""
    key, sep, value = part.partition(":")
    key, value = key.strip(), value.strip()
    lower = key.lower()
    if not sep:
        if lower == "all":
            return pl.lit(True)
        column = _column(key, cities)
        if column is not None:
            return _same_as(column, city, cities)
        return _ids(part, cities)
    if lower == "ids":
        return _ids(value, cities)
    if lower == "size":
        return _size(value, city, cities)
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


def _size(value: str, city: dict[str, Any], cities: pl.DataFrame) -> pl.Expr:
    """Population within a factor F either way: size:2 keeps half to double the city's size."""
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


def _nearest(
    part: str, city: dict[str, Any], cities: pl.DataFrame, candidates: pl.DataFrame
) -> pl.DataFrame:
    """The K candidates nearest to the city, Euclidean on z-scores computed over *all* cities
    (so a peer's distance does not depend on which other parts narrowed the candidates)."""
    text = part.partition(":")[2].strip()
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
    distance = pl.sum_horizontal([(pl.col(c) - me[c]) ** 2 for c in attributes]).sqrt()
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


@hookimpl(trylast=True)
def select_peers(
    city_id: str, year: int, spec: str, cities: pl.DataFrame, observations: pl.DataFrame
) -> list[str] | None:
    """The built-in specs (see the module docstring); it runs last so plugins can override."""
    return _builtin(city_id, year, spec, cities, observations)
