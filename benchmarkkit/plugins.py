"""Build a fresh plugin manager for one run, and collect what the plugins register.

Plugins come from three places, all on one path: the ``benchmarkkit`` entry-point group (our own
built-ins too), ``--plugin FILE.py`` and ``--plugins-dir DIR``. Each plugin is loaded, registered
and called *on its own*, so one broken plugin is named in a one-line error while the others work
(pluggy's bulk ``load_setuptools_entrypoints`` would stop at the first failure with a traceback).

Every call into a plugin's code (importing it, each ``register_*`` hook, and at run time building
and scoring an index, choosing peers, rendering a report section, reading a file) runs under the
run's time limit (``--plugin-timeout``, see ``timelimit.py``). A plugin that fails *at run time* is
reported through ``Registry.failed``: the CLI prints one line, carries on with the other plugins
and ends with exit code 4.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from benchmarkkit import hookspecs
from benchmarkkit.errors import BenchmarkkitError, PluginError, did_you_mean
from benchmarkkit.timelimit import time_limit

GROUP = "benchmarkkit"

REGISTER_HOOKS = {
    "register_scorers": "scorer",
    "register_normalisers": "normaliser",
    "register_aggregators": "aggregator",
    "register_imputers": "imputer",
    "register_treatments": "treatment",
    "register_indicator_sets": "indicator_set",
    "register_loaders": "loader",
    "register_report_sections": "report_section",
    "register_peer_rules": "peer_rule",
}
HOOK_NAMES = (*REGISTER_HOOKS, "select_peers")


@dataclass
class PluginInfo:
    """One plugin as ``benchmarkkit plugins`` shows it."""

    name: str
    source: str
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    builtin: bool = False


@dataclass
class Registry:
    """Everything the plugins registered, by kind and name, plus who registered it."""

    items: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {kind: {} for kind in REGISTER_HOOKS.values()}
    )
    owner: dict[tuple[str, str], str] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    problems: list[PluginError] = field(default_factory=list)
    """Plugins that could not be loaded or registered (found while building the registry)."""
    manager: pluggy.PluginManager | None = None
    timeout: float | None = None
    """The time limit in seconds on each call into plugin code; None or 0: no limit."""
    failures: list[PluginError] = field(default_factory=list)
    """Plugins that failed at run time; the run went on without them."""
    on_failure: Callable[[PluginError], None] | None = field(default=None, repr=False)
    """Told of each run-time failure as it happens (the CLI prints it as one line)."""

    def failed(self, err: PluginError) -> None:
        """A plugin failed at run time and was skipped: remember it and tell the host."""
        self.failures.append(err)
        if self.on_failure is not None:
            self.on_failure(err)

    def get(self, kind: str, name: str) -> Any:
        from benchmarkkit.errors import MethodError

        try:
            return self.items[kind][name]
        except KeyError:
            known = sorted(self.items[kind])
            hint = did_you_mean(name, known) or f"known: {', '.join(known) or 'none'}"
            raise MethodError(f"unknown {kind.replace('_', ' ')} '{name}'", hint=hint) from None

    def of(self, kind: str) -> dict[str, Any]:
        return self.items[kind]


def _file_module(path: Path) -> Any:
    """Import a one-file plugin under a private module name, so two files never collide."""
    name = f"benchmarkkit_userplugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def describe(err: BaseException) -> str:
    """``Type: first line of the message`` — an exception as one line."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def _candidates(
    plugin_files: Sequence[Path], plugins_dirs: Sequence[Path]
) -> Iterable[tuple[str, str, Any, str | None, bool]]:
    """(name, source, loader, version, builtin) for every plugin, in load order."""
    seen: set[str] = set()
    for ep in sorted(importlib.metadata.entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        dist = ep.dist
        version = dist.version if dist is not None else None
        builtin = dist is not None and dist.metadata["Name"] == "benchmarkkit"
        yield ep.name, f"entry point {ep.value}", ep.load, version, builtin
    files = list(plugin_files)
    for directory in plugins_dirs:
        if not directory.is_dir():
            raise PluginError(
                str(directory),
                "--plugins-dir is not a directory",
                hint="give a folder holding plugin .py files",
            )
        files.extend(sorted(p for p in directory.glob("*.py") if not p.name.startswith("_")))
    for path in files:
        yield path.stem, f"file {path}", (lambda p=path: _file_module(p)), None, False


def _unknown_hooks(module: Any) -> list[str]:
    """Names of functions that look like hooks but that pluggy would silently ignore."""
    marker = "benchmarkkit_impl"
    out = []
    for attr, value in vars(module).items():
        if not callable(value) or attr in HOOK_NAMES:
            continue
        decorated = hasattr(value, marker)
        looks_like_hook = attr.startswith(("register_", "select_")) and inspect.isfunction(value)
        if decorated or (looks_like_hook and getattr(value, "__module__", None) == module.__name__):
            out.append(attr)
    return out


def build_registry(
    plugin_files: Sequence[Path] = (),
    plugins_dirs: Sequence[Path] = (),
    disabled: Sequence[str] = (),
    timeout: float | None = None,
) -> Registry:
    """A fresh manager and registry for one run; never cached, never built at import.

    ``timeout`` bounds each import of a plugin module and each ``register_*`` call, and is kept on
    the registry for the calls made later in the run.
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    registry = Registry(manager=pm, timeout=timeout)
    disabled_set = set(disabled)
    for path in plugin_files:
        if not path.is_file():
            registry.problems.append(
                PluginError(
                    path.stem, f"file {path} does not exist", hint="check the --plugin path"
                )
            )
    for name, source, load, version, builtin in _candidates(
        [p for p in plugin_files if p.is_file()], plugins_dirs
    ):
        info = PluginInfo(name=name, source=source, version=version, builtin=builtin)
        registry.plugins.append(info)
        if name in disabled_set:
            info.error = "disabled with --disable-plugin"
            continue
        if pm.has_plugin(name):
            info.error = "a plugin of the same name is already loaded"
            registry.problems.append(
                PluginError(name, info.error, hint="rename the file or module")
            )
            continue
        try:
            with time_limit(timeout, name, "importing the plugin"):
                module = load()
        except PluginError as err:  # the time limit
            info.error = err.detail
            registry.problems.append(err)
            continue
        except Exception as err:
            info.error = f"cannot be imported ({describe(err)})"
            registry.problems.append(
                PluginError(
                    name,
                    info.error,
                    hint=f"fix the module, or skip it with --disable-plugin {name}",
                )
            )
            continue
        for attr in _unknown_hooks(module):
            guess = did_you_mean(attr, HOOK_NAMES)
            registry.problems.append(
                PluginError(
                    name,
                    f"'{attr}' is not a benchmarkkit hook and will never be called",
                    hint=guess or f"hooks are: {', '.join(HOOK_NAMES)}",
                )
            )
        try:
            pm.register(module, name=name)
        except pluggy.PluginValidationError as err:
            info.error = f"invalid hook implementation ({describe(err)})"
            registry.problems.append(
                PluginError(
                    name,
                    info.error,
                    hint="a hook may take only the arguments its spec lists; see hookspecs.py",
                )
            )
            continue
        info.hooks = sorted(c.name for c in pm.get_hookcallers(module) or [])
    _collect(pm, registry)
    disabled_unknown = disabled_set - {p.name for p in registry.plugins}
    for name in sorted(disabled_unknown):
        registry.problems.append(
            PluginError(
                name,
                "--disable-plugin names no installed plugin",
                hint=did_you_mean(name, [p.name for p in registry.plugins]),
            )
        )
    return registry


def _collect(pm: pluggy.PluginManager, registry: Registry) -> None:
    """Call every register_* implementation one plugin at a time, attributing what it registers."""
    infos = {p.name: p for p in registry.plugins}
    for hook_name, kind in REGISTER_HOOKS.items():
        caller = getattr(pm.hook, hook_name)
        for impl in caller.get_hookimpls():  # registration order: built-ins first
            plugin = impl.plugin_name
            info = infos[plugin]

            def register(obj: Any, *, _plugin: str = plugin, _kind: str = kind) -> None:
                _store(registry, _plugin, _kind, obj)

            try:
                with time_limit(registry.timeout, plugin, f"calling {hook_name}"):
                    impl.function(**{arg: register for arg in impl.argnames})
            except PluginError as err:
                registry.problems.append(err)
            except Exception as err:
                registry.problems.append(
                    PluginError(
                        plugin,
                        f"{hook_name} failed ({describe(err)})",
                        hint=f"fix the plugin, or skip it with --disable-plugin {plugin}",
                    )
                )
            info.registered.setdefault(kind, [])
    for info in registry.plugins:
        info.registered = {k: v for k, v in info.registered.items() if v}


def _store(registry: Registry, plugin: str, kind: str, obj: Any) -> None:
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginError(
            plugin,
            f"registered a {kind} without a name ({obj!r})",
            hint="give the object a non-empty 'name'",
        )
    expected = getattr(obj, "kind", kind)
    if expected != kind:
        raise PluginError(
            plugin,
            f"registered a {expected} '{name}' through the {kind} hook",
            hint=f"register it from register_{expected}s",
        )
    if name in registry.items[kind]:
        other = registry.owner[(kind, name)]
        raise PluginError(
            plugin,
            f"{kind} name '{name}' is already registered by plugin '{other}'",
            hint=f"choose another name, or --disable-plugin {other}",
        )
    registry.items[kind][name] = obj
    registry.owner[(kind, name)] = plugin
    for info in registry.plugins:
        if info.name == plugin:
            info.registered.setdefault(kind, []).append(name)


# --- calling plugin code at run time --------------------------------------------------------


def fix_hint(plugin: str) -> str:
    return f"fix the plugin, or skip it with --disable-plugin {plugin}"


def call_plugin(
    plugin: str,
    doing: str,
    timeout: float | None,
    fn: Callable[..., Any],
    /,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` under the time limit, a crash turned into one line naming the plugin.

    A ``BenchmarkkitError`` passes unchanged: the plugin is saying something about the user's
    input or options, and that reads the same as when the core says it.
    """
    try:
        with time_limit(timeout, plugin, doing):
            return fn(*args, **kwargs)
    except BenchmarkkitError:
        raise
    except Exception as err:
        message = f"{doing} failed ({describe(err)})"
        raise PluginError(plugin, message, hint=fix_hint(plugin)) from err


def ask_select_peers(registry: Registry, **kwargs: Any) -> list[str] | None:
    """The ``select_peers`` hook, called as pluggy would (newest plugin first, first answer wins)
    but one implementation at a time, each under the time limit.

    A selector that crashes or takes too long is reported and the next one answers instead, in the
    end the registered peer rules. A ``BenchmarkkitError`` is an answer (the spec is wrong) and
    stops the search.
    """
    assert registry.manager is not None
    caller = registry.manager.hook.select_peers
    impls = list(reversed(caller.get_hookimpls()))
    wrappers = [i.plugin_name for i in impls if i.hookwrapper or i.wrapper]
    if wrappers:  # a wrapper needs pluggy's own call loop: bound it as a whole
        with time_limit(registry.timeout, ", ".join(wrappers), "choosing peers"):
            return caller(**kwargs)
    for impl in impls:
        args = {name: kwargs[name] for name in impl.argnames}
        try:
            answer = call_plugin(
                impl.plugin_name, "select_peers", registry.timeout, impl.function, **args
            )
        except PluginError as err:
            registry.failed(err)  # the next selector, in the end the peer rules, answers
            continue
        if answer is not None:
            return answer
    return None
