"""Read a data file into a table of *text* columns, keeping every row's position in the file.

Why text: validation has to say "row 12, column 'value': 'n/a' is not a number", which needs the
cell as the user wrote it. Typed formats (Parquet, Arrow) keep their types; validation accepts both.

Every reader returns the file's columns plus ``_row``: the row as the user sees it (CSV/Excel: the
line or sheet row, header = 1; Parquet/Arrow: the 1-based record number) and ``_bad``: null, or the
reason the row could not even be split into fields (a ragged CSV line). Readers are registered
through the ``register_loaders`` hook, so a plugin adds a format the same way.

Every built-in reader first checks what the file declares against ``options.limits`` (see
:mod:`benchmarkkit.io.limits`), so a hostile file is refused before it is parsed.
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.errors import InputError
from benchmarkkit.io import limits as lim

if TYPE_CHECKING:
    from collections.abc import Sequence

SMALL_CSV_BYTES = 64 * 1024 * 1024
"""Below this size CSV goes through Python's csv module: exact line numbers (quoted newlines
included) and ragged rows caught one by one. Above it, Polars' reader, which is ~20× faster but pads
short rows silently; big files are machine-made, so that trade is worth it there."""


@dataclass(frozen=True)
class ReadOptions:
    encoding: str = "utf-8"
    separator: str | None = None
    """None: sniffed from the header line among ``,`` ``;`` and tab."""
    sheet: str | None = None
    """Excel sheet name; None: the first sheet."""
    limits: lim.Limits = field(default_factory=lim.Limits.from_env)
    """Size limits checked before parsing; the defaults, changed by ``BENCHMARKKIT_MAX_*``."""


@dataclass(frozen=True)
class Loader:
    """A file format: ``read(path, options)`` returns the table with ``_row`` and ``_bad``."""

    name: str
    suffixes: tuple[str, ...]
    read: Callable[[Path, ReadOptions], pl.DataFrame]


def _decode(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return raw.decode(codec)
    except LookupError:
        raise InputError(
            f"unknown encoding '{encoding}'",
            source=str(path),
            hint="try utf-8, gbk, cp1252 or latin-1",
        ) from None
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(
            f"the file is not valid {encoding} (byte {err.start}, line {line})",
            source=str(path),
            hint="give the file's encoding with --encoding, e.g. --encoding gbk",
        ) from None


def _numbered(frame: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """Add the bookkeeping columns: ``_row`` from ``first_row`` on, ``_bad`` empty.

    ``_row`` comes in the same chunks as the file's columns (a Parquet file's row groups):
    Polars copies a whole frame into one chunk as soon as its columns are chunked differently,
    and on 27 M rows that copy alone was 2 GiB of the peak."""
    lengths = frame.to_series(0).chunk_lengths() if frame.width else [frame.height]
    if len(lengths) > 1:
        parts, start = [], first_row
        for n in lengths:
            parts.append(pl.int_range(start, start + n, dtype=pl.Int64, eager=True))
            start += n
        rows = pl.concat(parts, rechunk=False).alias("_row")
    else:
        rows = pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64, eager=True)
    return frame.select(rows.alias("_row"), pl.all()).with_columns(
        pl.lit(None, dtype=pl.String).alias("_bad")
    )


def _sniff_separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda s: counts[s]) if any(counts.values()) else ","


RESERVED = ("_row", "_bad")
"""Bookkeeping columns every reader adds; a user's column of the same name is refused, not lost."""


