"""Build benchmarkkit's embedded ASEAN data set (``ascn``) from UN WUP 2018 and UN-Habitat files.

Why a script and not a hand-made parquet: the data set must be reproducible from the openly
licensed originals, and every stored value must point back at its line in the original CSV
(``source`` and ``row``, header = line 1), so a Chief Smart City Officer can check any number of a
report against the UN file it came from. The script writes the same bytes on every run (a test
rebuilds it and compares).

Inputs (``DATA_DIR``, default ``../shared/data``; each folder has a ``SOURCE.md``)::

    un-wup-2018-cities/wup2018_urban_agglomerations_300k_1950_2035.csv   (+ wup2018_notes.csv)
    unhabitat-urban-indicators/open_space_sdg_11_7_1.csv
    unhabitat-urban-indicators/green_areas_1990_2020.csv

Outputs (``benchmarkkit/data/ascn/``)::

    observations.parquet   columns.OBSERVATIONS, one row per city x year x indicator
    cities.parquet         columns.CITIES plus local names, ASCN membership, coordinates
    ATTRIBUTION.md         sources, licences, what was changed, which pilots have data

Only the ASEAN cities of the sources are kept (their ``asean`` flag). How source columns become
indicators is declared in ``indicators/ascn.csv`` (column ``source_code``); changes between years
(population growth, green area change) are computed here, because the engine derives ratios within
one city-year only (flag ``derived``; provenance = the later year's line).

Cities of the two UN sources are matched on country and name (accents, case and punctuation
ignored); the ASCN pilots are *not* matched automatically: ``PILOTS`` names each pilot's record in
each source by hand, and the build fails when a named record is missing or when the automatic
match disagrees with it.

Usage::

    python scripts/build_ascn.py [DATA_DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import textwrap
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import polars as pl

REPO: Final = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing the package

from benchmarkkit.columns import CITIES, OBSERVATIONS, conform  # noqa: E402

DEFAULT_SOURCE: Final = REPO / ".." / "shared" / "data"
DEFAULT_OUT: Final = REPO / "benchmarkkit" / "data" / "ascn"
INDICATOR_FILE: Final = REPO / "indicators" / "ascn.csv"

WUP_DIR: Final = "un-wup-2018-cities"
WUP: Final = "wup2018_urban_agglomerations_300k_1950_2035.csv"
WUP_NOTES: Final = "wup2018_notes.csv"
UNH_DIR: Final = "unhabitat-urban-indicators"
OPEN: Final = "open_space_sdg_11_7_1.csv"
GREEN: Final = "green_areas_1990_2020.csv"
LAST_YEAR: Final = 2020
"""WUP years after this are projections beyond the UN-Habitat reference year: left out, so that
the data set's latest year is the one its indicators describe (2020 itself is a projection made
in 2018 and carries the flag ``projected``)."""

COUNTRIES: Final = {
    "Brunei Darussalam": "BN",
    "Cambodia": "KH",
    "Indonesia": "ID",
    "Lao People's Democratic Republic": "LA",
    "Malaysia": "MY",
    "Myanmar": "MM",
    "Philippines": "PH",
    "Singapore": "SG",
    "Thailand": "TH",
    "Viet Nam": "VN",
}
"""Country names of the sources -> ISO 3166-1 alpha-2 (the ``country:VN`` of a peer spec)."""

LEFT_OUT: Final = {
    ("unhabitat", "LA_VIENGCHAN"): (
        "'Viengchan' is the Lao romanisation of Vientiane (ວຽງຈັນ). The open-space file has "
        "two 2020 records for Lao PDR, 'Viengchan' and 'Vientiane', with different values and "
        "the same footnote, and no other Lao city; keeping both would count one city twice "
        "among its peers. The record named 'Vientiane' is kept (the WUP agglomeration has the "
        "same name)."
    ),
}
"""Source records deliberately not used, with the reason (printed and written to ATTRIBUTION)."""


@dataclass(frozen=True)
class Pilot:
    """One ASCN city, written out by hand: the ids it gets and its records in each source."""

    city_id: str
    name: str
    """English name, as benchmarkkit shows it."""
    ascn_name: str
    """The name on the ASCN list (issue 18, from the ASEAN Secretariat's list)."""
    local: str
    """The name in the local language and its script."""
    language: str
    """BCP 47 tag of ``local``."""
    joined: int
    wup: str | None
    """``city_name`` of the WUP record (None: below 300 000, not in WUP)."""
    unhabitat: str | None
    """``city_code`` of the UN-Habitat records (None: in neither UN-Habitat file)."""
    local_source: str


PILOTS: Final = (
    # Brunei Darussalam
    Pilot("BN_BANDAR_SERI_BEGAWAN", "Bandar Seri Begawan", "Bandar Seri Begawan",
          "Bandar Seri Begawan", "ms", 2018, None, "BN_BANDAR_SERI_BEGAWAN",
          "Malay in Rumi (Latin) script, as the Government of Brunei writes it "
          "(Jawi: بندر سري بڬاون)"),
    # Cambodia
    Pilot("KH_BATTAMBANG", "Battambang", "Battambang", "បាត់ដំបង", "km", 2018, None, None,
          "Khmer name of the city, km.wikipedia.org article title"),
    Pilot("KH_PHNOM_PENH", "Phnom Penh", "Phnom Penh", "ភ្នំពេញ", "km", 2018,
          "Phnum Pénh (Phnom Penh)", "KH_PHNUM_PENH",
          "Khmer name of the capital, km.wikipedia.org article title"),
    Pilot("KH_SIEM_REAP", "Siem Reap", "Siem Reap", "សៀមរាប", "km", 2018, None, "KH_SIEM_REAB",
          "Khmer name of the city, km.wikipedia.org article title"),
    Pilot("KH_SIHANOUKVILLE", "Sihanoukville", "Sihanoukville", "ក្រុងព្រះសីហនុ", "km", 2024,
          None, None, "Khmer name of the city (Krong Preah Sihanouk), km.wikipedia.org"),
    # Indonesia
    Pilot("ID_MAKASSAR", "Makassar", "Makassar", "Makassar", "id", 2018,
          "Makassar (Ujung Pandang)", "ID_MAKASSAR", "Indonesian name (Latin script)"),
    Pilot("ID_BANYUWANGI", "Banyuwangi", "Banyuwangi", "Banyuwangi", "id", 2018, None, None,
          "Indonesian name (Latin script)"),
    Pilot("ID_JAKARTA", "Jakarta", "DKI Jakarta", "Jakarta", "id", 2018, "Jakarta", "ID_JAKARTA",
          "Indonesian name (Latin script); DKI = Daerah Khusus Ibukota, the province-level city"),
    Pilot("ID_SUMEDANG", "Sumedang", "Sumedang", "Sumedang", "id", 2024, None, None,
          "Indonesian name (Latin script)"),
    # Lao PDR
    Pilot("LA_LUANG_PRABANG", "Luang Prabang", "Luang Prabang", "ຫຼວງພະບາງ", "lo", 2018, None,
          None, "Lao name of the city, lo.wikipedia.org"),
    Pilot("LA_VIENTIANE", "Vientiane", "Vientiane", "ວຽງຈັນ", "lo", 2018, "Vientiane",
          "LA_VIENTIANE", "Lao name of the capital (Viangchan), lo.wikipedia.org"),
    # Malaysia
    Pilot("MY_JOHOR_BAHRU", "Johor Bahru", "Johor Bahru", "Johor Bahru", "ms", 2018,
          "Johor Bahru", "MY_JOHOR_BAHRU", "Malay name (Rumi, Latin script)"),
    Pilot("MY_KUALA_LUMPUR", "Kuala Lumpur", "Kuala Lumpur", "Kuala Lumpur", "ms", 2018,
          "Kuala Lumpur", "MY_KUALA_LUMPUR", "Malay name (Rumi, Latin script)"),
    Pilot("MY_KOTA_KINABALU", "Kota Kinabalu", "Kota Kinabalu", "Kota Kinabalu", "ms", 2018,
          "Kota Kinabalu", None, "Malay name (Rumi, Latin script)"),
    Pilot("MY_KUCHING", "Kuching", "Kuching", "Kuching", "ms", 2018, "Kuching", "MY_KUCHING",
          "Malay name (Rumi, Latin script)"),
    # Myanmar
    Pilot("MM_NAY_PYI_TAW", "Nay Pyi Taw", "Nay Pyi Taw", "နေပြည်တော်", "my", 2018,
          "Nay Pyi Taw", "MM_NAYPYITAW", "Burmese name of the capital, my.wikipedia.org"),
    Pilot("MM_MANDALAY", "Mandalay", "Mandalay", "မန္တလေး", "my", 2018, "Mandalay",
          "MM_MANDALAY", "Burmese name of the city, my.wikipedia.org"),
    Pilot("MM_YANGON", "Yangon", "Yangon", "ရန်ကုန်", "my", 2018, "Yangon", "MM_YANGON",
          "Burmese name of the city, my.wikipedia.org"),
    # Philippines
    Pilot("PH_CEBU_CITY", "Cebu City", "Cebu City", "Dakbayan sa Sugbo", "ceb", 2018,
          "Cebu City", "PH_CEBU", "Cebuano name of the city, ceb.wikipedia.org"),
    Pilot("PH_DAVAO_CITY", "Davao City", "Davao City", "Dakbayan sa Dabaw", "ceb", 2018,
          "Davao City", "PH_DAVAO_CITY", "Cebuano name of the city, ceb.wikipedia.org"),
    Pilot("PH_MANILA", "Manila", "Manila", "Maynila", "fil", 2018, "Manila", "PH_MANILA",
          "Filipino name of the city (Lungsod ng Maynila), tl.wikipedia.org"),
    # Singapore
    Pilot("SG_SINGAPORE", "Singapore", "Singapore", "Singapura", "ms", 2018, "Singapore",
          "SG_SINGAPORE", "Malay, Singapore's national language (Chinese 新加坡, Tamil சிங்கப்பூர்)"),
    # Thailand
    Pilot("TH_BANGKOK", "Bangkok", "Bangkok", "กรุงเทพมหานคร", "th", 2018,
          "Krung Thep (Bangkok)", "TH_BANGKOK", "Thai short official name, th.wikipedia.org"),
    Pilot("TH_CHONBURI", "Chonburi", "Chonburi", "ชลบุรี", "th", 2018, "Chon Buri", None,
          "Thai name of the city, th.wikipedia.org"),
    Pilot("TH_PHUKET", "Phuket", "Phuket", "ภูเก็ต", "th", 2018, "Phuket", None,
          "Thai name of the city, th.wikipedia.org"),
    Pilot("TH_CHIANG_MAI", "Chiang Mai", "Chiang Mai", "เชียงใหม่", "th", 2024, "Chiang Mai",
          "TH_CHIANG_MAI", "Thai name of the city, th.wikipedia.org"),
    Pilot("TH_KHON_KAEN", "Khon Kaen", "Khon Kaen", "ขอนแก่น", "th", 2024, "Khon-Kaen",
          "TH_KHON_KAEN", "Thai name of the city, th.wikipedia.org"),
    Pilot("TH_RAYONG", "Rayong", "Rayong", "ระยอง", "th", 2024, "Rayong", None,
          "Thai name of the city, th.wikipedia.org"),
    # Viet Nam
    Pilot("VN_DA_NANG", "Da Nang", "Da Nang", "Đà Nẵng", "vi", 2018, "Da Nang", None,
          "Vietnamese name of the city, vi.wikipedia.org"),
    Pilot("VN_HA_NOI", "Ha Noi", "Ha Noi", "Hà Nội", "vi", 2018, "Hà Noi", "VN_HA_NOI",
          "Vietnamese name of the capital, vi.wikipedia.org"),
    Pilot("VN_HO_CHI_MINH_CITY", "Ho Chi Minh City", "Ho Chi Minh City",
          "Thành phố Hồ Chí Minh", "vi", 2018,
          "Thành Pho Ho Chí Minh (Ho Chi Minh City)", "VN_THANH_PHO_HO_CHI_MINH",
          "Vietnamese name of the city, vi.wikipedia.org"),
)  # fmt: skip
"""The 26 ASCN pilot cities of 2018 and the 5 that joined in 2024 (list and years: issue 18,
after the ASEAN Secretariat's ASCN pages). Local names are in the official language and script
of the country (for the Philippines the regional language where the city's own name is in it).
No record in either source: Battambang, Banyuwangi, Luang Prabang, Sumedang and Sihanoukville
(below the WUP threshold of 300 000 and not among UN-Habitat's cities); they stay in the cities
table so that the network is whole and their officers can add their own data."""


def frame(path: Path) -> pl.DataFrame:
    """The file as text columns plus ``_line`` (the record's line number, header = line 1).

    Why the csv module and not Polars: ``row`` must be the line in the original file, which only
    a record-by-record reader gets right when a quoted field spans lines.
    """
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        records: list[tuple[int, list[str]]] = []
        last = reader.line_num
        for record in reader:
            if record:
                if len(record) != len(header):
                    raise ValueError(f"{path.name}:{last + 1}: {len(record)} fields")
                records.append((last + 1, record))
            last = reader.line_num
    columns = {name: [r[i] or None for _, r in records] for i, name in enumerate(header)}
    return pl.DataFrame(
        {"_line": [line for line, _ in records], **columns},
        schema={"_line": pl.Int64, **dict.fromkeys(header, pl.String)},
    )


def plain(name: str) -> str:
    """Comparable name: no accents, no punctuation, lower case ('Khon-Kaen' -> 'khon kaen').

    Vietnamese đ is a letter of its own, not d with a mark, so NFKD keeps it: mapped by hand.
    """
    name = name.replace("đ", "d").replace("Đ", "D")
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]+", " ", ascii_.lower()).strip()


