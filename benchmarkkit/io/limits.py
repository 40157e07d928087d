"""Size limits on input files, checked before any parsing and held while reading.

Why: a data file is untrusted. A 0.3 MB ``.xlsx`` whose one sheet unpacks to 300 MB (an ordinary
zip bomb) once took 31 s and 8.7 GB of memory; a Parquet footer can declare ten billion rows in a
few hundred bytes. Every reader asks this module first, from what the file *declares* (the zip's
central directory, the Parquet/Arrow footer, the CSV's size and first block), so a hostile file is
refused in milliseconds; the xlsx reader then unpacks each part with a byte cap, so a part that
inflates beyond what it declared stops the read instead of the machine.

The defaults fit a 24 GB machine with room to spare and let every benchmark panel through. They
sit only ~20 % above the large panel (27 M rows × 6 columns = 162 M cells; 114 MB of Parquet,
1.6 GiB as CSV) because that panel alone peaks at 11-12.6 GB when validated: memory follows the
cells, about 68 bytes each, so a file twice as large would not fit. Each limit can be raised (or
lowered, on a shared server) with an environment variable ``BENCHMARKKIT_MAX_<FIELD>`` (see
:class:`Limits`); sizes take a unit: ``BENCHMARKKIT_MAX_INPUT_SIZE=8GiB``.
"""

from __future__ import annotations

import itertools
import os
import re
import struct
import zipfile
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Final

from benchmarkkit.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

KiB: Final = 1024
MiB: Final = 1024 * KiB
GiB: Final = 1024 * MiB

MAX_INPUT_SIZE: Final = 2 * GiB
"""Text a file may hold: a CSV's size on disk, an .xlsx's parts once unpacked (see
:data:`XLSX_COST`). The large benchmark panel is 1.6 GiB as CSV and peaks at 12.6 GB when
validated (7.7 bytes of memory a byte of CSV), so 2 GiB is about 16 GB: inside 24 GB with room."""

MAX_CELLS: Final = 200_000_000
"""Rows × columns a Parquet/Arrow footer may declare: 1.2× the large panel (162 M cells, 11 GB
when validated), i.e. about 14 GB at the measured ~68 bytes a cell. A single column may hold as
many rows."""

MAX_COLUMNS: Final = 16_384
"""Excel's own widest sheet (column XFD): no real indicator table is wider, in any format."""

MAX_LINE: Final = 1 * MiB
"""Longest CSV line: 16,384 columns of 64 bytes. A real line of city data is under 1 KiB; a
500 MB line is one cell the reader would copy several times over."""

MAX_RATIO: Final = 200
"""How much an .xlsx part may unpack per byte packed. Sheets of real data compress 5-30× (cell
references and values change from row to row); a zip bomb approaches 1000×, the most DEFLATE can
do. Thousands of identical rows can pass 200× and are refused: raise the limit for such a sheet.
Parts under :data:`RATIO_FLOOR` are not judged: a tiny part cannot hurt whatever its ratio."""

RATIO_FLOOR: Final = 1 * MiB
XLSX_COST: Final = 4
"""An .xlsx's parts may unpack to :data:`MAX_INPUT_SIZE` / 4 (512 MiB): sheet XML is 4-5× the CSV
of the same table, so that is as much data as the CSV limit, and a full-height sheet (1,048,576
rows, Excel's most) of about ten columns. Measured: 1,048,575 rows × 4 columns, 202 MiB of XML,
validated in 3 s at a peak of 1.1 GB; so 512 MiB is about 3 GB."""

EXCEL_CELL_CHARS: Final = 32_767
"""Excel refuses a longer cell; XML escaping (``&quot;``) makes that at most 6 bytes a character."""
MAX_XML_RUN: Final = 6 * EXCEL_CELL_CHARS + 4 * KiB
"""Longest stretch of a sheet's XML without a ``<``: a cell text plus its tag."""