def _check_header(header: Sequence[str], path: Path) -> list[str]:
    names = [h.strip() for h in header]
    for reserved in RESERVED:
        if reserved in names:
            raise InputError(
                f"column name '{reserved}' is reserved by benchmarkkit",
                source=str(path),
                row=1,
                column=reserved,
                hint="rename that column in the file",
            )
    if not any(names):
        raise InputError(
            "the header row is empty",
            source=str(path),
            row=1,
            hint="the first row must name the columns",
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if not name:
            names[i] = f"column_{i + 1}"
        elif name in seen:
            raise InputError(
                f"column '{name}' appears twice in the header "
                f"(columns {seen[name] + 1} and {i + 1})",
                source=str(path),
                row=1,
                column=name,
                hint="rename or remove one of them",
            )
        seen[names[i]] = i
    return names


def read_csv(path: Path, options: ReadOptions) -> pl.DataFrame:
    """CSV/TSV as text columns; BOM stripped; separator sniffed unless given."""
    lim.check_csv(path, options.limits, options.separator)
    if path.stat().st_size > SMALL_CSV_BYTES:
        return _read_csv_fast(path, options)
    csv.field_size_limit(sys.maxsize)  # a huge cell is a validation matter, not a crash
    text = _decode(path, options.encoding)
    if not text.strip():
        raise InputError("the file is empty", source=str(path), hint="export the data again")
    sep = options.separator or _sniff_separator(text.split("\n", 1)[0])
    plain = _read_plain_csv(text, sep, path)
    return plain if plain is not None else _read_csv_module(text, sep, path)


def _read_csv_module(text: str, sep: str, path: Path) -> pl.DataFrame:
    """Any CSV through Python's csv module: quoted line breaks, ragged rows, blank lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = _check_header(next(reader), path)
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    rows: list[int] = []
    bad: list[str | None] = []
    number = 1  # rows as a spreadsheet numbers them: the header is 1, a record is one row
    for record in reader:  # even when a quoted cell holds line breaks (so not line numbers)
        number += 1
        if not record or (len(record) == 1 and not record[0].strip() and width > 1):
            continue  # blank line: nothing to read, nothing lost
        rows.append(number)
        if len(record) != width:
            bad.append(f"has {len(record)} fields, the header has {width}")
            record = (record + [""] * width)[:width]
        else:
            bad.append(None)
        for col, cell in zip(columns, record, strict=True):
            col.append(cell if cell.strip() else None)
    frame = pl.DataFrame(
        {
            name: pl.Series(name, col, dtype=pl.String)
            for name, col in zip(header, columns, strict=True)
        }
    )
    return frame.with_columns(
        pl.Series("_row", rows, dtype=pl.Int64), pl.Series("_bad", bad, dtype=pl.String)
    )


_PYTHON_ONLY_SPACE = tuple(bytes([b]) for b in range(0x1C, 0x20))
"""ASCII separators that Python's ``str.strip`` removes and Polars' ``strip_chars`` keeps."""


def _line_fields(data: bytes, sep: bytes) -> int | None:
    """The number of lines when every line is non-empty and has as many fields as the first;
    else None. Vectorised with numpy on big files, plain bytes methods on small ones (where
    importing numpy would cost more than the loop)."""
    if len(data) < 1 << 22:
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()
        if not lines or not all(lines) or len({line.count(sep) for line in lines}) != 1:
            return None
        return len(lines)
    import numpy as np

    raw = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(raw == 10)
    ends = breaks if data.endswith(b"\n") else np.append(breaks, len(data))
    starts = np.concatenate(([0], breaks + 1))[: len(ends)]
    if not len(ends) or np.any(ends == starts):
        return None
    seps = np.flatnonzero(raw == sep[0])
    fields = np.searchsorted(seps, ends) - np.searchsorted(seps, starts)
    return None if np.any(fields != fields[0]) else len(ends)


def _read_plain_csv(text: str, sep: str, path: Path) -> pl.DataFrame | None:
    """A CSV that cannot surprise, read by Polars instead of the csv module (10–20× faster); None
    for any other. Plain means: no quote character, no carriage return, no blank line, and every
    line with the header's number of fields — then a record is a line, the row numbers are the
    line numbers, and Polars' fields are the csv module's, so the table is the same to the cell."""
    data = text.encode("utf-8")
    if (
        len(sep.encode("utf-8")) != 1
        or text.startswith("\ufeff")
        or b'"' in data
        or b"\r" in data
        or b"\x00" in data
        or any(c in data for c in _PYTHON_ONLY_SPACE)
    ):
        return None
    lines = _line_fields(data, sep.encode("utf-8"))
    if lines is None:
        return None  # a blank or a ragged line: the csv module's path counts or names it
    header = _check_header(data.split(b"\n", 1)[0].decode("utf-8").split(sep), path)
    try:
        frame = pl.read_csv(
            io.BytesIO(data), separator=sep, infer_schema=False, has_header=True, quote_char=None
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.width != len(header) or frame.height != lines - 1:
        return None
    frame.columns = header
    blank = pl.all().str.strip_chars() == ""
    frame = frame.with_columns(pl.when(~blank).then(pl.all()).name.keep())
    return frame.with_columns(
        pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias("_row"),
        pl.lit(None, dtype=pl.String).alias("_bad"),
    )


def _read_csv_fast(path: Path, options: ReadOptions) -> pl.DataFrame:
    with path.open("rb") as fh:
        head = fh.readline().decode(options.encoding, errors="replace").lstrip("\ufeff")
    sep = options.separator or _sniff_separator(head)
    _check_header(next(csv.reader([head], delimiter=sep)), path)
    encoding = "utf8" if options.encoding.lower().replace("-", "") in ("utf8", "utf8sig") else None
    if encoding is None:
        return read_csv_small_fallback(path, options)
    try:
        frame = pl.read_csv(path, separator=sep, infer_schema=False, encoding="utf8")
    except pl.exceptions.ComputeError as err:
        raise InputError(
            f"cannot parse the file: {str(err).splitlines()[0]}",
            source=str(path),
            hint="check for ragged rows or stray quotes",
        ) from None
    return _numbered(frame, first_row=2)


def read_csv_small_fallback(path: Path, options: ReadOptions) -> pl.DataFrame:
    """Non-UTF-8 big files: decode in Python (Polars only reads UTF-8), then parse."""
    text = _decode(path, options.encoding)
    tmp = io.BytesIO(text.encode("utf-8"))
    sep = options.separator or _sniff_separator(text.split("\n", 1)[0])
    frame = pl.read_csv(tmp, separator=sep, infer_schema=False)
    return _numbered(frame, first_row=2)


def _readable(dtype: pl.DataType) -> bool:
    return (
        dtype.is_numeric()
        or dtype in (pl.String, pl.Boolean, pl.Null, pl.Categorical)
        or isinstance(dtype, pl.Enum | pl.Categorical)
    )


def _as_text(series: pl.Series) -> pl.Series:
    """A cell of an odd type as text. A list of plain values is joined with ';' — the way a CSV
    writes a list, so a cities file's ``networks`` reads the same from Parquet as from CSV."""
    if isinstance(series.dtype, pl.List) and _readable(series.dtype.inner):
        return series.list.eval(pl.element().cast(pl.String)).list.join(";").alias(series.name)
    try:
        return series.cast(pl.String)
    except (pl.exceptions.PolarsError, pl.exceptions.InvalidOperationError):
        return pl.Series(
            series.name, [None if v is None else repr(v) for v in series.to_list()], dtype=pl.String
        )


def _typed(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    if frame.width == 0:
        raise InputError("the file has no columns", source=str(path), hint="export the data again")
    _check_header(frame.columns, path)
    # Odd types (dates, decimals, lists, bytes, structs) become text, so each cell is judged by
    # the row rules and reported with its row, instead of the whole file failing.
    odd = [name for name, dtype in frame.schema.items() if not _readable(dtype)]
    frame = frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    if odd:
        frame = frame.with_columns(_as_text(frame[name]) for name in odd)
    return _numbered(frame, first_row=1)


def read_parquet(path: Path, options: ReadOptions) -> pl.DataFrame:
    return _read_columnar(path, options, lim.parquet_shape, pl.read_parquet, "Parquet")


def read_ipc(path: Path, options: ReadOptions) -> pl.DataFrame:
    return _read_columnar(path, options, lim.ipc_shape, pl.read_ipc, "Arrow IPC/Feather")


def _read_columnar(
    path: Path,
    options: ReadOptions,
    shape: Callable[[Path], tuple[int, int]],
    read: Callable[[Path], pl.DataFrame],
    what: str,
) -> pl.DataFrame:
    """A typed columnar file: its declared shape checked against the limits before reading."""
    import pyarrow as pa

    try:
        lim.check_table(path, options.limits, *shape(path))
        return _typed(read(path), path)
    except (pl.exceptions.ComputeError, pa.ArrowException, OSError) as err:
        raise InputError(
            f"not a readable {what} file ({str(err).splitlines()[0]})",
            source=str(path),
            hint="check that the file is complete",
        ) from None


def read_excel(path: Path, options: ReadOptions) -> pl.DataFrame:
    """An .xlsx sheet as text; merged header cells arrive as empty names and get a position.

    The Excel reader gets a copy unpacked under the limits (each part capped at its declared size),
    never the file itself: its own unzipping is not bounded."""
    parts = lim.check_xlsx(path, options.limits)
    with tempfile.TemporaryDirectory(prefix="benchmarkkit-xlsx-") as folder:
        unpacked = Path(folder) / "book.xlsx"
        lim.unpack_xlsx(path, parts, unpacked)
        return _read_sheet(path, unpacked, options)


def _read_sheet(path: Path, unpacked: Path, options: ReadOptions) -> pl.DataFrame:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(unpacked))
    except Exception as err:  # fastexcel raises its own exception types
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(
            f"not a readable Excel file ({first})", source=str(path), hint="save it again as .xlsx"
        ) from None
    names = reader.sheet_names
    if options.sheet is not None and options.sheet not in names:
        raise InputError(
            f"no sheet named '{options.sheet}'",
            source=str(path),
            hint=f"sheets are: {', '.join(names)}",
        )
    try:
        sheet = reader.load_sheet(
            options.sheet or names[0], header_row=None, dtypes="string", skip_rows=0
        )
        frame = sheet.to_polars()
    except Exception as err:  # fastexcel raises its own exception types
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(
            f"the sheet cannot be read ({first})", source=str(path), hint="save it again as .xlsx"
        ) from None
    used = frame.select(pl.any_horizontal(pl.all().is_not_null()).arg_true())
    if frame.height == 0 or used.height == 0:
        raise InputError(
            "the sheet is empty", source=str(path), hint="choose the sheet with --sheet"
        )
    top = int(used.item(0, 0))  # rows above the header are blank: keep sheet row numbers exact
    header = _check_header([str(v) if v is not None else "" for v in frame.row(top)], path)
    body = frame.slice(top + 1)
    body.columns = header
    body = body.with_columns(pl.all().cast(pl.String).str.strip_chars())
    body = body.with_columns(pl.when(pl.all() == "").then(None).otherwise(pl.all()).name.keep())
    return _numbered(body, first_row=top + 2).filter(
        ~pl.all_horizontal(pl.exclude("_row", "_bad").is_null())
    )


BUILTIN_LOADERS = (
    Loader("csv", (".csv", ".tsv", ".txt"), read_csv),
    Loader("parquet", (".parquet", ".pq"), read_parquet),
    Loader("arrow", (".arrow", ".feather", ".ipc"), read_ipc),
    Loader("excel", (".xlsx", ".xlsm"), read_excel),
)


@hookimpl
def register_loaders(register: Callable[[Loader], None]) -> None:
    for loader in BUILTIN_LOADERS:
        register(loader)
