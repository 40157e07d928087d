"""What the speed benchmarks and the guard share: sizes, data, the floor, naive baselines, timing.

Why ratios: the machine (and CI's) is shared and noisy, so an absolute time means little from one
run to the next. Every figure is therefore reported against two references timed *in the same
run* on the same data, and compared with the minimum of rounds (the least disturbed one):

* the **floor** — one plain Polars pass over the same data (mean of ``value`` by indicator and
  year): the practical lower bound of any engine that reads every value once;
* a **naive baseline** — a straightforward pure-Python loop implementation of the same step
  (what one would write without a data-frame library), on the small and medium sizes.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from benchmarkkit.io import synthetic
from benchmarkkit.scorer import Framework, Pipeline

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SIZES = ("small", "medium")


def selected_sizes() -> list[str]:
    """Sizes to benchmark: ``$BENCH_SIZE`` (``small``, ``medium``, ``large``, comma-separated,
    or ``all``); small and medium by default, so the large panel never runs by accident."""
    raw = os.environ.get("BENCH_SIZE", "").strip().lower()
    if not raw:
        return list(DEFAULT_SIZES)
    if raw == "all":
        return list(synthetic.SIZES)
    names = [s.strip() for s in raw.split(",") if s.strip()]
    for name in names:
        synthetic.size_of(name)
    return names


def best_of(fn: Callable[[], Any], n: int) -> float:
    """The fastest of ``n`` timed calls (seconds): the least disturbed by other processes."""
    best = math.inf
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def rounds_for(size: str) -> int:
    return {"small": 10, "medium": 5, "large": 2}.get(size, 3)


# --- data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """One synthetic panel, loaded: what every benchmark of a size starts from."""

    size: str
    panel: synthetic.Panel
    observations: pl.DataFrame
    """Canonical observations (``columns.OBSERVATIONS``), as ``load`` returns them."""
    cities: pl.DataFrame


@cache
def registry() -> Any:
    from benchmarkkit.plugins import build_registry

    return build_registry()


@cache
def catalog() -> pl.DataFrame:
    from benchmarkkit.io.catalog import catalog_from_registry

    return catalog_from_registry(registry())


@cache
def data(size: str) -> Data:
    panel = synthetic.panel(
        size,
        catalog(),
        directory=ROOT / ".benchmarks-data" if not os.environ.get("BENCH_DATA_DIR") else None,
    )
    obs = synthetic.canonical(pl.scan_parquet(panel.parquet), str(panel.parquet))
    return Data(size, panel, obs, pl.read_parquet(panel.cities))


def frameworks(obs: pl.DataFrame) -> dict[str, tuple[Framework, Pipeline]]:
    """The three built-in indices, built by their scorers for this data, with their pipelines."""
    scorers = registry().of("scorer")
    return {
        name: (scorer.build(catalog(), obs), scorer.pipeline)
        for name, scorer in sorted(scorers.items())
    }


def coinr_case(cities: int = 10_000, indicators: int = 120) -> tuple[Framework, pl.DataFrame]:
    """COINr's reference task: one year, ``cities`` × ``indicators``, min-max + arithmetic mean
    over a two-level tree (indicators → focus areas → index), as a framework and observations."""
    from benchmarkkit.io.framework import NODE_SCHEMA

    size = synthetic.Size(f"coinr-{cities}x{indicators}", cities, indicators, 1)
    obs = synthetic.canonical(synthetic.observations(size, catalog()), "coinr")
    meta = synthetic.pick_indicators(catalog(), indicators).join(
        catalog().select("id", "focus_area"), on="id"
    )
    areas = sorted(set(meta["focus_area"]))
    nodes = pl.concat(
        [
            meta.select(
                pl.col("id").alias("node"),
                pl.col("id").alias("name"),
                pl.lit(1).alias("level"),
                pl.col("focus_area").alias("parent"),
                pl.lit(1.0).alias("weight"),
                "direction",
            ),
            pl.DataFrame(
                {
                    "node": areas,
                    "name": areas,
                    "level": [2] * len(areas),
                    "parent": ["index"] * len(areas),
                    "weight": [1.0] * len(areas),
                }
            ),
            pl.DataFrame({"node": ["index"], "name": ["index"], "level": [3]}),
        ],
        how="diagonal_relaxed",
    )
    nodes = pl.concat([pl.DataFrame(schema=NODE_SCHEMA), nodes], how="diagonal_relaxed").cast(
        NODE_SCHEMA
    )  # type: ignore[arg-type]
    return Framework("coinr", nodes, "COINr-equivalent"), obs


COINR_PIPELINE = Pipeline(
    impute="none", treat="none", normalise="minmax:0,100", aggregate="arithmetic", reference="year"
)
COINR_SECONDS = 3.4
"""COINr's time for one year of 10,000 units × 120 indicators (min-max + arithmetic mean)."""


