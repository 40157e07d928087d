"""A plugin that hangs, crashes or scores nothing is named in one line; the others still run.

Real one-file plugins written to tmp_path, the real CLI on the embedded demo data (issue #6). The
contract: the command finishes with what the other plugins produced and exits 4; asking for the
broken scorer by name is fatal (exit 2); ``--disable-plugin`` makes the run clean (exit 0).
"""

from __future__ import annotations

import re
import signal
import threading
import time

import pytest

from benchmarkkit.errors import PluginError
from benchmarkkit.plugins import build_registry
from benchmarkkit.timelimit import supported, time_limit
from tests.conftest import FIXTURES, write

needs_alarm = pytest.mark.skipif(
    not hasattr(signal, "SIGALRM"), reason="no SIGALRM here (Windows): the limit is a no-op"
)

HEAD = '''\
import time
import polars as pl
from benchmarkkit import hookimpl
from benchmarkkit.io.framework import NODE_SCHEMA
from benchmarkkit.methods.spec import Normaliser
from benchmarkkit.scorer import Framework, Pipeline, Scorer


def framework(name, observations, weight=1.0):
    """A small index over the first five indicators of the data."""
    leaves = sorted(observations["indicator"].unique().to_list())[:5]
    rows = [{"node": name, "name": name, "level": 2}]
    rows += [{"node": i, "name": i, "level": 1, "parent": name, "weight": weight,
              "direction": 1} for i in leaves]
    return Framework(name, pl.DataFrame(rows, schema=NODE_SCHEMA), name)
'''


def scorer_plugin(name: str, build_body: str, extra: str = "", pipeline: str = "Pipeline()") -> str:
    """A one-file plugin registering scorer ``name`` whose build runs ``build_body``."""
    return (
        HEAD
        + extra
        + (
            f"\ndef build(catalog, observations):\n    {build_body}\n"
            f"\n@hookimpl\ndef register_scorers(register):\n"
            f"    register(Scorer({name!r}, build, pipeline={pipeline}))\n"
        )
    )


SPIN = scorer_plugin("spin", "while True:\n        pass")
SLEEPY = scorer_plugin("sleepy", "time.sleep(60)")
SWALLOWS = scorer_plugin(
    "swallows",
    "while True:\n        try:\n            time.sleep(60)\n        except Exception:\n"
    "            pass",
)
RAISES = scorer_plugin(
    "raises",
    "return framework('raises', observations)",
    "\ndef boom(x, params):\n    raise RuntimeError('normaliser exploded')\n"
    "\n@hookimpl\ndef register_normalisers(register):\n    register(Normaliser('boom', boom))\n",
    pipeline="Pipeline(normalise='boom')",
)
NAN_METHOD = scorer_plugin(
    "nanidx",
    "return framework('nanidx', observations)",
    "\n@hookimpl\ndef register_normalisers(register):\n"
    "    register(Normaliser('nanorm', lambda x, params: pl.lit(float('nan'))))\n",
    pipeline="Pipeline(normalise='nanorm')",
)
NAN_WEIGHTS = scorer_plugin("nanw", "return framework('nanw', observations, weight=float('nan'))")
BUILTINS = ("livability", "competitiveness", "sustainability")


def plugins_dir(tmp_path, **sources: str):
    folder = tmp_path / "plugins"
    folder.mkdir()
    for name, code in sources.items():
        write(folder / f"{name}.py", code)
    return folder


def error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def clean(result) -> None:
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output


def builtins_scored(result) -> None:
    for index in BUILTINS:
        assert re.search(rf"^{index} +2023 +1 ", result.stdout, re.MULTILINE), result.output


# ---------------------------------------------------------------------------------------------
# "takes too long"


