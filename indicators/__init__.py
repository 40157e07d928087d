"""The built-in indicator catalogs, registered like any third party's indicator set.

``iso_u4ssc.csv``: 116 indicators from ISO 37120/37122/37123 and the U4SSC KPIs.
``eurostat_urban_audit.csv``: the indicator set of the embedded Eurostat demo data.
``ascn.csv``: the indicator set of the embedded ASEAN data set (UN WUP 2018 and UN-Habitat).
"""

from __future__ import annotations

from importlib.resources import files

from benchmarkkit import hookimpl
from benchmarkkit.io.catalog import IndicatorSet, Register


@hookimpl
def register_indicator_sets(register: Register) -> None:
    here = files(__name__)
    register(
        IndicatorSet(
            "iso_u4ssc",
            here / "iso_u4ssc.csv",
            "ISO 37120:2014, ISO 37122:2019, ISO 37123:2019 and U4SSC KPIs",
        )
    )
    demo = here / "eurostat_urban_audit.csv"
    if demo.is_file():
        register(
            IndicatorSet(
                "eurostat_urban_audit",
                demo,
                "Eurostat Urban Audit and the EU Quality of Life survey 2023",
            )
        )
    ascn = here / "ascn.csv"
    if ascn.is_file():
        register(
            IndicatorSet(
                "ascn",
                ascn,
                "ASEAN cities: UN World Urbanization Prospects 2018 and UN-Habitat indicators",
            )
        )
