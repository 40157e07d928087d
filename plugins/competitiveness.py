"""Competitiveness index ≈ ASCN's "competitive economy": what makes a city productive.

The labour market, innovation, human capital, digital connectivity, reliable utilities, fiscal
capacity and e-government — every catalog indicator tagged ``competitiveness`` in the data, by
the six ASCN focus areas. Methods: see ``benchmarkkit.engine.catalog_index.BUILTIN_PIPELINE``.
"""

from __future__ import annotations

from benchmarkkit import hookimpl
from benchmarkkit.engine.catalog_index import catalog_scorer
from benchmarkkit.hookspecs import Register


@hookimpl
def register_scorers(register: Register) -> None:
    register(catalog_scorer("competitiveness", "Competitiveness", __doc__ or ""))
