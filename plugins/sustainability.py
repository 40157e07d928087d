"""Sustainability index ≈ ASCN's "sustainable environment": pressure, efficiency, resilience.

Emissions, energy, water and waste, land and green space, sustainable mobility and resilience to
shocks — every catalog indicator tagged ``sustainability`` in the data, grouped by the six
ASCN focus areas. Methods: see ``benchmarkkit.catalog_index.BUILTIN_PIPELINE``.
"""

from __future__ import annotations

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.catalog_index import BUILTIN_PIPELINE, catalog_framework
from benchmarkkit.hookspecs import Register
from benchmarkkit.scorer import Framework, Scorer

NAME = "sustainability"
TITLE = "Sustainability"


def build(catalog: pl.DataFrame, observations: pl.DataFrame) -> Framework:
    return catalog_framework(NAME, TITLE, catalog, observations, pipeline=BUILTIN_PIPELINE)


@hookimpl
def register_scorers(register: Register) -> None:
    register(Scorer(NAME, build, TITLE, __doc__ or "", BUILTIN_PIPELINE))
