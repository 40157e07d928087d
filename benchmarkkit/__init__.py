"""benchmarkkit: benchmark a city against its peers (livability, competitiveness, sustainability).

The public API, for notebooks and scripts (every CLI command is one of these functions)::

    import benchmarkkit as bk
    data = bk.load()                                   # the embedded demo; or paths, or a frame
    scores = bk.score(data, options=bk.ScoreOptions(normalise="minmax:0,100"))
    result = bk.compare(scores, city="ES001C", year=2023, peers="size:3")
    bk.report(scores, city="ES001C", year=2023, out="report.html", lang="en")

and, for plugin authors, ``hookimpl`` plus the objects plugins register. Importing this package
must stay cheap (the CLI's ``--help`` path imports it), so everything but ``hookimpl`` is imported
lazily, on first use, through ``__getattr__``.
"""

from __future__ import annotations

from typing import Any

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("benchmarkkit")

_LAZY = {
    # the API (benchmarkkit/api.py)
    "load": "benchmarkkit.api",
    "score": "benchmarkkit.api",
    "compare": "benchmarkkit.api",
    "report": "benchmarkkit.api",
    "reports": "benchmarkkit.api",
    "chart": "benchmarkkit.api",
    "template": "benchmarkkit.api",
    "audit": "benchmarkkit.api",
    "sensitivity": "benchmarkkit.api",
    "load_plugins": "benchmarkkit.api",
    "Data": "benchmarkkit.api",
    "Scores": "benchmarkkit.api",
    "ScoreOptions": "benchmarkkit.api",
    "Report": "benchmarkkit.api",
    "Comparison": "benchmarkkit.analysis.compare",
    # what plugins register
    "Scorer": "benchmarkkit.scorer",
    "Framework": "benchmarkkit.scorer",
    "Pipeline": "benchmarkkit.scorer",
    "IndicatorSet": "benchmarkkit.io.catalog",
    "Loader": "benchmarkkit.io.read",
    "ReportSection": "benchmarkkit.reporting.sections",
    "ReportContext": "benchmarkkit.reporting.sections",
    "PeerRule": "benchmarkkit.analysis.peers",
    "PeerQuery": "benchmarkkit.analysis.peers",
    # errors
    "BenchmarkkitError": "benchmarkkit.errors",
    "InputError": "benchmarkkit.errors",
    "PluginError": "benchmarkkit.errors",
    "MethodError": "benchmarkkit.errors",
}

__all__ = ["__version__", "hookimpl", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'benchmarkkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
