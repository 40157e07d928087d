"""Sustainability index ≈ ASCN's "sustainable environment": pressure, efficiency, resilience.

Emissions, energy, water and waste, land and green space, sustainable mobility and resilience to
shocks — every catalog indicator tagged ``sustainability`` in the data, grouped by the six
ASCN focus areas. Methods: see ``benchmarkkit.engine.catalog_index.BUILTIN_PIPELINE``.
"""

from __future__ import annotations

from benchmarkkit import hookimpl
from benchmarkkit.engine.catalog_index import catalog_scorer
from benchmarkkit.hookspecs import Register


@hookimpl
def register_scorers(register: Register) -> None:
    register(catalog_scorer("sustainability", "Sustainability", __doc__ or ""))