@needs_alarm
def test_hanging_scorers_are_stopped_named_and_the_others_still_run(tmp_path, run):
    folder = plugins_dir(tmp_path, spin=SPIN, sleepy=SLEEPY)
    start = time.monotonic()
    result = run("--plugin-timeout", "1", "--plugins-dir", folder, "score", "--year", "2023")
    elapsed = time.monotonic() - start
    clean(result)
    assert result.exit_code == 4, result.output
    assert elapsed < 15, f"took {elapsed:.1f} s"
    errors = error_lines(result)
    assert len(errors) == 2, result.output
    for name in ("spin", "sleepy"):
        line = next(e for e in errors if f"plugin '{name}'" in e)
        assert f"took longer than 1 s (building scorer '{name}')" in line
        assert f"--disable-plugin {name}" in line
    builtins_scored(result)


@needs_alarm
def test_disabling_the_hanging_plugins_makes_the_run_clean(tmp_path, run):
    folder = plugins_dir(tmp_path, spin=SPIN, sleepy=SLEEPY)
    result = run(
        "--plugin-timeout",
        "1",
        "--plugins-dir",
        folder,
        "--disable-plugin",
        "spin",
        "--disable-plugin",
        "sleepy",
        "score",
        "--year",
        "2023",
    )
    assert result.exit_code == 0, result.output
    assert error_lines(result) == []
    builtins_scored(result)


@needs_alarm
def test_except_exception_cannot_swallow_the_time_limit(tmp_path, run):
    plugin = write(tmp_path / "swallows.py", SWALLOWS)
    start = time.monotonic()
    result = run("--plugin-timeout", "1", "--plugin", plugin, "score", "--year", "2023")
    assert time.monotonic() - start < 15
    clean(result)
    assert result.exit_code == 4, result.output
    assert "plugin 'swallows': took longer than 1 s" in result.stderr


@needs_alarm
def test_a_plugin_hanging_at_import_is_named(tmp_path, run):
    plugin = write(tmp_path / "hangs.py", "while True:\n    pass\n")
    result = run("--plugin", plugin, "plugins", env={"BENCHMARKKIT_PLUGIN_TIMEOUT": "1"})
    clean(result)
    assert result.exit_code == 4, result.output
    [line] = error_lines(result)
    assert "plugin 'hangs': took longer than 1 s (importing the plugin)" in line
    assert "raise --plugin-timeout" in line
    assert "hangs" in result.stdout and "ERROR: took longer than 1 s" in result.stdout


@needs_alarm
def test_asking_for_the_hanging_scorer_by_name_is_fatal(tmp_path, run):
    plugin = write(tmp_path / "spin.py", SPIN)
    result = run("--plugin-timeout", "1", "--plugin", plugin, "score", "--scorer", "spin")
    clean(result)
    assert result.exit_code == 2, result.output
    [line] = error_lines(result)
    assert "plugin 'spin': took longer than 1 s (building scorer 'spin')" in line


VALID_ROW = (
    "city_id,city_name,country,year,indicator,value\nVN001,Huế,VN,2023,life_expectancy,76.5\n"
)


@needs_alarm
@pytest.mark.parametrize("command", ["validate", "score --cities", "score --framework"])
def test_a_hanging_loader_is_named(tmp_path, run, command):
    """Data, cities and COINr files all go through the same bounded loader call."""
    plugin = write(
        tmp_path / "slowload.py",
        (
            "import time\nfrom benchmarkkit import hookimpl\n"
            "from benchmarkkit.io.read import Loader\n"
            "@hookimpl\ndef register_loaders(register):\n"
            "    register(Loader('slow', ('.slow',), lambda path, options: time.sleep(60)))\n"
        ),
    )
    data = write(tmp_path / "data.slow", "anything\n")
    args = {
        "validate": ["validate", data],
        "score --cities": ["score", write(tmp_path / "d.csv", VALID_ROW), "--cities", data],
        "score --framework": ["score", "--framework", FIXTURES / "asem" / "iMeta.csv", data],
    }[command]
    result = run("--plugin-timeout", "1", "--plugin", plugin, *args)
    clean(result)
    assert result.exit_code == 2, result.output
    [line] = error_lines(result)
    assert "plugin 'slowload': took longer than 1 s (reading data.slow)" in line


