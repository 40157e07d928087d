"""``benchmarkkit audit`` and ``benchmarkkit sensitivity`` through the real CLI on COINr's ASEM
example: the files and columns issue 12 names, intervals that are points when nothing can move,
and bad input as one line."""

from __future__ import annotations

import polars as pl

from tests.conftest import FIXTURES

IDATA = FIXTURES / "asem" / "iData.csv"
IMETA = FIXTURES / "asem" / "iMeta.csv"
COINR = FIXTURES / "coinr_audit"


def test_audit_writes_coinrs_tables(tmp_path, run):
    out = tmp_path / "audit"
    result = run("audit", IDATA, "--framework", IMETA, "--out", out)
    assert result.exit_code == 0, result.output
    columns = {
        "stats": {
            "stage",
            "node",
            "min",
            "max",
            "mean",
            "median",
            "sd",
            "skew",
            "kurtosis",
            "n_available",
        },
        "correlations": {"method", "node_a", "node_b", "r", "p_value", "n"},
        "cronbach": {"group", "level", "k", "alpha"},
        "pca": {"group", "level", "component", "variance", "variance_share"},
        "pca_loadings": {"group", "node", "component", "loading"},
        "effective_weights": {"node", "level", "weight", "effective_weight"},
        "warnings": {"kind", "node", "message"},
    }
    for name, wanted in columns.items():
        frame = pl.read_csv(out / f"{name}.csv")
        assert wanted <= set(frame.columns), (name, frame.columns)
        assert frame["scorer"].unique().to_list() == ["iMeta"]
    stats = pl.read_csv(out / "stats.csv")
    assert set(stats["stage"]) == {"raw", "scored"}
    # the scored Index over its 8 pillars: alpha as COINr's get_cronbach (fixture from COINr)
    alpha = pl.read_csv(out / "cronbach.csv").filter(
        (pl.col("group") == "Index") & (pl.col("stage") == "scored") & (pl.col("level") == 2)
    )
    assert alpha.height == 1 and 0 < alpha["alpha"][0] < 1


def test_sensitivity_is_deterministic_and_brackets_the_nominal_rank(tmp_path, run):
    """The same seed twice gives the same files byte for byte; every interval holds the
    nominal rank (nothing varied at all is the API test's hand-worked case)."""
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = run(
            "sensitivity",
            IDATA,
            "--framework",
            IMETA,
            "--vary",
            "weights:0.25",
            "--vary",
            "normalise:minmax,zscore",
            "--samples",
            "40",
            "--seed",
            "7",
            "--out",
            out,
        )
        assert result.exit_code == 0, result.output
        assert "40 samples, 0 failed" in result.stdout
        outs.append(out)
    ranks = pl.read_csv(outs[0] / "ranks.csv")
    assert ((ranks["rank_p05"] <= ranks["nominal_rank"]) | ranks["nominal_rank"].is_null()).all()
    assert (ranks["rank_p95"] >= ranks["rank_p05"]).all()
    assert (ranks["rank_p95"] > ranks["rank_p05"]).any()  # something did move
    for name in ("ranks.csv", "design.csv", "failures.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_sensitivity_bad_input_is_one_line(tmp_path, run):
    cases = [
        ((), "--vary SPEC"),
        (("--vary", "weigths:0.2"), "weigths"),
        (("--vary", "weights:0.2", "--method", "sobol", "--samples", "3"), "too few for Sobol"),
        (
            (
                "--vary",
                "weights:0@2",
            ),
            "nothing to vary",
        ),
        (("--vary", "aggregate:arithmetic,nope"), "nope"),
    ]
    for args, fragment in cases:
        result = run("sensitivity", IDATA, "--framework", IMETA, *args, "--out", tmp_path / "x")
        assert result.exit_code == 2, (args, result.output)
        errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and fragment in errors[0], (args, result.output)
        assert "Traceback" not in result.output
