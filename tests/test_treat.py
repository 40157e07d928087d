"""The JRC outlier treatment against hand-checkable cases.

Skewness and kurtosis are recomputed here with plain Python from COINr's definitions (``skew`` and
``kurt`` in COINr's treat.R, the e1071 type-2 / Excel formulas), never with our own code; each
expected outcome is justified by testing the intermediate vectors with those formulas.
"""

from __future__ import annotations

import math
import random
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import benchmarkkit.methods.treat as treat_module
from benchmarkkit.errors import MethodError
from benchmarkkit.methods.treat import (
    TREATMENTS,
    Rule,
    _below,
    _treat,
    _winsorise_exact,
    jrc,
    no_treatment,
    register_treatments,
)

NAN = float("nan")


# --- COINr's formulas in plain Python -----------------------------------------------------------


def present(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


def skew(values: list[float | None]) -> float | None:
    """sqrt(n) * sum(d^3) / sum(d^2)^(3/2) * sqrt(n(n-1)) / (n-2); NA below 3 values."""
    v = present(values)
    n = len(v)
    if n < 3:
        return None
    m = math.fsum(v) / n
    d = [x - m for x in v]
    s2 = math.fsum(x * x for x in d)
    if s2 == 0:
        return None
    return math.sqrt(n) * math.fsum(x**3 for x in d) / s2**1.5 * math.sqrt(n * (n - 1)) / (n - 2)


def kurt(values: list[float | None]) -> float | None:
    """((n+1)(r-3)+6)(n-1) / ((n-2)(n-3)) with r = n sum(d^4) / sum(d^2)^2; NA below 4 values."""
    v = present(values)
    n = len(v)
    if n < 4:
        return None
    m = math.fsum(v) / n
    d = [x - m for x in v]
    s2 = math.fsum(x * x for x in d)
    if s2 == 0:
        return None
    r = n * math.fsum(x**4 for x in d) / s2**2
    return ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))


def passes(values: list[float | None]) -> bool | None:
    """check_SkewKurt: |skew| < 2 OR kurt < 3.5, with R's NA logic."""
    s, k = skew(values), kurt(values)
    a = None if s is None else abs(s) < 2
    b = None if k is None else k < 3.5
    if a or b:
        return True
    return None if a is None or b is None else False


# --- running the treatment ----------------------------------------------------------------------


def frame_of(parts: list[list[float | None]]) -> pl.DataFrame:
    rows = [(p, v) for p, values in enumerate(parts) for v in values]
    return pl.DataFrame(
        {
            "_part": [p for p, _ in rows],
            "x": pl.Series([v for _, v in rows], dtype=pl.Float64),
            "keep": [f"row{i}" for i in range(len(rows))],
        }
    )


def treat(parts: list[list[float | None]], params: dict[str, Any] | None = None):
    """Treat every part in one call; return the treated values per part and the log by part."""
    frame = frame_of(parts)
    out, log = jrc(frame, params or {})
    assert out.columns == frame.columns
    assert out["keep"].to_list() == frame["keep"].to_list()  # row order and other columns kept
    values = [out.filter(pl.col("_part") == p)["x"].to_list() for p in range(len(parts))]
    return values, {row["_part"]: row for row in log.to_dicts()}


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


