"""COINr's own ASEM example through `score --framework`, checked against an independent
pure-Python re-computation of COINr's rules (no Polars, no benchmarkkit code in the reference).

Fixture: tests/fixtures/asem/ (COINr's ASEM_iData / ASEM_iMeta, MIT licence; see SOURCE.md there).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import FIXTURES

ASEM = FIXTURES / "asem"


def reference(denominate: bool) -> dict[str, dict[str, float | None]]:
    """COINr: x·direction → min-max [0,100] per indicator over non-missing values → weighted mean
    of the children present, level by level. Returns {node: {uCode: score}}."""
    meta = list(csv.DictReader((ASEM / "iMeta.csv").read_text().splitlines()))
    data = list(csv.DictReader((ASEM / "iData.csv").read_text().splitlines()))
    units = [row["uCode"] for row in data]

    def num(s: str) -> float | None:
        return float(s) if s not in ("", "NA") else None

    scores: dict[str, dict[str, float | None]] = {}
    for m in (m for m in meta if m["Type"] == "Indicator"):
        col = []
        for row in data:
            x = num(row[m["iCode"]])
            if x is not None and denominate and m["Denominator"]:
                d = num(row[m["Denominator"]])
                x = x / d if d is not None else None
            col.append(None if x is None else x * float(m["Direction"]))
        present = [v for v in col if v is not None]
        lo, hi = min(present), max(present)
        scores[m["iCode"]] = {
            u: (None if v is None else (v - lo) / (hi - lo) * 100)
            for u, v in zip(units, col, strict=True)
        }
    aggregates = sorted(
        (m for m in meta if m["Type"] == "Aggregate"), key=lambda m: int(m["Level"])
    )
    for m in aggregates:
        kids = [
            k for k in meta if k["Parent"] == m["iCode"] and k["Type"] in ("Indicator", "Aggregate")
        ]
        out = {}
        for u in units:
            pairs = [
                (float(k["Weight"]), scores[k["iCode"]][u])
                for k in kids
                if scores[k["iCode"]][u] is not None and not math.isnan(scores[k["iCode"]][u])
            ]
            wsum = sum(w for w, _ in pairs)
            out[u] = sum(w / wsum * v for w, v in pairs) if pairs else None
        scores[m["iCode"]] = out
    return scores


@pytest.mark.parametrize("denominate", [False, True])
def test_asem_matches_the_reference_to_1e12(tmp_path, run, denominate):
    out = tmp_path / "scores.parquet"
    args = ["score", ASEM / "iData.csv", "--framework", ASEM / "iMeta.csv", "--out", out]
    result = run(*args, *(["--denominate"] if denominate else []))
    assert result.exit_code == 0, result.output
    got = pl.read_parquet(out)
    ref = reference(denominate)
    assert got.height == sum(len(v) for v in ref.values())
    for row in got.iter_rows(named=True):
        want = ref[row["node"]][row["city_id"]]
        if want is None:
            assert row["score"] is None, row
        else:
            assert row["score"] == pytest.approx(want, rel=1e-12, abs=1e-12), row


def test_asem_ranks_are_descending_with_ties_at_the_minimum(tmp_path, run):
    out = tmp_path / "scores.csv"
    run("score", ASEM / "iData.csv", "--framework", ASEM / "iMeta.csv", "--out", out)
    index = pl.read_csv(out).filter(pl.col("node") == "Index").sort("score", descending=True)
    expected = index["score"].rank("min", descending=True).cast(pl.Int64)
    assert index["rank"].to_list() == expected.to_list()
    assert index["rank"][0] == 1


def test_asem_full_coinr_pipeline_runs(tmp_path, run):
    """COINr's example build: denominate, group-mean imputation, JRC treatment, min-max."""
    out = tmp_path / "s.parquet"
    result = run(
        "score",
        ASEM / "iData.csv",
        "--framework",
        ASEM / "iMeta.csv",
        "--denominate",
        "--impute",
        "group-mean:EurAsia_group",
        "--treat",
        "jrc",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    index = pl.read_parquet(out).filter(pl.col("node") == "Index")
    assert index["score"].null_count() == 0 and index.height == 51


def test_asem_every_method_runs(tmp_path, run):
    base = ["score", ASEM / "iData.csv", "--framework", ASEM / "iMeta.csv"]
    for normalise in (
        "minmax:1,100",
        "zscore:10,2",
        "rank",
        "prank",
        "borda",
        "dist2max",
        "fracmax",
        "dist2targ",
        "dist2ref:AUT",
    ):
        result = run(*base, "--normalise", normalise, "--out", tmp_path / "n.csv")
        assert result.exit_code == 0, (normalise, result.output)
    for aggregate in ("geometric", "harmonic", "genmean:2", "copeland"):
        result = run(
            *base,
            "--normalise",
            "minmax:1,100",
            "--aggregate",
            aggregate,
            "--out",
            tmp_path / "a.csv",
        )
        assert result.exit_code == 0, (aggregate, result.output)
    assert Path(tmp_path / "a.csv").is_file()
