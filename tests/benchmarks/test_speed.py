"""Speed benchmarks (pytest-benchmark): every stage against the floor and a naive baseline.

Run with ``sh scripts/dev.sh bench`` (small + medium) or ``BENCH_SIZE=large sh scripts/dev.sh
bench``; the plain test run skips them (``--benchmark-skip`` in pyproject). Each benchmark times
its references in the same run (see ``harness``) and reports ``min_s``, ``x_floor`` (engine /
floor) and ``speedup_vs_naive`` (naive / engine) in ``extra_info`` and in a table at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness as h
import polars as pl
import pytest

from benchmarkkit.engine.score import encode, score
from benchmarkkit.io.load import load
from benchmarkkit.io.validate import validate
from benchmarkkit.scorer import Pipeline

NAIVE_SIZES = ("small", "medium")
"""The naive Python baselines take minutes on the large panel; they run on these sizes."""


def _naive(size: str, fn: Any) -> float | None:
    return h.best_of(fn, 1) if size in NAIVE_SIZES else None


def test_load_parquet(benchmark, record, size):
    d = h.data(size)
    path = d.panel.parquet
    floor = h.best_of(lambda: h.floor_file(path), 3)
    benchmark.pedantic(
        lambda: load([path], h.registry(), h.catalog()),
        rounds=h.rounds_for(size),
        warmup_rounds=0,
        iterations=1,
    )
    record("load parquet (read+validate+derive)", size, floor=floor)


def test_load_csv(benchmark, record, size):
    d = h.data(size)
    path = d.panel.csv
    floor = h.best_of(lambda: h.floor_file(path), 3)
    naive = _naive(size, lambda: h.naive_load_csv(path))
    benchmark.pedantic(
        lambda: load([path], h.registry(), h.catalog()),
        rounds=h.rounds_for(size),
        warmup_rounds=0,
        iterations=1,
    )
    record("load csv (read+validate+derive)", size, floor=floor, naive=naive)


def test_validate(benchmark, record, size):
    d = h.data(size)
    raw = d.observations.with_columns(
        pl.col("year").cast(pl.Int64),
        pl.lit(1.0).alias("scale"),
        pl.lit("value").alias("column"),
        pl.lit(None, pl.String).alias("_bad"),
    )
    floor = h.best_of(lambda: h.floor(d.observations), 5)
    # the naive loop's input is built only where the loop runs (27 M Python tuples would not fit)
    rows = raw.select("city_id", "year", "indicator", "value").rows() if size in NAIVE_SIZES else []
    known = h.known_indicators()
    naive = _naive(size, lambda: h.naive_validate(rows, known))
    benchmark.pedantic(
        lambda: validate([(raw, {})], h.catalog()),
        rounds=h.rounds_for(size),
        warmup_rounds=1,
        iterations=1,
    )
    record("validate", size, floor=floor, naive=naive)


FAMILIES: dict[str, Pipeline] = {
    "normalise minmax": Pipeline(treat="none", normalise="minmax:0,100"),
    "normalise zscore": Pipeline(treat="none", normalise="zscore"),
    "normalise prank": Pipeline(treat="none", normalise="prank"),
    "treat jrc (pooled)": Pipeline(treat="jrc", reference="pooled"),
    "impute mean": Pipeline(impute="mean", treat="none"),
    "impute linear (panel)": Pipeline(impute="linear", treat="none"),
    "aggregate arithmetic": Pipeline(treat="none", aggregate="arithmetic"),
    "aggregate geometric": Pipeline(treat="none", normalise="minmax:1,100", aggregate="geometric"),
}


def _naive_family(name: str, rows: list[tuple[str, int, str, float]], fw: Any) -> Any:
    nodes = fw.nodes
    direction = dict(zip(nodes["node"], nodes["direction"].fill_null(1), strict=True))
    parent = {n: p for n, p in zip(nodes["node"], nodes["parent"], strict=True) if p}
    weight = dict(zip(nodes["node"], nodes["weight"].fill_null(1.0), strict=True))
    leaves = set(nodes.filter(pl.col("level") == 1)["node"])
    mine = [r for r in rows if r[2] in leaves]
    if name.startswith("treat"):
        return lambda: h.naive_treat(mine)
    if name.startswith("impute"):
        return lambda: h.naive_impute_mean(mine)

    def normalise_and_aggregate() -> int:
        level = h.naive_minmax(mine, direction)
        n = len(level)
        for _ in range(2):
            level = h.naive_aggregate(level, parent, weight)
            n += len(level)
        return n

    return normalise_and_aggregate


@pytest.mark.parametrize("family", list(FAMILIES))
def test_method_family(benchmark, record, size, family):
    """One index (livability) scored with one method family varied; the rest minimal."""
    d = h.data(size)
    fw, _ = h.frameworks(d.observations)["livability"]
    pipeline = FAMILIES[family]
    floor = h.best_of(lambda: h.floor(d.observations), 5)
    rows = h.rows_of(d.observations) if size in NAIVE_SIZES else []
    naive = _naive(size, _naive_family(family, rows, fw))
    benchmark.pedantic(
        lambda: score(fw, d.observations, d.cities, pipeline, h.registry()),
        rounds=h.rounds_for(size),
        warmup_rounds=1,
        iterations=1,
    )
    record(f"livability: {family}", size, floor=floor, naive=naive)


def three_indices(d: h.Data) -> list[Any]:
    """As ``run_scoring`` does it: the observations encoded once, then each index scored."""
    encoded = encode(d.observations)
    return [
        score(fw, d.observations, d.cities, pipeline, h.registry(), encoded=encoded)
        for fw, pipeline in h.frameworks(d.observations).values()
    ]


def test_three_indices(benchmark, record, size):
    """The three built-in indices end to end (JRC, min-max pooled, arithmetic, coverage, ranks)."""
    d = h.data(size)
    floor = h.best_of(lambda: h.floor(d.observations), 5)
    rows = h.rows_of(d.observations) if size in NAIVE_SIZES else []
    fws = h.frameworks(d.observations)
    naive = _naive(size, lambda: [h.naive_index(rows, fw) for fw, _ in fws.values()])
    benchmark.pedantic(
        lambda: three_indices(d), rounds=h.rounds_for(size), warmup_rounds=1, iterations=1
    )
    record(
        "three indices end to end",
        size,
        floor=floor,
        naive=naive,
        target_x_floor=10.0,
        target_s=5.0 if size == "large" else None,
    )


def test_three_indices_without_indicator_rows(benchmark, record, size):
    """The same, asking only for the index and focus-area levels (``score --level 2 --level
    3``): level 1 is computed but not ranked or built into rows."""
    d = h.data(size)
    floor = h.best_of(lambda: h.floor(d.observations), 5)
    fws = h.frameworks(d.observations)

    def run() -> list[Any]:
        encoded = encode(d.observations)
        return [
            score(
                fw, d.observations, d.cities, pipeline, h.registry(), encoded=encoded, levels=[2, 3]
            )
            for fw, pipeline in fws.values()
        ]

    benchmark.pedantic(run, rounds=h.rounds_for(size), warmup_rounds=1, iterations=1)
    record(
        "three indices, levels 2-3 only",
        size,
        floor=floor,
        target_x_floor=10.0,
        target_s=5.0 if size == "large" else None,
    )


def test_coinr_equivalent(benchmark, record):
    """COINr's reference task: one year, 10,000 cities × 120 indicators, min-max + mean."""
    fw, obs = h.coinr_case()
    cities = obs.select("city_id").unique()
    floor = h.best_of(lambda: h.floor(obs), 5)
    benchmark.pedantic(
        lambda: score(fw, obs, cities, h.COINR_PIPELINE, h.registry()),
        rounds=5,
        warmup_rounds=1,
        iterations=1,
    )
    record("COINr-equivalent 10k x 120, 1 year", "coinr", floor=floor, coinr_s=h.COINR_SECONDS)


