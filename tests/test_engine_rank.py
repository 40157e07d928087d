"""``tolerant_rank`` against a by-hand reference: ranks within runs, ties within the tolerance.

The engine sorts positions by score (not ``arg_sort``), so equal scores may come in any order
among themselves; the ranks must not depend on that order.
"""

from __future__ import annotations

import random

import polars as pl

from benchmarkkit.engine.assemble import RANK_TOLERANCE, tolerant_rank


def _reference(keys: list[int], scores: list[float | None]) -> list[int | None]:
    """Per run: sort descending, start a new rank where the gap to the one above exceeds the
    tolerance (relative to the larger magnitude), each score taking its sorted place's rank."""
    out: list[int | None] = [None] * len(scores)
    for key in sorted(set(keys)):
        rows = [i for i, k in enumerate(keys) if k == key and scores[i] is not None]
        rows.sort(key=lambda i: -scores[i])  # type: ignore[operator]
        rank = 1
        for place, i in enumerate(rows):
            if place:
                above, here = scores[rows[place - 1]], scores[i]
                if above - here > RANK_TOLERANCE * max(abs(above), abs(here)):  # type: ignore[operator]
                    rank = place + 1
            out[i] = rank
    return out


def test_tolerant_rank_matches_the_reference_with_ties_nulls_and_near_ties():
    rng = random.Random(13)
    keys, scores = [], []
    for key in range(40):
        for _ in range(rng.randint(1, 30)):
            keys.append(key)
            kind = rng.random()
            if kind < 0.15:
                scores.append(None)
            elif kind < 0.4:
                scores.append(float(rng.randint(0, 5)))  # exact ties
            elif kind < 0.55:
                scores.append(rng.randint(0, 5) * (1 + 1e-14))  # ties within the tolerance
            else:
                scores.append(rng.uniform(-100, 100))
    frame = pl.DataFrame(
        {"_rk": pl.Series(keys, dtype=pl.UInt64).set_sorted(), "score": scores},
        schema_overrides={"score": pl.Float64},
    )
    assert tolerant_rank(frame).to_list() == _reference(keys, scores)


def test_tolerant_rank_of_one_run_all_missing_and_of_one_row():
    frame = pl.DataFrame({"_rk": [0, 0, 1], "score": [None, None, 3.0]}).cast(
        {"_rk": pl.UInt64, "score": pl.Float64}
    )
    assert tolerant_rank(frame).to_list() == [None, None, 1]
    assert tolerant_rank(frame.slice(2, 1)).to_list() == [1]
    assert tolerant_rank(frame.slice(2, 1)).dtype == pl.UInt32
