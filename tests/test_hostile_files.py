"""Hostile files cannot exhaust the machine: the real CLI refuses each, quickly, in little memory.

Every file is made at run time, cheaply: the zip bomb is streamed through DEFLATE, the Parquet file
is a hand-written footer with no data at all, the 500 MB line is a sparse file. Each runs
``benchmarkkit validate FILE`` in a child process, and the child's peak memory comes from
``wait4`` in a small *fresh* Python wrapper: Linux carries a process's memory high-water mark
across fork and exec, so measured straight from pytest (hundreds of MB of Polars) the figure
would be pytest's, not the CLI's. The wrapper also kills a child that passes ``KILL_AT`` or runs
past ``TIMEOUT``, so a regression fails the test instead of taking the machine down.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

CLI = Path(sys.executable).with_name("benchmarkkit")
SECONDS = 10.0
"""'Within a few seconds': the CLI's own start (Polars, plugins) is 1-2 s on a loaded 2-core
machine; before the limits the zip bomb took 31 s and the larger one more than a minute."""
PEAK = 1024**3
"""Under 1 GB of peak memory (before: 8.7 GB for a 0.3 MB workbook)."""
KILL_AT = 3 * 1024**3
TIMEOUT = 60.0

WRAPPER = r"""
import json, os, subprocess, sys, threading, time
argv, kill_at, timeout, log = json.loads(sys.argv[1])
killed = []
def watch(pid):
    while True:
        try:
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            return
        rss = int(status.split("VmRSS:")[1].split()[0]) * 1024 if "VmRSS:" in status else 0
        if rss > kill_at:
            killed.append(f"VmRSS {rss}")
            os.kill(pid, 9)
            return
        time.sleep(0.02)
start = time.monotonic()
with open(log, "wb") as sink:
    proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
threading.Thread(target=watch, args=(proc.pid,), daemon=True).start()
timer = threading.Timer(timeout, lambda: (killed.append("timeout"), proc.kill()))
timer.start()
_, status, usage = os.wait4(proc.pid, 0)
seconds = time.monotonic() - start
timer.cancel()
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "seconds": seconds,
                  "peak": usage.ru_maxrss * 1024, "killed": killed}))