def _demo_comparison() -> tuple[Any, ...]:
    from benchmarkkit.analysis.compare import rescorer
    from benchmarkkit.analysis.peers import find_peers
    from benchmarkkit.io.demo import DEFAULT_CITY, load_demo

    loaded = load_demo(h.registry(), h.catalog())
    fws = h.frameworks(loaded.observations)
    frameworks = {name: fw for name, (fw, _) in fws.items()}
    pipelines = {name: p for name, (_, p) in fws.items()}
    results = [
        score(fw, loaded.observations, loaded.cities, p, h.registry()) for fw, p in fws.values()
    ]
    scores = pl.concat([r.scores for r in results])
    year = 2023
    peers = find_peers(
        h.registry(), DEFAULT_CITY, year, "size:3", loaded.cities, loaded.observations
    )
    rescore = rescorer(frameworks, pipelines, loaded.cities, h.registry())
    return loaded, frameworks, scores, peers, rescore, DEFAULT_CITY, year


def test_compare_and_levers(benchmark, record):
    """compare() with levers on the demo (Madrid 2023, size peers): one batched re-scoring."""
    from benchmarkkit.analysis.compare import compare

    loaded, frameworks, scores, peers, rescore, city, year = _demo_comparison()
    floor = h.best_of(lambda: h.floor(loaded.observations), 5)

    def run(rescore_fn: Any) -> Any:
        return compare(
            scores, loaded.observations, h.catalog(), frameworks, city, year, peers, rescore_fn
        )

    def one_by_one(observations: pl.DataFrame) -> pl.DataFrame:
        """Naive levers: re-score once per scenario city instead of once for all."""
        from benchmarkkit.analysis.compare import LEVER_SEP

        ids = (
            observations.filter(pl.col("city_id").str.contains(LEVER_SEP, literal=True))["city_id"]
            .unique()
            .to_list()
        )
        base = observations.filter(~pl.col("city_id").str.contains(LEVER_SEP, literal=True))
        parts = [
            rescore(pl.concat([base, observations.filter(pl.col("city_id") == i)])).filter(
                pl.col("city_id") == i
            )
            for i in ids
        ]
        return pl.concat(parts)

    naive = h.best_of(lambda: run(one_by_one), 1)
    benchmark.pedantic(lambda: run(rescore), rounds=5, warmup_rounds=1, iterations=1)
    record("compare + levers (demo)", "demo", floor=floor, naive=naive)


