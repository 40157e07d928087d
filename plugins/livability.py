"""Livability index ≈ ASCN's "high quality of life": what residents experience directly.

Health, safety, housing, education, basic services, the environment people live with and easy
mobility — every catalog indicator tagged ``livability`` that the data contain, grouped by the six
ASCN focus areas. Methods: see ``benchmarkkit.engine.catalog_index.BUILTIN_PIPELINE``.
"""

from __future__ import annotations

from benchmarkkit import hookimpl
from benchmarkkit.engine.catalog_index import catalog_scorer
from benchmarkkit.hookspecs import Register


@hookimpl
def register_scorers(register: Register) -> None:
    register(catalog_scorer("livability", "Livability", __doc__ or ""))
