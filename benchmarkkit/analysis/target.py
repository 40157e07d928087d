"""Whom and when a comparison is about: a city given by id or name, and the year to look at.

Defined once here, so ``compare``, the report, its charts and the batch of reports resolve "the
city" and "the default year" the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from benchmarkkit.errors import InputError, did_you_mean


@dataclass(frozen=True)
class Target:
    city_id: str
    city_name: str
    year: int
    previous_year: int | None


def resolve_city(cities: pl.DataFrame, city: str) -> tuple[str, str]:
    """A city id, or a unique city name (case-insensitive); else a did-you-mean error."""
    ids = cities["city_id"].to_list()
    names = cities["city_name"].fill_null("").to_list()
    if city in ids:
        row = cities.filter(pl.col("city_id") == city)
        return city, row["city_name"][0] or city
    matches = cities.filter(pl.col("city_name").str.to_lowercase() == city.lower())
    if matches.height == 1:
        return matches["city_id"][0], matches["city_name"][0]
    if matches.height > 1:
        raise InputError(
            f"'{city}' names {matches.height} cities",
            hint=f"use an id: {', '.join(matches['city_id'].to_list()[:5])}",
        )
    guess = did_you_mean(city, ids) or did_you_mean(city, [n for n in names if n])
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


def resolve_target(
    cities: pl.DataFrame, scores: pl.DataFrame, city: str, year: int | None
) -> Target:
    city_id, city_name = resolve_city(cities, city)
    year, previous = resolve_year(scores, city_id, year)
    return Target(city_id, city_name, year, previous)