# --- the floor ------------------------------------------------------------------------------------


def floor(obs: pl.DataFrame) -> pl.DataFrame:
    """One plain Polars pass over the data in memory: mean of value by indicator and year."""
    return obs.group_by("indicator", "year").agg(pl.col("value").mean())


def floor_file(path: Path) -> pl.DataFrame:
    """The same pass reading the file (Parquet or CSV): the floor of a load."""
    scan = pl.scan_parquet(path) if path.suffix == ".parquet" else pl.scan_csv(path)
    return scan.group_by("indicator", "year").agg(pl.col("value").mean()).collect()


# --- naive baselines (pure Python, the same steps) ------------------------------------------------


def rows_of(obs: pl.DataFrame) -> list[tuple[str, int, str, float]]:
    return obs.select("city_id", "year", "indicator", "value").rows()


def naive_minmax(
    rows: list[tuple[str, int, str, float]], direction: dict[str, int], pooled: bool = False
) -> dict[tuple[str, int, str], float]:
    """Min-max to 0–100 per indicator (and year), direction applied first."""
    lo: dict[Any, float] = {}
    hi: dict[Any, float] = {}
    for _, year, ind, value in rows:
        key = ind if pooled else (ind, year)
        x = value * direction.get(ind, 1)
        if key not in lo or x < lo[key]:
            lo[key] = x
        if key not in hi or x > hi[key]:
            hi[key] = x
    out = {}
    for city, year, ind, value in rows:
        key = ind if pooled else (ind, year)
        x = value * direction.get(ind, 1)
        span = hi[key] - lo[key]
        out[(city, year, ind)] = (x - lo[key]) / span * 100 if span else math.nan
    return out


def naive_aggregate(
    scores: dict[tuple[str, int, str], float], parent: dict[str, str], weight: dict[str, float]
) -> dict[tuple[str, int, str], float]:
    """Weighted mean of the children present, weights renormalised."""
    num: dict[tuple[str, int, str], float] = defaultdict(float)
    den: dict[tuple[str, int, str], float] = defaultdict(float)
    for (city, year, node), s in scores.items():
        if node in parent and not math.isnan(s):
            key = (city, year, parent[node])
            num[key] += weight.get(node, 1.0) * s
            den[key] += weight.get(node, 1.0)
    return {k: num[k] / den[k] for k in num}


def naive_impute_mean(rows: list[tuple[str, int, str, float]]) -> int:
    """Fill every missing city × indicator × year cell with the indicator-year mean."""
    total: dict[tuple[str, int], list[float]] = defaultdict(list)
    have = set()
    cities_by_year: dict[int, set[str]] = defaultdict(set)
    for city, year, ind, value in rows:
        total[(ind, year)].append(value)
        have.add((city, year, ind))
        cities_by_year[year].add(city)
    filled = 0
    for (ind, year), values in total.items():
        mean = statistics.fmean(values)
        for city in cities_by_year[year]:
            if (city, year, ind) not in have:
                filled += mean > -math.inf
    return filled


