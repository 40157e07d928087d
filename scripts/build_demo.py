"""Build benchmarkkit's embedded demo data from the Eurostat / DG REGIO city files.

Why a script and not a hand-made parquet: the demo must be reproducible from the openly licensed
originals, and every stored value must point back at its line in the original CSV (``source`` and
``row``), so a report reader can check any number against Eurostat.

Inputs (the folder described by its ``SOURCE.md``)::

    urban_audit_panel_2015_2024.csv   7 Urban Audit variables, 2015-2024
    urb_cenv_selected_2004_2019.csv   13 urb_cenv environment variables
    qol_survey_2023.csv (+ _cities, _questions)   Quality of Life in European Cities 2023

Outputs (``benchmarkkit/data/demo/``)::

    observations.parquet   columns.OBSERVATIONS, one row per city x year x indicator
    cities.parquet         columns.CITIES plus context columns

How source variables become indicators is declared in ``indicators/eurostat_urban_audit.csv``
(column ``source_code``), read here so the two cannot drift apart. Three variables reuse a row of
the standard catalog ``indicators/iso_u4ssc.csv`` instead (same concept, see ``CATALOG_REUSE``):

* ``TT1057I`` (cars per 1 000 residents) -> ``cars_per_capita``, stored **divided by 1 000**;
* ``EN3012V`` (population connected to drinking water, %) -> ``potable_water_coverage``;
* ``EN3013V`` (population connected to sewerage treatment, %) -> ``wastewater_collection_coverage``.

Per-capita indicators (unemployed per 1 000 residents …) are *not* stored: the engine derives them
from the raw counts as declared by the ``numerator``/``denominator``/``scale`` columns.

Usage::

    python scripts/build_demo.py [SOURCE_DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Final

import polars as pl

REPO: Final = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing the package

from benchmarkkit.columns import CITIES, OBSERVATIONS, conform  # noqa: E402

DEFAULT_SOURCE: Final = REPO / ".." / "shared" / "data" / "eurostat-urban-audit"
DEFAULT_OUT: Final = REPO / "benchmarkkit" / "data" / "demo"
INDICATOR_FILE: Final = REPO / "indicators" / "eurostat_urban_audit.csv"

PANEL: Final = "urban_audit_panel_2015_2024.csv"
CENV: Final = "urb_cenv_selected_2004_2019.csv"
SURVEY: Final = "qol_survey_2023.csv"
SURVEY_CITIES: Final = "qol_survey_2023_cities.csv"
SURVEY_YEAR: Final = 2023

CITY_CODE: Final = re.compile(r"^[A-Z]{2}\d{3}C$")
"""Urban Audit city code ``CCnnnC``; two-letter codes are national aggregates, not cities."""

CATALOG_REUSE: Final[dict[str, tuple[str, float]]] = {
    "TT1057I": ("cars_per_capita", 1 / 1000),
    "EN3012V": ("potable_water_coverage", 1.0),
    "EN3013V": ("wastewater_collection_coverage", 1.0),
}
"""Source code -> (catalog id, factor). The catalog row already defines these indicators; the factor
converts the source unit to the catalog's (cars per 1 000 -> cars per capita)."""

FLAG_WORDS: Final = {
    "b": "break",
    "e": "estimated",
    "p": "provisional",
    "u": "low_reliability",
    "d": "definition_differs",
}
"""Eurostat ``obs_flag`` letters -> the words of ``columns.OBSERVATIONS.flag``."""

SURVEY_MATCH_FIXES: Final[dict[str, str | None]] = {
    # Eurostat labels the Swiss city in English ("Geneva (greater city)"); same city as "Genève".
    "3101": "CH003C",
    # Eurostat's only Maltese city is "Greater Valletta"; the survey's ~860 interviews cannot come
    # from Valletta proper (about 6 000 residents), so the survey city is the greater city.
    "1901": "MT001C",
    # Not in the panel nor in urb_cenv, so there is no Eurostat label to check against. DK001C,
    # EL001C and IS001C are the Urban Audit codes of the capitals København, Athina and Reykjavík.
    "702": "DK001C",
    "1201": "EL001C",
    "2901": "IS001C",
    # "Tyneside conurbation" spans several Urban Audit cities (UK013C Newcastle upon Tyne, UK083C
    # Gateshead, UK082C North Tyneside, UK099C South Tyneside): no single code, keep it separate.
    "2806": None,
}
"""Survey city code -> Urban Audit code (None: deliberately unmatched), checked by hand where the
name check below cannot confirm the automatic match."""

