"""The house has floors a newcomer can see, and imports only go down them.

ground (contracts: errors, columns, hookspecs, plugins, scorer …) → methods → io → engine →
analysis → reporting → api → cli. A module may import its own floor or one below, never one
above, so there is no import circle across floors; and no circle inside a floor either. Imports
under ``if TYPE_CHECKING:`` are annotations only and are not counted; imports inside functions
are (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGE = ROOT / "benchmarkkit"
FLOORS = ("ground", "methods", "io", "engine", "analysis", "reporting", "api", "cli")


def _module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _floor(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return 0
    head = parts[1]
    return FLOORS.index(head) if head in FLOORS else 0


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _ours(module: str | None) -> bool:
    return module is not None and (module == "benchmarkkit" or module.startswith("benchmarkkit."))


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("benchmarkkit."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _ours(node.module):
            for alias in node.names:  # `from benchmarkkit.io import load` names a module
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else str(node.module))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {
        _module_name(p): _imports(ast.parse(p.read_text(encoding="utf-8")), modules)
        - {_module_name(p)}
        for p in paths
    }


def test_floors_are_the_folders():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == {"methods", "io", "engine", "analysis", "reporting"}


def test_imports_only_go_down():
    upward = [
        f"{module} ({FLOORS[_floor(module)]}) imports {target} ({FLOORS[_floor(target)]})"
        for module, targets in _graph().items()
        for target in targets
        if _floor(target) > _floor(module)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert not circles, "\n".join(" → ".join(c) for c in circles)


def test_the_cli_only_talks_to_the_api():
    """cli.py parses, calls the API, prints and exits: it never reaches past the API into the
    engine, the analysis or the report."""
    reached = {t for t in _graph()["benchmarkkit.cli"] if _floor(t) in (3, 4, 5)}
    assert not reached, reached