def _skew_kurt(v: list[float]) -> tuple[float | None, float | None]:
    n = len(v)
    if n < 3:
        return None, None
    m = sum(v) / n
    s2 = sum((x - m) ** 2 for x in v)
    if s2 == 0:
        return None, None
    s3 = sum((x - m) ** 3 for x in v)
    s4 = sum((x - m) ** 4 for x in v)
    skew = math.sqrt(n) * s3 / s2**1.5 * math.sqrt(n * (n - 1)) / (n - 2)
    kurt = None if n < 4 else ((n + 1) * (n * s4 / s2**2 - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return skew, kurt


def naive_jrc(values: list[float], winmax: int = 5) -> list[float]:
    """COINr's JRC rule on one partition, the obvious way: re-test after every winsorised point."""

    def fails(v: list[float]) -> bool:
        s, k = _skew_kurt(v)
        return s is not None and k is not None and abs(s) >= 2 and k >= 3.5

    if not fails(values):
        return values
    v = list(values)
    moved = 0
    while fails(v) and moved < winmax:
        s, _ = _skew_kurt(v)
        target = max(v) if (s or 0) >= 0 else min(v)
        others = [x for x in v if x != target]
        if not others:
            break
        repl = max(others) if (s or 0) >= 0 else min(others)
        moved += sum(1 for x in v if x == target)
        v = [repl if x == target else x for x in v]
    if not fails(v):
        return v
    lo, hi = min(values), max(values)
    return [math.log(x - lo + 0.01 * (hi - lo)) for x in values]


def naive_treat(rows: list[tuple[str, int, str, float]], pooled: bool = True) -> int:
    parts: dict[Any, list[float]] = defaultdict(list)
    for _, year, ind, value in rows:
        parts[ind if pooled else (ind, year)].append(value)
    return sum(len(naive_jrc(v)) for v in parts.values())


def naive_index(rows: list[tuple[str, int, str, float]], fw: Framework) -> int:
    """One built-in index the naive way: JRC (pooled) → min-max pooled → means up the tree."""
    nodes = fw.nodes
    leaves = set(nodes.filter(pl.col("level") == 1)["node"])
    direction = dict(zip(nodes["node"], nodes["direction"].fill_null(1), strict=True))
    parent = {n: p for n, p in zip(nodes["node"], nodes["parent"], strict=True) if p}
    weight = dict(zip(nodes["node"], nodes["weight"].fill_null(1.0), strict=True))
    mine = [r for r in rows if r[2] in leaves]
    by_ind: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(mine):
        by_ind[r[2]].append(i)
    treated = list(mine)
    for idx in by_ind.values():
        new = naive_jrc([mine[i][3] for i in idx])
        for i, value in zip(idx, new, strict=True):
            treated[i] = (*mine[i][:3], value)
    level = naive_minmax(treated, direction, pooled=True)
    total = len(level)
    for _ in range(int(nodes["level"].max()) - 1):  # type: ignore[arg-type]
        level = naive_aggregate(level, parent, weight)
        total += len(level)
    return total


def naive_validate(
    raw: list[tuple[Any, ...]], known: dict[str, tuple[float | None, float | None, str]]
) -> int:
    """Row rules (ids, year, number, finite, catalog, bounds) and duplicates, row by row."""
    seen = set()
    accepted = 0
    for city, year, ind, value in raw:
        if not city or not ind or ind not in known:
            continue
        try:
            y = int(float(year))
            x = float(value)
        except (TypeError, ValueError):
            continue
        if not 1900 <= y <= 2100 or not math.isfinite(x):
            continue
        lo, hi, bound = known[ind]
        if bound == "hard" and ((lo is not None and x < lo) or (hi is not None and x > hi)):
            continue
        key = (city, y, ind)
        if key in seen:
            continue
        seen.add(key)
        accepted += 1
    return accepted


def known_indicators() -> dict[str, tuple[float | None, float | None, str]]:
    cat = catalog()
    return {
        r[0]: (r[1], r[2], r[3]) for r in cat.select("id", "lower", "upper", "bound_type").rows()
    }


def naive_load_csv(path: Path) -> int:
    """csv module + the row rules: what a script without a data-frame library does."""
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        raw = [(r["city_id"], r["year"], r["indicator"], r["value"]) for r in reader]
    return naive_validate(raw, known_indicators())


# --- whole processes (issue 13) ----------------------------------------------------------------

MEASURED_CLI = Path(__file__).with_name("measured_cli.py")
COINR_LIB = Path(os.environ.get("COINR_LIB", "/tmp/coinr-lib"))


@dataclass(frozen=True)
class Process:
    seconds: float
    """Wall time from start to exit, interpreter start-up included."""
    peak_gib: float
    """The process's own peak resident set (``VmHWM``), GiB; NaN when it could not be read."""


def run_cli(*args: str, cwd: Path | None = None) -> Process:
    """``benchmarkkit ARGS…`` as a fresh process (through ``measured_cli.py``), timed from start
    to exit, with its peak memory; raises when it fails (exit code 1 with rejected rows is fine:
    ``validate`` says so that way)."""
    import subprocess
    import sys

    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(MEASURED_CLI), *args], capture_output=True, text=True, cwd=cwd
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"benchmarkkit {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    peak = [ln for ln in done.stderr.splitlines() if ln.startswith("BK_PEAK_KIB ")]
    kib = int(peak[-1].split()[1]) if peak else -1
    return Process(seconds, kib / 2**20 if kib > 0 else math.nan)


FLOOR_PROCESS = """
import sys, polars as pl
path = sys.argv[1]
scan = pl.scan_parquet(path) if path.endswith(".parquet") else pl.scan_csv(path)
scan.group_by("indicator", "year").agg(pl.col("value").mean()).collect()
"""


def floor_process(path: Path) -> float:
    """The floor of a whole process: a fresh Python that imports Polars, scans the file and
    groups it (mean of value by indicator and year). Seconds, start to exit."""
    import subprocess
    import sys

    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR_PROCESS, str(path)], check=True)
    return time.perf_counter() - start