ONE_OUTLIER = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100.0]
TWO_STEPS = [float(i) for i in range(1, 21)] + [200.0, 400.0]
LOW_OUTLIER = [-100.0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
NORMAL = [float(i) for i in range(1, 11)]


def test_one_outlier_is_winsorised_to_the_next_value():
    # skew 3.12, kurt 9.80: fails; 100 -> 9 gives skew -0.15: passes after one point
    assert passes(ONE_OUTLIER) is False
    fixed = [*ONE_OUTLIER[:-1], 9.0]
    assert passes(fixed) is True
    values, log = treat([ONE_OUTLIER])
    assert values[0] == fixed
    row = log[0]
    assert row["winsorised"] == 1
    assert row["log_transformed"] is False
    assert row["passed"] is True
    assert close(row["skew_before"], skew(ONE_OUTLIER))
    assert close(row["kurt_before"], kurt(ONE_OUTLIER))
    assert close(row["skew_after"], skew(fixed))
    assert close(row["kurt_after"], kurt(fixed))


def test_tied_extremes_move_together_and_count_as_coinr():
    # step 1: 400 -> 200 (still fails); step 2: both 200s are the maximum and move to 20 together.
    # COINr's nwin = size of the last set moved = 2 (= the points changed).
    step1 = [*TWO_STEPS[:-1], 200.0]
    step2 = [*TWO_STEPS[:-2], 20.0, 20.0]
    assert passes(TWO_STEPS) is False
    assert passes(step1) is False
    assert passes(step2) is True
    values, log = treat([TWO_STEPS])
    assert values[0] == step2
    assert log[0]["winsorised"] == 2


def test_negative_skew_winsorises_the_low_end():
    # skew -3.13: the minimum -100 moves up to 1
    assert skew(LOW_OUTLIER) < -2
    values, log = treat([LOW_OUTLIER])
    assert values[0] == [1.0, *LOW_OUTLIER[1:]]
    assert log[0]["winsorised"] == 1


def test_a_passing_column_is_untouched():
    values, log = treat([NORMAL])
    assert values[0] == NORMAL
    assert log[0]["winsorised"] == 0
    assert log[0]["log_transformed"] is False
    assert log[0]["passed"] is True
    assert close(log[0]["skew_before"], 0.0)


def test_falls_back_to_log_ct_of_the_original_values():
    # winmax = 1: one point is not enough (see above), so the winsorisation is dropped and
    # log_CT is applied to the ORIGINAL values: log(x - 1 + 0.01 * (400 - 1))
    want = [math.log(v - 1 + 0.01 * 399) for v in TWO_STEPS]
    values, log = treat([TWO_STEPS], {"winmax": 1})
    assert all(close(g, w) for g, w in zip(values[0], want, strict=True))
    row = log[0]
    assert row["winsorised"] == 0
    assert row["log_transformed"] is True
    assert row["passed"] is passes(want)
    assert close(row["skew_after"], skew(want))


def test_winmax_zero_goes_straight_to_log():
    want = [math.log(v - 1 + 0.01 * 99) for v in ONE_OUTLIER]
    values, log = treat([ONE_OUTLIER], {"winmax": 0})
    assert all(close(g, w) for g, w in zip(values[0], want, strict=True))
    assert log[0]["log_transformed"] is True


def test_untestable_partitions_are_left_alone():
    # constant column: skew = 0/0 -> NA; two values: no skew (n < 3) -> NA. COINr returns x.
    values, log = treat([[5, 5, 5, 5, 5], [1.0, 1000.0]])
    assert values == [[5, 5, 5, 5, 5], [1.0, 1000.0]]
    for part in (0, 1):
        assert log[part]["passed"] is None
        assert log[part]["skew_before"] is None
        assert log[part]["winsorised"] == 0


def test_winsorising_into_a_constant_column_keeps_the_original():
    # 1 x 9 and 100: moving 100 to 1 makes the column constant, the re-test is NA and COINr
    # returns the untreated vector (Passing = NA); the original still fails the test.
    x = [1.0] * 9 + [100.0]
    assert passes(x) is False
    values, log = treat([x])
    assert values[0] == x
    assert log[0]["winsorised"] == 0
    assert log[0]["log_transformed"] is False
    assert log[0]["passed"] is False


def test_missing_values_stay_where_they_are():
    x = [1, None, 2, 3, 4, 5, NAN, 6, 7, 8, 9, 100.0]
    values, log = treat([x])
    assert values[0][:6] == [1, None, 2, 3, 4, 5]
    assert math.isnan(values[0][6])
    assert values[0][7:] == [6, 7, 8, 9, 9]
    assert close(log[0]["skew_before"], skew(x))  # computed over the 10 present values


def test_all_partitions_in_one_call():
    parts = [ONE_OUTLIER, NORMAL, TWO_STEPS, LOW_OUTLIER, [None, None]]
    values, log = treat(parts)
    assert values[0][-1] == 9.0
    assert values[1] == NORMAL
    assert values[2][-2:] == [20.0, 20.0]
    assert values[3][0] == 1.0
    assert values[4] == [None, None]
    assert [log[p]["winsorised"] for p in range(5)] == [1, 0, 2, 1, 0]
    assert list(log) == [0, 1, 2, 3, 4]


# --- the rule, on many generated partitions at once ---------------------------------------------


def coinr_treat(x: list[float | None], winmax: int = 5) -> tuple[list[float | None], int, bool]:
    """COINr's Treat.numeric + winsorise + log_CT transcribed line by line (no vectorisation)."""
    p0 = passes(x)
    if p0 is not False:
        return x, 0, False
    w, nwin, hi, lo, ok = list(x), 0, [], [], False
    while ok is False and nwin < winmax:
        vals = present(w)
        if skew(w) >= 0:
            hi = [i for i, v in enumerate(w) if v == max(vals)]
            new = max(v for i, v in enumerate(w) if i not in hi and v is not None)
            w = [new if i in hi else v for i, v in enumerate(w)]
        else:
            lo = [i for i, v in enumerate(w) if v == min(vals)]
            new = min(v for i, v in enumerate(w) if i not in lo and v is not None)
            w = [new if i in lo else v for i, v in enumerate(w)]
        nwin = len(hi) + len(lo)
        ok = passes(w)
    if ok is None:
        return x, 0, False
    if ok:
        return w, nwin, False
    vals = present(x)
    low, high = min(vals), max(vals)
    logged = [None if v is None else math.log(v - low + 0.01 * (high - low)) for v in x]
    return (x, 0, False) if passes(logged) is None else (logged, 0, True)


def test_matches_a_line_by_line_transcription_of_coinr():
    rng = random.Random(7)
    parts: list[list[float | None]] = []
    for _ in range(60):
        n, kind = rng.randint(4, 90), rng.random()
        draw = {
            0: lambda: round(rng.lognormvariate(0, 2), 1),
            1: lambda: -round(rng.paretovariate(1.2), 2),
            2: lambda: float(rng.choice([1, 1, 1, 2, 2, 3, 50])),
            3: lambda: float(rng.randint(1, 9)) * 10 ** (rng.randint(1, 6) * (rng.random() < 0.4)),
        }[int(kind * 4)]
        parts.append([None if rng.random() < 0.1 else draw() for _ in range(n)])
    values, log = treat(parts)
    outcomes = set()
    for p, x in enumerate(parts):
        want, nwin, logged = coinr_treat(x)
        assert all(close(g, w) for g, w in zip(values[p], want, strict=True)), p
        assert (log[p]["winsorised"], log[p]["log_transformed"]) == (nwin, logged), p
        outcomes.add("log" if logged else "win" if nwin else "none")
    assert outcomes == {"none", "win", "log"}  # every branch exercised


# --- other treatments, parameters, hook ---------------------------------------------------------


def test_none_treatment_only_reports():
    frame = frame_of([ONE_OUTLIER])
    out, log = no_treatment(frame, {})
    assert out.equals(frame)
    row = log.row(0, named=True)
    assert row["winsorised"] == 0
    assert row["log_transformed"] is False
    assert row["passed"] is False
    assert close(row["skew_after"], skew(ONE_OUTLIER))


def test_bad_parameters_are_refused():
    with pytest.raises(MethodError, match="winmax"):
        jrc(frame_of([NORMAL]), {"winmax": -1})
    with pytest.raises(MethodError):
        jrc(frame_of([NORMAL]), {"skew_thresh": "high"})


def test_hook_register_treatments():
    got: list[Any] = []
    register_treatments(got.append)
    assert [t.name for t in got] == ["jrc", "none"]
    assert {p.name: p.default for p in TREATMENTS[0].params} == {
        "winmax": 5,
        "skew_thresh": 2.0,
        "kurt_thresh": 3.5,
    }


# --- the fast path against the exact loop -------------------------------------------------------


KINDS = ("lognormal", "pareto", "outliers", "rounded", "tied", "tiny")


def generated_part(rng: random.Random, i: int) -> list[float | None]:
    """Partition ``i``: skewed, with ties, outliers or heavy ties at an end; any size, any sign."""
    kind = KINDS[i % len(KINDS)]
    if kind == "tiny":
        n = rng.randint(1, 5)
    else:  # k is 32-44 here: within k (one table), up to 2k (exact loop), beyond (two tables)
        n = [rng.randint(6, 40), rng.randint(41, 90), rng.randint(91, 1500)][i // len(KINDS) % 3]
    if kind == "pareto":
        shape = rng.uniform(0.8, 4)
        values = [rng.paretovariate(shape) for _ in range(n)]
    elif kind == "outliers":  # a few far points, some tied: winsorising them is enough
        values = [rng.gauss(0, 1) for _ in range(n)]
        far = [rng.uniform(5, 50) for _ in range(rng.randint(1, 4))]
        for j in range(min(n, rng.randint(1, 8))):
            values[j] = rng.choice(far)
    elif kind == "rounded":  # ties everywhere
        values = [float(round(rng.lognormvariate(0, 1.5) * 3)) for _ in range(n)]
    elif kind == "tied":  # a block tied at the maximum: more points than the lists can count
        values = [rng.lognormvariate(0, 1) for _ in range(n + 1000)]
        values += [rng.choice([40.0, 80.0])] * rng.randint(45, 80)
    else:
        sigma = rng.uniform(0.3, 2.5)
        values = [rng.lognormvariate(0, sigma) for _ in range(n)]
    sign = rng.choice([1, -1])  # both signs of skew
    return [
        None if r < 0.08 else NAN if r < 0.12 else sign * v
        for v, r in ((v, rng.random()) for v in values)
    ]


def assert_same_treatment(
    got: tuple[pl.DataFrame, pl.DataFrame], want: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    """Values bit for bit, decisions exactly, statistics to 1e-12 (their sums may be added in
    another order: Polars' grouped float sums depend on the rows' order and layout)."""
    assert got[0]["x"].equals(want[0]["x"])
    decisions = ["_part", "winsorised", "log_transformed", "passed"]
    assert got[1].select(decisions).equals(want[1].select(decisions))
    assert_frame_equal(got[1], want[1], rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fast_path_gives_the_exact_loops_results(seed, monkeypatch):
    # jrc replays the winsorisation on power sums (treat._replay) and hands the partitions it
    # cannot settle to the exact loop; forcing the exact loop everywhere must change nothing.
    tally: dict[str, int] = {}
    replay = treat_module._replay

    def counted(part, k, rule):
        plan = replay(part, k, rule)
        n = part["_n"]
        tables = "one table" if n <= k else "overlap" if n <= 2 * k else "two tables"
        outcome = "declined" if plan is None else "log" if not plan["_bk_wpass"] else "win"
        tally[f"{tables}: {outcome}"] = tally.get(f"{tables}: {outcome}", 0) + 1
        return plan

    monkeypatch.setattr(treat_module, "_replay", counted)
    rng = random.Random(seed)
    frame = frame_of([generated_part(rng, i) for i in range(40)])
    outcomes = set()
    for winmax in (0, 1, 5, 10):
        fast = jrc(frame, {"winmax": winmax})
        assert_same_treatment(fast, _treat(frame, Rule(winmax=winmax), _winsorise_exact))
        outcomes |= {
            "win" if w else "log" if lg else "none"
            for w, lg in fast[1].select("winsorised", "log_transformed").iter_rows()
        }
    assert outcomes == {"none", "win", "log"}
    for case in (
        "one table: win",
        "one table: log",
        "two tables: win",
        "two tables: log",
        "two tables: declined",
        "overlap: declined",
    ):
        assert tally.get(case, 0) > 0, (case, tally)


def test_partition_ids_and_row_order_do_not_matter():
    rng = random.Random(11)
    frame = frame_of([generated_part(rng, i) for i in range(12)]).with_row_index("row")
    out, log = jrc(frame, {})
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=5)
    for ids in (pl.col("_part") * 1000 + 7, pl.format("p{}", pl.col("_part"))):
        other = shuffled.with_columns(ids.alias("_id"))
        got, got_log = jrc(other.with_columns(pl.col("_id").alias("_part")), {})
        names = other.select("_part", "_id").unique()
        got_log = got_log.rename({"_part": "_id"}).join(names, on="_id").drop("_id")
        assert_same_treatment(
            (got.sort("row"), got_log.select(log.columns).sort("_part")), (out, log)
        )


def test_a_retest_too_close_to_a_threshold_is_left_to_the_exact_loop():
    assert _below(1.9, 1e-9, 2.0) is True
    assert _below(2.1, 1e-9, 2.0) is False
    assert _below(2.0 - 1e-12, 1e-9, 2.0) not in (True, False)
