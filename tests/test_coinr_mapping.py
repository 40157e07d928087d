"""A COINr iMeta framework with an iData of your own layout (issue 10): ``--mapping`` says where
the unit and the indicators are, and a key that matches nothing is an error, not ignored."""

from __future__ import annotations

import polars as pl

from tests.conftest import FIXTURES, write

IDATA = FIXTURES / "asem" / "iData.csv"
IMETA = FIXTURES / "asem" / "iMeta.csv"


def test_an_idata_with_its_own_headers_scores_as_coinrs(tmp_path, run):
    raw = pl.read_csv(IDATA, infer_schema=False)
    mine = raw.rename({"uCode": "国家代码", "uName": "国家", "LPI": "物流绩效\n（LPI）"})
    data = tmp_path / "mine.csv"
    mine.write_csv(data)
    mapping = write(
        tmp_path / "map.toml",
        '[columns]\ncity_id = "国家代码"\ncity_name = "国家"\n'
        '[indicators]\n"物流绩效\\n(LPI)" = "LPI"\n',  # a line break, ASCII brackets
    )
    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    done = run("score", data, "--framework", IMETA, "--mapping", mapping, "--out", ours)
    assert done.exit_code == 0, done.output
    assert run("score", IDATA, "--framework", IMETA, "--out", theirs).exit_code == 0
    assert pl.read_csv(ours).equals(pl.read_csv(theirs))


def test_a_mapping_key_that_matches_nothing_is_an_error(tmp_path, run):
    mapping = write(tmp_path / "map.toml", '[columns]\ncity_id = "Landcode"\n')
    result = run("score", IDATA, "--framework", IMETA, "--mapping", mapping)
    assert result.exit_code == 2
    assert "Landcode" in result.stderr and "Traceback" not in result.output