def _cli(*args: str) -> list[str]:
    exe = Path(sys.executable).parent / "benchmarkkit"
    return (
        [str(exe), *args]
        if exe.exists()
        else [sys.executable, "-c", "from benchmarkkit.cli import main; main()", *args]
    )


def test_report_demo_end_to_end(benchmark, record, tmp_path):
    """``benchmarkkit report`` on the demo, as a user runs it (process start to file written)."""
    out = tmp_path / "report.html"

    def run() -> None:
        subprocess.run(_cli("report", "--out", str(out)), check=True, capture_output=True)

    benchmark.pedantic(run, rounds=3, warmup_rounds=0, iterations=1)
    record("report on the demo (CLI, end to end)", "demo", target_s=5.0)
    assert out.stat().st_size > 100_000


def test_help_startup(benchmark, record):
    """``benchmarkkit --help``: start-up of the CLI (target < 0.3 s, no Polars, no Altair)."""
    benchmark.pedantic(
        lambda: subprocess.run(_cli("--help"), check=True, capture_output=True),
        rounds=10,
        warmup_rounds=1,
        iterations=1,
    )
    record("benchmarkkit --help", "-", target_s=0.3)


@pytest.mark.skipif("large" not in h.selected_sizes(), reason="BENCH_SIZE=large only")
def test_large_peak_memory(record, benchmark):
    """Peak RSS of a fresh process that loads the large panel and scores the three indices."""
    d = h.data("large")
    code = f"""
import json, resource, sys, time
def peak_kib():
    # VmHWM belongs to this process's memory map, which exec made new; ru_maxrss would carry over
    # the high-water mark of the forked copy of the (big) parent test process
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.path.insert(0, {str(h.ROOT / "tests" / "benchmarks")!r})
import polars as pl
import harness as h
from benchmarkkit.io import synthetic
from benchmarkkit.engine.score import encode, score
obs = synthetic.canonical(pl.scan_parquet({str(d.panel.parquet)!r}), "large")
cities = pl.read_parquet({str(d.panel.cities)!r})
loaded = peak_kib()
start = time.perf_counter()
encoded = encode(obs)
for fw, p in h.frameworks(obs).values():
    score(fw, obs, cities, p, h.registry(), encoded=encoded)
print(json.dumps({{"seconds": time.perf_counter() - start, "input_kib": loaded,
                   "peak_kib": peak_kib()}}))
"""
    result = {}

    def run() -> None:
        done = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        )
        result.update(json.loads(done.stdout.strip().splitlines()[-1]))

    start = time.perf_counter()
    benchmark.pedantic(run, rounds=1, iterations=1)
    record(
        "large: 3 indices in a fresh process",
        "large",
        peak_gib=result["peak_kib"] / 2**20,
        input_gib=result["input_kib"] / 2**20,
        score_s=result["seconds"],
        wall_s=time.perf_counter() - start,
        target_peak_gib=4.0,
    )