MAX_ZIP_PARTS: Final = 10_000
"""Parts in an .xlsx (a workbook of many sheets has a few hundred)."""

BLOCK: Final = 1 * MiB
"""How much is read at a time while scanning and unpacking: memory stays flat."""


@dataclass(frozen=True)
class Limits:
    """The limits one read runs under; :meth:`from_env` applies the environment variables."""

    input_size: int = MAX_INPUT_SIZE
    cells: int = MAX_CELLS
    columns: int = MAX_COLUMNS
    line: int = MAX_LINE
    ratio: int = MAX_RATIO

    @classmethod
    def with_input_size(cls, size: str | int | None) -> Limits:
        """The environment's limits with the input size set (``--max-input-size``): ``"8GiB"``,
        ``"500M"`` or a number of bytes; None keeps the environment's or the default."""
        limits = cls.from_env()
        if size is None:
            return limits
        value = size if isinstance(size, int) else parse_size(size, "--max-input-size")
        return replace(limits, input_size=value)

    @classmethod
    def from_env(cls) -> Limits:
        values = {}
        for f in fields(cls):
            name = env_name(f.name)
            raw = os.environ.get(name)
            if raw is not None and raw.strip():
                values[f.name] = parse_size(raw, name)
        return cls(**values)


def env_name(field: str) -> str:
    return f"BENCHMARKKIT_MAX_{field.upper()}"