"""


def measure(*argv: object, log: Path) -> dict:
    """Run ``argv`` under the fresh wrapper: exit code, wall seconds, peak RSS in bytes, and the
    output (stdout and stderr together) from ``log``."""
    spec = json.dumps([[str(a) for a in argv], KILL_AT, TIMEOUT, str(log)])
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, spec], capture_output=True, text=True, check=True
    )
    return {**json.loads(done.stdout), "text": log.read_text(encoding="utf-8", errors="replace")}


def refused(path: Path, *fragments: str) -> dict:
    """The one-line refusal, on time and in bounded memory; the big file is deleted after."""
    try:
        run = measure(CLI, "validate", path, log=path.with_suffix(".log"))
    finally:
        path.unlink(missing_ok=True)
    text = run["text"]
    assert not run["killed"], (run["killed"], text)
    assert run["code"] == 2, text
    assert "Traceback" not in text and "internal error" not in text, text
    lines = [ln for ln in text.splitlines() if "[file_unusable]" in ln]
    assert len(lines) == 1, text
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert run["seconds"] < SECONDS, run["seconds"]
    assert run["peak"] < PEAK, f"{run['peak'] / 2**20:.0f} MiB"
    print(f"{path.name}: {run['seconds']:.2f} s, peak {run['peak'] / 2**20:.0f} MiB: {lines[0]}")
    return run


# ---------------------------------------------------------------------------------------------
# the measurement itself


@pytest.mark.slow
def test_the_measurement_sees_the_child_not_the_parent(tmp_path):
    """pytest grows past 1 GB here; a child that allocates nothing must still measure small, and
    one that allocates 600 MB must measure at least that."""
    ballast = b"x" * (1024**3)
    small = measure(sys.executable, "-c", "pass", log=tmp_path / "small.log")
    big = measure(sys.executable, "-c", "b = b'x' * (600 * 1024**2)", log=tmp_path / "big.log")
    del ballast
    assert small["peak"] < 100 * 1024**2, small
    assert big["peak"] > 600 * 1024**2, big


# ---------------------------------------------------------------------------------------------
# xlsx: a zip bomb, and a part that unpacks past the size it declares

HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
OOXML = "http://schemas.openxmlformats.org"
REL = f"{OOXML}/officeDocument/2006/relationships"
TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PARTS = {
    "[Content_Types].xml": f'{HEAD}<Types xmlns="{OOXML}/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{TYPE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{TYPE}.worksheet+xml"/>'
    "</Types>",
    "_rels/.rels": f'{HEAD}<Relationships xmlns="{OOXML}/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>",
    "xl/workbook.xml": f'{HEAD}<workbook xmlns="{OOXML}/spreadsheetml/2006/main" xmlns:r="{REL}">'
    '<sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'{HEAD}<Relationships xmlns="{OOXML}/package/2006/'
    'relationships">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>",
}
SHEET = "xl/worksheets/sheet1.xml"


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


ROWS = b"".join(
    b'<row r="2"><c r="A2" t="inlineStr"><is><t>VN001</t></is></c></row>' for _ in range(2**14)
)
"""About 1 MiB of ordinary rows (all numbered 2: the bomb never gets as far as the Excel reader)."""


def bomb_xlsx(path: Path, size: int, *, one_cell: bool = True) -> Path:
    """A workbook whose one sheet has a header and ``size`` bytes more: one cell of repeated
    letters, or repeated rows; streamed through DEFLATE 1 MiB at a time (about 1000:1, the most
    DEFLATE can do)."""
    header = "".join(
        _cell(f"{c}1", n)
        for c, n in zip("ABCD", ("city_id", "year", "indicator", "value"), strict=True)
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in PARTS.items():
            book.writestr(name, text)
        info = zipfile.ZipInfo(SHEET)
        info.compress_type = zipfile.ZIP_DEFLATED
        with book.open(info, "w", force_zip64=True) as sheet:
            sheet.write(
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b'<sheetData><row r="1">' + header.encode() + b"</row>"
            )
            start, end = b'<row r="2"><c r="A2" t="inlineStr"><is><t>', b"</t></is></c></row>"
            sheet.write(start if one_cell else b"")
            block = b"A" * 2**20 if one_cell else ROWS
            for left in range(size, 0, -len(block)):
                sheet.write(block[:left])
            sheet.write((end if one_cell else b"") + b"</sheetData></worksheet>")
    return path


def lying_xlsx(path: Path, size: int) -> Path:
    """A zip bomb of ordinary rows with its directory rewritten to declare the sheet 50× its
    packed size: by the directory it is harmless, so only the cap while unpacking can stop it."""
    bomb_xlsx(path, size, one_cell=False)
    with zipfile.ZipFile(path) as book:
        info = book.getinfo(SHEET)
    data = bytearray(path.read_bytes())
    name = SHEET.encode()
    lie = info.compress_size * 50
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            name_len = struct.unpack_from(
                "<H", data, at + (26 if signature == b"PK\x03\x04" else 28)
            )[0]
            start = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[start : start + name_len] == name:
                _set_size(data, at, start, name_len, signature, size_at, lie)
            at = data.find(signature, at + 4)
    path.write_bytes(data)
    return path


def _set_size(
    data: bytearray, at: int, start: int, name_len: int, sig: bytes, size_at: int, lie: int
) -> None:
    """Set the uncompressed size in a local or central header, in its zip64 extra field if there."""
    if struct.unpack_from("<L", data, at + size_at)[0] != 0xFFFFFFFF:
        struct.pack_into("<L", data, at + size_at, lie)
        return
    extra_len = struct.unpack_from("<H", data, at + (28 if sig == b"PK\x03\x04" else 30))[0]
    pos = start + name_len
    while pos < start + name_len + extra_len:
        tag, size = struct.unpack_from("<HH", data, pos)
        if tag == 1:  # zip64: uncompressed size first
            struct.pack_into("<Q", data, pos + 4, lie)
            return
        pos += 4 + size


@pytest.mark.slow
def test_zip_bomb_xlsx_is_refused_from_its_directory(tmp_path):
    book = bomb_xlsx(tmp_path / "bomb.xlsx", 300 * 2**20)
    assert book.stat().st_size < 2**20
    refused(book, "bomb.xlsx", "unpacks", "times its size", "BENCHMARKKIT_MAX_RATIO")


@pytest.mark.slow
def test_xlsx_part_that_inflates_past_its_declared_size_stops_the_read(tmp_path):
    book = lying_xlsx(tmp_path / "liar.xlsx", 300 * 2**20)
    with zipfile.ZipFile(book) as archive:
        info = archive.getinfo(SHEET)
    assert info.file_size < 100 * 2**20 and info.file_size <= 50 * info.compress_size  # harmless
    refused(book, "liar.xlsx", SHEET, "does not unpack to the size it declares")


def test_a_cell_longer_than_excel_allows_is_refused_while_unpacking(tmp_path, run):
    """300 KiB of one cell: small and barely compressible enough to pass the directory checks,
    but no Excel cell holds more than 32,767 characters."""
    result = run("validate", bomb_xlsx(tmp_path / "cell.xlsx", 300 * 1024))
    assert result.exit_code == 2, result.output
    [line] = [ln for ln in result.stdout.splitlines() if "[file_unusable]" in ln]
    assert "holds a cell of more than" in line and "32,767 characters" in line, line


def test_the_longest_cell_excel_allows_still_reads(tmp_path, run):
    import xlsxwriter

    book = xlsxwriter.Workbook(tmp_path / "long.xlsx")
    sheet = book.add_worksheet()
    for c, (name, value) in enumerate(
        zip(
            ("city_id", "city_name", "year", "indicator", "value"),
            ("VN001", "&" * 32_767, 2023, "life_expectancy", 76.5),
            strict=True,
        )
    ):
        sheet.write(0, c, name)
        sheet.write(1, c, value)
    book.close()
    result = run("validate", tmp_path / "long.xlsx")
    assert "[file_unusable]" not in result.output, result.output
    assert result.exit_code in (0, 1), result.output


# ---------------------------------------------------------------------------------------------
# Parquet: a footer declaring 10^10 rows, with no data behind it


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _zigzag(n: int) -> bytes:
    return _varint((n << 1) ^ (n >> 63))


class Thrift:
    """Just enough of Thrift's compact protocol to write a Parquet footer."""

    I32, I64, BINARY, LIST, STRUCT = 5, 6, 8, 9, 12

    def __init__(self) -> None:
        self.out = bytearray()
        self.last = [0]

    def field(self, fid: int, kind: int) -> None:
        self.out.append(((fid - self.last[-1]) << 4) | kind)
        self.last[-1] = fid

    def i32(self, fid: int, value: int) -> None:
        self.field(fid, self.I32)
        self.out += _zigzag(value)

    def i64(self, fid: int, value: int) -> None:
        self.field(fid, self.I64)
        self.out += _zigzag(value)

    def string(self, fid: int, value: str) -> None:
        self.field(fid, self.BINARY)
        self.out += _varint(len(value)) + value.encode()

    def list_of(self, fid: int | None, kind: int, items: list) -> None:
        if fid is not None:
            self.field(fid, self.LIST)
        n = len(items)
        self.out += bytes([(n << 4) | kind]) if n < 15 else bytes([0xF0 | kind]) + _varint(n)
        for item in items:
            if kind == self.STRUCT:
                self.struct(item)
            elif kind == self.I32:
                self.out += _zigzag(item)
            else:
                self.out += _varint(len(item)) + item.encode()

    def struct(self, write) -> None:
        self.last.append(0)
        write(self)
        self.out.append(0)
        self.last.pop()


