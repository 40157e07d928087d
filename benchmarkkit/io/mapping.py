"""How a user's table maps onto the long observations shape: which column is the city, the year …

Real files come long (city, year, indicator, value), wide (one column per indicator) or wide by year
(one column per year), with headers in any language. A ``Mapping`` says which is which; it comes
from a small TOML file (``--mapping``), from CLI options, or is guessed from common header names.
The result of ``to_long`` still holds text: parsing and checking values is validation's job.

A mapping never misses silently. Headers are compared after Unicode NFKC and whitespace
normalisation (a line break written ``\\n`` in the key matches a ``\\r\\n`` in the file, a
full-width bracket or space matches its ASCII twin, and spaces around CJK text do not matter); a key
that matches no header is an error with the closest headers as "did you mean", unless it is listed
in ``optional``. Headers are shown escaped (``\\n``) in every message.

Mapping file (TOML)::

    shape = "wide"                  # long | wide | wide_years (guessed when absent)
    only_named = true                # wide: read only the headers named below, ignore the rest
    ignore = ["省份代码"]             # columns put aside: counted as ignored, never rejected
    optional = ["失业人数"]           # keys that may match no header (e.g. absent in old files)
    [columns]                        # role = header in the file
    city_id = "城市代码"
    city_name = "城市"
    year = "年份"
    [constants]                      # a role the file has no column for
    country = "CN"
    [attributes]                     # city context → the cities table (peers: size:, similar:)
    province = "省份"
    population = { column = "年末户籍人口（万人）", scale = 10000 }
    [indicators]                     # wide: header = indicator id, or a table with a unit scale
    "常住人口（万人）" = { id = "population", scale = 10000 }
    "失业人数" = "unemployed_persons"
    [indicators.gdp]                 # an indicator of your own: no `id` key, the key is the id
    column = "地区生产总值（万元）"      # the header it is read from (none: a derived indicator)
    scale = 10000
    name = "GDP"
    name_zh = "地区生产总值"
    unit = "CNY"
    direction = "higher"             # higher | lower (or 1 | -1); none: not scored (raw)
    [indicators.gdp_growth]          # derived: ratio, growth, cagr, difference, lag
    derivation = "growth"
    numerator = "gdp"
    periods = 1
    [scale]                          # long: multiply an indicator's values on load
    gini_coefficient = 0.01
    [files."data-2023.csv"]          # per file (a name or a glob): any key above except the
    columns = { year = "统计年度" }   # declarations; it overrides the top level for that file

The keys of an indicator declaration are the columns of ``benchmarkkit indicators --format csv``
(see ``indicators/README.md``): one schema for the mapping, the indicator CSV and the listing.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from benchmarkkit.errors import InputError, did_you_mean

ROLES = ("city_id", "city_name", "country", "year", "indicator", "value", "flag")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "city_id": ("city_id", "city_code", "citycode", "ucode", "city id", "code", "geo", "city"),
    "city_name": ("city_name", "cityname", "uname", "name", "city name"),
    "country": ("country", "country_code", "countrycode", "iso3", "iso2"),
    "year": ("year", "time", "period", "time_period", "yr"),
    "indicator": ("indicator", "indicator_id", "indicator_code", "icode", "variable", "indic"),
    "value": ("value", "obs_value", "val", "amount"),
    "flag": ("flag", "obs_flag", "flags", "status"),
}
YEAR_HEADER = re.compile(r"^\s*(1[89]\d\d|2[01]\d\d)\s*$")
SHAPES = ("long", "wide", "wide_years")
SECTIONS = ("columns", "constants", "indicators", "scale", "attributes", "files")
TOP_KEYS = ("shape", "only_named", "ignore", "optional", *SECTIONS)
MAPPING_KEYS = frozenset({"id", "column", "scale", "optional"})
"""Keys of an ``[indicators]`` table that only say where an indicator is read from; any other key
(unit, direction, …) declares the indicator too."""
ATTRIBUTE_ALIASES = {"area": "area_km2"}


def normalise_header(header: str) -> str:
    """A header as compared: NFKC (full-width brackets and spaces → ASCII), whitespace runs (line
    breaks ``\\r\\n``, ``\\n``, tabs, ideographic spaces) → one space, ends stripped.

    >>> normalise_header("地区生产总值\\r\\n（万元）")
    '地区生产总值 (万元)'
    """
    return " ".join(unicodedata.normalize("NFKC", header).split())


def shown(header: str) -> str:
    """A header as printed in a message: control characters escaped, so a line break in a header
    cannot break the one-line message.

    >>> shown("GDP\\r\\n(万元)")
    'GDP\\\\r\\\\n(万元)'
    """
    out = []
    for ch in header:
        if ch in "\r\n\t":
            out.append({"\r": "\\r", "\n": "\\n", "\t": "\\t"}[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def header_id(header: str) -> str:
    """What an unmapped header stands for: its first line. A header written on two lines, an id
    then a label (``gdp_per_capita`` / ``GDP per capita (CNY) ↑``, as ``template`` writes them),
    is read by its id.

    >>> header_id("gdp_per_capita\n人均地区生产总值（元）↑")
    'gdp_per_capita'
    """
    lines = [ln for ln in unicodedata.normalize("NFKC", header).splitlines() if ln.strip()]
    return normalise_header(lines[0]) if lines else ""


def _squeezed(header: str) -> str:
    return "".join(normalise_header(header).split()).casefold()


class Headers:
    """A file's headers, looked up by a mapping key: exact, then normalised, then without any
    whitespace and case (unique matches only)."""

    def __init__(self, headers: list[str]) -> None:
        self.headers = headers
        self._norm: dict[str, list[str]] = {}
        self._squeeze: dict[str, list[str]] = {}
        for h in headers:
            self._norm.setdefault(normalise_header(h), []).append(h)
            self._squeeze.setdefault(_squeezed(h), []).append(h)

    def find(self, key: str) -> str | None:
        if key in self.headers:
            return key
        for table, form in ((self._norm, normalise_header(key)), (self._squeeze, _squeezed(key))):
            found = table.get(form, [])
            if len(found) == 1:
                return found[0]
        return None

    def closest(self, key: str, n: int = 3) -> list[str]:
        forms = {normalise_header(h): h for h in self.headers}
        near = difflib.get_close_matches(normalise_header(key), list(forms), n=n, cutoff=0.4)
        return [forms[m] for m in near]

    def missing(self, key: str, what: str, source: str) -> InputError:
        near = self.closest(key)
        if near:
            hint = "did you mean " + " or ".join(f"'{shown(h)}'" for h in near) + "?"
        else:
            hint = "columns are: " + ", ".join(f"'{shown(h)}'" for h in self.headers[:12])
        hint += "; list it in optional = [...] if the file may lack it"
        return InputError(
            f"mapped column '{shown(key)}' ({what}) is not in the file",
            source=source,
            column=shown(key),
            hint=hint,
        )


@dataclass(frozen=True)
class Mapping:
    shape: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    indicators: dict[str, tuple[str, float]] = field(default_factory=dict)
    """Header → (indicator id, scale)."""
    scale: dict[str, float] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    """Headers put aside: their cells are counted as ignored, never as rejected."""
    only_named: bool | None = None
    """Wide tables: read only the headers named in ``indicators``; every other column is ignored."""
    optional: frozenset[str] = frozenset()
    """Keys that may match no header without an error."""
    attributes: dict[str, tuple[str, float]] = field(default_factory=dict)
    """Cities-table column → (header, scale): context about the city, not an indicator."""
    declared: tuple[dict[str, Any], ...] = ()
    """Indicators declared in the mapping: catalog records keyed like the indicator CSV."""
    files: dict[str, Mapping] = field(default_factory=dict)
    """File name or glob → the mapping's overrides for matching files."""
    path: str | None = None
    """The mapping file, for messages."""

    def merged(self, other: Mapping) -> Mapping:
        """``other`` (CLI options, or a per-file section) overrides ``self``."""
        return Mapping(
            shape=other.shape or self.shape,
            columns={**self.columns, **other.columns},
            constants={**self.constants, **other.constants},
            indicators={**self.indicators, **other.indicators},
            scale={**self.scale, **other.scale},
            ignore=(*self.ignore, *(h for h in other.ignore if h not in self.ignore)),
            only_named=other.only_named if other.only_named is not None else self.only_named,
            optional=self.optional | other.optional,
            attributes={**self.attributes, **other.attributes},
            declared=(*self.declared, *other.declared),
            files={**self.files, **other.files},
            path=self.path or other.path,
        )

    def for_file(self, path: Path | str) -> Mapping:
        """The mapping for one file: the top level, overridden by every ``[files]`` section whose
        key is the file's name, its path, or a glob matching either. A section that reads an
        indicator from its own header replaces the top level's header for that indicator."""
        name, full = Path(path).name, str(path)
        out = replace(self, files={})
        for pattern, section in self.files.items():
            if _matches(pattern, name, full):
                # the section says where an indicator is read from *in this file*: the top
                # level's header for the same id does not apply here
                ids = {ind for ind, _ in section.indicators.values()}
                kept = {h: v for h, v in out.indicators.items() if v[0] not in ids}
                out = replace(out, indicators=kept).merged(replace(section, declared=()))
        return out

    def unmatched_files(self, paths: list[Path]) -> list[str]:
        """``[files]`` keys that no given file matches (each one is a silent miss otherwise)."""
        return [
            pattern
            for pattern in self.files
            if not any(_matches(pattern, p.name, str(p)) for p in paths)
        ]