SURVEY_COUNTRY_GROUPS: Final = {"32": "AL", "33": "MK", "34": "ME", "35": "RS", "36": "TR"}
"""The survey numbers cities by country (first digits, e.g. 28xx = UK). Groups with a matched city
get the country from its code; these five have none, so their country is set from the city names
(Tirana, Skopje, Podgorica, Beograd; Ankara, Istanbul, Antalya, Diyarbakir)."""

SUSPECT_POPULATION: Final = {("DE", 2024)}
"""(country, year) whose DE1001V values are kept as observations (Eurostat flags them ``break``)
but not used as the city's context population: the German 2024 values do not continue the series
of the same codes (Berlin 3.76 M in 2023, 0.32 M in 2024). ``check_population_breaks`` prints the
evidence."""

REGIONS: Final = {
    **dict.fromkeys(
        ["DK", "EE", "FI", "IE", "IS", "LT", "LV", "NO", "SE", "UK"], "Northern Europe"
    ),
    **dict.fromkeys(["AT", "BE", "CH", "DE", "FR", "LU", "NL"], "Western Europe"),
    **dict.fromkeys(
        ["AL", "EL", "ES", "HR", "IT", "ME", "MK", "MT", "PT", "RS", "SI"], "Southern Europe"
    ),
    **dict.fromkeys(["BG", "CZ", "HU", "PL", "RO", "SK"], "Eastern Europe"),
    # UN M49 puts Cyprus and Türkiye in Western Asia, not in Europe.
    **dict.fromkeys(["CY", "TR"], "Western Asia"),
}
"""UN M49 sub-region by Eurostat country code (EL = Greece, UK = United Kingdom)."""

EU27: Final = frozenset(
    {
        *("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU"),
        *("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"),
    }
)
NETWORKS: Final = {
    **{c: ["EU27"] for c in EU27},
    **{c: ["EFTA"] for c in ("CH", "IS", "NO")},
    "UK": ["UK"],
    **{c: ["candidate"] for c in ("AL", "ME", "MK", "RS", "TR")},
}
"""Membership as of the build: EU member states, EFTA states, the UK, and EU candidate countries."""


