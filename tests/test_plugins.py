"""Plugins: real entry points, real one-file plugins, broken plugins named in one line."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

import pytest

from benchmarkkit import hookspecs
from benchmarkkit.plugins import HOOK_NAMES, build_registry
from tests.conftest import ROOT, write

EXAMPLE = ROOT / "examples" / "digital_readiness.py"


def test_builtins_arrive_through_entry_points():
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="benchmarkkit")}
    assert names["livability"] == "benchmarkkit_plugins.livability"
    assert names["competitiveness"] == "benchmarkkit_plugins.competitiveness"
    assert names["sustainability"] == "benchmarkkit_plugins.sustainability"
    registry = build_registry()
    assert registry.problems == []
    assert {"livability", "competitiveness", "sustainability"} <= set(registry.of("scorer"))
    assert registry.owner[("scorer", "livability")] == "livability"


def test_every_hook_is_documented_and_tested():
    """Like datasette: every hook has a docstring and a test named test_hook_<name>."""
    tests = Path(__file__).read_text() + (Path(__file__).parent / "test_score.py").read_text()
    for name in HOOK_NAMES:
        spec = getattr(hookspecs, name)
        assert spec.__doc__ and len(spec.__doc__) > 40, name
        assert re.search(rf"def test_hook_{name}\b", tests), f"no test_hook_{name}"


BROKEN = {
    "imports": "import no_such_module_xyz\n",
    "misspelt": "from benchmarkkit import hookimpl\n@hookimpl\ndef register_scorer(register):\n"
    "    pass\n",
    "wrongargs": "from benchmarkkit import hookimpl\n@hookimpl\n"
    "def register_scorers(register, city):\n    pass\n",
    "clash": "from benchmarkkit import hookimpl\n"
    "from benchmarkkit.engine.catalog_index import catalog_scorer\n"
    "@hookimpl\ndef register_scorers(register):\n"
    "    register(catalog_scorer('livability', 'Mine', ''))\n",
    "raises": "from benchmarkkit import hookimpl\n@hookimpl\ndef register_normalisers(register):\n"
    "    raise RuntimeError('boom')\n",
}


@pytest.fixture
def broken_dir(tmp_path):
    for name, code in BROKEN.items():
        write(tmp_path / f"{name}.py", code)
    return tmp_path


def test_broken_plugins_are_named_and_the_others_still_work(broken_dir, run):
    result = run("--plugins-dir", broken_dir, "score", "--year", "2023", "--scorer", "livability")
    assert result.exit_code == 4, result.output  # finished, but plugins failed (README: exit codes)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 5, result.stderr
    joined = "\n".join(errors)
    assert "plugin 'imports': cannot be imported (ModuleNotFoundError" in joined
    assert "plugin 'misspelt': 'register_scorer' is not a benchmarkkit hook" in joined
    assert "did you mean 'register_scorers'?" in joined
    assert "plugin 'wrongargs': invalid hook implementation" in joined
    assert "plugin 'clash': scorer name 'livability' is already registered by plugin" in joined
    assert "plugin 'raises': register_normalisers failed (RuntimeError: boom)" in joined
    assert "Traceback" not in result.output
    assert "livability  2023  1" in result.stdout


def test_disable_plugin_skips_it(broken_dir, run):
    args = ["--plugins-dir", broken_dir]
    for name in BROKEN:
        args += ["--disable-plugin", name]
    result = run(*args, "indicators")
    assert result.exit_code == 0
    assert "error:" not in result.stderr


def test_scorer_failing_while_scoring_names_the_plugin(tmp_path, run):
    plugin = write(
        tmp_path / "fails.py",
        (
            "from benchmarkkit import hookimpl\nfrom benchmarkkit.scorer import Scorer\n"
            "def build(catalog, observations):\n    raise ValueError('no framework today')\n"
            "@hookimpl\ndef register_scorers(register):\n    register(Scorer('fails', build))\n"
        ),
    )
    result = run("--plugin", plugin, "score", "--scorer", "fails")
    assert result.exit_code == 2
    assert "plugin 'fails': scorer 'fails' failed to build its framework" in result.stderr
    assert "Traceback" not in result.output


def test_plugins_command_lists_sources_and_registrations(run):
    result = run("--plugin", EXAMPLE, "plugins", "--all", "--format", "json")
    rows = {p["name"]: p for p in json.loads(result.stdout)}
    assert rows["digital_readiness"]["source"].startswith("file ")
    assert rows["digital_readiness"]["registered"] == {"scorer": ["digital_readiness"]}
    assert rows["livability"]["builtin"] is True
    assert "register_scorers" in rows["livability"]["hooks"]
    table = run("--plugin", EXAMPLE, "plugins")
    assert "digital_readiness" in table.stdout and "livability" not in table.stdout


def test_missing_plugin_file(run, tmp_path):
    result = run("--plugin", tmp_path / "nope.py", "indicators")
    assert "plugin 'nope': file" in result.stderr and "does not exist" in result.stderr


# --- one test per hook (test_every_hook_is_documented_and_tested checks the names) -------------


def test_hook_register_scorers(run):
    result = run("--plugin", EXAMPLE, "score", "--scorer", "digital_readiness", "--year", "2023")
    assert result.exit_code == 0, result.output
    assert "digital_readiness  2023  1" in result.stdout


def test_hook_register_normalisers(registry):
    assert {
        "minmax",
        "zscore",
        "rank",
        "prank",
        "borda",
        "goalposts",
        "dist2targ",
        "dist2max",
        "dist2ref",
        "fracmax",
    } <= set(registry.of("normaliser"))


def test_hook_register_aggregators(registry):
    assert {"arithmetic", "geometric", "harmonic", "genmean", "copeland"} <= set(
        registry.of("aggregator")
    )


def test_hook_register_imputers(registry):
    assert {"mean", "median", "group_mean", "group_median", "latest", "linear"} <= set(
        registry.of("imputer")
    )


def test_hook_register_treatments(registry):
    assert {"jrc", "none"} <= set(registry.of("treatment"))


def test_hook_register_indicator_sets(tmp_path, run):
    csv = write(
        tmp_path / "extra.csv",
        "id,short_name,unit,higher_is_better,focus_area,indices\n"
        "smart_poles,Smart poles,% of poles,true,built_infrastructure,livability\n",
    )
    plugin = write(
        tmp_path / "extra_set.py",
        (
            "from pathlib import Path\nfrom benchmarkkit import hookimpl\n"
            "from benchmarkkit.io.catalog import IndicatorSet\n@hookimpl\n"
            "def register_indicator_sets(register):\n"
            f"    register(IndicatorSet('extra', Path({str(csv)!r})))\n"
        ),
    )
    result = run("--plugin", plugin, "indicators", "--set", "extra", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "smart_poles" in result.stdout


def test_hook_register_loaders(tmp_path, run):
    plugin = write(
        tmp_path / "jsonl.py",
        (
            "import polars as pl\nfrom benchmarkkit import hookimpl\n"
            "from benchmarkkit.io.read import Loader\n"
            "def read(path, options):\n"
            "    f = pl.read_ndjson(path).with_columns(pl.all().cast(pl.String))\n"
            "    return f.with_row_index('_row', offset=1).with_columns("
            "pl.col('_row').cast(pl.Int64),"
            " pl.lit(None, pl.String).alias('_bad'))\n"
            "@hookimpl\ndef register_loaders(register):\n"
            "    register(Loader('jsonl', ('.jsonl',), read))\n"
        ),
    )
    data = write(
        tmp_path / "d.jsonl",
        '{"city_id": "A", "year": 2023, "indicator": "life_expectancy", "value": 80.5}\n',
    )
    result = run("--plugin", plugin, "validate", data)
    assert result.exit_code == 0, result.output
    assert "accepted: 1" in result.stdout


def test_hook_register_report_sections(registry):
    # the report's sections arrive through this hook once the report exists (issue 4);
    # until then the hook is callable and collects nothing.
    assert registry.of("report_section") == {} or all(
        hasattr(s, "render") for s in registry.of("report_section").values()
    )


def test_hook_register_peer_rules(registry):
    rules = registry.of("peer_rule")
    assert {"all", "ids", "size", "similar"} <= set(rules)
    assert registry.owner[("peer_rule", "size")] == "peers"  # through the entry point
    assert all((r.filter is None) != (r.pick is None) for r in rules.values())


def test_hook_select_peers(registry):
    caller = registry.manager.hook.select_peers
    assert caller.spec is not None and caller.spec.opts.get("firstresult") is True


def test_scorer_returning_the_wrong_shape_is_named(tmp_path, run):
    plugin = write(
        tmp_path / "shape.py",
        (
            "import polars as pl\nfrom benchmarkkit import hookimpl\n"
            "from benchmarkkit.scorer import Framework, Scorer\n"
            "def build(catalog, observations):\n"
            "    return Framework('shape', pl.DataFrame({'node': ['a'], 'parent': [None]}))\n"
            "@hookimpl\ndef register_scorers(register):\n    register(Scorer('shape', build))\n"
        ),
    )
    result = run("--plugin", plugin, "score", "--scorer", "shape")
    assert result.exit_code == 2
    assert "plugin 'shape': scorer 'shape' returned a framework without the column 'level'" in (
        result.stderr
    )
