"""The real, non-editable install: build the wheel, install it in a fresh venv, run the CLI.

An editable install hides packaging mistakes (a data file left out of the wheel, a folder mapped to
the wrong import name); this test is what catches them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(work / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((work / "dist").glob("benchmarkkit-*.whl"))
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [
        str(env_dir / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        str(wheel),
    ]
    done = subprocess.run(pip, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return env_dir / "bin" / "benchmarkkit"


def test_wheel_contains_the_mapped_packages_and_data(installed):
    site = next(installed.parent.parent.glob("lib/python*/site-packages"))
    assert (site / "benchmarkkit_indicators" / "iso_u4ssc.csv").is_file()
    assert (site / "benchmarkkit" / "data" / "demo" / "observations.parquet").is_file()
    for generic in ("plugins", "indicators", "reports"):
        assert not (site / generic).exists(), f"generic top-level package '{generic}' installed"


def test_installed_cli_runs(installed):
    help_out = subprocess.run([str(installed), "--help"], capture_output=True, text=True)
    assert help_out.returncode == 0 and "benchmark" in help_out.stdout.lower()
    listing = subprocess.run(
        [str(installed), "indicators", "--format", "json"], capture_output=True, text=True
    )
    assert listing.returncode == 0, listing.stderr
    assert listing.stderr == "", listing.stderr  # every built-in plugin loaded cleanly
    ids = {row["id"] for row in json.loads(listing.stdout)}
    assert {"unemployment_rate", "qol_safe_at_night_city"} <= ids
    plugins = subprocess.run(
        [str(installed), "plugins", "--all", "--format", "json"], capture_output=True, text=True
    )
    names = {p["name"] for p in json.loads(plugins.stdout) if not p["error"]}
    assert {"indicators", "read"} <= names
