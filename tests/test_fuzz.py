"""Robustness: random and malformed files through the real `benchmarkkit validate` command.

Every example writes a file to disk, runs ``benchmarkkit validate FILE --rejected OUT.csv``
in-process and checks the invariants the README promises, whatever the input:

* no uncaught exception, no traceback, no "internal error";
* exit code 0 (all accepted), 1 (some rejected) or 2 (a file unusable), and nothing else;
* rows read = accepted + rejected (the summary line);
* every line of the rejected CSV names its source and a known rule; ``row`` is empty exactly for
  ``file_unusable``; ``column`` is filled for every rule that refers to a cell;
* no temporary file is left next to the rejected CSV.

Known bugs are kept out of the generators and pinned by the strict ``xfail`` tests at the end.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import math
import os
import re
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

SCALE = float(os.environ.get("BENCHMARKKIT_FUZZ_SCALE", "1"))
"""Multiply every example budget, e.g. ``BENCHMARKKIT_FUZZ_SCALE=20`` for a long bug hunt."""


def budget(n: int) -> int:
    return max(1, round(n * SCALE))


FUZZ = settings(
    max_examples=budget(40),
    deadline=None,
    database=None,  # nothing written into the repository
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(FUZZ, max_examples=budget(25))
MANY = settings(FUZZ, max_examples=budget(60))

KNOWN = ("life_expectancy", "unemployment_rate", "homicides_per_100k", "population")
RULES_WITHOUT_COLUMN = {"file_unusable", "ragged_row"}
REJECTED_HEADER = ["source", "row", "column", "rule", "message", "hint"]
SUMMARY = re.compile(r"rows read: (\d+)\s+accepted: (\d+)\s+rejected: (\d+)")
# Headers that collide with the engine's own column names: a known bug, pinned below.
RESERVED = {"row", "_row", "_bad"}


# ---------------------------------------------------------------------------------------------
# running the CLI and checking the invariants


def cli(*args: object):
    from benchmarkkit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def rules() -> set[str]:
    from benchmarkkit.io.validate import RULES

    return set(RULES) - {"soft_bounds"}


def check(result, out: Path) -> dict:
    """The invariants every `validate FILE --rejected OUT.csv` run must hold."""
    text = result.output
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"uncaught {exc!r}\n{text}"
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    assert result.exit_code in (0, 1, 2), text
    match = SUMMARY.search(result.stdout)
    assert match, text
    read, accepted, rejected = map(int, match.groups())
    assert read == accepted + rejected, text
    assert out.is_file(), text
    with out.open(encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == REJECTED_HEADER
    records = [dict(zip(REJECTED_HEADER, line, strict=True)) for line in lines[1:]]
    known = rules()
    for rec in records:
        assert rec["source"], rec
        assert rec["rule"] in known, rec
        if not (rec["rule"] == "bad_year" and not rec["message"]):  # known bug, pinned below
            assert rec["message"], rec
        if rec["rule"] == "file_unusable":
            assert rec["row"] == "", rec
        else:
            assert rec["row"].isdigit() and int(rec["row"]) >= 1, rec
        if rec["rule"] not in RULES_WITHOUT_COLUMN:
            assert rec["column"], rec
    unusable = sum(rec["rule"] == "file_unusable" for rec in records)
    assert sum(rec["row"] != "" for rec in records) == rejected, text
    assert result.exit_code == (2 if unusable else 1 if rejected else 0), text
    if currently_in_test_context():  # statistics for --hypothesis-show-statistics
        event(f"exit {result.exit_code}")
        for rule in sorted({rec["rule"] for rec in records}):
            event(f"rule {rule}")
    leftovers = [p.name for p in out.parent.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
    return {
        "read": read,
        "accepted": accepted,
        "rejected": rejected,
        "records": records,
        "unusable": unusable,
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def validate_bytes(base: Path, name: str, data: bytes, *extra: object) -> tuple[object, dict]:
    with tempfile.TemporaryDirectory(dir=base) as folder:
        path, out = Path(folder) / name, Path(folder) / "rejected.csv"
        path.write_bytes(data)
        result = cli("validate", path, "--rejected", out, *extra)
        return result, check(result, out)


# ---------------------------------------------------------------------------------------------
# cells and headers

RTL = ["القاهرة", "دبي", "الرياض", "ירושלים", "תל אביב-יפו", "\u200fחיפה\u200f", "\u202eABC"]
EMOJI = ["🏙️", "👨‍👩‍👧", "🇵🇹", "🌆 City", "☕"]
NUMBERS = [
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1e308",
    "-1e308",
    "5e-324",
    "1e400",
    "-1e400",
    "1e-400",
    "0",
    "-0",
    "+7.5",
    " 7.5 ",
    "7,5",
    "1 000",
    "1_000",
    "76.5%",
    "0x10",
    "١٢٫٥",
    "",
    " ",
    "n/a",
    "—",
    "1.7976931348623157e308",
    "2e308",
]
SPECIAL = [
    '"',
    '""',
    '"quoted"',
    ",",
    ";",
    "\t",
    "\n",
    "\r\n",
    "a,b",
    "a;b",
    "line\nbreak",
    "'",
    "=1+1",
    "+cmd",
    "-2",
    "@SUM(A1)",
    "\x00",
]
YEARS = [
    "2023",
    "2023.0",
    " 2023 ",
    "20x3",
    "1899",
    "2101",
    "-2023",
    "1e3",
    "2023.5",
    "",
    "nan",
    "99999999999999999999",
    "2.023e3",
    "inf",
]

safe_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
float_text = st.floats(allow_nan=True, allow_infinity=True).map(repr)
number_cell = st.one_of(
    st.sampled_from(NUMBERS), float_text, st.integers(-(10**30), 10**30).map(str)
)
city_cell = st.one_of(
    st.sampled_from(["PT001C", "VN001", "CN001", "", " ", *RTL, *EMOJI]), safe_text
)
indicator_cell = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(["", " life_expectancy ", "unemployment_rat"]),
    safe_text,
)
year_cell = st.one_of(st.sampled_from(YEARS), st.integers(1800, 2200).map(str))
any_cell = st.one_of(number_cell, city_cell, st.sampled_from(SPECIAL), any_text, year_cell)


good_city = st.sampled_from(["PT001C", "VN001", "CN001", "القاهرة", "ירושלים", "🏙️", "Đà Nẵng"])
good_year = st.integers(2015, 2024)
good_value = st.floats(0, 100)
good_indicator = st.sampled_from(KNOWN)


def cell_for(header: str, clean: bool = False) -> st.SearchStrategy[str]:
    """Mostly plausible cells for the column (so that rows do get accepted), sometimes junk."""
    h = header.strip().lower()
    if clean:
        return {
            "city_id": good_city,
            "city": good_city,
            "year": good_year.map(str),
            "indicator": good_indicator,
        }.get(h, st.floats(40, 90).map(repr))
    if h in ("city_id", "city", "city_name", "name", "country"):
        return st.one_of(good_city, good_city, city_cell, any_cell)
    if h in ("year", "time"):
        return st.one_of(good_year.map(str), good_year.map(str), year_cell, any_cell)
    if h == "indicator":
        return st.one_of(good_indicator, good_indicator, indicator_cell, any_cell)
    return st.one_of(good_value.map(repr), good_value.map(str), number_cell, any_cell)


def usable_header(name: str) -> bool:
    return name.strip() not in RESERVED


random_header = st.one_of(safe_text, st.sampled_from([*KNOWN, *RTL, *EMOJI, "2021", " 2022 "]))


@st.composite
def headers(draw) -> list[str]:
    shape = draw(st.sampled_from(["long", "long", "long", "wide", "wide", "wide_years", "random"]))
    if shape == "long":
        cols = ["city_id", "city_name", "country", "year", "indicator", "value"]
        if draw(st.booleans()):
            cols.append("flag")
        cols = draw(st.permutations(cols))
    elif shape == "wide":
        inds = draw(
            st.lists(
                st.one_of(st.sampled_from(KNOWN), random_header),
                min_size=1,
                max_size=4,
                unique_by=lambda s: s.strip(),
            )
        )
        cols = ["city_id", "year", *inds]
    elif shape == "wide_years":
        years = draw(
            st.lists(st.integers(1890, 2110).map(str), min_size=1, max_size=4, unique=True)
        )
        cols = ["city", "indicator", *years]
    else:
        cols = draw(st.lists(random_header, min_size=1, max_size=6))
    assume(all(usable_header(c) for c in cols))
    return list(cols)


@st.composite
def tables(draw) -> tuple[list[str], list[list[str]]]:
    header = draw(headers())
    n = draw(st.one_of(st.integers(1, 6), st.integers(0, 6)))
    clean = draw(st.integers(0, 3)) == 0  # a quarter of the tables hold only plausible cells
    rows = []
    for i in range(n):
        row = [draw(cell_for(h, clean)) for h in header]
        if clean and "city_id" in header:  # one city per row: no duplicates
            row[header.index("city_id")] = f"C{i}"
        if draw(st.integers(0, 14)) == 0:  # ragged: too few or too many fields
            cut = draw(st.integers(0, len(row) + 2))
            row = (row + [draw(any_cell) for _ in range(3)])[:cut]
        rows.append(row)
    return header, rows


def render(
    header: list[str], rows: list[list[str]], sep: str, quoting: str, terminator: str
) -> str:
    if quoting == "raw":  # no quoting at all: embedded separators and newlines break rows
        return "".join(sep.join(r) + terminator for r in [header, *rows])
    buf = io.StringIO()
    mode = {"minimal": csv.QUOTE_MINIMAL, "all": csv.QUOTE_ALL}[quoting]
    csv.writer(buf, delimiter=sep, quoting=mode, lineterminator=terminator).writerows(
        [header, *rows]
    )
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# CSV


@MANY
@given(
    table=tables(),
    sep=st.sampled_from([",", ";", "\t"]),
    quoting=st.sampled_from(["minimal", "all", "raw"]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
)
def test_random_csv_holds_the_invariants(base, table, sep, quoting, terminator, bom, suffix):
    text = render(*table, sep, quoting, terminator)
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    result, _ = validate_bytes(base, "data" + suffix, data)
    if not text.strip():
        assert result.exit_code == 2


@FUZZ
@given(
    data=st.binary(max_size=300), prefix=st.sampled_from([b"", b"city_id,year,indicator,value\n"])
)
def test_arbitrary_bytes_as_csv(base, data, prefix):
    validate_bytes(base, "junk.csv", prefix + data)


@FEW
@given(table=tables(), explicit_sep=st.booleans())
def test_explicit_separator_option(base, table, explicit_sep):
    text = render(*table, ";", "minimal", "\n")
    extra = ("--separator", ";") if explicit_sep else ()
    validate_bytes(base, "semi.csv", text.encode(), *extra)


HAN = "杭州北京上海广州深圳重庆武汉成都南京西安天津苏州郑州长沙东莞青岛沈阳宁波昆明市区县人口"
gbk_text = st.text(alphabet=st.sampled_from(HAN + "abcXYZ019 -"), min_size=0, max_size=6)


@FUZZ
@given(
    names=st.lists(gbk_text, min_size=1, max_size=5),
    values=st.lists(number_cell, min_size=1, max_size=5),
    with_encoding=st.booleans(),
    chinese_header=st.booleans(),
)
def test_gbk_files_with_and_without_encoding(base, names, values, with_encoding, chinese_header):
    header = (
        "城市代码,城市,年份,人均预期寿命"
        if chinese_header
        else "city_id,city_name,year,life_expectancy"
    )
    lines = [header] + [
        f"CN{i:03},{name},2023,{v}" for i, (name, v) in enumerate(zip(names, values, strict=False))
    ]
    text = "\n".join(lines) + "\n"
    data = text.encode("gbk", errors="replace")
    extra = ["--encoding", "gbk"] if with_encoding else []
    if chinese_header:
        extra += [
            "--column",
            "city_id=城市代码",
            "--column",
            "city_name=城市",
            "--column",
            "year=年份",
        ]
    result, _ = validate_bytes(base, "gbk.csv", data, *extra)
    try:
        data.decode("utf-8")
        is_utf8 = True
    except UnicodeDecodeError:
        is_utf8 = False
    if not with_encoding and not is_utf8:
        assert result.exit_code == 2
        assert "--encoding" in result.output
    if with_encoding:
        assert "is not valid" not in result.output


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b" ",
        b"\n\n",
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf\n",
        b"city_id,year,indicator,value\n",
        b"city_id,year,indicator,value",
        b"city_id;year;indicator;value\r\n\r\n",
        b"\xef\xbb\xbfcity_id\tyear\tindicator\tvalue\n",
        b",,,\n",
        b"\n\ncity_id,year\nA,2023\n",
    ],
    ids=lambda d: repr(d)[:30],
)
def test_empty_and_header_only_files_are_unusable(base, data):
    result, got = validate_bytes(base, "empty.csv", data)
    assert result.exit_code == 2
    assert got["unusable"] == 1 and got["read"] == 0


@FEW
@given(
    names=st.lists(
        st.sampled_from(["city_id", "year", "indicator", "value", *KNOWN, "x"]),
        min_size=1,
        max_size=4,
    ),
    dup=st.data(),
)
def test_duplicate_headers_are_named(base, names, dup):
    again = dup.draw(st.sampled_from(names))
    pad = dup.draw(st.sampled_from(["", " ", "  "]))
    header = [*names, pad + again + pad]
    text = ",".join(header) + "\n" + ",".join("1" for _ in header) + "\n"
    result, _ = validate_bytes(base, "dup.csv", text.encode())
    assert result.exit_code == 2
    assert "appears twice" in result.output


# ---------------------------------------------------------------------------------------------
# values: an oracle for the numeric rules


@pytest.fixture(scope="module")
def bounds(catalog) -> dict[str, tuple[float, float, str]]:
    rows = (
        catalog.filter(catalog["id"].is_in(list(KNOWN)))
        .select("id", "lower", "upper", "bound_type")
        .rows()
    )
    return {i: (lo, hi, kind) for i, lo, hi, kind in rows}


def expected_rule(value: float, lo: float, hi: float, kind: str) -> str | None:
    if not math.isfinite(value):
        return "not_finite"
    if kind == "hard" and (value < lo or value > hi):
        return "hard_bounds"
    if kind == "soft" and lo >= 0 and value < 0:
        return "below_physical_minimum"
    return None


@FUZZ
@given(
    cells=st.lists(
        st.tuples(
            st.sampled_from(KNOWN),
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True),
                st.sampled_from(
                    [
                        1e308,
                        -1e308,
                        5e-324,
                        -5e-324,
                        0.0,
                        -0.0,
                        100.0,
                        100.00000000000001,
                        math.inf,
                        -math.inf,
                        math.nan,
                    ]
                ),
            ),
            st.sampled_from(["{!r}", "{:.17g}", "{:e}", " {!r} ", "{!r}\t"]),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_numeric_rules_match_an_oracle(base, bounds, cells):
    lines = ["city_id,year,indicator,value"]
    lines += [f"C{i},2023,{ind},{fmt.format(v)}" for i, (ind, v, fmt) in enumerate(cells)]
    _, got = validate_bytes(base, "numbers.csv", ("\n".join(lines) + "\n").encode())
    by_row = {int(r["row"]): r["rule"] for r in got["records"]}
    for i, (ind, v, fmt) in enumerate(cells):
        # the oracle parses the text the file holds, as the engine does
        parsed = float(fmt.format(v).strip())
        assert by_row.get(i + 2) == expected_rule(parsed, *bounds[ind]), (ind, fmt.format(v))


@FUZZ
@given(texts=st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=10))
def test_number_spellings(base, texts):
    rows = [(f"C{i}", "2023", "unemployment_rate", t) for i, t in enumerate(texts)]
    text = render(["city_id", "year", "indicator", "value"], rows, ",", "minimal", "\n")
    _, got = validate_bytes(base, "spell.csv", text.encode())
    by_row = {int(r["row"]): r["rule"] for r in got["records"]}
    for i, t in enumerate(texts):
        rule = by_row.get(i + 2)
        if t.strip().lower() in (
            "nan",
            "-nan",
            "inf",
            "-inf",
            "infinity",
            "1e400",
            "-1e400",
            "2e308",
        ):
            assert rule == "not_finite", t
        elif not t.strip():
            assert rule == "missing_value", t
        elif t in ("1e308", "-1e308", "1.7976931348623157e308"):
            assert rule == "hard_bounds", t
        elif t in ("5e-324", "1e-400", "0", "-0", "+7.5", " 7.5 "):
            assert rule is None, t
        elif t in ("7,5", "1 000", "76.5%", "n/a", "—", "١٢٫٥"):
            assert rule == "non_numeric", t


# ---------------------------------------------------------------------------------------------
# Excel

excel_value = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, 5e-324, -1e308, 2023, 2023.0, 76.5]),
    st.integers(-(10**15), 10**15),
    any_cell,
    st.just(("formula", "=1+1")),
)
SHEET_NAMES = ["data", "Sheet1", "数据", "بيانات", "נתונים", "cities 2023"]


def _excel_cell(sheet, r: int, c: int, value) -> None:
    if value is None:
        return
    if isinstance(value, tuple):
        sheet.write_formula(r, c, value[1])
    elif isinstance(value, bool):
        sheet.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        sheet.write_number(r, c, value)
    else:
        sheet.write_string(r, c, value)


@FEW
@given(
    table=tables(),
    extra=st.lists(st.lists(excel_value, max_size=8), max_size=4),
    merge=st.one_of(st.none(), st.tuples(st.integers(0, 5), st.integers(1, 3))),
    vmerge=st.booleans(),
    sheet_name=st.sampled_from(SHEET_NAMES),
    placement=st.sampled_from(["first", "first", "second", "wrong_name"]),
)
def test_random_excel_holds_the_invariants(
    base, table, extra, merge, vmerge, sheet_name, placement
):
    import xlsxwriter

    header, rows = table
    width = max(len(header), *(len(r) for r in [*rows, *extra, []]))
    with tempfile.TemporaryDirectory(dir=base) as folder:
        path, out = Path(folder) / "book.xlsx", Path(folder) / "rejected.csv"
        book = xlsxwriter.Workbook(path, {"nan_inf_to_errors": True})
        if placement != "first":
            book.add_worksheet("notes").write(0, 0, "nothing here")
        sheet = book.add_worksheet(sheet_name)
        skip: set[tuple[int, int]] = set()
        if merge is not None and merge[0] < width:
            start, span = merge
            end = start + span
            sheet.merge_range(0, start, 0, end, header[start] if start < len(header) else "")
            skip |= {(0, c) for c in range(start, end + 1)}
        if vmerge and rows and width > 1:  # a city name merged over two data rows
            sheet.merge_range(1, 0, 2, 0, "merged city")
            skip |= {(1, 0), (2, 0)}
        grid = [header, *rows, *extra]
        for r, line in enumerate(grid):
            for c, value in enumerate(line):
                if (r, c) not in skip:
                    _excel_cell(sheet, r, c, value)
        book.close()
        args = ["validate", path, "--rejected", out]
        if placement == "second":
            args += ["--sheet", sheet_name]
        elif placement == "wrong_name":
            args += ["--sheet", sheet_name + "x"]
        result = cli(*args)
        check(result, out)
        if placement == "wrong_name":
            assert result.exit_code == 2 and "no sheet named" in result.output


# ---------------------------------------------------------------------------------------------
# Parquet and Arrow with unexpected dtypes


def _column(draw, role: str, n: int) -> pa.Array:
    """One column for a role, in a dtype a real file might (wrongly) use."""
    natural = {"year": "int", "value": "float"}.get(role, "string")
    kind = draw(
        st.one_of(
            st.just(natural),
            st.sampled_from(
                [
                    "string",
                    "large_string",
                    "categorical",
                    "int",
                    "float",
                    "bool",
                    "null",
                    "date",
                    "decimal",
                    "int8",
                    "uint16",
                ]
            ),
        )
    )
    if kind == "null":
        return pa.nulls(n)
    if kind == "bool":
        return pa.array(
            draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)), pa.bool_()
        )
    if kind == "date":
        return pa.array(
            draw(st.lists(st.one_of(st.none(), st.dates()), min_size=n, max_size=n)), pa.date32()
        )
    if kind in ("int", "int8", "uint16"):
        lo, hi, typ = {
            "int": (-(2**63), 2**63 - 1, pa.int64()),
            "int8": (-128, 127, pa.int8()),
            "uint16": (0, 2**16 - 1, pa.uint16()),
        }[kind]
        near = st.integers(1890, 2110) if role == "year" else st.integers(-5, 200)
        ints = st.one_of(near, near, st.none(), st.integers(lo, hi))
        return pa.array(
            [
                min(max(v, lo), hi) if v is not None else None
                for v in draw(st.lists(ints, min_size=n, max_size=n))
            ],
            typ,
        )
    if kind == "float":
        floats = st.one_of(
            good_value,
            good_value,
            st.none(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from([2023.0, 2023.5, 1e308, 5e-324, 76.5, -1.0]),
        )
        return pa.array(draw(st.lists(floats, min_size=n, max_size=n)), pa.float64())
    if kind == "decimal":
        decs = st.one_of(
            st.none(),
            st.decimals(
                min_value=-(10**6), max_value=10**6, places=3, allow_nan=False, allow_infinity=False
            ),
        )
        return pa.array(draw(st.lists(decs, min_size=n, max_size=n)), pa.decimal128(20, 3))
    pool = {
        "city_id": st.one_of(good_city, city_cell),
        "year": st.one_of(good_year.map(str), year_cell),
        "indicator": st.one_of(good_indicator, indicator_cell),
    }.get(role, st.one_of(good_value.map(repr), number_cell))
    texts = draw(st.lists(st.one_of(pool, pool, pool, st.none()), min_size=n, max_size=n))
    if kind == "categorical":
        return pa.array(texts, pa.string()).dictionary_encode()
    return pa.array(texts, pa.large_string() if kind == "large_string" else pa.string())


@st.composite
def arrow_tables(draw) -> pa.Table:
    n = draw(st.integers(1, 6))
    shape = draw(st.sampled_from(["long", "wide"]))
    if shape == "long":
        roles = ["city_id", "year", "indicator", "value"]
        names = roles
    else:
        inds = draw(st.lists(st.sampled_from(KNOWN), min_size=1, max_size=3, unique=True))
        roles = ["city_id", "year", *["value"] * len(inds)]
        names = ["city_id", "year", *inds]
    arrays = [_column(draw, role, n) for role in roles]
    return pa.table(dict(zip(names, arrays, strict=True)))


@MANY
@given(table=arrow_tables(), fmt=st.sampled_from(["parquet", "feather"]))
def test_typed_files_with_unexpected_dtypes(base, table, fmt):
    with tempfile.TemporaryDirectory(dir=base) as folder:
        path, out = Path(folder) / f"data.{fmt}", Path(folder) / "rejected.csv"
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            feather.write_feather(table, path)
        result = cli("validate", path, "--rejected", out)
        got = check(result, out)
        # a typed file has no ragged rows: the file is read, or refused as a whole
        assert all(r["rule"] != "ragged_row" for r in got["records"])


@pytest.mark.parametrize(
    "name,array",
    [
        ("int value", pa.array([70, 71], pa.int64())),
        ("string value", pa.array(["70", "x"], pa.large_string())),
        ("bool value", pa.array([True, False])),
        ("all-null value", pa.nulls(2)),
        ("categorical value", pa.array(["70", "nan"]).dictionary_encode()),
        ("decimal value", pa.array([decimal.Decimal("70.5"), None], pa.decimal128(10, 2))),
        ("date value", pa.array([dt.date(2023, 1, 1), None], pa.date32())),
        ("struct value", pa.array([{"a": 1}, None])),
    ],
)
@pytest.mark.parametrize(
    "year",
    [
        pa.array([2023, 2024], pa.int64()),
        pa.array(["2023", "2024"]),
        pa.array([True, False]),
        pa.nulls(2),
        pa.array(["2023", "2024"]).dictionary_encode(),
        pa.array([2023.0, 2024.5]),
    ],
    ids=["int", "string", "bool", "null", "categorical", "float"],
)
def test_parquet_dtype_matrix(base, name, array, year):
    table = pa.table(
        {
            "city_id": ["A", "B"],
            "year": year,
            "indicator": ["life_expectancy", "life_expectancy"],
            "value": array,
        }
    )
    with tempfile.TemporaryDirectory(dir=base) as folder:
        path, out = Path(folder) / "m.parquet", Path(folder) / "rejected.csv"
        pq.write_table(table, path)
        got = check(cli("validate", path, "--rejected", out), out)
        assert got["read"] == 2


# ---------------------------------------------------------------------------------------------
# several files at once


@FEW
@given(tables_=st.lists(tables(), min_size=2, max_size=3), junk=st.booleans())
def test_several_files_count_per_source(base, tables_, junk):
    with tempfile.TemporaryDirectory(dir=base) as folder:
        paths = []
        for i, (header, rows) in enumerate(tables_):
            p = Path(folder) / f"f{i}.csv"
            p.write_text(render(header, rows, ",", "minimal", "\n"), encoding="utf-8")
            paths.append(p)
        if junk:
            paths.append(Path(folder) / "missing.csv")
        out = Path(folder) / "rejected.csv"
        result = cli("validate", *paths, "--rejected", out)
        check(result, out)
        for line in re.findall(r"read (\d+), accepted (\d+), rejected (\d+)", result.stdout):
            read, accepted, rejected = map(int, line)
            assert read == accepted + rejected, result.stdout
        if junk:
            assert result.exit_code == 2


# ---------------------------------------------------------------------------------------------
# known bugs, pinned: each of these must start passing when the bug is fixed


def test_bug_wide_header_named_row(base):
    validate_bytes(base, "row.csv", b"city_id,year,row\nA,2023,1\n")


def test_bug_remapped_role_name_left_as_wide_column(base):
    validate_bytes(
        base,
        "remap.csv",
        b"code,city_id,year,life_expectancy\nA,x,2023,70\n",
        "--column",
        "city_id=code",
    )


def test_csv_column_named_underscore_row_is_refused_not_lost(base):
    """A user column named like the reader's bookkeeping columns is refused with a clear message
    (it used to be overwritten silently)."""
    result, got = validate_bytes(base, "u.csv", b"city_id,year,_row\nA,2023,70\n")
    assert "column name '_row' is reserved" in result.output
    assert got["unusable"] == 1


def test_bug_parquet_column_named_underscore_row(base):
    with tempfile.TemporaryDirectory(dir=base) as folder:
        path, out = Path(folder) / "r.parquet", Path(folder) / "rejected.csv"
        pq.write_table(pa.table({"city_id": ["A"], "year": [2023], "_row": [1.0]}), path)
        check(cli("validate", path, "--rejected", out), out)


LONG_ROW = {"city_id": ["A"], "year": [2023], "indicator": ["life_expectancy"], "value": [70.0]}


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"city_id": ["A"], "year": [2023], "life_expectancy": pa.array([[1.0, 2.0]])}),
        pa.table(
            {
                "city_id": ["A"],
                "year": [2023],
                "life_expectancy": pa.array([[]], pa.list_(pa.string())),
            }
        ),
        pa.table({**LONG_ROW, "value": pa.array([[70.0]])}),
        pa.table({**LONG_ROW, "year": pa.array([[2023]])}),
        pa.table({**LONG_ROW, "city_id": pa.array([["A"]])}),
        pa.table({**LONG_ROW, "city_id": pa.array([b"\xff"])}),
        pa.table({**LONG_ROW, "value": pa.array([70], pa.duration("s"))}),
    ],
    ids=[
        "wide-list",
        "wide-empty-list",
        "value-list",
        "year-list",
        "city-list",
        "city-binary",
        "value-duration",
    ],
)
def test_bug_uncastable_dtype_in_parquet(base, table):
    with tempfile.TemporaryDirectory(dir=base) as folder:
        path, out = Path(folder) / "n.parquet", Path(folder) / "rejected.csv"
        pq.write_table(table, path)
        check(cli("validate", path, "--rejected", out), out)


def test_bug_uint64_year_overflow(base):
    with tempfile.TemporaryDirectory(dir=base) as folder:
        path, out = Path(folder) / "u.parquet", Path(folder) / "rejected.csv"
        pq.write_table(
            pa.table(
                {
                    "city_id": ["A"],
                    "year": pa.array([2**63 + 5], pa.uint64()),
                    "indicator": ["life_expectancy"],
                    "value": [70.0],
                }
            ),
            path,
        )
        check(cli("validate", path, "--rejected", out), out)


def test_bug_bad_year_message_empty_when_year_is_empty(base):
    _, got = validate_bytes(base, "y.csv", b"city_id,year,indicator,value\nA,,life_expectancy,70\n")
    assert [r["rule"] for r in got["records"]] == ["bad_year"]
    assert got["records"][0]["message"]


def test_bug_huge_csv_field(base):
    data = b"city_id,year,indicator,value\nA,2023,life_expectancy," + b"1" * 200_000 + b"\n"
    validate_bytes(base, "huge.csv", data)


def test_bug_excel_row_numbers_when_sheet_does_not_start_at_a1(base):
    import xlsxwriter

    with tempfile.TemporaryDirectory(dir=base) as folder:
        path, out = Path(folder) / "off.xlsx", Path(folder) / "rejected.csv"
        book = xlsxwriter.Workbook(path)
        sheet = book.add_worksheet()
        sheet.write_row(2, 0, ["city_id", "year", "indicator", "value"])  # sheet row 3
        sheet.write_row(3, 0, ["A", 2023, "life_expectancy", "x"])  # sheet row 4
        book.close()
        got = check(cli("validate", path, "--rejected", out), out)
        assert [r["row"] for r in got["records"]] == ["4"]
