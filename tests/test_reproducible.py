"""The same data give the same bytes: scores do not depend on how Polars' threads were scheduled.

Polars 2.1's ``sum_horizontal`` adds its inputs in the order its threads finish them, so the
arithmetic mean of a dense level differed in the last bit from run to run (on COINr's job at
10,000 units × 120 indicators, ~1,500 of 70,000 aggregate scores between two runs; in the demo, a
handful). A file a CSCO diffs against last year's must not change when nothing changed. The
engine now adds children left to right (``methods.aggregate.ordered_sum``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from benchmarkkit.methods.aggregate import ordered_sum


def test_ordered_sum_adds_left_to_right_nulls_as_zero_and_the_same_every_time():
    rng = np.random.default_rng(13)
    frame = pl.DataFrame({f"c{k}": rng.random(20_000) * 100 for k in range(12)}).with_columns(
        pl.when(pl.col("c3") > 90).then(None).otherwise(pl.col("c3")).alias("c3")
    )
    expr = ordered_sum([pl.col(f"c{k}") / 12.0 for k in range(12)])
    first = frame.select(expr).to_series()
    for _ in range(30):
        assert frame.select(expr).to_series().equals(first)
    for i in (7, 11, next(i for i, v in enumerate(frame["c3"]) if v is None)):
        by_hand = 0.0
        for value in frame.row(i):  # a null adds 0, as in sum_horizontal
            by_hand = by_hand + (0.0 if value is None else value / 12.0)
        assert first[i] == by_hand  # bit for bit: the same order of additions


def test_the_same_data_scored_three_times_give_the_same_file(tmp_path, run):
    """COINr's job (min-max 0–100, arithmetic mean) on 10,000 units × 132 indicators in six
    groups of 12 to 32: three runs, one file. With ``sum_horizontal`` this failed in every run
    tried (at 5,000 units and two runs, one in three)."""
    rng = np.random.default_rng(19)
    n_units, groups = 10_000, {f"g{i}": 12 + 4 * i for i in range(6)}
    codes = [f"{g}_{k}" for g, n in groups.items() for k in range(n)]
    values = {c: rng.normal(50, 15, n_units) for c in codes}
    for c in codes:  # a tenth missing, as in real data
        values[c][rng.random(n_units) < 0.1] = np.nan
    idata = tmp_path / "iData.csv"
    pl.DataFrame({"uCode": [f"U{i:05d}" for i in range(n_units)], **values}).with_columns(
        pl.col(codes).fill_nan(None)
    ).write_csv(idata)
    imeta = tmp_path / "iMeta.csv"
    rows = [(1, c, c, 1, 1.0, c.split("_")[0], "Indicator") for c in codes]
    rows += [(2, g, g, 1, 1.0, "Index", "Aggregate") for g in groups]
    rows += [(3, "Index", "Index", 1, 1.0, None, "Aggregate")]
    pl.DataFrame(
        rows,
        schema=["Level", "iCode", "iName", "Direction", "Weight", "Parent", "Type"],
        orient="row",
    ).write_csv(imeta)
    outputs = []
    for i in range(3):
        out = tmp_path / f"scores{i}.csv"
        args = ["score", idata, "--framework", imeta, "--impute", "none", "--treat", "none"]
        result = run(
            *args, "--normalise", "minmax:0,100", "--aggregate", "arithmetic", "--out", out
        )
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
