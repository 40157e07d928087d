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

from benchmarkkit.errors import MethodError
from benchmarkkit.treat import TREATMENTS, jrc, no_treatment, register_treatments

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