def slug(country: str, name: str) -> str:
    """A city id from a source name: the part before any '(…)', e.g. ``MM_MAWLAMYINE``."""
    head = plain(name.split("(")[0])
    return f"{country}_{head.upper().replace(' ', '_')}"


def source_codes() -> dict[str, list[str]]:
    """Source column -> the indicator id stored from it (read from the catalog, so they agree).

    Rows the build computes (changes between years) name a formula, not a bare column: skipped.
    """
    rows = pl.read_csv(INDICATOR_FILE, infer_schema=False)
    stored = rows.filter(pl.col("source_code").str.contains(r"^\w+$"))
    dupes = stored.filter(pl.col("source_code").is_duplicated())
    if dupes.height:
        raise ValueError(f"{INDICATOR_FILE.name}: one column, two ids: {dupes['id'].to_list()}")
    return dict(stored.select("source_code", "id").iter_rows())


def long(
    df: pl.DataFrame, column: str, indicator: str, source: str, flag: pl.Expr | None = None
) -> pl.DataFrame:
    """One source column as observations of one indicator (empty cells are not observations)."""
    return df.filter(pl.col(column).is_not_null()).select(
        "key",
        pl.col("year").cast(pl.Int32),
        pl.lit(indicator).alias("indicator"),
        pl.col(column).cast(pl.Float64).alias("value"),
        (flag if flag is not None else pl.lit(None, pl.String)).alias("flag"),
        pl.lit(source).alias("source"),
        pl.col("_line").alias("row"),
    )