def _matches(pattern: str, name: str, full: str) -> bool:
    return (
        pattern in (name, full) or fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(full, pattern)
    )


def read_mapping(path: Path) -> Mapping:
    """Parse a mapping TOML file; every mistake is one line naming the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError("mapping file not found", source=str(path)) from None
    except IsADirectoryError:
        raise InputError("mapping is a folder, not a TOML file", source=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"mapping file is not valid TOML ({err})", source=str(path)) from None
    mapping = _parse(data, str(path), top=True)
    files = data.get("files", {})
    if not isinstance(files, dict):
        raise InputError("[files] must hold one table per file name", source=str(path))
    sections = {}
    for pattern, section in files.items():
        if not isinstance(section, dict):
            raise InputError(
                f'[files."{pattern}"] must be a table of mapping keys',
                source=str(path),
                hint=f'e.g. [files."{pattern}"] then  shape = "wide"',
            )
        sections[pattern] = _parse(section, f'{path} [files."{pattern}"]', top=False)
    return replace(mapping, files=sections, path=str(path))


def _parse(data: dict[str, Any], source: str, *, top: bool) -> Mapping:
    allowed = TOP_KEYS if top else tuple(k for k in TOP_KEYS if k != "files")
    for section in SECTIONS:
        if section in data and not isinstance(data[section], dict):
            raise InputError(
                f"[{section}] must be a table of key = value lines",
                source=source,
                hint=f'e.g. [{section}] then  key = "value"',
            )
    unknown = set(data) - set(allowed)
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(
            f"unknown key '{key}' in mapping",
            source=source,
            hint=did_you_mean(key, allowed) or f"keys: {', '.join(allowed)}",
        )
    shape = data.get("shape")
    if shape is not None and shape not in SHAPES:
        raise InputError(f"shape '{shape}' is not one of {', '.join(SHAPES)}", source=source)
    for section in ("columns", "constants"):
        for role in data.get(section, {}):
            if role not in ROLES:
                raise InputError(
                    f"[{section}] has unknown role '{role}'",
                    source=source,
                    hint=did_you_mean(role, ROLES) or f"roles: {', '.join(ROLES)}",
                )
    only = data.get("only_named")
    if only is not None and not isinstance(only, bool):
        raise InputError("only_named must be true or false", source=source)
    ignore = _strings(data.get("ignore", []), "ignore", source)
    optional = set(_strings(data.get("optional", []), "optional", source))
    indicators: dict[str, tuple[str, float]] = {}
    declared: list[dict[str, Any]] = []
    for key, spec in data.get("indicators", {}).items():
        header, ind, factor, record, is_optional = _indicator_spec(key, spec, source)
        if header is not None:
            indicators[header] = (ind, factor)
            if is_optional:
                optional.add(header)
        if record is not None:
            if not top:
                raise InputError(
                    f"[indicators] '{key}': declare indicators at the top of the mapping",
                    source=source,
                    hint="a [files] section may only say where an indicator is read from",
                )
            declared.append(record)
    scale = {}
    for ind, factor in data.get("scale", {}).items():
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise InputError(f"[scale] {ind} must be a number", source=source)
        scale[ind] = float(factor)
    attributes = {}
    for name, spec in data.get("attributes", {}).items():
        attr = ATTRIBUTE_ALIASES.get(name, name)
        header, factor, is_optional = _attribute_spec(name, spec, source)
        attributes[attr] = (header, factor)
        if is_optional:
            optional.add(header)
    return Mapping(
        shape=shape,
        columns={k: str(v) for k, v in data.get("columns", {}).items()},
        constants={k: str(v) for k, v in data.get("constants", {}).items()},
        indicators=indicators,
        scale=scale,
        ignore=tuple(ignore),
        only_named=only,
        optional=frozenset(optional),
        attributes=attributes,
        declared=tuple(declared),
    )


def _strings(value: Any, key: str, source: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{key} must be a list of column headers", source=source)
    return value


def _number(value: Any, where: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: scale must be a number", source=source)
    return float(value)


def _indicator_spec(
    key: str, spec: Any, source: str
) -> tuple[str | None, str, float, dict[str, Any] | None, bool]:
    """(header or None, indicator id, scale, declaration or None, optional) of one entry."""
    if isinstance(spec, str):
        return key, spec, 1.0, None, False
    if not isinstance(spec, dict):
        raise InputError(
            f"[indicators] '{shown(key)}' must be an id or a table",
            source=source,
            hint='e.g. "header" = "id", or "header" = { id = "id", scale = 10000 }',
        )
    factor = _number(spec.get("scale", 1.0), f"[indicators] '{shown(key)}'", source)
    if "id" in spec:  # the key is a header, ``id`` the indicator
        if not isinstance(spec["id"], str):
            raise InputError(f"[indicators] '{shown(key)}': id must be text", source=source)
        header, ind = key, spec["id"]
    else:  # the key is the indicator id; ``column`` (if any) the header
        header, ind = spec.get("column"), key
        if header is not None and not isinstance(header, str):
            raise InputError(f"[indicators.{key}] column must be a header", source=source)
    optional = spec.get("optional", False)
    if not isinstance(optional, bool):
        raise InputError(f"[indicators] '{shown(key)}': optional is true or false", source=source)
    extra = {k: v for k, v in spec.items() if k not in MAPPING_KEYS}
    if header is None and not extra:
        raise InputError(
            f"[indicators] '{shown(key)}' must be an id, {{ id = ..., scale = ... }}, or a "
            "declaration saying where it is read from or what it is",
            source=source,
            hint='give column = "header", or declare it (unit, direction, derivation …)',
        )
    record = None
    if extra or header is None:
        record = {"id": ind, **extra, "_source": source, "_key": f"indicators.{ind}"}
        if "scale" in spec and "derivation" in extra:
            record["scale"] = factor  # a derived indicator's scale is its own, not a unit's
            factor = 1.0
    return header, ind, factor, record, optional


def _attribute_spec(name: str, spec: Any, source: str) -> tuple[str, float, bool]:
    if isinstance(spec, str):
        return spec, 1.0, False
    if isinstance(spec, dict) and isinstance(spec.get("column"), str):
        factor = _number(spec.get("scale", 1.0), f"[attributes] {name}", source)
        return spec["column"], factor, bool(spec.get("optional", False))
    raise InputError(
        f"[attributes] {name} must be a header or {{ column = ..., scale = ... }}",
        source=source,
    )


def _find_role(role: str, index: Headers, mapping: Mapping, source: str) -> str | None:
    if role in mapping.columns:
        key = mapping.columns[role]
        header = index.find(key)
        if header is None:
            if key in mapping.optional:
                return None
            raise index.missing(key, f"[columns] {role}", source)
        return header
    lowered = {header_id(h).lower(): h for h in index.headers}
    lowered.update({normalise_header(h).lower(): h for h in index.headers})
    for candidate in SYNONYMS[role]:
        if candidate in lowered:
            return lowered[candidate]
    return None


def resolve(headers: list[str], mapping: Mapping, source: str) -> tuple[str, dict[str, str]]:
    """Decide the shape and which header plays each role; missing required roles are errors."""
    index = Headers(headers)
    found: dict[str, str] = {}
    for role in ROLES:
        header = _find_role(role, index, mapping, source)
        if header is not None:
            found[role] = header
    shape = mapping.shape
    if shape is None:
        # An indicator column means long (or wide by year): never guess "wide" then, so that a
        # misspelt value header is reported as missing instead of read as an indicator.
        if (
            "indicator" in found
            and "value" not in found
            and any(YEAR_HEADER.match(h) for h in headers)
        ):
            shape = "wide_years"
        elif "indicator" in found or "value" in found:
            shape = "long"
        else:
            shape = "wide"
    required = {
        "long": ("city_id", "year", "indicator", "value"),
        "wide": ("city_id", "year"),
        "wide_years": ("city_id", "indicator"),
    }[shape]
    for role in required:
        if role not in found and role not in mapping.constants:
            taken = set(found.values())
            free = [h for h in headers if h not in taken]
            guess = did_you_mean(role, free)
            raise InputError(
                f"missing required column '{role}' for a {shape} table",
                source=source,
                column=role,
                hint=(
                    f"{guess} map it with --column {role}=HEADER"
                    if guess
                    else f"map one of [{', '.join(shown(h) for h in free[:8])}] with "
                    f"--column {role}=HEADER or a mapping file"
                ),
            )
    return shape, found


@dataclass(frozen=True)
class Mapped:
    """One file mapped: raw observations (text), role → header, cells put aside, city context."""

    long: pl.LazyFrame | pl.DataFrame
    """The raw long rows. A plan over the file's table, so that the constant columns (source,
    the header of a long table's value column, scale 1) are never made one cell per row unless a
    step needs them: validation keeps them as literals (27 M rows: ~1 GiB less)."""
    headers: dict[str, str]
    ignored: int = 0
    """Non-empty cells of ignored and attribute columns: read, neither accepted nor rejected."""
    attributes: pl.DataFrame | None = None
    """city_id, year and one text column per ``[attributes]`` entry (scaled later)."""
    scales: dict[str, float] = field(default_factory=dict)
    """Attribute → scale."""
    source: str = ""
    attribute_columns: dict[str, str] = field(default_factory=dict)
    """Attribute → the header it was read from (escaped), for messages."""


def _lookup(keys: list[str], index: Headers, mapping: Mapping, what: str, source: str):
    """Headers for mapping keys; a key matching nothing is an error unless optional."""
    out = {}
    for key in keys:
        header = index.find(key)
        if header is None:
            if key in mapping.optional:
                continue
            raise index.missing(key, what, source)
        out[key] = header
    return out


def to_long(
    table: pl.DataFrame, mapping: Mapping, source: str
) -> tuple[pl.LazyFrame | pl.DataFrame, dict[str, str]]:
    """The user's table as raw observations (text), one row per value, with its file position.

    Output columns: city_id, city_name, country, year, indicator, value, flag, scale, source,
    row, column (the header the value came from, escaped), _bad. Also returns role → header, so
    that messages can name the user's own column headers. ``map_table`` also says what was put
    aside.
    """
    mapped = map_table(table, mapping, source)
    return mapped.long, mapped.headers


def map_table(table: pl.DataFrame, mapping: Mapping, source: str) -> Mapped:
    """``to_long`` plus the cells put aside (ignored, attributes) and the attributes frame."""
    headers = [c for c in table.columns if c not in ("_row", "_bad")]
    index = Headers(headers)
    shape, found = resolve(headers, mapping, source)
    role = partial(_role_expr, found=found, constants=mapping.constants, shape=shape)
    ignored_cols = _lookup(list(mapping.ignore), index, mapping, "ignore", source)
    attr_headers = _lookup(
        [h for h, _ in mapping.attributes.values()], index, mapping, "[attributes]", source
    )
    aside = list(dict.fromkeys([*ignored_cols.values(), *attr_headers.values()]))
    if shape == "long":
        long = table.lazy().select(
            *_base(role),
            role("indicator"),
            pl.col(found["value"]).alias("value"),
            pl.lit(shown(found["value"])).alias("column"),
            pl.lit(1.0).alias("scale"),
        )
    elif shape == "wide":
        ind_headers = _lookup(list(mapping.indicators), index, mapping, "[indicators]", source)
        taken = set(found.values()) | set(aside)
        free = [h for h in headers if h not in taken]
        if mapping.only_named:
            named = set(ind_headers.values())
            aside += [h for h in free if h not in named]
            free = [h for h in free if h in named]
        by_header = {ind_headers[k]: v for k, v in mapping.indicators.items() if k in ind_headers}
        long = _unpivot_wide(table, role, free, by_header, source)
    else:
        long = _unpivot_years(table, role, headers, source)
    ignored = _cells(table, aside) if shape == "wide" else 0
    attributes = None
    if attr_headers:
        attributes = table.select(
            role("city_id").str.strip_chars(),
            role("year").cast(pl.String),
            pl.col("_row"),
            *[
                pl.col(attr_headers[h]).cast(pl.String).str.strip_chars().alias(attr)
                for attr, (h, _) in mapping.attributes.items()
                if h in attr_headers
            ],
        )
    mapped = {a: (h, s) for a, (h, s) in mapping.attributes.items() if h in attr_headers}
    return Mapped(
        _with_scale(long, mapping.scale, source),
        found,
        ignored,
        attributes,
        {a: s for a, (_, s) in mapped.items()},
        source,
        {a: shown(attr_headers[h]) for a, (h, _) in mapped.items()},
    )


def _role_expr(role: str, *, found: dict[str, str], constants: dict[str, str], shape: str):
    """A role's column: the mapped header, else the constant, else null (text, except a long
    table's year, whose type the validation reads)."""
    if role in found:
        col = pl.col(found[role])
        return (col if role == "year" and shape == "long" else col.cast(pl.String)).alias(role)
    if role in constants:
        return pl.lit(constants[role]).alias(role)
    return pl.lit(None, dtype=pl.String).alias(role)


