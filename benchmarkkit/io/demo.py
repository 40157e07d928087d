"""The embedded data sets: real, openly licensed city data shipped in the package.

``demo``: Eurostat city statistics (CC BY 4.0), about 900 European cities — the default.
``ascn``: the ASEAN cities of UN World Urbanization Prospects 2018 (CC BY 3.0 IGO) and of the
UN-Habitat Urban Indicators Database (PDDL), with the ASEAN Smart Cities Network as a network.

Each goes through the same validation and derivation as a user's file, so a data set shows
exactly what a user's data would. Provenance points at the *original* CSV files and their lines.
A data set is a folder of ``observations.parquet``, ``cities.parquet`` and ``ATTRIBUTION.md``,
built by a script in ``scripts/`` (``build_demo.py``, ``build_ascn.py``), plus one entry in
``DATASETS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

import polars as pl

from benchmarkkit.errors import InputError, did_you_mean
from benchmarkkit.io.load import Loaded, cities_table
from benchmarkkit.io.validate import validate
from benchmarkkit.methods.denominate import derive

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from benchmarkkit.plugins import Registry

DATA = files("benchmarkkit") / "data"


@dataclass(frozen=True)
class Dataset:
    """One embedded data set: where its files are, whom a report is about by default, and the
    credit line to show wherever its numbers are used."""

    name: str
    title: str
    folder: Traversable
    default_city: str
    """The city a report or comparison is about when none is given."""
    default_year: int
    attribution: str
    files: tuple[str, ...] = ("observations.parquet", "cities.parquet")
    """The data files, in the order a report's audit trail lists them with their SHA-256."""


DATASETS: dict[str, Dataset] = {
    "demo": Dataset(
        "demo",
        "Eurostat city statistics, about 900 European cities",
        DATA / "demo",
        default_city="ES001C",
        default_year=2023,
        attribution=(
            "Source: Eurostat, City statistics (urb_cpop1, urb_clma, urb_ceduc, urb_ctran, "
            "urb_ctour, urb_cpopcb), extracted 2025; Eurostat urb_cenv, via FAIRiCUBE "
            "uc1-urban-climate; European Commission, DG REGIO, Survey on the Quality of Life in "
            "European Cities 2023. CC BY 4.0. The data were reshaped by benchmarkkit."
        ),
    ),
    "ascn": Dataset(
        "ascn",
        "ASEAN cities and the ASEAN Smart Cities Network (UN WUP 2018, UN-Habitat)",
        DATA / "ascn",
        # Ho Chi Minh City, not Da Nang (VN_DA_NANG): the UN sources hold only Da Nang's
        # population, so Da Nang has no index score until its officers add their own data.
        default_city="VN_HO_CHI_MINH_CITY",
        default_year=2020,
        attribution=(
            "Source: United Nations, Department of Economic and Social Affairs, Population "
            "Division (2018). World Urbanization Prospects: The 2018 Revision, Online Edition, "
            "CC BY 3.0 IGO; UN-Habitat Urban Indicators Database (via HDX): SDG 11.7.1 open "
            "public space 2024 and green areas in cities 1990-2020, PDDL. The data were reshaped "
            "by benchmarkkit."
        ),
    ),
}
"""The embedded data sets by name (``bk.load(dataset=…)``, ``--dataset NAME``)."""

# The demo's names, as the rest of the package has used them.
DEMO = DATASETS["demo"].folder
DEFAULT_CITY = DATASETS["demo"].default_city
DEFAULT_YEAR = DATASETS["demo"].default_year
ATTRIBUTION = DATASETS["demo"].attribution


def dataset(name: str) -> Dataset:
    """The embedded data set called ``name``; an unknown name is a one-line error with a hint."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise InputError(
            f"no embedded data set '{name}'",
            hint=did_you_mean(name, DATASETS) or f"the embedded data sets are: {known}",
        ) from None


def attribution(name: str = "demo") -> str:
    return dataset(name).attribution


def raw_observations(name: str) -> pl.DataFrame:
    """The data set's rows in the raw long shape ``validate`` takes, like a user's mapped file
    (so a caller can validate them together with the user's own files)."""
    obs = pl.read_parquet(bytes((dataset(name).folder / "observations.parquet").read_bytes()))
    return obs.with_columns(
        pl.col("year").cast(pl.Int64),
        pl.lit(1.0).alias("scale"),
        pl.lit("value").alias("column"),
        pl.lit(None, dtype=pl.String).alias("_bad"),
    )


def read_cities(name: str) -> pl.DataFrame:
    """The data set's cities table (context, local names, networks as a list column)."""
    return pl.read_parquet(bytes((dataset(name).folder / "cities.parquet").read_bytes()))


def load_dataset(name: str, registry: Registry, catalog: pl.DataFrame) -> Loaded:
    """Validate and derive an embedded data set exactly as a user's file would be."""
    validated = validate([(raw_observations(name), {})], catalog)
    derived, dropped = derive(validated.observations.lazy(), catalog)
    observations, dropped_frame = pl.collect_all([derived, dropped])
    validated = validated.with_warnings(dropped_frame)
    return Loaded(validated, observations, cities_table(observations, read_cities(name)))


def load_demo(registry: Registry, catalog: pl.DataFrame) -> Loaded:
    """The Eurostat demo (``load_dataset("demo", …)``)."""
    return load_dataset("demo", registry, catalog)
