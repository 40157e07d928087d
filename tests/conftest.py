"""Shared fixtures: the real CLI, the real plugin registry, the real catalog."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's Chromium, for the tests that read a report as a person sees it (Playwright's own
browser downloads do not work here)."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""As root, with no background connections: this machine's closed network refuses them."""


def open_offline(page: Any, path: Path) -> tuple[list[str], list[str]]:
    """Open a report in a Playwright ``page`` with every request beyond ``file://`` blocked.

    Returns two lists that fill as the page runs: the blocked requests (a report must need none)
    and the errors (console errors and uncaught page errors)."""
    requests: list[str] = []
    errors: list[str] = []
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("file://")
            else (requests.append(route.request.url), route.abort())
        ),
    )
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(path.as_uri())
    return requests, errors


os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")
# the tests' own cache folder (the Vega bundle): never a user's, removed at the end
_CACHE = tempfile.mkdtemp(prefix="benchmarkkit-test-cache-")
os.environ.setdefault("BENCHMARKKIT_CACHE", _CACHE)
atexit.register(shutil.rmtree, _CACHE, True)


@pytest.fixture(scope="session")
def registry():
    from benchmarkkit.plugins import build_registry

    return build_registry()


@pytest.fixture(scope="session")
def catalog(registry):
    from benchmarkkit.io.catalog import catalog_from_registry

    return catalog_from_registry(registry)


@pytest.fixture
def run():
    """Invoke the real CLI in-process; returns the Click result (exit_code, stdout, stderr)."""
    from benchmarkkit.cli import main

    def invoke(*args: str, **kwargs):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return invoke


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path