def changes(
    obs: pl.DataFrame, indicator: str, out: str, base: int, *, relative: bool, years: list[int]
) -> pl.DataFrame:
    """``out`` at each of ``years``: the change of ``indicator`` since ``base`` (difference, or
    % change when ``relative``; no value when the base is 0). Provenance: the later value."""
    series = obs.filter(pl.col("indicator") == indicator)
    start = series.filter(pl.col("year") == base).select("key", pl.col("value").alias("_base"))
    later = series.filter(pl.col("year").is_in(years)).join(start, on="key", how="inner")
    if relative:
        later = later.filter(pl.col("_base") != 0)
        value = 100 * (pl.col("value") / pl.col("_base") - 1)
    else:
        value = pl.col("value") - pl.col("_base")
    flag = pl.concat_str([pl.lit("derived"), pl.col("flag")], separator=",", ignore_nulls=True)
    return later.with_columns(
        value.alias("value"), pl.lit(out).alias("indicator"), flag.alias("flag")
    ).drop("_base")


def read_wup(source: Path, counts: Counter[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ASEAN agglomerations: (records by city, population observations up to LAST_YEAR)."""
    df = frame(source / WUP_DIR / WUP)
    counts[f"{WUP}: rows of non-ASEAN countries"] += df.filter(pl.col("asean") != "True").height
    df = df.filter(pl.col("asean") == "True")
    late = df.filter(pl.col("year").cast(pl.Int32) > LAST_YEAR)
    counts[f"{WUP}: ASEAN projections after {LAST_YEAR}"] += late.height
    df = df.filter(pl.col("year").cast(pl.Int32) <= LAST_YEAR).with_columns(
        pl.concat_str(pl.lit("wup:"), "city_code").alias("key")
    )
    notes = frame(source / WUP_DIR / WUP_NOTES).select(
        (pl.col("_line") - 1).cast(pl.String).alias("note_ref"),
        pl.col("note").str.replace(r"^\(\d+\)\s*", "").alias("population_definition"),
    )
    cities = (
        df.unique("city_code")
        .join(notes, on="note_ref", how="left")
        .select(
            "key",
            "country",
            pl.col("city_name").alias("wup_name"),
            pl.col("city_code").cast(pl.Int64).alias("wup_city_code"),
            pl.col("latitude").cast(pl.Float64),
            pl.col("longitude").cast(pl.Float64),
            "population_definition",
        )
    )
    projected = pl.when(pl.col("projection") == "True").then(pl.lit("projected"))
    pop = long(
        df.with_columns(pl.col("population_thousands").cast(pl.Float64) * 1000),
        "population_thousands",
        "agglomeration_population",
        WUP,
        projected,
    ).with_columns(pl.col("value").round(0))
    growth = [
        changes(pop, "agglomeration_population", f"population_growth_{n}y", year, relative=True,
                years=[year + n])
        for n in (5, 10)
        for year in sorted(set(pop["year"]))
        if year + n <= LAST_YEAR
    ]  # fmt: skip
    return cities, pl.concat([pop, *growth])


def read_unhabitat(source: Path, counts: Counter[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ASEAN cities of the two UN-Habitat files: (records by city, observations)."""
    parts, names = [], []
    files = (
        (OPEN, ("open_space_share_of_built_up_pct", "pop_with_access_to_open_space_pct")),
        (GREEN, ("green_area_share_pct", "green_area_per_capita_m2")),
    )
    for file, columns in files:
        df = frame(source / UNH_DIR / file)
        other = df.filter(pl.col("asean") != "True").height
        counts[f"{file}: rows of non-ASEAN countries"] += other
        df = df.filter(pl.col("asean") == "True")
        for (kind, code), reason in LEFT_OUT.items():
            if kind == "unhabitat":
                gone = df.filter(pl.col("city_code") == code).height
                if gone:
                    counts[f"{file}: {code} left out (see ATTRIBUTION.md)"] += gone
                    print(f"left out: {file} {code}: {reason}")
                df = df.filter(pl.col("city_code") != code)
        df = df.with_columns(pl.concat_str(pl.lit("unh:"), "city_code").alias("key"))
        names.append(df.select("key", "country", "city_code", "city_name").unique())
        for column in columns:
            empty = df.filter(pl.col(column).is_null()).height
            if empty:
                counts[f"{file}: empty {column}"] += empty
            parts.append(long(df, column, CODES[column], file))
    cities = pl.concat(names).unique().sort("key")
    clash = cities.filter(pl.col("key").is_duplicated())
    if clash.height:
        raise ValueError(f"one UN-Habitat code with two names: {clash.to_dicts()}")
    obs = pl.concat(parts)
    green = [
        changes(obs, "green_area_share", "green_area_share_change_since_2000", 2000,
                relative=False, years=[2010, 2020]),
        changes(obs, "green_area_share", "green_area_share_change_since_2010", 2010,
                relative=False, years=[2020]),
        changes(obs, "green_area_per_capita", "green_area_per_capita_change_since_2000", 2000,
                relative=True, years=[2010, 2020]),
        changes(obs, "green_area_per_capita", "green_area_per_capita_change_since_2010", 2010,
                relative=True, years=[2020]),
    ]  # fmt: skip
    return cities.rename({"city_code": "unhabitat_city_code", "city_name": "unh_name"}), pl.concat(
        [obs, *green]
    )


def match(wup: pl.DataFrame, unh: pl.DataFrame) -> pl.DataFrame:
    """One row per city: its WUP and UN-Habitat keys, the pilot's hand-written fields, its id.

    Automatic matches (same country, same plain name) are printed; a pilot's hand-written records
    must exist and must agree with the automatic match, else the build stops.
    """
    w = wup.with_columns(pl.col("wup_name").map_elements(plain, pl.String).alias("_plain"))
    u = unh.with_columns(pl.col("unh_name").map_elements(plain, pl.String).alias("_plain"))
    both = w.join(u, on=["country", "_plain"], how="full", coalesce=True, suffix="_unh")
    both = both.rename({"key": "wup_key", "key_unh": "unh_key"})
    for row in both.filter(pl.col("wup_key").is_not_null() & pl.col("unh_key").is_not_null())[
        ["wup_name", "unhabitat_city_code"]
    ].iter_rows():
        print(f"match: WUP {row[0]!r} = UN-Habitat {row[1]}")
    pilot_rows = []
    for p in PILOTS:
        w_key = u_key = None
        if p.wup is not None:
            hit = wup.filter(pl.col("wup_name") == p.wup)
            if hit.height != 1:
                raise ValueError(f"pilot {p.name}: WUP record {p.wup!r} found {hit.height} times")
            w_key = hit["key"][0]
        if p.unhabitat is not None:
            u_key = f"unh:{p.unhabitat}"
            if u_key not in set(unh["key"]):
                raise ValueError(f"pilot {p.name}: no UN-Habitat record {p.unhabitat}")
        for own, other, column in ((w_key, u_key, "wup_key"), (u_key, w_key, "unh_key")):
            if own is None:
                continue
            auto = both.filter(pl.col(column) == own)
            partner = auto["unh_key" if column == "wup_key" else "wup_key"][0]
            if partner != other:
                raise ValueError(f"pilot {p.name}: automatic match {partner} but table {other}")
        pilot_rows.append(
            {
                "wup_key": w_key,
                "unh_key": u_key,
                "city_id": p.city_id,
                "city_name": p.name,
                "ascn_name": p.ascn_name,
                "name_local": p.local,
                "local_language": p.language,
                "ascn_joined_year": p.joined,
                "iso2": next(
                    code for code in COUNTRIES.values() if p.city_id.startswith(code + "_")
                ),
            }
        )
    pilots = pl.DataFrame(pilot_rows, infer_schema_length=None)
    matched = pilots.filter(pl.col("wup_key").is_not_null() | pl.col("unh_key").is_not_null())
    named = pl.concat(
        [
            both.join(matched.select("wup_key", "city_id"), on="wup_key", how="inner"),
            both.join(
                matched.filter(pl.col("wup_key").is_null()).select("unh_key", "city_id"),
                on="unh_key",
                how="inner",
            ),
        ]
    )
    rest = both.join(named.select("wup_key", "unh_key"), on=["wup_key", "unh_key"], how="anti",
                     nulls_equal=True)  # fmt: skip
    iso = pl.col("country").replace_strict(COUNTRIES, return_dtype=pl.String)
    rest = rest.with_columns(
        pl.struct(iso.alias("c"), pl.coalesce("wup_name", "unh_name").alias("n"))
        .map_elements(lambda s: slug(s["c"], s["n"]), pl.String)
        .alias("city_id")
    )
    cities = pl.concat([named, rest], how="diagonal_relaxed").join(
        pilots.drop("wup_key", "unh_key"), on="city_id", how="full", coalesce=True
    )
    dupes = cities.filter(pl.col("city_id").is_duplicated())
    if dupes.height:
        raise ValueError(f"two cities with one id: {dupes['city_id'].unique().to_list()}")
    return cities.with_columns(
        pl.coalesce(iso, "iso2").alias("country_code"),
        pl.coalesce("city_name", "wup_name", "unh_name").alias("city_name"),
    )


def build_cities(matched: pl.DataFrame, obs: pl.DataFrame) -> pl.DataFrame:
    """The cities table: context columns and ASCN membership, one row per city."""
    pop = obs.filter(pl.col("indicator") == "agglomeration_population", pl.col("year") == LAST_YEAR)
    df = matched.join(
        pop.select("city_id", pl.col("value").alias("population")), on="city_id", how="left"
    ).with_columns(
        pl.col("country_code").alias("country"),
        pl.lit("South-eastern Asia").alias("region"),
        pl.when(pl.col("ascn_joined_year").is_not_null())
        .then(pl.lit(["ASEAN", "ASCN"]))
        .otherwise(pl.lit(["ASEAN"]))
        .alias("networks"),
        pl.when(pl.col("population").is_not_null()).then(LAST_YEAR).alias("population_year"),
        pl.col("country_code")
        .replace_strict({v: k for k, v in COUNTRIES.items()}, return_dtype=pl.String)
        .alias("country_name"),
    )
    extra = {
        "name_local": pl.String(),
        "local_language": pl.String(),
        "ascn_name": pl.String(),
        "ascn_joined_year": pl.Int32(),
        "latitude": pl.Float64(),
        "longitude": pl.Float64(),
        "population_year": pl.Int32(),
        "population_definition": pl.String(),
        "country_name": pl.String(),
        "wup_city_code": pl.Int64(),
        "unhabitat_city_code": pl.String(),
    }
    return conform(df, {**CITIES, **extra}).collect().sort("city_id")


CODES: Final = source_codes()


def build(source: Path, out: Path) -> None:
    """Read the UN files, write the three outputs, print what was kept and left out."""
    counts: Counter[str] = Counter()
    wup_cities, wup_obs = read_wup(source, counts)
    unh_cities, unh_obs = read_unhabitat(source, counts)
    matched = match(wup_cities, unh_cities)
    ids = pl.concat(
        [
            matched.filter(pl.col("wup_key").is_not_null()).select(
                pl.col("wup_key").alias("key"), "city_id"
            ),
            matched.filter(pl.col("unh_key").is_not_null()).select(
                pl.col("unh_key").alias("key"), "city_id"
            ),
        ]
    )
    obs = pl.concat([wup_obs, unh_obs]).join(ids, on="key", how="left")
    if obs["city_id"].null_count():
        raise ValueError("observations without a city")
    cities = build_cities(matched, obs)
    obs = obs.join(cities.select("city_id", "city_name", "country"), on="city_id", how="left")
    obs = conform(obs, OBSERVATIONS).collect().sort("city_id", "year", "indicator", "source")
    dupes = obs.group_by("city_id", "year", "indicator").len().filter(pl.col("len") > 1)
    if dupes.height:
        raise ValueError(f"duplicate observation keys: {dupes.head()}")
    out.mkdir(parents=True, exist_ok=True)
    obs.write_parquet(out / "observations.parquet", compression="zstd", compression_level=19)
    cities.write_parquet(out / "cities.parquet", compression="zstd", compression_level=19)
    (out / "ATTRIBUTION.md").write_text(attribution(obs, cities, counts), encoding="utf-8")
    report(obs, cities, counts, out)


def pilot_table(obs: pl.DataFrame, cities: pl.DataFrame) -> tuple[list[str], list[str]]:
    """Markdown rows: each ASCN city with the sources it has data in; and those without any."""
    has = obs.group_by("city_id").agg(pl.col("source").unique().sort())
    pilots = (
        cities.filter(pl.col("ascn_joined_year").is_not_null())
        .join(has, on="city_id", how="left")
        .sort("ascn_joined_year", "country", "city_name")
    )
    rows, none = [], []
    for r in pilots.iter_rows(named=True):
        got = r["source"] or []
        marks = [
            "yes" if WUP in got else "–",
            "yes" if OPEN in got else "–",
            "yes" if GREEN in got else "–",
        ]
        rows.append(
            f"| {r['city_name']} | {r['name_local']} | {r['country']} | `{r['city_id']}` | "
            f"{r['ascn_joined_year']} | " + " | ".join(marks) + " |"
        )
        if not got:
            none.append(r["city_name"])
    return rows, none


def attribution(obs: pl.DataFrame, cities: pl.DataFrame, counts: Counter[str]) -> str:
    """ATTRIBUTION.md: written by the build so that its figures always match the data."""
    rows, none = pilot_table(obs, cities)
    per_source = dict(obs.group_by("source").len().iter_rows())
    n_pilots = cities.filter(pl.col("ascn_joined_year").is_not_null()).height
    left = "\n".join(f"- {n} {what}" for what, n in sorted(counts.items()))
    reasons = "\n".join(
        "- `" + code + "`: " + textwrap.fill(why, 96, subsequent_indent="  ")
        for (_, code), why in LEFT_OUT.items()
    )
    return f"""# ASCN data set: sources, licences and changes

`observations.parquet` and `cities.parquet` in this folder hold the ASEAN cities of two openly
licensed UN data sets, **reshaped by benchmarkkit's `scripts/build_ascn.py`** (this file is
written by the same script). Every row of `observations.parquet` keeps its provenance: `source` is
the file name of the input CSV and `row` its line number in that file (header = line 1); the input
CSVs and their `SOURCE.md` are kept outside the package, in the project's shared data folder.

## 1. UN World Urbanization Prospects 2018

> Source: United Nations, Department of Economic and Social Affairs, Population Division (2018).
> World Urbanization Prospects: The 2018 Revision, Online Edition. File 12
> (POP/DB/WUP/Rev.2018/1/F12).
> Licence: CC BY 3.0 IGO (<https://creativecommons.org/licenses/by/3.0/igo/>). The data were
> reshaped by benchmarkkit.

- `{WUP}` ({per_source.get(WUP, 0)} observations): population of urban agglomerations of
  300 000 inhabitants or more, by the national definition the UN notes name (the cities table's
  `population_definition`). Obtained unmodified as `WUP2018-F12-Cities_Over_300K.xls` from
  GitHub `sashatrubetskoy/zipf_regions` (commit `e083e647638a4b43e4f6571556f978cd840112c0`).

## 2. UN-Habitat Urban Indicators Database

> Source: UN-Habitat Urban Indicators Database (via HDX): SDG 11.7.1 open public space (2024
> edition) and share of green areas and green area per capita in cities 1990–2020 (August 2024).
> Licence: Open Data Commons Public Domain Dedication and License (PDDL,
> <https://opendatacommons.org/licenses/pddl/1-0/>), as published on HDX by UN-Habitat. The data
> were reshaped by benchmarkkit.

- `{OPEN}` ({per_source.get(OPEN, 0)} observations) and `{GREEN}`
  ({per_source.get(GREEN, 0)} observations, changes included). From GitHub
  `OCHA-DAP/hdx-scraper-unhabitat` (commit `9e08e5c40c2a2a90ed9169badd761d26f7866221`), UN-Habitat
  ArcGIS items `fbb02b19d417497093418484448e3465` and `cc37148f95304783a6ccfad8a9124a9d`.
- Cities are delineated by the Degree of Urbanisation, so a UN-Habitat "city" can be larger or
  smaller than the municipality, and than the WUP agglomeration of the same name.

## What `scripts/build_ascn.py` changed

Indicator definitions are in `indicators/ascn.csv`.

- Kept: the ASEAN rows of each file (the files' `asean` flag), values unchanged except the WUP
  population, stored in persons (× 1 000; the source counts thousands, to three decimals).
- WUP years 1950–2020 are kept; 2020 is a UN projection made in 2018 and carries the flag
  `projected`. The projections for 2025–2035 are left out.
- Computed by the build (flag `derived`, provenance = the later year's line): population growth
  over 5 and 10 years (`100 × (P(t) / P(t−n) − 1)`), the change of the green area share since
  2000 and 2010 (percentage points) and of the green area per capita (%). The engine derives
  ratios within one city-year only, not changes between years.
- City ids are `<ISO 3166 country code>_<NAME>` (e.g. `VN_DA_NANG`). The two sources are matched
  on country and name (accents, case and punctuation ignored); the ASCN cities' records are named
  by hand in the script and checked against that match.
- Population in the cities table is the WUP value for 2020 (a projection), for `size:F` peers.
- `networks` is `ASEAN` for every city and `ASEAN`, `ASCN` for the {n_pilots} ASCN cities;
  `ascn_joined_year` says when each joined (26 pilots in 2018, 5 cities in 2024).
- Names in the local language and script (`name_local`, `local_language` as a BCP 47 tag) are
  written by hand for the ASCN cities, with their sources, in `scripts/build_ascn.py`.
- Coordinates (`latitude`, `longitude`) are WUP's; cities only in UN-Habitat have none.

**Left out**

{left}

{reasons}

## The ASCN cities and their data

| city | local name | country | id | joined | WUP population | open space 2020 | green 1990–2020 |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

No data in either source: {", ".join(none)}.
They are below WUP's 300 000 threshold and not among UN-Habitat's cities; they are in the cities
table so that the network is complete and their officers can add their own data.
"""


def report(obs: pl.DataFrame, cities: pl.DataFrame, counts: Counter[str], out: Path) -> None:
    """Print what was kept, what was left out and why, and the file sizes."""
    print("\nleft out (not observations):")
    for what, n in sorted(counts.items()):
        print(f"  {n:6d}  {what}")
    print("\nobservations per indicator:")
    for ident, n in obs.group_by("indicator").len().sort("indicator").iter_rows():
        print(f"  {n:6d}  {ident}")
    pilots = cities.filter(pl.col("ascn_joined_year").is_not_null())
    with_data = pilots.join(obs.select("city_id").unique(), on="city_id", how="semi")
    print(
        f"observations: {obs.height}; cities: {cities.height}; ASCN cities: {pilots.height}, "
        f"{with_data.height} with data"
    )
    for name in ("observations.parquet", "cities.parquet"):
        print(f"size: {name} {(out / name).stat().st_size / 1024:.1f} KiB")


def main(argv: list[str] | None = None) -> None:
    """Command line: the shared data folder (default ../shared/data), the output folder."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    build(args.source.resolve(), args.out)


if __name__ == "__main__":
    main()