def read_lines(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Read a CSV with Python's csv module, keeping each record's first line number.

    Why not Polars: ``row`` must be the line number in the original file (header = line 1), which
    only a record-by-record reader gets right when a quoted field spans lines.
    """
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        records: list[tuple[int, list[str]]] = []
        last = reader.line_num
        for record in reader:
            if record:  # a blank line is not a record
                if len(record) != len(header):
                    raise ValueError(
                        f"{path.name}:{last + 1}: {len(record)} fields, not {len(header)}"
                    )
                records.append((last + 1, record))
            last = reader.line_num
    return header, records


def frame(path: Path) -> pl.DataFrame:
    """The file as text columns plus ``_line`` (the record's line number in the file)."""
    header, records = read_lines(path)
    columns = {name: [r[i] or None for _, r in records] for i, name in enumerate(header)}
    return pl.DataFrame(
        {"_line": [line for line, _ in records], **columns},
        schema={"_line": pl.Int64, **dict.fromkeys(header, pl.String)},
    )


def flag_words(letters: str | None) -> str | None:
    """``"bde"`` -> ``"break,definition_differs,estimated"``; unknown letters fail loudly."""
    if not letters:
        return None
    unknown = set(letters) - FLAG_WORDS.keys()
    if unknown:
        raise ValueError(f"unknown Eurostat flag letter(s) {sorted(unknown)} in {letters!r}")
    return ",".join(FLAG_WORDS[c] for c in letters)


def indicator_map() -> tuple[dict[str, tuple[str, float]], dict[str, str]]:
    """Source code -> (indicator id, factor) for stored values, and id -> kind.

    Derived rows (those with a numerator) are skipped: the engine computes them.
    """
    rows = pl.read_csv(INDICATOR_FILE, infer_schema_length=0)
    stored = rows.filter(pl.col("numerator").is_null())
    mapping = {code: (ident, 1.0) for ident, code in stored.select("id", "source_code").iter_rows()}
    clash = mapping.keys() & CATALOG_REUSE.keys()
    if clash:
        raise ValueError(f"{sorted(clash)} mapped both in {INDICATOR_FILE.name} and to the catalog")
    mapping.update(CATALOG_REUSE)
    kinds = dict(rows.select("id", "kind").iter_rows())
    kinds.update({ident: "indicator" for ident, _ in CATALOG_REUSE.values()})
    return mapping, kinds


def apply_mapping(df: pl.DataFrame, mapping: dict[str, tuple[str, float]]) -> pl.DataFrame:
    """Swap the source code for the indicator id; convert the unit where the catalog needs it."""
    unmapped = set(df["code"].unique()) - mapping.keys()
    if unmapped:
        raise ValueError(f"source codes without an indicator: {sorted(unmapped)}")
    ids = {code: ident for code, (ident, _) in mapping.items()}
    factors = {code: factor for code, (_, factor) in mapping.items()}
    return df.with_columns(
        pl.col("code").replace_strict(ids, return_dtype=pl.String).alias("indicator"),
        pl.col("value") * pl.col("code").replace_strict(factors, return_dtype=pl.Float64),
    )


def load_panel(source: Path, counts: Counter[str]) -> pl.DataFrame:
    """Panel rows with a value; confidential and empty cells are counted, not kept."""
    df = frame(source / PANEL)
    bad = df.filter(~pl.col("city_code").str.contains(CITY_CODE.pattern))
    if bad.height:
        raise ValueError(f"{PANEL}: non-city codes {bad['city_code'].unique().to_list()}")
    empty = df.filter(pl.col("value").is_null())
    for conf, flag, code, n in (
        empty.group_by("conf_status", "obs_flag", "indicator_code").len().sort(pl.all()).iter_rows()
    ):
        reason = "confidential" if conf == "C" else f"empty (flag {flag or 'none'})"
        counts[f"{PANEL}: {code} {reason}"] += n
    kept = df.filter(pl.col("value").is_not_null())
    return kept.select(
        pl.col("city_code").alias("city_id"),
        pl.col("year").cast(pl.Int32),
        pl.col("indicator_code").alias("code"),
        pl.col("value").cast(pl.Float64),
        pl.col("obs_flag").map_elements(flag_words, return_dtype=pl.String).alias("flag"),
        pl.lit(PANEL).alias("source"),
        pl.col("_line").alias("row"),
    )


def load_cenv(source: Path, counts: Counter[str]) -> pl.DataFrame:
    """urb_cenv rows of cities; the national aggregates (two-letter codes) are counted, not kept."""
    df = frame(source / CENV)
    national = df.filter(~pl.col("city_code").str.contains(CITY_CODE.pattern))
    for code, n in national.group_by("city_code").len().sort("city_code").iter_rows():
        counts[f"{CENV}: national aggregate {code} (not a city)"] += n
    empty = df.filter(pl.col("value").is_null()).height
    if empty:
        counts[f"{CENV}: empty value"] += empty
    kept = df.filter(
        pl.col("city_code").str.contains(CITY_CODE.pattern), pl.col("value").is_not_null()
    )
    return kept.select(
        pl.col("city_code").alias("city_id"),
        pl.col("year").cast(pl.Int32),
        pl.col("indicator_code").alias("code"),
        pl.col("value").cast(pl.Float64),
        pl.lit(None, pl.String).alias("flag"),
        pl.lit(CENV).alias("source"),
        pl.col("_line").alias("row"),
    )


def check_top2(df: pl.DataFrame) -> None:
    """Check that each TB_ Top2 share equals the sum of the two answers it recodes.

    Why: the Top2 rows of Q15-Q17 carry answer code -1, unlike the other questions; this proves that
    Top2 still means 'very good/good' and 'all/most of the time' as SOURCE.md says.
    """
    top_answers = {q: ("1", "2") for q in ("Q15", "Q16", "Q17")}
    base = df.filter(~pl.col("question_code").str.starts_with("TB_"))
    top2 = df.filter(pl.col("question_code").str.starts_with("TB_"), pl.col("answer") == "Top2")
    questions = top2["question_code"].str.strip_prefix("TB_").unique().to_list()
    # 4-point agree/satisfied scales: the top two answers are codes 3 and 4.
    wanted = pl.concat(
        [
            base.filter(
                pl.col("question_code") == q,
                pl.col("answer_code").is_in(top_answers.get(q, ("3", "4"))),
            )
            for q in questions
        ]
    )
    sums = wanted.group_by("survey_city_code", "question_code").agg(
        pl.col("share").cast(pl.Float64).sum().alias("expected")
    )
    joined = top2.with_columns(pl.col("question_code").str.strip_prefix("TB_")).join(
        sums, on=["survey_city_code", "question_code"], how="left"
    )
    diff = (pl.col("share").cast(pl.Float64) - pl.col("expected")).abs()
    worst = joined.select(diff.max()).item()
    print(f"check: TB_ Top2 = sum of the two top answers, max |difference| = {worst:.2e}")
    if worst is None or worst > 1e-4:
        raise ValueError("TB_ Top2 shares do not match their base answers")


def load_survey(source: Path, counts: Counter[str]) -> pl.DataFrame:
    """TB_ Top2 shares as % of respondents; everything else is counted as not used."""
    df = frame(source / SURVEY)
    check_top2(df.filter(pl.col("survey_city_code") != "TOTAL", pl.col("share").is_not_null()))
    counts[f"{SURVEY}: TOTAL rows (unweighted average of cities, not a city)"] += df.filter(
        pl.col("survey_city_code") == "TOTAL"
    ).height
    df = df.filter(pl.col("survey_city_code") != "TOTAL")
    is_top2 = pl.col("question_code").str.starts_with("TB_") & (pl.col("answer") == "Top2")
    counts[f"{SURVEY}: not used (answer distributions; TB_ Bot2/Middle/N/A rows)"] += df.filter(
        ~is_top2
    ).height
    # A question nobody answered (Tirana, Q13_5) has all-zero TB_ shares: missing, not 0 %.
    answered = (
        df.filter(pl.col("question_code").str.starts_with("TB_"))
        .group_by("survey_city_code", "question_code")
        .agg((pl.col("share").cast(pl.Float64).sum() > 0).alias("answered"))
    )
    top2 = df.filter(is_top2).join(answered, on=["survey_city_code", "question_code"], how="left")
    empty = top2.filter(pl.col("share").is_null() | ~pl.col("answered"))
    for city, question, n in (
        empty.group_by("survey_city_code", "question_code").len().sort(pl.all()).iter_rows()
    ):
        counts[f"{SURVEY}: empty Top2 share ({question}, survey city {city}: no answers)"] += n
    kept = top2.filter(pl.col("share").is_not_null(), pl.col("answered"))
    return kept.select(
        pl.col("survey_city_code"),
        pl.lit(SURVEY_YEAR, pl.Int32).alias("year"),
        pl.col("question_code").alias("code"),
        (pl.col("share").cast(pl.Float64) * 100).round(10).alias("value"),
        pl.lit(None, pl.String).alias("flag"),
        pl.lit(SURVEY).alias("source"),
        pl.col("_line").alias("row"),
    )


def normalise(name: str) -> str:
    """Comparable city name: no accents, no '(greater city)', no punctuation, lower case."""
    name = name.replace("(greater city)", "")
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]+", " ", plain.lower()).strip()


def match_survey_cities(source: Path, labels: dict[str, str]) -> pl.DataFrame:
    """Survey city -> city_id, verifying each automatic name match against the Eurostat label.

    Returns survey_city_code, survey_name, city_id, country. Unmatched cities get ``QOL<code>``.
    """
    cities = frame(source / SURVEY_CITIES).filter(pl.col("survey_city_code") != "TOTAL")
    rows = []
    for code, name, auto in cities.select(
        "survey_city_code", "city_name", "urban_audit_code_by_name"
    ).iter_rows():
        label = labels.get(auto) if auto else None
        ok = label is not None and normalise(name) == normalise(label)
        if code in SURVEY_MATCH_FIXES:
            fixed = SURVEY_MATCH_FIXES[code]
            print(
                f"survey match {code} {name!r}: automatic {auto} (label {label!r}) -> "
                f"hand-checked {fixed or 'unmatched'}"
            )
            ua = fixed
        elif ok:
            ua = auto
        else:
            print(f"survey match {code} {name!r}: automatic {auto} (label {label!r}) NOT confirmed")
            ua = None
        rows.append((code, name, ua))
    df = pl.DataFrame(rows, schema=["survey_city_code", "survey_name", "ua"], orient="row")
    prefix = pl.col("survey_city_code").str.slice(0, pl.col("survey_city_code").str.len_chars() - 2)
    df = df.with_columns(prefix.alias("group"), pl.col("ua").str.slice(0, 2).alias("ua_country"))
    by_group = (
        df.filter(pl.col("ua_country").is_not_null())
        .group_by("group")
        .agg(pl.col("ua_country").unique())
    )
    mixed = by_group.filter(pl.col("ua_country").list.len() > 1)
    if mixed.height:
        raise ValueError(f"survey country groups with several countries: {mixed.to_dicts()}")
    group_country = {g: c[0] for g, c in by_group.iter_rows()} | SURVEY_COUNTRY_GROUPS
    return df.select(
        "survey_city_code",
        "survey_name",
        pl.coalesce("ua", pl.lit("QOL") + pl.col("survey_city_code")).alias("city_id"),
        pl.coalesce(
            "ua_country", pl.col("group").replace_strict(group_country, default=None)
        ).alias("country"),
    )


def check_population_breaks(panel: pl.DataFrame) -> None:
    """Print how far the suspect population years move from the year before (the evidence)."""
    pop = panel.filter(pl.col("code") == "DE1001V").sort("city_id", "year")
    pop = pop.with_columns(
        (pl.col("value") / pl.col("value").shift(1).over("city_id")).alias("ratio"),
        pl.col("city_id").str.slice(0, 2).alias("country"),
    )
    for country, year in sorted(SUSPECT_POPULATION):
        sel = pop.filter(pl.col("country") == country, pl.col("year") == year)
        close = sel.filter((pl.col("ratio") - 1).abs() <= 0.05).height
        print(
            f"check: {country} {year} population: {close} of {sel.height} values within ±5 % of "
            f"the year before; not used as context population"
        )


def build_cities(
    panel: pl.DataFrame, cenv: pl.DataFrame, survey_cities: pl.DataFrame, labels: dict[str, str]
) -> pl.DataFrame:
    """One row per city of any source, with context (population, climate) from the observations."""
    ids = (
        pl.concat(
            [panel.select("city_id"), cenv.select("city_id"), survey_cities.select("city_id")]
        )
        .unique()
        .sort("city_id")
    )
    names = pl.DataFrame(
        {"city_id": list(labels), "label": list(labels.values())},
        schema={"city_id": pl.String, "label": pl.String},
    )
    pop = (
        panel.filter(pl.col("code") == "DE1001V")
        .filter(
            *[
                ~((pl.col("city_id").str.slice(0, 2) == country) & (pl.col("year") == year))
                for country, year in SUSPECT_POPULATION
            ]
        )
        .group_by("city_id")
        .agg(
            pl.col("value").sort_by("year").last().alias("population"),
            pl.col("year").max().alias("population_year"),
        )
    )
    climate = (
        cenv.filter(pl.col("code").is_in(["EN1002V", "EN1003V", "EN1004V"]))
        .group_by("city_id", "code")
        .agg(pl.col("value").sort_by("year").last())
        .pivot(
            on="code", index="city_id", values="value", on_columns=["EN1002V", "EN1003V", "EN1004V"]
        )
        .rename(
            {
                "EN1003V": "temp_warmest_month",
                "EN1004V": "temp_coldest_month",
                "EN1002V": "sunshine_hours_per_day",
            }
        )
    )
    df = (
        ids.join(names, on="city_id", how="left")
        .join(survey_cities, on="city_id", how="left")
        .join(pop, on="city_id", how="left")
        .join(climate, on="city_id", how="left")
        .with_columns(
            pl.coalesce("label", "survey_name").alias("city_name"),
            pl.coalesce("country", pl.col("city_id").str.slice(0, 2)).alias("country"),
        )
        .with_columns(
            pl.col("country").replace_strict(REGIONS, return_dtype=pl.String).alias("region"),
            pl.col("country")
            .replace_strict(NETWORKS, return_dtype=pl.List(pl.String))
            .alias("networks"),
            pl.lit(None, pl.Float64).alias("area_km2"),
            pl.col("survey_city_code").alias("qol_survey_code"),
        )
    )
    extra = {
        "population_year": pl.Int32(),
        "temp_warmest_month": pl.Float64(),
        "temp_coldest_month": pl.Float64(),
        "sunshine_hours_per_day": pl.Float64(),
        "qol_survey_code": pl.String(),
    }
    return conform(df, {**CITIES, **extra}).collect().sort("city_id")


def build(source: Path, out: Path) -> None:
    """Read the three sources, write observations.parquet and cities.parquet, print the counts."""
    counts: Counter[str] = Counter()
    mapping, kinds = indicator_map()
    panel = load_panel(source, counts)
    cenv = load_cenv(source, counts)
    survey = load_survey(source, counts)
    check_population_breaks(panel)

    # Eurostat labels: the panel's (latest year), else urb_cenv's (from the panel or FAIRiCUBE).
    labels: dict[str, str] = {}
    for path in (source / CENV, source / PANEL):  # panel last, so its label wins
        df = frame(path).filter(pl.col("city_name").is_not_null())
        labels.update(dict(df.select("city_code", "city_name").unique("city_code").iter_rows()))
    survey_cities = match_survey_cities(source, labels)
    survey = survey.join(
        survey_cities.select("survey_city_code", "city_id"), on="survey_city_code", how="left"
    ).drop("survey_city_code")

    cities = build_cities(panel, cenv, survey_cities, labels)
    obs = pl.concat([apply_mapping(d, mapping) for d in (panel, cenv, survey)], how="diagonal")
    obs = obs.join(cities.select("city_id", "city_name", "country"), on="city_id", how="left")
    obs = conform(obs, OBSERVATIONS).collect().sort("city_id", "year", "indicator", "source")
    dupes = obs.group_by("city_id", "year", "indicator").len().filter(pl.col("len") > 1)
    if dupes.height:
        raise ValueError(f"duplicate observation keys: {dupes.head()}")

    out.mkdir(parents=True, exist_ok=True)
    obs.write_parquet(out / "observations.parquet", compression="zstd", compression_level=19)
    cities.write_parquet(out / "cities.parquet", compression="zstd", compression_level=19)
    report(obs, cities, counts, kinds, out)


def report(
    obs: pl.DataFrame,
    cities: pl.DataFrame,
    counts: Counter[str],
    kinds: dict[str, str],
    out: Path,
) -> None:
    """Print what was kept, what was left out and why, and the file sizes."""
    print("\nleft out (not observations):")
    for what, n in sorted(counts.items()):
        print(f"  {n:6d}  {what}")
    print("\nobservations per source:")
    for source, n in obs.group_by("source").len().sort("source").iter_rows():
        print(f"  {n:6d}  {source}")
    by_kind = obs.group_by(pl.col("indicator").replace_strict(kinds).alias("kind")).len()
    print("observations per kind:", dict(by_kind.sort("kind").iter_rows()))
    print(f"observations: {obs.height}, indicators: {obs['indicator'].n_unique()}")
    print(
        f"cities: {cities.height} ({cities.filter(pl.col('city_id').str.starts_with('QOL')).height}"
        f" survey-only QOL ids, {cities['country'].n_unique()} countries)"
    )
    for name in ("observations.parquet", "cities.parquet"):
        print(f"size: {name} {(out / name).stat().st_size / 1024:.1f} KiB")


def main(argv: list[str] | None = None) -> None:
    """Command line: source folder (default ../shared/data/eurostat-urban-audit), output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    build(args.source.resolve(), args.out)


if __name__ == "__main__":
    main()
