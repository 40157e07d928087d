"""Parse method specs as users write them (``minmax:1,100``, ``group-mean:country``, ``jrc:3``).

A spec is ``name[:arg,arg,...]``; positional arguments fill the method's parameters in order,
``key=value`` arguments fill them by name. Parsing checks names and types against what the method
registered, so ``--normalise minmax:a,b`` fails with a message naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarkkit.errors import MethodError, did_you_mean


@dataclass(frozen=True)
class MethodCall:
    method: Any
    params: dict[str, Any]
    spec: str

    @property
    def name(self) -> str:
        return str(self.method.name)


def parse_spec(spec: str, kind: str, methods: dict[str, Any]) -> MethodCall:
    name, _, rest = spec.strip().partition(":")
    key = name.strip().lower().replace("-", "_")
    if key not in methods:
        known = sorted(methods)
        raise MethodError(
            f"unknown {kind} '{name}'",
            hint=did_you_mean(key, known) or f"known: {', '.join(known)}",
        )
    method = methods[key]
    declared = {p.name: p for p in method.params}
    order = list(declared)
    params = {p.name: p.default for p in method.params}
    args = [a.strip() for a in rest.split(",")] if rest.strip() else []
    if len(args) > len(order) and not any("=" in a for a in args):
        raise MethodError(
            f"{kind} '{key}' takes at most {len(order)} parameter(s), got {len(args)}",
            hint=_usage(key, method),
        )
    for i, arg in enumerate(args):
        pname, eq, value = arg.partition("=")
        if not eq:
            pname, value = order[i], arg
        pname = pname.strip()
        if pname not in declared:
            raise MethodError(
                f"{kind} '{key}' has no parameter '{pname}'",
                hint=did_you_mean(pname, order) or _usage(key, method),
            )
        params[pname] = _cast(value.strip(), declared[pname], key, kind)
    return MethodCall(method, params, spec)


def _cast(value: str, param: Any, method: str, kind: str) -> Any:
    try:
        if param.kind is bool:
            return value.lower() in ("1", "true", "yes")
        return param.kind(value)
    except ValueError:
        raise MethodError(
            f"{kind} '{method}': parameter '{param.name}' must be {param.kind.__name__}, "
            f"got '{value}'",
            hint=param.doc or None,
        ) from None


def _usage(name: str, method: Any) -> str:
    params = ",".join(p.name.upper() for p in method.params)
    return f"usage: {name}:{params}" if params else f"usage: {name} (no parameters)"
