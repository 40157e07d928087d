"""Writing frames for people and spreadsheets: atomic files, formula-safe cells, plain tables.

Exports end up opened in Excel; a city name such as ``=HYPERLINK(...)`` must stay text there, so
text cells that start with ``= + - @`` (or a tab/CR) are prefixed with ``'`` in CSV and Excel
output. Numeric columns are untouched: a negative number stays a number.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from benchmarkkit.errors import InputError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA = r"^[=+\-@\t\r]"  # FORMULA_START as a pattern


def _needs_guard(values: pl.Series) -> bool:
    return bool(values.cast(pl.String).str.contains(_FORMULA).any())


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    # dictionary-encoded text (the scores' keys) is text in a spreadsheet too; its few distinct
    # values are checked instead of every row (6 M score rows: 1.4–2.4 s less), and a column
    # none of whose values needs the guard is written as it is
    text = [
        c
        for c, t in frame.schema.items()
        if t == pl.String or (t in (pl.Categorical, pl.Enum) and _needs_guard(frame[c].unique()))
    ]
    cells = [pl.col(c).cast(pl.String) for c in text]
    return frame.with_columns(
        pl.when(cell.str.contains(_FORMULA)).then(pl.lit("'") + cell).otherwise(cell).alias(c)
        for c, cell in zip(text, cells, strict=True)
    )


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    nested = [c for c, t in frame.schema.items() if isinstance(t, pl.List)]
    return frame.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join(";") for c in nested)


def atomic_write(out: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file beside ``out`` and rename: readers see the old or the new file."""
    folder = out.parent if str(out.parent) else Path()
    if not folder.is_dir():
        raise InputError(
            "the output folder does not exist", source=str(out), hint=f"create {folder} first"
        )
    if out.is_dir():
        raise InputError(
            "the output is a folder, not a file",
            source=str(out),
            hint="give a file name, e.g. out/rejected.csv",
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise InputError(
            f"cannot write in this folder ({(err.strerror or str(err)).lower()})",
            source=str(out),
            hint="choose a folder you can write to",
        ) from None
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        Path(tmp).chmod(0o666 & ~umask)  # mkstemp makes 0600; an output is an ordinary file
        Path(tmp).replace(out)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(
            f"cannot write the file ({err.strerror or err})",
            source=str(out),
            hint="check the path and its permissions",
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_frame(frame: pl.DataFrame, out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix == ".csv":
        atomic_write(out, lambda p: neutralise_formulas(_flat(frame)).write_csv(p))
    elif suffix == ".parquet":
        # zstd at level 1, not Polars' default 3: on 48 M score rows 6.8 instead of 9.5 CPU s,
        # for a file 4 % larger (statistics kept: readers filter by them)
        atomic_write(out, lambda p: frame.write_parquet(p, compression_level=1))
    elif suffix == ".json":
        atomic_write(out, lambda p: frame.write_json(p))
    elif suffix == ".xlsx":
        atomic_write(out, lambda p: neutralise_formulas(_flat(frame)).write_excel(p))
    else:
        raise InputError(
            f"cannot write '{suffix or out.name}' files",
            source=str(out),
            hint="use .csv, .parquet, .json or .xlsx",
        )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"
    return str(value)


def text_table(frame: pl.DataFrame, max_width: int = 48) -> str:
    rows = [[_cell(v)[:max_width] for v in row] for row in frame.iter_rows()]
    headers = list(frame.columns)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
