"""Method plugins that misbehave while scoring are named in one line, with their plugin.

A normaliser, imputer, treatment or aggregator is plugin code the engine runs inside a scorer; when
it raises, returns the wrong shape, or turns every usable value into NaN, the user must learn
which method of which plugin did it — not read a Polars traceback or get an index of empty scores.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from benchmarkkit.cli import main
from tests.conftest import write

HEAD = (
    "import polars as pl\nfrom benchmarkkit import hookimpl\n"
    "from benchmarkkit.methods.spec import *\n"
)

PLUGINS = {
    "nan_norm": (
        "@hookimpl\ndef register_normalisers(register):\n"
        "    register(Normaliser('nan_norm', lambda x, p: x * float('nan')))\n",
        ["--normalise", "nan_norm"],
        "plugin '{name}': normaliser 'nan_norm' returned no usable value",
    ),
    "text_norm": (
        "@hookimpl\ndef register_normalisers(register):\n"
        "    register(Normaliser('text_norm', lambda x, p: x.cast(pl.String)))\n",
        ["--normalise", "text_norm"],
        "plugin '{name}': normaliser 'text_norm' returned String values, not numbers",
    ),
    "missing_col": (
        "@hookimpl\ndef register_normalisers(register):\n"
        "    register(Normaliser('missing_col', lambda x, p: x / pl.col('no_such_column')))\n",
        ["--normalise", "missing_col"],
        "plugin '{name}': normaliser 'missing_col' failed (ColumnNotFoundError",
    ),
    "nan_fill": (
        "@hookimpl\ndef register_imputers(register):\n"
        "    register(Imputer('nan_fill', lambda x, p: pl.lit(float('nan'))))\n",
        ["--impute", "nan_fill"],
        "plugin '{name}': imputer 'nan_fill' filled",
    ),
    "drops_x": (
        "@hookimpl\ndef register_treatments(register):\n"
        "    register(Treatment('drops_x',\n"
        "        lambda frame, p: (frame.drop('x'), frame.select('_part'))))\n",
        ["--treat", "drops_x"],
        "plugin '{name}': treatment 'drops_x' failed "
        "(ValueError: it returned a frame without the column 'x')",
    ),
    "agg_raises": (
        "def boom(x, w, p):\n    raise ValueError('cannot aggregate today')\n"
        "@hookimpl\ndef register_aggregators(register):\n"
        "    register(Aggregator('agg_raises', boom))\n",
        ["--aggregate", "agg_raises"],
        "plugin '{name}': aggregator 'agg_raises' failed (ValueError: cannot aggregate today)",
    ),
}


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    """One plugin file per misbehaving method (a plugin is named after its file)."""
    folder = tmp_path_factory.mktemp("plugins")
    for name, (code, _, _) in PLUGINS.items():
        write(folder / f"{name}.py", HEAD + code)
    return folder


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_misbehaving_method_is_named(plugin_dir, name, tmp_path):
    _, options, expected = PLUGINS[name]
    expected = expected.format(name=name)
    result = CliRunner().invoke(
        main,
        [
            "--plugin",
            str(plugin_dir / f"{name}.py"),
            "score",
            "--scorer",
            "livability",
            "--year",
            "2023",
            *options,
            "--out",
            str(tmp_path / "s.csv"),
        ],
    )
    assert result.exit_code not in (0, 3), result.output
    assert expected in result.output, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output


def test_unused_broken_methods_do_no_harm(plugin_dir, tmp_path):
    """Registered but not asked for: the built-in pipeline runs as usual."""
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(
        main,
        [
            "--plugins-dir",
            str(plugin_dir),
            "score",
            "--scorer",
            "livability",
            "--year",
            "2023",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000