_UNITS: Final = {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": 1024 * GiB}
_SIZE: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_size(text: str, name: str) -> int:
    """``"3GiB"``, ``"500M"``, ``"200000000"`` → a positive integer.

    >>> parse_size("1.5K", "X"), parse_size("2 GiB", "X"), parse_size("10", "X")
    (1536, 2147483648, 10)
    """
    match = _SIZE.fullmatch(text)
    value = int(float(match.group(1)) * _UNITS[match.group(2).upper()]) if match else 0
    if value <= 0:
        raise InputError(
            f"{name}={text!r} is not a positive number",
            hint=f"e.g. {name}=8GiB for a size, or a plain number",
        )
    return value


def human(n: float) -> str:
    """A byte count for a message.

    >>> human(512), human(3 * 1024**3), human(1536 * 1024)
    ('512 bytes', '3.0 GiB', '1.5 MiB')
    """
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def refuse(path: Path, what: str, limit_field: str, fix: str) -> InputError:
    """The one-line refusal: what is too large and by how much, and the two ways out."""
    way = (  # the input size (and the .xlsx budget derived from it) has a command-line option
        f"--max-input-size SIZE (or {env_name(limit_field)}=…)"
        if limit_field == "input_size"
        else f"{env_name(limit_field)}=…"
    )
    return InputError(what, source=str(path), hint=f"{fix}, or raise the limit with {way}")


# ---------------------------------------------------------------------------------------------
# CSV: the size, the columns of the first line, the longest line


def check_csv(path: Path, limits: Limits, separator: str | None) -> None:
    """Refuse a CSV that is too large, too wide or has a too-long line, reading it in blocks."""
    size = path.stat().st_size
    if size > limits.input_size:
        raise refuse(
            path,
            f"the file is {human(size)}, more than the limit of {human(limits.input_size)}",
            "input_size",
            "split it into several files, one per year or indicator group, or save it as Parquet",
        )
    with path.open("rb") as fh:
        first = fh.read(BLOCK)
        _check_width(path, first, limits, separator)
        fh.seek(0)
        end = b"\r" if b"\r" in first and b"\n" not in first else b"\n"  # old Mac: CR only
        _check_lines(path, iter(lambda: fh.read(BLOCK), b""), limits, end)


def _check_width(path: Path, block: bytes, limits: Limits, separator: str | None) -> None:
    head = block.split(b"\n", 1)[0].split(b"\r", 1)[0]
    seps = [separator.encode()] if separator else [b",", b";", b"\t"]
    width = max(head.count(sep) for sep in seps) + 1
    if width > limits.columns:
        complete = len(head) < len(block) or len(block) < BLOCK
        found = f"{width:,}" if complete else f"at least {width:,}"
        raise refuse(
            path,
            f"the header has {found} columns, more than the limit of {limits.columns:,}",
            "columns",
            "put the data in long shape, one row per city, year and indicator",
        )


def _check_lines(path: Path, blocks: Iterator[bytes], limits: Limits, end: bytes) -> None:
    """Exact, in flat memory: pieces are at most the limit long, so only a line that crosses a
    piece boundary can exceed it, and that one is carried over in ``run``."""
    line, run = 1, 0
    step = min(BLOCK, limits.line)
    for big in blocks:
        for start in range(0, len(big), step):
            piece = big[start : start + step]
            first = piece.find(end)
            if first < 0:
                run += len(piece)
                if run > limits.line:
                    rest = _rest_of_line(big[start + step :], blocks, end)
                    _too_long(path, line, run + rest, limits)
                continue
            if run + first > limits.line:
                _too_long(path, line, run + first, limits)
            line += piece.count(end)
            run = len(piece) - piece.rfind(end) - 1
    if run > limits.line:
        _too_long(path, line, run, limits)


def _rest_of_line(tail: bytes, blocks: Iterator[bytes], end: bytes) -> int:
    """How much of the current line is still to come (read on, block by block, to say it)."""
    rest = 0
    for block in itertools.chain([tail], blocks):
        at = block.find(end)
        if at >= 0:
            return rest + at
        rest += len(block)
    return rest


def _too_long(path: Path, line: int, length: int, limits: Limits) -> None:
    raise refuse(
        path,
        f"line {line:,} is {human(length)} long, more than the limit of {human(limits.line)}",
        "line",
        "check that the file is really a CSV with one record per line",
    )


# ---------------------------------------------------------------------------------------------
# Parquet and Arrow: rows and columns from the footer


def check_table(path: Path, limits: Limits, rows: int, columns: int) -> None:
    """Refuse what a Parquet/Arrow footer declares when it is too wide or has too many cells."""
    if columns > limits.columns:
        raise refuse(
            path,
            f"the file declares {columns:,} columns, more than the limit of {limits.columns:,}",
            "columns",
            "put the data in long shape, one row per city, year and indicator",
        )
    if rows * max(columns, 1) > limits.cells:
        raise refuse(
            path,
            f"the file declares {rows:,} rows × {columns:,} columns = "
            f"{rows * max(columns, 1):,} cells, more than the limit of {limits.cells:,}",
            "cells",
            "split it into several files, one per year or indicator group",
        )


def parquet_shape(path: Path) -> tuple[int, int]:
    """Rows and leaf columns from the footer alone; the larger of the file's row count and the
    sum over its row groups, as a reader may trust either."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    groups = sum(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
    return max(meta.num_rows, groups), meta.num_columns


def ipc_shape(path: Path) -> tuple[int, int]:
    """Rows and columns from the Arrow file's footer and batch headers (no batch is read:
    Polars' own count refuses more than 2³² rows with a message about compiling Polars)."""
    import pyarrow as pa
    import pyarrow.ipc

    with pa.memory_map(str(path)) as source, pyarrow.ipc.open_file(source) as reader:
        return reader.count_rows(), len(reader.schema)


# ---------------------------------------------------------------------------------------------
# xlsx: the central directory, then every part unpacked with a cap

_EOCD: Final = struct.Struct("<4s4H2LH")
_EOCD64: Final = struct.Struct("<4sQ2H2L4Q")


def _zip_entries(path: Path) -> int | None:
    """Entries the end-of-central-directory record declares (the zip64 one when the count does
    not fit 16 bits), read before the directory itself is parsed; None when there is none."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - _EOCD.size - 65_535 - _EOCD64.size - 20))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    entries = _EOCD.unpack_from(tail, at)[4]
    at64 = tail.rfind(b"PK\x06\x06", 0, at)
    if entries == 0xFFFF and at64 >= 0:
        entries = _EOCD64.unpack_from(tail, at64)[7]
    return entries


def check_xlsx(path: Path, limits: Limits) -> list[zipfile.ZipInfo]:
    """Refuse an .xlsx from its central directory (no decompression): too many parts, too much
    once unpacked, or a part that unpacks too many times its packed size."""
    entries = _zip_entries(path)
    if entries is not None and entries > MAX_ZIP_PARTS:
        raise InputError(
            f"the workbook has {entries:,} parts, more than the limit of {MAX_ZIP_PARTS:,}",
            source=str(path),
            hint="save the sheet as CSV or Parquet",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise InputError(
            f"not a readable Excel file ({err})", source=str(path), hint="save it again as .xlsx"
        ) from None
    budget = limits.input_size // XLSX_COST
    total = sum(info.file_size for info in infos)
    if total > budget:
        raise refuse(
            path,
            f"the workbook unpacks to {human(total)}, more than the limit of {human(budget)} "
            f"(a quarter of the input size limit, as XML is 4-5× the CSV of the same table)",
            "input_size",
            "save the sheet as CSV or Parquet, or split it",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > limits.ratio:
            raise refuse(
                path,
                f"part {info.filename} unpacks {ratio:,.0f} times its size "
                f"({human(info.compress_size)} → {human(info.file_size)}), more than the limit "
                f"of {limits.ratio:,}× (a zip bomb, or a sheet of repeated cells)",
                "ratio",
                "save the sheet as CSV or Parquet",
            )
    return infos


def _cell_text_part(name: str) -> bool:
    return name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml"


def unpack_xlsx(path: Path, infos: list[zipfile.ZipInfo], out: Path) -> None:
    """Copy ``path`` to ``out`` uncompressed, part by part in blocks, each part capped at the
    size its directory entry declared (Python's zipfile stops there and checks the CRC, so a
    part that inflates further fails) and cell text capped at what Excel allows."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in infos:
            if info.is_dir():
                continue
            target = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            big_part = info.file_size >= zipfile.ZIP64_LIMIT
            meter = _check_xml_runs if _cell_text_part(info.filename) else None
            try:
                with src.open(info) as part, dst.open(target, "w", force_zip64=big_part) as sink:
                    blocks = iter(lambda part=part: part.read(BLOCK), b"")
                    if meter is not None:
                        blocks = meter(path, info.filename, blocks)
                    written = 0
                    for block in blocks:
                        written += len(block)
                        if written > info.file_size:  # zipfile stops there; say so anyway
                            raise zipfile.BadZipFile("part larger than declared")
                        sink.write(block)
            except (
                zipfile.BadZipFile,
                EOFError,
                OSError,
                RuntimeError,
                NotImplementedError,
            ) as err:
                raise InputError(
                    f"part {info.filename} is damaged or does not unpack to the size it declares "
                    f"({human(info.file_size)}): {err}",
                    source=str(path),
                    hint="the file is damaged or hostile; save it again as .xlsx",
                ) from None


def _check_xml_runs(path: Path, part: str, blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Pass blocks through, refusing a stretch of XML without ``<`` longer than any cell Excel
    can hold (a one-cell bomb that would otherwise be copied several times in memory)."""
    run = 0
    for big in blocks:
        for start in range(0, len(big), MAX_XML_RUN):
            block = big[start : start + MAX_XML_RUN]
            first = block.find(b"<")
            run = run + len(block) if first < 0 else run + first
            if run > MAX_XML_RUN:
                raise InputError(
                    f"part {part} holds a cell of more than {human(MAX_XML_RUN)}, longer than "
                    f"Excel allows ({EXCEL_CELL_CHARS:,} characters)",
                    source=str(path),
                    hint="the file was not written by Excel; save the data as CSV or Parquet",
                )
            if first >= 0:
                run = len(block) - block.rfind(b"<") - 1
        yield big
