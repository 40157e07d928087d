"""The documentation runs: every ``python`` block of docs/python-api.md, in order, in a fresh
folder; and a script using only the public API writes the demo report byte for byte as
``benchmarkkit report`` does."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT

API_DOC = ROOT / "docs" / "python-api.md"


def _blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_python_api_doc_runs(tmp_path):
    blocks = _blocks(API_DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    import shutil

    shutil.copytree(ROOT / "tests" / "fixtures" / "asem", tmp_path / "tests" / "fixtures" / "asem")
    script = tmp_path / "doc.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("46994 0\n")  # the demo: every row accepted
    assert "Madrid (greater city) 2023 report.html" in out
    assert "4 3 1" in out  # a frame: 4 rows read, 3 accepted, 1 rejected ('x')
    assert "unknown role 'citty_id'" in out and "did you mean 'city_id'" in out
    assert (tmp_path / "report.html").stat().st_size > 100_000


def test_the_api_writes_the_report_the_cli_writes(tmp_path):
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    api = tmp_path / "api.html"
    cli = tmp_path / "cli.html"
    code = (
        "import benchmarkkit as bk\n"
        f"bk.report(bk.score(bk.load()), city='ES001C', year=2023, out={str(api)!r})\n"
    )
    for args in (
        [sys.executable, "-c", code],
        [
            sys.executable,
            "-m",
            "benchmarkkit.cli",
            "report",
            "--city",
            "ES001C",
            "--year",
            "2023",
            "--out",
            str(cli),
        ],
    ):
        done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
    assert api.read_bytes() == cli.read_bytes()


def test_every_public_name_exists_and_is_not_shadowed():
    """``__all__`` holds no dead names, and no subpackage shadows an API function (importing
    ``benchmarkkit.reporting`` must leave ``bk.report`` the function)."""
    import importlib
    import inspect

    import benchmarkkit as bk

    for module in ("reporting.build", "analysis.compare", "engine.score", "io.load", "plugins"):
        importlib.import_module(f"benchmarkkit.{module}")
    for name in bk.__all__:
        value = getattr(bk, name)
        assert not inspect.ismodule(value), name
    for name in ("load", "score", "compare", "report", "reports", "chart", "load_plugins"):
        assert callable(getattr(bk, name)), name