# ---------------------------------------------------------------------------------------------
# crashes and "NaN everywhere" while scoring


def test_a_scorer_raising_while_scoring_is_named_and_skipped(tmp_path, run):
    plugin = write(tmp_path / "raises.py", RAISES)
    result = run("--plugin", plugin, "score", "--year", "2023")
    clean(result)
    assert result.exit_code == 4, result.output
    [line] = error_lines(result)
    # the engine names the method ("normaliser 'boom' failed"), or run_scoring the scorer
    assert line.startswith("error: plugin 'raises': "), line
    assert "failed (RuntimeError: normaliser exploded)" in line, line
    builtins_scored(result)


@pytest.mark.parametrize(
    "name,code",
    [("nanidx", NAN_METHOD), ("nanw", NAN_WEIGHTS)],
    ids=["nan-normaliser", "nan-weights"],
)
def test_a_scorer_giving_no_city_a_score_is_a_failure(tmp_path, run, name, code):
    plugin = write(tmp_path / f"{name}.py", code)
    result = run("--plugin", plugin, "score", "--year", "2023")
    clean(result)
    assert result.exit_code == 4, result.output
    [line] = error_lines(result)
    # caught by the engine's own method checks or, failing those, by run_scoring's last check
    # ("gave no score to any city although … had its indicators"): either way named, one line
    assert line.startswith(f"error: plugin '{name}': "), line
    assert "missing" in line and "NaN" in line, line
    builtins_scored(result)
    assert not re.search(rf"^{name} ", result.stdout, re.MULTILINE), result.output

    named = run("--plugin", plugin, "score", "--year", "2023", "--scorer", name)
    clean(named)
    assert named.exit_code == 2, named.output
    assert len(error_lines(named)) == 1, named.output

    disabled = run("--plugin", plugin, "--disable-plugin", name, "score", "--year", "2023")
    assert disabled.exit_code == 0, disabled.output
    assert error_lines(disabled) == []


def test_thin_data_is_not_blamed_on_the_scorer(tmp_path, run):
    """One city cannot be min-max normalised: every index is missing, but that is the data's
    doing, so a warning (exit 0), not a plugin failure."""
    data = write(
        tmp_path / "one.csv",
        "city_id,city_name,country,year,indicator,value\nVN001,Huế,VN,2023,life_expectancy,76.5\n",
    )
    result = run("score", data, "--scorer", "livability")
    clean(result)
    assert error_lines(result) == [], result.output
    assert result.exit_code == 0, result.output


def test_when_every_scorer_fails_the_command_fails(tmp_path, run):
    plugin = write(tmp_path / "raises.py", RAISES)
    off = [arg for name in BUILTINS for arg in ("--disable-plugin", name)]
    result = run("--plugin", plugin, *off, "score", "--year", "2023")
    clean(result)
    assert result.exit_code == 2, result.output
    [line] = error_lines(result)
    assert line.startswith("error: plugin 'raises': ") and "normaliser exploded" in line, line


# ---------------------------------------------------------------------------------------------
# report sections and peer selectors from plugins