def declared_parquet(path: Path, rows: int, columns: int) -> Path:
    """A Parquet file whose footer declares ``rows`` × ``columns`` of INT64 in one row group;
    the column chunks point at 8 bytes of nothing. A few hundred bytes on disk."""
    names = [f"c{i}" for i in range(columns)]

    def chunk(name):
        def meta(t):
            t.i32(1, 2)  # INT64
            t.list_of(2, Thrift.I32, [0])  # PLAIN
            t.list_of(3, Thrift.BINARY, [name])
            t.i32(4, 0)  # UNCOMPRESSED
            t.i64(5, rows)
            t.i64(6, 8 * rows)
            t.i64(7, 8)
            t.i64(9, 4)

        def write(t):
            t.i64(2, 4)
            t.field(3, Thrift.STRUCT)
            t.struct(meta)

        return write

    def column(name):
        return lambda t: (t.i32(1, 2), t.i32(3, 1), t.string(4, name))

    def root(t):
        t.string(4, "schema")
        t.i32(5, columns)

    def group(t):
        t.list_of(1, Thrift.STRUCT, [chunk(n) for n in names])
        t.i64(2, 8 * rows * columns)
        t.i64(3, rows)

    footer = Thrift()
    footer.struct(
        lambda t: (
            t.i32(1, 1),
            t.list_of(2, Thrift.STRUCT, [root, *(column(n) for n in names)]),
            t.i64(3, rows),
            t.list_of(4, Thrift.STRUCT, [group]),
        )
    )
    body = bytes(footer.out)
    path.write_bytes(b"PAR1" + b"\0" * 8 + body + struct.pack("<L", len(body)) + b"PAR1")
    return path


