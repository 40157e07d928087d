"""The scoring engine, pinned down where mutation testing found it loose (TESTING.md).

Each expected value is worked out by hand from a few cities and indicators.
"""

from __future__ import annotations

import polars as pl

from benchmarkkit.engine.assemble import tolerant_rank
from benchmarkkit.engine.score import effective_weights


def test_ranks_share_ties_within_the_tolerance_and_skip_after_them():
    frame = pl.DataFrame(
        {"_rk": [0, 0, 0, 0, 0, 1, 1], "score": [5.0, 9.0, 9.0 * (1 + 1e-13), None, 1.0, -3.0, 2.0]}
    )
    assert tolerant_rank(frame).to_list() == [3, 1, 1, None, 4, 2, 1]
    assert tolerant_rank(frame.clear()).to_list() == []


def test_effective_weights_multiply_down_the_tree():
    nodes = pl.DataFrame(
        {
            "node": ["I", "A", "B", "a1", "a2", "b1"],
            "parent": [None, "I", "I", "A", "A", "B"],
            "weight": [1.0, 3.0, 1.0, 1.0, None, 2.0],
            "level": [3, 2, 2, 1, 1, 1],
        }
    )
    got = effective_weights(nodes)
    assert got["node"].to_list() == ["I", "A", "B", "a1", "a2", "b1"]
    assert got["level"].to_list() == [3, 2, 2, 1, 1, 1]
    assert got["effective_weight"].to_list() == [1.0, 0.75, 0.25, 0.375, 0.375, 0.25]