def coinr_files(units: int, indicators: int = 120) -> tuple[Path, Path]:
    """COINr's own input files for the COINr-equivalent job: ``iData.csv`` (uCode, uName, one
    column per indicator; one year, so no Time) and ``iMeta.csv`` (indicators → focus areas →
    index, weights 1), written once per size into the benchmark data folder."""
    folder = ROOT / ".benchmarks-data" / f"coinr-{units}x{indicators}"
    idata, imeta = folder / "iData.csv", folder / "iMeta.csv"
    if idata.exists() and imeta.exists():
        return idata, imeta
    folder.mkdir(parents=True, exist_ok=True)
    size = synthetic.Size(f"coinr-{units}x{indicators}", units, indicators, 1)
    obs = synthetic.observations(size, catalog())
    wide = obs.pivot(on="indicator", index=["city_id", "city_name"], values="value").sort("city_id")
    meta = synthetic.pick_indicators(catalog(), indicators).join(
        catalog().select("id", "focus_area"), on="id"
    )
    wide = wide.select(
        pl.col("city_id").alias("uCode"), pl.col("city_name").alias("uName"), *meta["id"]
    )
    areas = sorted(set(meta["focus_area"]))
    rows = [
        *(
            (1, i, i, int(d), 1.0, a, "Indicator")
            for i, d, a in meta.select("id", "direction", "focus_area").iter_rows()
        ),
        *((2, a, a, 1, 1.0, "Index", "Aggregate") for a in areas),
        (3, "Index", "Index", 1, 1.0, None, "Aggregate"),
    ]
    pl.DataFrame(
        rows,
        schema=["Level", "iCode", "iName", "Direction", "Weight", "Parent", "Type"],
        orient="row",
    ).write_csv(imeta)
    wide.write_csv(idata)
    return idata, imeta


COINR_JOB_ARGS = (
    "--impute",
    "none",
    "--treat",
    "none",
    "--normalise",
    "minmax:0,100",
    "--aggregate",
    "arithmetic",
)
"""COINr's job: Normalise(n_minmax, l_u = 0–100) → Aggregate(a_amean); nothing else."""

COINR_R = """
t0 <- proc.time()[["elapsed"]]
suppressMessages(library(COINr, lib.loc = Sys.getenv("COINR_LIB")))
iData <- read.csv(Sys.getenv("IDATA"), na.strings = "")
iMeta <- read.csv(Sys.getenv("IMETA"), na.strings = "")
t1 <- proc.time()[["elapsed"]]
coin <- new_coin(iData, iMeta, quietly = TRUE)
coin <- Normalise(coin, dset = "Raw",
                  global_specs = list(f_n = "n_minmax", f_n_para = list(l_u = c(0, 100))))
coin <- Aggregate(coin, dset = "Normalised", f_ag = "a_amean")
t2 <- proc.time()[["elapsed"]]
out <- coin$Data$Aggregated
write.csv(out, Sys.getenv("OUT"), row.names = FALSE)
hwm <- grep("^VmHWM:", readLines("/proc/self/status"), value = TRUE)
cat(sprintf("COINR pipeline %.4f read %.4f rows %d %s\\n", t2 - t1, t1 - t0, nrow(out), hwm))
"""


def coinr_available() -> str | None:
    """None when COINr can run here; else why not (the comparison is then skipped)."""
    import shutil

    if shutil.which("Rscript") is None:
        return "Rscript is not installed: no same-run comparison with COINr"
    if not (COINR_LIB / "COINr").is_dir():
        return (
            f"COINr is not installed in {COINR_LIB} (sh ../shared/tools/coinr/install.sh "
            "$COINR_LIB, or set COINR_LIB)"
        )
    return None


def run_coinr(idata: Path, imeta: Path, out: Path) -> tuple[Process, float]:
    """COINr's job as a whole ``Rscript`` process: (the process, COINr's pipeline-only seconds:
    new_coin → Normalise → Aggregate, reading and writing excluded)."""
    import subprocess

    env = dict(
        os.environ, COINR_LIB=str(COINR_LIB), IDATA=str(idata), IMETA=str(imeta), OUT=str(out)
    )
    start = time.perf_counter()
    done = subprocess.run(
        ["Rscript", "-e", COINR_R], capture_output=True, text=True, env=env, check=True
    )
    seconds = time.perf_counter() - start
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("COINR pipeline")][-1].split()
    return Process(seconds, int(line[-2]) / 2**20), float(line[2])