@pytest.mark.slow  # a whole report: about 7 s, most of it the Vega bundle and charts
def test_a_failing_section_and_peer_selector_are_skipped_in_the_report(tmp_path, run):
    plugin = write(
        tmp_path / "badreport.py",
        (
            "from benchmarkkit import hookimpl\n"
            "from benchmarkkit.reporting.sections import ReportSection\n"
            "def render(context):\n    raise KeyError('no such chart')\n"
            "@hookimpl\ndef register_report_sections(register):\n"
            "    register(ReportSection('broken_section', 5, render))\n"
            "@hookimpl\ndef select_peers(city_id, spec):\n"
            "    raise ValueError('selector crashed')\n"
        ),
    )
    out = tmp_path / "report.html"
    result = run("--plugin", plugin, "report", "--out", out)
    clean(result)
    assert result.exit_code == 4, result.output
    errors = error_lines(result)
    assert len(errors) == 2, result.output
    assert any(
        "plugin 'badreport': select_peers failed (ValueError: selector crashed)" in e
        for e in errors
    )
    assert any(
        "plugin 'badreport': rendering report section 'broken_section' failed (KeyError" in e
        for e in errors
    )
    html = out.read_text(encoding="utf-8")
    assert 'id="broken_section"' not in html
    assert "<section" in html  # the built-in sections are there
    assert "livability" in html and "badreport" not in html  # not listed as a plugin used


# ---------------------------------------------------------------------------------------------
# the time limit itself


def _spin() -> None:
    while True:
        pass


@needs_alarm
def test_time_limit_interrupts_a_loop_and_names_the_plugin():
    start = time.monotonic()
    expected = re.escape("plugin 'p': took longer than 0.2 s (spinning)")
    with pytest.raises(PluginError, match=expected), time_limit(0.2, "p", "spinning"):
        _spin()
    assert time.monotonic() - start < 5
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


@pytest.mark.parametrize("seconds", [0, None])
def test_time_limit_off_is_a_no_op(seconds):
    before = signal.getsignal(signal.SIGALRM) if hasattr(signal, "SIGALRM") else None
    with time_limit(seconds, "p", "sleeping"):
        time.sleep(0.05)
    if hasattr(signal, "SIGALRM"):
        assert signal.getsignal(signal.SIGALRM) is before
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


@needs_alarm
def test_time_limit_restores_the_previous_handler_and_cancels_the_timer():
    def mine(signum, frame):  # pragma: no cover - never fires
        raise AssertionError("the previous handler must not be called")

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        with time_limit(5, "p", "quick"):
            assert signal.getsignal(signal.SIGALRM) is not mine
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
        with pytest.raises(PluginError), time_limit(0.1, "p", "spinning"):
            _spin()
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    finally:
        signal.signal(signal.SIGALRM, previous)


@needs_alarm
def test_nested_time_limits_the_outermost_wins():
    start = time.monotonic()
    expected = re.escape("plugin 'outer': took longer than 0.3 s (outer work)")
    with pytest.raises(PluginError, match=expected), time_limit(0.3, "outer", "outer work"):
        with time_limit(0.05, "inner", "inner work"):
            time.sleep(0.15)  # past the inner limit: the outer one is the one that counts
        with time_limit(30, "inner", "inner work"):
            _spin()  # the inner limit did not reset the outer timer
    assert time.monotonic() - start < 5
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


@needs_alarm
def test_a_timer_the_host_already_runs_is_left_alone():
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        with time_limit(0.05, "p", "sleeping"):
            time.sleep(0.1)
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 25
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def test_time_limit_off_the_main_thread_is_a_no_op():
    outcome: list[object] = []

    def work() -> None:
        outcome.append(supported())
        with time_limit(0.01, "p", "sleeping"):
            time.sleep(0.05)
        outcome.append("done")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert outcome == [False, "done"]


@needs_alarm
def test_build_registry_bounds_registration(tmp_path):
    plugin = write(
        tmp_path / "slowreg.py",
        (
            "import time\nfrom benchmarkkit import hookimpl\n"
            "@hookimpl\ndef register_scorers(register):\n    time.sleep(60)\n"
        ),
    )
    registry = build_registry([plugin], timeout=0.5)
    [problem] = registry.problems
    assert str(problem).startswith(
        "plugin 'slowreg': took longer than 0.5 s (calling register_scorers)"
    )
    assert {"livability", "competitiveness", "sustainability"} <= set(registry.of("scorer"))
