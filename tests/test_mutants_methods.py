"""Methods (normalise, impute, treat, aggregate, derive, parse), pinned down where mutation
testing found them loose (TESTING.md). Each expected value is worked out by hand."""

from __future__ import annotations

import pytest

from benchmarkkit.errors import MethodError
from benchmarkkit.methods.parse import parse_spec


def test_a_spec_is_parsed_by_position_and_by_name(registry):
    normalisers = registry.of("normaliser")
    call = parse_spec(" MinMax : 1 , 100 ", "normaliser", normalisers)
    assert call.name == "minmax"
    assert call.spec == " MinMax : 1 , 100 "
    assert list(call.params.values()) == [1.0, 100.0]
    with pytest.raises(MethodError) as err:
        parse_spec("minmax:a", "normaliser", normalisers)
    assert "must be float, got 'a'" in err.value.message
