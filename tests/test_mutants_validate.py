"""Validation, pinned down where mutation testing found it loose (TESTING.md)."""

from __future__ import annotations

from benchmarkkit.io.validate import RULES, YEAR_RANGE


def test_the_rules_are_named_and_the_years_bounded():
    assert YEAR_RANGE == (1900, 2100)
    assert list(RULES)[:3] == ["file_unusable", "ragged_row", "missing_city"]
