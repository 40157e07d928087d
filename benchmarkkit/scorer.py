"""What a scorer plugin registers: a framework (the indicator tree) and its default methods.

A scorer *describes* an index; the engine (``score.py``) computes every scorer the same way, so a
third party's index gets imputation, treatment, normalisation, aggregation, ranks, coverage and
warnings for free, and the built-in indices have no privileges a plugin lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from benchmarkkit.errors import MethodError, did_you_mean

if TYPE_CHECKING:
    import polars as pl

STEPS = ("denominate", "screen", "impute", "treat", "normalise", "aggregate")
"""The steps of the composite chain, in benchmarkkit's default order: screening the data as
reported, then filling what is left (a city is judged on what it reported, not on imputed data)."""
COINR_STEPS = ("denominate", "impute", "screen", "treat", "normalise", "aggregate")
"""COINr's standard recipe (``build_example_coin``): impute before screening, so screening by
missing data drops almost no unit. The default for a COINr iMeta framework."""

FRAMEWORK_NODES = {
    "node": "String",
    "name": "String",
    "level": "Int32",
    "parent": "String",
    "weight": "Float64",
    "direction": "Int8",
    "target": "Float64",
    "goalpost_lower": "Float64",
    "goalpost_upper": "Float64",
    "goalpost_scale": "Float64",
    "goalpost_trunc2posts": "Boolean",
    "denominator": "String",
    "unit": "String",
    "focus_area": "String",
}
"""Columns of ``Framework.nodes``. Level 1 rows are indicators (``node`` = indicator id); higher
levels are aggregates; the single top node is the index. Bounds and targets are in the indicator's
own units: the engine converts them for "lower is better" indicators."""


@dataclass(frozen=True)
class Pipeline:
    """Method choices, as the CLI spells them (``minmax:0,100``, ``group-mean:country`` …)."""

    impute: str = "none"
    treat: str = "none"
    normalise: str = "minmax:0,100"
    aggregate: str | tuple[str, ...] = "arithmetic"
    """One method for every level, or one per level above the indicators (level 2, 3, …)."""
    min_coverage: float | None = None
    """Share of a node's children that must be present, else the node is missing (COINr's
    dat_thresh: missing when the present share is strictly below it)."""
    screen: float | None = None
    """Drop cities whose share of available indicators in a year is below this (unit screening)."""
    reference: Literal["year", "pooled"] = "year"
    """Normalise within each year, or over all years together (pooled) so that a city's score
    changes only when its own data changes."""
    denominate: bool = False
    """Divide indicators by the framework's denominators (COINr ``Denominate``)."""
    min_index_coverage: float = 0.0
    """Below this share of the index's available indicators, a city's index score is withheld and
    reported as too thin to score (the score would rest on too few indicators to mean much)."""
    steps: tuple[str, ...] = STEPS
    """The order the steps run in (``STEPS``, ``COINR_STEPS`` or any order of your own): the
    steps before normalise in any order, except denominate, which divides the raw observations
    and so comes first; then normalise, then aggregate. A step may be left out when its option is
    not set (e.g. no ``screen`` without a screening threshold)."""

    def __post_init__(self) -> None:
        steps = self.steps.split(",") if isinstance(self.steps, str) else self.steps
        object.__setattr__(self, "steps", check_steps(steps, self))

    def describe(self) -> str:
        """The methods in one line, as outputs state them (``score``'s methods file, the
        ``methods`` column of ``compare``): what ran, in the order it ran."""
        aggregate = (
            "/".join(self.aggregate) if isinstance(self.aggregate, tuple) else self.aggregate
        )
        parts = {
            "denominate": "denominate" if self.denominate else None,
            "impute": f"impute {self.impute}",
            "screen": f"screen {self.screen}" if self.screen is not None else None,
            "treat": f"treat {self.treat}",
            "normalise": f"normalise {self.normalise} ({self.reference})",
            "aggregate": f"aggregate {aggregate}",
        }
        steps = [parts[s] for s in self.steps if parts.get(s)]
        if self.min_coverage is not None:
            steps.append(f"min coverage {self.min_coverage}")
        if self.min_index_coverage:
            steps.append(f"index withheld under {self.min_index_coverage:.0%} of its indicators")
        return "; ".join(steps)

    def with_options(self, **changes: Any) -> Pipeline:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def check_steps(steps: Any, pipeline: Pipeline | None = None) -> tuple[str, ...]:
    """``steps`` as a tuple of known step names in an order the engine can run, or a one-line
    MethodError saying what is wrong (with a did-you-mean for a misspelt step).

    With ``pipeline``, a step whose option is set must be among the steps: leaving out ``impute``
    while asking for ``--impute mean`` would silently not impute."""
    names = tuple(str(s).strip().lower() for s in steps if str(s).strip())
    usage = f"steps are {', '.join(STEPS)}; e.g. {','.join(COINR_STEPS)}"
    for name in names:
        if name not in STEPS:
            raise MethodError(f"unknown step '{name}'", hint=did_you_mean(name, STEPS) or usage)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MethodError(f"step '{twice[0]}' is listed twice", hint=usage)
    if names[-2:] != ("normalise", "aggregate"):
        missing = [n for n in ("normalise", "aggregate") if n not in names]
        raise MethodError(
            f"the steps lack '{missing[0]}'"
            if missing
            else "the steps must end with normalise, then aggregate",
            hint=usage,
        )
    if "denominate" in names and names[0] != "denominate":
        raise MethodError(
            "denominate must be the first step (it divides the raw observations)", hint=usage
        )
    if pipeline is not None:
        wanted = {
            "denominate": pipeline.denominate,
            "screen": pipeline.screen is not None,
            "impute": pipeline.impute.strip().lower() != "none",
            "treat": pipeline.treat.strip().lower() != "none",
        }
        for step, on in wanted.items():
            if on and step not in names:
                raise MethodError(
                    f"{step} is asked for but is not among the steps ({','.join(names)})",
                    hint=f"add '{step}' to the steps, or do not ask for it",
                )
    return names


RECOMMENDED = Pipeline(
    impute="none",
    treat="jrc",
    normalise="minmax:0,100",
    aggregate="arithmetic",
    reference="pooled",
    min_index_coverage=0.5,
)
"""The methods of the built-in indices, and the defaults of a native (TOML) framework that does
not say otherwise — so your own index is computed the way the README describes and not by
quieter defaults (a COINr iMeta framework keeps COINr's own: no treatment). Why each choice:
``engine.catalog_index.BUILTIN_PIPELINE``."""


@dataclass(frozen=True)
class Framework:
    name: str
    nodes: pl.DataFrame
    title: str = ""
    pipeline: Pipeline = field(default_factory=Pipeline)
    groups: tuple[str, ...] = ()
    """City attributes the framework declares (COINr ``Group`` rows), for group imputation."""


@dataclass(frozen=True)
class Scorer:
    """A composite index: ``build(catalog, observations)`` returns its framework for a data set.

    Building from the data lets an index "work on whatever indicators a data set has": the
    built-in scorers take every catalog indicator of their index that the data contains.
    """

    name: str
    build: Callable[[pl.DataFrame, pl.DataFrame], Framework]
    title: str = ""
    description: str = ""
    pipeline: Pipeline = field(default_factory=Pipeline)
    kind: Literal["scorer"] = field(default="scorer", init=False)
