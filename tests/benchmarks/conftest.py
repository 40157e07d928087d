"""Benchmark fixtures and the ratio summary printed at the end of a benchmark run.

``sh scripts/dev.sh bench`` runs small and medium; ``BENCH_SIZE=large sh scripts/dev.sh bench``
(or ``BENCH_SIZE=all``) adds the 30 M-cell panel. Panels are generated once and cached in
``.benchmarks-data/``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import harness

RATIOS: list[dict[str, Any]] = []
"""Every benchmark's figures, printed as one table when the session ends."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "size" in metafunc.fixturenames:
        metafunc.parametrize("size", harness.selected_sizes())


@pytest.fixture
def record(benchmark: Any) -> Any:
    """``record(name, size, floor=…, naive=…, **extra)`` after ``benchmark.pedantic``: stores the
    minimum of rounds and its ratios in ``extra_info`` and in the end-of-run table."""

    def done(
        name: str,
        size: str,
        *,
        floor: float | None = None,
        naive: float | None = None,
        **extra: Any,
    ) -> float:
        best = benchmark.stats.stats.min
        info: dict[str, Any] = {"name": name, "size": size, "min_s": best, **extra}
        if floor:
            info["floor_s"] = floor
            info["x_floor"] = best / floor
        if naive:
            info["naive_s"] = naive
            info["speedup_vs_naive"] = naive / best
        if extra.get("coinr_s"):
            info["speedup_vs_coinr"] = extra["coinr_s"] / best
        benchmark.extra_info.update(info)
        RATIOS.append(info)
        return best

    return done


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RATIOS:
        return
    tr = terminalreporter
    tr.section("benchmarkkit ratios (min of rounds, same run)")
    tr.write_line(
        f"{'benchmark':38} {'size':7} {'min s':>9} {'floor s':>9} {'x floor':>8} "
        f"{'naive s':>9} {'vs naive':>9}  other"
    )
    for r in RATIOS:

        def f(key: str, fmt: str, r: dict[str, Any] = r) -> str:
            return format(r[key], fmt) if r.get(key) is not None else "–"

        other = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in r.items()
            if k
            not in {"name", "size", "min_s", "floor_s", "x_floor", "naive_s", "speedup_vs_naive"}
        )
        tr.write_line(
            f"{r['name']:38} {r['size']:7} {f('min_s', '9.4f')} "
            f"{f('floor_s', '9.4f')} {f('x_floor', '8.1f')} {f('naive_s', '9.3f')} "
            f"{f('speedup_vs_naive', '9.1f')}  {other}"
        )