def _base(role: Any, *, year: bool = True) -> list[pl.Expr]:
    roles = (
        ("city_id", "city_name", "country", "year", "flag")
        if year
        else ("city_id", "city_name", "country", "flag")
    )
    return [*(role(r) for r in roles), pl.col("_row").alias("row"), pl.col("_bad")]


def _unpivot_wide(
    table: pl.DataFrame,
    role: Any,
    value_cols: list[str],
    by_header: dict[str, tuple[str, float]],
    source: str,
) -> pl.DataFrame:
    """One row per non-empty value cell; an unmapped header is read by its first line."""
    if not value_cols:
        raise InputError(
            "a wide table needs at least one indicator column",
            source=source,
            hint="name one in [indicators], or map the table as long with --shape long",
        )
    # value columns get a private prefix so a header such as "row" or "year" cannot collide
    # with the long table's own columns; the prefix is stripped after the unpivot
    tagged = [f"\x00{c}" for c in value_cols]
    framed = table.select(
        *_base(role),
        *[pl.col(c).cast(pl.String).alias(t) for c, t in zip(value_cols, tagged, strict=True)],
    )
    long = framed.unpivot(
        on=tagged,
        index=["city_id", "city_name", "country", "year", "flag", "row", "_bad"],
        variable_name="column",
        value_name="value",
    )
    # each row's header by its position (an Enum code), and the header's indicator id, scale
    # and printed name by that position: 6 M rows 0.6 s, where stripping the prefix and three
    # lookups by string took 1.5 s
    ids = [by_header.get(h, (header_id(h), 1.0)) for h in value_cols]
    position = pl.col("column").cast(pl.Enum(tagged)).to_physical()
    return (
        long.with_columns(position.alias("_position"))
        .with_columns(
            pl.lit(pl.Series([i for i, _ in ids], dtype=pl.String))
            .gather("_position")
            .alias("indicator"),
            pl.lit(pl.Series([s for _, s in ids], dtype=pl.Float64))
            .gather("_position")
            .alias("scale"),
            pl.lit(pl.Series([shown(h) for h in value_cols], dtype=pl.String))
            .gather("_position")
            .alias("column"),
        )
        .drop("_position")
        .filter(pl.col("value").is_not_null() | pl.col("_bad").is_not_null())
    )


