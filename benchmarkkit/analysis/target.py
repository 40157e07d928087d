"""Whom and when a comparison is about: a city given by id or name, and the year to look at.

Defined once here, so ``compare``, the report, its charts and the batch of reports resolve "the
city" and "the default year" the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.errors import InputError, did_you_mean

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class Target:
    city_id: str
    city_name: str
    year: int
    previous_year: int | None
    scored: bool = True
    """False for a city that has data but no index score in any year: the report then says
    what the data can and cannot say about it (``compare``'s status "not scored")."""


SUFFIXES = ("市", "city", "city of", "greater city", "metropolitan", "municipality")
"""Words a name may carry or not, in any language the data hold: Shenzhen = 深圳 = 深圳市,
Lisboa = Lisboa (greater city)."""


def _plain(name: str) -> str:
    """A name as people type it: NFKC, lower case, no parenthesised qualifier, no suffix word,
    no spaces or punctuation."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFKC", name).lower()
    text = re.sub(r"\s*[\(（].*?[\)）]", "", text).strip()
    for suffix in SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
        if text.startswith(suffix + " "):
            text = text[len(suffix) + 1 :]
    return re.sub(r"[\s\-_'’.,]+", "", text)


def _name_columns(cities: pl.DataFrame) -> list[str]:
    """Every column holding a city's name: ``city_name`` and names in other languages
    (``name_local``, ``name_zh``, ``city_name_en`` …)."""
    return [
        c
        for c, dtype in cities.schema.items()
        if dtype == pl.String
        and (c == "city_name" or c.startswith("name") or "_name" in c)
        and c != "city_id"
    ]


def _closest_name(wanted: str, names: list[str]) -> str | None:
    """``did you mean 'Lisboa (greater city)'?`` for ``Lisbao``: names compared plain."""
    import difflib

    plain = {_plain(n): n for n in names}
    match = difflib.get_close_matches(wanted, list(plain), n=1, cutoff=0.6)
    return f"did you mean '{plain[match[0]]}'?" if match else None


def resolve_city(cities: pl.DataFrame, city: str) -> tuple[str, str]:
    """A city id, or a unique city name in any language the cities table holds (case-, space-
    and suffix-tolerant: ``Shenzhen``, ``深圳``, ``深圳市``); else a did-you-mean error."""
    ids = cities["city_id"].to_list()
    if city in ids:
        row = cities.filter(pl.col("city_id") == city)
        return city, row["city_name"][0] or city
    wanted = _plain(city)
    found: dict[str, str] = {}
    names: list[str] = []
    for column in _name_columns(cities):
        for cid, name in cities.select("city_id", column).iter_rows():
            if not name:
                continue
            names.append(name)
            if _plain(name) == wanted:
                found.setdefault(cid, name)
    if len(found) == 1:
        cid = next(iter(found))
        row = cities.filter(pl.col("city_id") == cid)
        return cid, row["city_name"][0] or found[cid]
    if len(found) > 1:
        raise InputError(
            f"'{city}' names {len(found)} cities",
            hint=f"use an id: {', '.join(sorted(found)[:5])}",
        )
    guess = did_you_mean(city, ids) or _closest_name(wanted, names)
    raise InputError(
        f"unknown city '{city}'",
        hint=guess
        or "list cities with `benchmarkkit score --out scores.csv` or check the city_id column",
    )


def resolve_year(scores: pl.DataFrame, city_id: str, year: int | None) -> tuple[int, int | None]:
    """The year asked for, or the city's latest year with an index score; and the year before
    it in which the city has any score (city statistics are irregular: 2004, 2008, 2014 …)."""
    mine = scores.filter(
        (pl.col("city_id") == city_id)
        & pl.col("score").is_not_null()
        & (pl.col("level") == pl.col("level").max().over("scorer"))
    )
    years = sorted(set(mine["year"].to_list()))
    if not years:
        raise InputError(
            f"city '{city_id}' has no index score in any year",
            hint="its data are too thin for every index; see `benchmarkkit score`",
        )
    if year is None:
        year = years[-1]
    elif year not in years:
        raise InputError(
            f"city '{city_id}' has no index score in {year}",
            hint=f"years with a score: {', '.join(map(str, years))}",
        )
    earlier = [
        y for y in sorted(set(scores.filter(pl.col("city_id") == city_id)["year"])) if y < year
    ]
    return year, (earlier[-1] if earlier else None)


def guarded_year(
    shown: pl.DataFrame,
    city_id: str,
    peers_for: Callable[[str, int], list[str]],
    min_peers: int,
) -> int | None:
    """The latest year in which the city and at least ``min_peers`` of its peers have the same
    index shown (``compare.shown_scores``: thin coverage withheld); when no year has, the
    city's latest year with an index shown (the report then says why there is no rank); None
    when the city has no index shown in any year.

    The peer group is asked for each candidate year, latest first (a rule such as ``all`` keeps
    the cities with data that year). A year whose group cannot be formed is skipped."""
    top = shown.filter(
        (pl.col("level") == pl.col("level").max().over("scorer")) & pl.col("score").is_not_null()
    )
    mine = top.filter(pl.col("city_id") == city_id).select("scorer", "year")
    for year in sorted(set(mine["year"].to_list()), reverse=True):
        try:
            group = set(peers_for(city_id, year)) - {city_id}
        except InputError:
            continue
        counts = (
            top.filter((pl.col("year") == year) & pl.col("city_id").is_in(list(group)))
            .join(mine.filter(pl.col("year") == year), on=["scorer", "year"], how="semi")
            .group_by("scorer")
            .len()
        )
        if counts.height and counts["len"].max() >= min_peers:  # type: ignore[operator]
            return year
    years = mine["year"]
    return int(years.max()) if years.len() else None  # type: ignore[arg-type]


def _has_score(scores: pl.DataFrame, city_id: str) -> bool:
    """The city has an index score (top level, not null) in some year."""
    return (
        scores.filter(
            (pl.col("city_id") == city_id)
            & pl.col("score").is_not_null()
            & (pl.col("level") == pl.col("level").max().over("scorer"))
        ).height
        > 0
    )


def unscored_year(
    observations: pl.DataFrame,
    city_id: str,
    year: int | None,
    shown: pl.DataFrame | None = None,
    peers_for: Callable[[str, int], list[str]] | None = None,
    min_peers: int = 3,
) -> int:
    """The year to look at for a city that has data but no index score in any year: the year
    asked for when the city has data then; else the latest year in which the city has data and
    at least ``min_peers`` peers have an index shown (so the report can say where they stand);
    else the city's latest year with data. A city with no data at all is an error."""
    years = sorted(
        set(observations.filter(pl.col("city_id") == city_id)["year"].drop_nulls().to_list())
    )
    if not years:
        raise InputError(
            f"city '{city_id}' has no data in any year",
            hint="nothing to report on: add its figures with `benchmarkkit template`",
        )
    if year is not None:
        if year not in years:
            raise InputError(
                f"city '{city_id}' has no data in {year}",
                hint=f"years with data: {', '.join(map(str, years[-12:]))}",
            )
        return year
    if shown is not None and peers_for is not None:
        top = shown.filter(
            (pl.col("level") == pl.col("level").max().over("scorer"))
            & pl.col("score").is_not_null()
        )
        for candidate in reversed(years):
            try:
                group = set(peers_for(city_id, candidate)) - {city_id}
            except InputError:
                continue
            counts = (
                top.filter((pl.col("year") == candidate) & pl.col("city_id").is_in(list(group)))
                .group_by("scorer")
                .len()
            )
            if counts.height and counts["len"].max() >= min_peers:  # type: ignore[operator]
                return candidate
    return years[-1]


def resolve_target(
    cities: pl.DataFrame,
    scores: pl.DataFrame,
    city: str,
    year: int | None,
    *,
    shown: Callable[[], pl.DataFrame] | None = None,
    peers_for: Callable[[str, int], list[str]] | None = None,
    min_peers: int = 3,
    observations: pl.DataFrame | None = None,
) -> Target:
    """The city and the year. Without a year and given ``shown`` (the shown scores, made on
    demand) and ``peers_for(city_id, year)``, the year is ``guarded_year``'s: the latest in which
    the city and at least ``min_peers`` peers have an index; else the city's latest scored year
    (and then the report says why there is no rank).

    Given ``observations``, a city with data but no index score in any year is a target too
    (``scored`` False, the year ``unscored_year``'s): its report says which indices the data
    cannot support for it and what it would need to report. Without them, or for a city with
    no data at all, that is an error."""
    city_id, city_name = resolve_city(cities, city)
    if observations is not None and not _has_score(scores, city_id):
        at = unscored_year(
            observations,
            city_id,
            year,
            shown() if shown is not None and year is None else None,
            peers_for,
            min_peers,
        )
        return Target(city_id, city_name, at, None, scored=False)
    if year is None and shown is not None and peers_for is not None:
        year = guarded_year(shown(), city_id, peers_for, min_peers)
    year, previous = resolve_year(scores, city_id, year)
    return Target(city_id, city_name, year, previous)
