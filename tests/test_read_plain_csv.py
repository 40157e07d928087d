"""The plain-CSV fast path reads exactly what the csv module reads, or steps aside (None)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarkkit.errors import InputError
from benchmarkkit.io.read import _read_csv_module, _read_plain_csv, _sniff_separator

FIXTURES = Path(__file__).parent / "fixtures"

TEXTS = [
    "a,b\n1,2\n",
    "a,b\n1,2",
    "a;b\n1; \n 2 ;x\n",
    "a\tb\n1\t\t\n",
    "a,,a2\n1,,3\n",
    "x\n1\n 2\n",
    "a,b\n1,é\n\u00a0,2\n\u3000,\u2003\n",
    "a,b\n1,2\n\n3,4\n",  # blank line: not plain
    "a,b\n1,2\n3\n",  # ragged: not plain
    'a,b\n"1,5",2\n',  # quoted: not plain
    "a,b\r\n1,2\r\n",  # CRLF: not plain
    "a,b\n1,\x1c\n",  # a separator Python strips: not plain
    "a,a\n1,2\n",  # a repeated header: the same error both ways
    " , \n1,2\n",  # blank header names
    "a,b\n",  # a header alone
]


def _both(text: str) -> tuple[object, object]:
    path = Path("t.csv")
    sep = _sniff_separator(text.split("\n", 1)[0])
    out = []
    for read in (_read_plain_csv, _read_csv_module):
        try:
            out.append(read(text, sep, path))
        except InputError as err:
            out.append(str(err))
    return out[0], out[1]


def _same(fast: object, slow: object) -> None:
    if fast is None:
        return
    if isinstance(fast, pl.DataFrame):
        assert isinstance(slow, pl.DataFrame)
        assert fast.schema == slow.schema
        assert fast.equals(slow, null_equal=True)
    else:
        assert fast == slow


@pytest.mark.parametrize("text", TEXTS)
def test_plain_csv_reads_what_the_csv_module_reads(text):
    _same(*_both(text))


def test_plain_csv_steps_aside_when_it_could_differ():
    for text in TEXTS[7:12]:
        assert _both(text)[0] is None, text
    assert _both("a,b\n1,2\n")[0] is not None


@pytest.mark.parametrize(
    "path", sorted(FIXTURES.rglob("*.csv")), ids=lambda p: str(p.relative_to(FIXTURES))
)
def test_plain_csv_on_every_fixture(path):
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if text.strip():
        _same(*_both(text))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.text(alphabet="a1 ;é\u00a0\u3000\t.x-", max_size=4), min_size=1, max_size=4),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([",", ";", "\t"]),
    st.booleans(),
)
def test_plain_csv_matches_on_random_tables(rows, sep, newline_at_end):
    text = "\n".join(sep.join(cells) for cells in [["h1", "h2", "h3"][: len(rows[0])], *rows])
    _same(*_both(text + ("\n" if newline_at_end else "")))


@pytest.mark.parametrize("tail", ["", "\n", "\n\n", "\n1,2,3\n", "\n1,2\n"])
def test_plain_csv_on_a_big_file_counts_lines_the_same_way(tail):
    """Above 4 MB the lines are counted with numpy: the same answers as the small-file way."""
    body = "a,b,c\n" + "".join(f"{i},x{i % 7}, {i % 3}\n" for i in range(400_000))
    text = body.rstrip("\n") + tail
    assert len(text) > 1 << 22
    fast, slow = _both(text)
    _same(fast, slow)
    assert (fast is None) == (tail in ("\n\n", "\n1,2\n"))