def _unpivot_years(table: pl.DataFrame, role: Any, headers: list[str], source: str) -> pl.DataFrame:
    year_cols = [h for h in headers if YEAR_HEADER.match(h)]
    if not year_cols:
        raise InputError(
            "a wide-by-year table needs columns named by year (e.g. 2021)", source=source
        )
    framed = table.select(
        *_base(role, year=False),
        role("indicator"),
        *[pl.col(c).cast(pl.String) for c in year_cols],
    )
    long = framed.unpivot(
        on=year_cols,
        index=["city_id", "city_name", "country", "flag", "row", "_bad", "indicator"],
        variable_name="column",
        value_name="value",
    ).with_columns(pl.col("column").str.strip_chars().alias("year"), pl.lit(1.0).alias("scale"))
    return long.filter(pl.col("value").is_not_null() | pl.col("_bad").is_not_null())


def _with_scale(
    long: pl.LazyFrame | pl.DataFrame, scale: dict[str, float], source: str
) -> pl.LazyFrame:
    """The long rows in their fixed column order, with ``[scale]`` applied and the source: a
    plan, not a frame (see ``Mapped.long``)."""
    long = long.lazy()
    if scale:
        long = long.with_columns(
            (
                pl.col("scale")
                * pl.col("indicator").replace_strict(scale, default=1.0, return_dtype=pl.Float64)
            ).alias("scale")
        )
    return long.with_columns(pl.lit(source).alias("source")).select(
        "city_id",
        "city_name",
        "country",
        "year",
        "indicator",
        "value",
        "flag",
        "scale",
        "source",
        "row",
        "column",
        "_bad",
    )


def _cells(table: pl.DataFrame, columns: list[str]) -> int:
    """Non-empty cells of ``columns``: what putting them aside leaves unread."""
    if not columns:
        return 0
    filled = ((pl.col(c).cast(pl.String).str.strip_chars() != "").fill_null(False) for c in columns)
    return int(table.select(pl.sum_horizontal(filled).sum()).item())