def test_the_hand_written_footer_is_read_as_written(tmp_path):
    import pyarrow.parquet as pq

    meta = pq.read_metadata(declared_parquet(tmp_path / "f.parquet", 10**10, 3))
    assert (meta.num_rows, meta.num_columns, meta.row_group(0).num_rows) == (10**10, 3, 10**10)


def test_parquet_footer_declaring_ten_billion_rows(tmp_path):
    path = declared_parquet(tmp_path / "huge.parquet", 10**10, 6)
    assert path.stat().st_size < 4096
    refused(path, "huge.parquet", "10,000,000,000 rows", "BENCHMARKKIT_MAX_CELLS")


def test_the_large_benchmark_panel_footer_passes(tmp_path):
    """The large panel's shape (27,068,177 rows × 6 columns) is under the limits, and loads
    (measured by hand: 42 s, 11 GB — too slow for the suite)."""
    from benchmarkkit.io.limits import Limits, check_table, parquet_shape

    path = declared_parquet(tmp_path / "large.parquet", 27_068_177, 6)
    check_table(path, Limits(), *parquet_shape(path))


@pytest.mark.parametrize("batches", [2, 5])
def test_arrow_file_of_billions_of_null_rows(tmp_path, batches):
    """Null columns have no buffers: batches of 2³¹-1 rows take bytes on disk. Five (10¹⁰ rows)
    pass Polars' own 2³² cap, which refuses them with a message about compiling Polars; two (4.3
    billion) do not, and Polars would build a row index of 34 GB for them."""
    import pyarrow as pa
    import pyarrow.ipc

    schema = pa.schema([("value", pa.null())])
    batch = pa.record_batch([pa.nulls(2**31 - 1)], schema=schema)
    path = tmp_path / "nulls.arrow"
    with pyarrow.ipc.new_file(path, schema) as writer:
        for _ in range(batches):
            writer.write_batch(batch)
    assert path.stat().st_size < 4096
    rows = f"{batches * (2**31 - 1):,} rows × 1 columns"
    refused(path, "nulls.arrow", rows, "BENCHMARKKIT_MAX_CELLS")


# ---------------------------------------------------------------------------------------------
# CSV: a 500 MB line, and 10^6 columns

GOOD = b"city_id,year,indicator,value\nVN001,2023,life_expectancy,76.5\n"


@pytest.mark.slow
def test_csv_with_a_500_mb_line(tmp_path):
    """Sparse: the line is a hole of zero bytes, so the file costs no disk and no time to write."""
    path = tmp_path / "long.csv"
    with path.open("wb") as fh:
        fh.write(GOOD + b"VN002,2023,life_expectancy,")
        fh.seek(500 * 10**6, os.SEEK_CUR)
        fh.write(b"1\n")
    refused(path, "long.csv", "line 3 is 476.8 MiB long", "BENCHMARKKIT_MAX_LINE")


def test_csv_with_a_million_columns(tmp_path):
    path = tmp_path / "wide.csv"
    with path.open("wb") as fh:
        fh.write(b",".join(b"c%d" % i for i in range(10**6)) + b"\n")
        fh.write(b",".join([b"1"] * 10**6) + b"\n")
    refused(path, "wide.csv", "columns, more than the limit of 16,384", "long shape")


def test_a_workbook_of_too_many_parts_is_refused_before_its_directory_is_read(tmp_path, run):
    path = tmp_path / "parts.xlsx"
    with zipfile.ZipFile(path, "w") as book:
        for name, text in PARTS.items():
            book.writestr(name, text)
        for i in range(10_001):
            book.writestr(f"xl/media/{i}.bin", b"")
    result = run("validate", path)
    assert result.exit_code == 2, result.output
    [line] = [ln for ln in result.stdout.splitlines() if "[file_unusable]" in ln]
    assert "the workbook has 10,005 parts, more than the limit of 10,000" in line, line


def test_max_input_size_option_refuses_and_raises_the_limit(tmp_path, run):
    """``--max-input-size`` names the limit in the refusal and lifts it when raised."""
    data = tmp_path / "small.csv"
    data.write_text("city_id,year,unemployment_rate\nA,2023,5\nB,2023,6\n", encoding="utf-8")
    refused = run("--max-input-size", "10", "validate", data)
    assert refused.exit_code == 2
    assert "more than the limit of 10 bytes" in refused.output
    assert "--max-input-size SIZE" in refused.output
    assert run("--max-input-size", "1K", "validate", data).exit_code == 0
    bad = run("--max-input-size", "lots", "validate", data)
    assert bad.exit_code == 2 and "--max-input-size='lots' is not a positive number" in bad.stderr
