"""benchmarkkit: benchmark a city against its peers (livability, competitiveness, sustainability).

The public API for plugin authors lives here: ``hookimpl`` plus the objects plugins register.
Importing this package must stay cheap (the CLI's ``--help`` path imports it), so heavy modules
are imported lazily through ``__getattr__``.
"""

from __future__ import annotations

from typing import Any

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("benchmarkkit")

_LAZY = {
    "Scorer": "benchmarkkit.scorer",
    "Node": "benchmarkkit.scorer",
    "IndicatorSet": "benchmarkkit.io.catalog",
    "Loader": "benchmarkkit.io.read",
    "ReportSection": "benchmarkkit.report.sections",
    "ReportContext": "benchmarkkit.report.sections",
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
