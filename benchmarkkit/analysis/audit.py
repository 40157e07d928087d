"""The statistical audit of an index: is each indicator coherent with its group?

The OECD/JRC Handbook and COINr treat an audit as part of any composite index. Each table here
reproduces one COINr 1.1.14 function on the same data (checked to 1e-9 relative on COINr's ASEM
example, ``tests/test_audit.py``):

* ``stats`` — ``get_stats``: sd with n − 1, type-2 (bias-corrected) skewness and excess kurtosis,
  availability / non-zero / unique / same-value counts and their flags, "out" when
  ``|skew| > 2`` and ``kurtosis > 3.5``. Like COINr, the non-zero and unique *flags* divide by the
  number of units while the ``frc_*`` shares divide by the values available.
* ``correlations`` — ``get_corr``: Pearson and Spearman on pairwise-complete observations (as R's
  ``cor(use = "pairwise.complete.obs")``: Spearman ranks each pair's complete rows), p-values as
  R's ``cor.test`` (Pearson: t test; Spearman without ties: AS 89, Edgeworth series for n > 9 and
  exact enumeration below; with ties: the t approximation). Each node with its parent, and the
  siblings within each parent at every level. Flags as COINr's: negative below −0.4
  (``plot_corr``), insignificant above p = 0.05 (``get_corr``), collinear above 0.9
  (``get_corr_flags``).
* ``cronbach`` — ``get_cronbach``: from the pairwise-complete covariance matrix, for every
  aggregate over each level below it.
* ``pca`` / ``pca_loadings`` — ``get_PCA``'s own path: the group's complete rows, standardised
  (``prcomp(scale = TRUE)``), eigen-decomposition of their correlation matrix. Eigenvectors have
  no sign of their own; here each component is signed so that its largest loading (in absolute
  value; on a tie within 1e-9, the first such node in name order) is positive.
* ``effective_weights`` — ``get_eff_weights``: weights normalised among siblings, multiplied down
  the tree.

Two stages: ``raw`` is the data as read (the framework's indicators in the year); ``scored`` is the
data as the index used it — every node's score after the run's own imputation, treatment,
normalisation and aggregation. ``raw`` statistics use the values as they are; ``raw``
correlations, alpha and PCA multiply each indicator by its direction first (COINr's
``use_directions = TRUE``) so that a "lower is better" indicator does not look incoherent.

Every function takes and returns Polars frames and prints nothing; loops run over groups and
components (tens), never over cities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from benchmarkkit.columns import text_keys
from benchmarkkit.errors import InputError

if TYPE_CHECKING:
    from benchmarkkit.plugins import Registry
    from benchmarkkit.scorer import Framework, Pipeline

NEGATIVE = -0.4
"""COINr's ``plot_corr`` flag threshold for a negative correlation."""
COLLINEAR = 0.9
"""COINr's ``get_corr_flags`` default threshold for collinear pairs."""
SIGNIFICANCE = 0.05
"""COINr's ``get_corr`` default p-value threshold."""

VALUES: dict[str, pl.DataType] = {
    "node": pl.String(),
    "city_id": pl.String(),
    "value": pl.Float64(),
}
"""What every audit function reads: one row per node × unit, ``value`` null when missing (the
number of rows of a node is COINr's number of units ``n``)."""


@dataclass(frozen=True)
class Audit:
    """Every audit table for the ``raw`` and ``scored`` stages (a ``stage`` column in each)."""

    year: int
    stats: pl.DataFrame
    correlations: pl.DataFrame
    cronbach: pl.DataFrame
    pca: pl.DataFrame
    pca_loadings: pl.DataFrame
    effective_weights: pl.DataFrame
    notes: tuple[str, ...] = ()
    """One sentence per group an analysis could not use (e.g. a PCA with a constant column)."""


# --- the tree ---------------------------------------------------------------------------------


def effective_weights(nodes: pl.DataFrame) -> pl.DataFrame:
    """Each node's weight among its siblings times its parent's effective weight (COINr's
    ``get_eff_weights``; the roots' weights are normalised among the roots).

    >>> nodes = pl.DataFrame({"node": ["I", "a", "b", "x"], "level": [3, 2, 2, 1],
    ...     "parent": [None, "I", "I", "a"], "weight": [1.0, 1.0, 3.0, 2.0]})
    >>> effective_weights(nodes)["effective_weight"].to_list()
    [1.0, 0.25, 0.75, 0.25]
    """
    own = nodes.select(
        "node",
        pl.col("level").cast(pl.Int32),
        "parent",
        pl.col("weight").cast(pl.Float64),
        (pl.col("weight") / pl.col("weight").sum().over("parent")).alias("_share"),
    )
    eff = own.filter(pl.col("parent").is_null()).select(
        "node", pl.col("_share").alias("effective_weight")
    )
    for level in sorted(own["level"].unique().to_list(), reverse=True):
        step = (
            own.filter(pl.col("level") == level, pl.col("parent").is_not_null())
            .join(eff.rename({"node": "parent", "effective_weight": "_p"}), on="parent")
            .select("node", (pl.col("_share") * pl.col("_p")).alias("effective_weight"))
        )
        eff = pl.concat([eff, step])
    return own.join(eff, on="node", how="left", maintain_order="left").select(
        "node", "level", "weight", "effective_weight"
    )


def relations(nodes: pl.DataFrame) -> pl.DataFrame:
    """The pairs the audit correlates: each node with its parent (``relation`` = "parent",
    ``node_a`` the node, ``node_b`` the parent) and each unordered pair of siblings ("sibling",
    ``node_a`` < ``node_b``). ``level`` is the level of ``node_a``; ``parent`` the group."""
    tree = nodes.select("node", pl.col("level").cast(pl.Int32), "parent")
    with_parent = tree.filter(pl.col("parent").is_not_null()).select(
        pl.lit("parent").alias("relation"),
        "level",
        "parent",
        pl.col("node").alias("node_a"),
        pl.col("parent").alias("node_b"),
    )
    kids = tree.filter(pl.col("parent").is_not_null())
    siblings = (
        kids.join(kids.select("parent", pl.col("node").alias("node_b")), on="parent")
        .filter(pl.col("node") < pl.col("node_b"))
        .select(
            pl.lit("sibling").alias("relation"),
            "level",
            "parent",
            pl.col("node").alias("node_a"),
            "node_b",
        )
    )
    return pl.concat([with_parent, siblings]).sort(
        "relation", "level", "parent", "node_a", "node_b"
    )


def groups(nodes: pl.DataFrame, *, levels: tuple[int, ...] | None = None) -> pl.DataFrame:
    """Every aggregate with its descendants at each level below it: ``group``, ``level`` (of the
    members), ``node`` (a member). A pillar over its indicators is (pillar, 1, indicator); a
    sub-index appears over its pillars (level 2) and over its indicators (level 1)."""
    tree = nodes.select("node", pl.col("level").cast(pl.Int32), "parent")
    # (member, ancestor) for every ancestor, one join per level of the tree
    step = tree.filter(pl.col("parent").is_not_null()).select(
        pl.col("node"), "level", pl.col("parent").alias("group")
    )
    found = [step]
    up = tree.select(pl.col("node").alias("group"), pl.col("parent").alias("_up"))
    while step.height:
        step = (
            step.join(up, on="group")
            .filter(pl.col("_up").is_not_null())
            .select("node", "level", pl.col("_up").alias("group"))
        )
        found.append(step)
    out = pl.concat(found).select("group", "level", "node")
    if levels is not None:
        out = out.filter(pl.col("level").is_in(levels))
    return out.sort("group", "level", "node")


# --- statistics -------------------------------------------------------------------------------


def stats(
    values: pl.DataFrame,
    *,
    t_skew: float = 2.0,
    t_kurtosis: float = 3.5,
    t_available: float = 0.65,
    t_nonzero: float = 0.5,
    t_unique: float = 0.5,
) -> pl.DataFrame:
    """COINr's ``get_stats`` for each node of ``values`` (``VALUES``), thresholds as its defaults.

    >>> v = pl.DataFrame({"node": ["x"] * 5, "city_id": list("abcde"),
    ...                   "value": [1.0, 2.0, 2.0, None, 7.0]})
    >>> row = stats(v).row(0, named=True)
    >>> row["mean"], row["median"], row["n_available"], row["n_same"], row["flag_available"]
    (3.0, 2.0, 4, 2, 'ok')
    """
    x = pl.col("value")
    present = x.filter(x.is_not_null() & x.is_not_nan())
    d = present - present.mean()
    n_av = present.len()
    m2 = (d**2).sum()
    skew = (n_av.sqrt() * (d**3).sum() / m2.pow(1.5)) * (n_av * (n_av - 1)).sqrt() / (n_av - 2)
    ratio = n_av * (d**4).sum() / m2**2
    kurt = ((n_av + 1) * (ratio - 3) + 6) * (n_av - 1) / ((n_av - 2) * (n_av - 3))
    out = (
        values.group_by("node", maintain_order=True)
        .agg(
            present.min().alias("min"),
            present.max().alias("max"),
            present.mean().alias("mean"),
            present.median().alias("median"),
            present.std(ddof=1).alias("sd"),
            pl.when(n_av >= 3).then(skew).alias("skew"),
            pl.when(n_av >= 4).then(kurt).alias("kurtosis"),
            n_av.cast(pl.Int64).alias("n_available"),
            (present != 0).sum().cast(pl.Int64).alias("n_nonzero"),
            present.n_unique().cast(pl.Int64).alias("n_unique"),
            present.value_counts().struct.field("count").max().cast(pl.Int64).alias("n_same"),
            pl.len().cast(pl.Int64).alias("_n"),
        )
        .with_columns(
            (pl.col("n_available") / pl.col("_n")).alias("frc_available"),
            (pl.col("n_nonzero") / pl.col("n_available")).alias("frc_nonzero"),
            (pl.col("n_unique") / pl.col("n_available")).alias("frc_unique"),
            (pl.col("n_same") / pl.col("n_available")).alias("frc_same"),
        )
    )
    low = pl.lit("low")
    return out.with_columns(
        pl.when(pl.col("frc_available") >= t_available)
        .then(pl.lit("ok"))
        .otherwise(low)
        .alias("flag_available"),
        pl.when(pl.col("n_nonzero") / pl.col("_n") >= t_nonzero)
        .then(pl.lit("ok"))
        .otherwise(low)
        .alias("flag_nonzero"),
        pl.when(pl.col("n_unique") / pl.col("_n") >= t_unique)
        .then(pl.lit("ok"))
        .otherwise(low)
        .alias("flag_unique"),
        pl.when(pl.col("skew").is_null() | pl.col("kurtosis").is_null())
        .then(pl.lit(None, pl.String))
        .when((pl.col("skew").abs() > t_skew) & (pl.col("kurtosis") > t_kurtosis))
        .then(pl.lit("out"))
        .otherwise(pl.lit("ok"))
        .alias("flag_skew_kurtosis"),
    ).drop("_n")


# --- pairs: correlations and covariances ------------------------------------------------------


def _present(values: pl.DataFrame) -> pl.DataFrame:
    return values.select("node", "city_id", "value").filter(
        pl.col("value").is_not_null() & pl.col("value").is_not_nan()
    )


def pair_stats(values: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """For each (``node_a``, ``node_b``) of ``pairs``, on the units where both are present: ``n``,
    covariance (n − 1), Pearson ``r``, Spearman ``rho`` (ranks of the complete rows, ties
    averaged) and whether either side has ties — all pairs in one grouped pass."""
    v = _present(values)
    keyed = pairs.select("node_a", "node_b").unique().with_row_index("_p")
    rows = keyed.join(v.rename({"node": "node_a", "value": "_x"}), on="node_a").join(
        v.rename({"node": "node_b", "value": "_y"}), on=["node_b", "city_id"]
    )
    rows = rows.with_columns(
        pl.col("_x").rank("average").over("_p").alias("_rx"),
        pl.col("_y").rank("average").over("_p").alias("_ry"),
    )

    def corr(a: str, b: str) -> pl.Expr:
        da, db = pl.col(a) - pl.col(a).mean(), pl.col(b) - pl.col(b).mean()
        r = (da * db).sum() / ((da**2).sum() * (db**2).sum()).sqrt()
        return pl.when(r > 1).then(1.0).when(r < -1).then(-1.0).otherwise(r)

    dx, dy = pl.col("_x") - pl.col("_x").mean(), pl.col("_y") - pl.col("_y").mean()
    stats_ = rows.group_by("_p").agg(
        pl.len().cast(pl.Int64).alias("n"),
        ((dx * dy).sum() / (pl.len() - 1)).alias("cov"),
        corr("_x", "_y").alias("r"),
        corr("_rx", "_ry").alias("rho"),
        (pl.min_horizontal(pl.col("_x").n_unique(), pl.col("_y").n_unique()) < pl.len()).alias(
            "ties"
        ),
    )
    return (
        keyed.join(stats_, on="_p", how="left")
        .with_columns(pl.col("n").fill_null(0))
        .drop("_p")
        .with_columns(
            pl.when(pl.col("n") >= 2).then(pl.col(c)).otherwise(None).alias(c)
            for c in ("cov", "r", "rho")
        )
    )


def _pearson_p(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    """R's ``cor.test(method = "pearson")``: two-sided t test with n − 2 degrees of freedom."""
    from scipy.special import stdtr

    df = n - 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.sqrt(df) * r / np.sqrt(1 - r**2)
        p = 2 * np.minimum(stdtr(df, t), stdtr(df, -t))
    return np.where(n >= 3, p, np.nan)


_EDGEWORTH = (0.2274, 0.2531, 0.1745, 0.0758, 0.1033, 0.3932, 0.0879, 0.0151, 0.0072, 0.0831)
_EDGEWORTH_TAIL = (0.0131, 4.6e-4)


def _prho(n: np.ndarray, s: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """P[S >= s] (or P[S < s] when ``lower``) for Spearman's S = Σ d², algorithm AS 89 (Best and
    Roberts 1975) as R uses it: exact enumeration for n ≤ 9, an Edgeworth series above."""
    from scipy.special import ndtr

    c1, c2, c3, c4, c5, c6, c7, c8, c9, c10 = _EDGEWORTH
    c11, c12 = _EDGEWORTH_TAIL
    out = np.where(lower, 0.0, 1.0)
    n3 = n * (n * n - 1.0) / 3.0
    y = n.astype(float)
    b = 1 / y
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (6.0 * (s - 1) * b / (y * y - 1) - 1) * np.sqrt(y - 1)
        yy = x * x
        u = (
            x
            * b
            * (
                c1
                + b * (c2 + c3 * b)
                + yy
                * (
                    -c4
                    + b * (c5 + c6 * b)
                    - yy * b * (c7 + c8 * b - yy * (c9 - c10 * b + yy * b * (c11 - c12 * yy)))
                )
            )
        )
        ey = u / np.exp(yy / 2.0)
        pv = np.where(lower, -ey, ey) + np.where(lower, ndtr(x), ndtr(-x))
    pv = np.clip(pv, 0.0, 1.0)
    for i in np.flatnonzero(n <= 9):
        pv[i] = _prho_exact(int(n[i]), float(s[i]), bool(lower[i]))
    out = np.where(s <= 0, out, np.where(s > n3, 1 - out, pv))
    return np.where(n <= 1, np.where(lower, 0.0, 1.0), out)


def _prho_exact(n: int, s: float, lower: bool) -> float:
    from itertools import permutations

    perms = np.array(list(permutations(range(1, n + 1))))
    ise = ((np.arange(1, n + 1) - perms) ** 2).sum(axis=1)
    n3 = n * (n * n - 1) / 3
    count = 1 if s == n3 else int((s <= ise).sum())
    total = math.factorial(n)
    return (total - count if lower else count) / total


def _spearman_p(rho: np.ndarray, n: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """R's ``cor.test(method = "spearman")``, two-sided: AS 89 without ties (n ≤ 1290), the t
    approximation with ties or above 1290 units."""
    from scipy.special import stdtr

    n = n.astype(float)
    q = (n**3 - n) * (1 - rho) / 6
    lower = ~(q > (n**3 - n) / 6)
    exact = (~ties) & (n <= 1290)
    with np.errstate(divide="ignore", invalid="ignore"):
        pe = _prho(n, np.round(q) + 2 * lower, lower)
        den = n * (n**2 - 1) / 6
        r = 1 - q / den
        t = r / np.sqrt((1 - r**2) / (n - 2))
        pa = np.where(lower, stdtr(n - 2, -t), stdtr(n - 2, t))
    p = np.minimum(2 * np.where(exact, pe, pa), 1.0)
    return np.where((n >= 2) & np.isfinite(rho), p, np.nan)


def correlations(
    values: pl.DataFrame,
    pairs: pl.DataFrame,
    *,
    negative: float = NEGATIVE,
    collinear: float = COLLINEAR,
    significance: float = SIGNIFICANCE,
) -> pl.DataFrame:
    """Pearson and Spearman correlation of each pair (``relations``), with p-values, ``n`` and
    COINr's flags (``flag_negative``, ``flag_insignificant``, ``flag_collinear``)."""
    ps = pair_stats(values, pairs)
    n = ps["n"].to_numpy().astype(float)
    r = ps["r"].fill_null(np.nan).to_numpy()
    rho = ps["rho"].fill_null(np.nan).to_numpy()
    ties = ps["ties"].fill_null(True).to_numpy()
    ps = ps.with_columns(
        pl.Series("_p_pearson", _pearson_p(r, n)).fill_nan(None),
        pl.Series("_p_spearman", _spearman_p(rho, n, ties)).fill_nan(None),
    )
    both = []
    for method, rc, pc in (("pearson", "r", "_p_pearson"), ("spearman", "rho", "_p_spearman")):
        both.append(
            pairs.join(
                ps.select(
                    "node_a", "node_b", pl.col(rc).alias("r"), pl.col(pc).alias("p_value"), "n"
                ),
                on=["node_a", "node_b"],
                how="left",
                maintain_order="left",
            ).with_columns(pl.lit(method).alias("method"))
        )
    out = pl.concat(both)
    return out.select(
        "method",
        *[c for c in pairs.columns if c not in ("node_a", "node_b")],
        "node_a",
        "node_b",
        "r",
        "p_value",
        "n",
        (pl.col("r") < negative).alias("flag_negative"),
        (pl.col("p_value") > significance).alias("flag_insignificant"),
        (pl.col("r") > collinear).alias("flag_collinear"),
    )


def cronbach(values: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Cronbach's alpha of each (``group``, ``level``) of ``members`` (``groups``) from the
    pairwise-complete covariance matrix of its members, as COINr's ``get_cronbach``:
    ``k² · mean(off-diagonal) / sum(all)``; null for a group of one, and for a group whose
    members do not vary at all (0 / 0: COINr's NaN; an audit must say "undefined", not crash).

    >>> v = pl.DataFrame({"node": ["a"] * 3 + ["b"] * 3, "city_id": list("xyz") * 2,
    ...                   "value": [1.0, 2.0, 3.0, 1.0, 3.0, 2.0]})
    >>> m = pl.DataFrame({"group": ["g", "g"], "level": [1, 1], "node": ["a", "b"]})
    >>> cronbach(v, m)["alpha"].to_list()  # var 1 and 1, cov 0.5: 4 · 0.5 / 3
    [0.6666666666666666]
    """
    wide = _wide(values)
    rows = []
    for (group, level), part in members.group_by("group", "level", maintain_order=True):
        names = sorted(part["node"].to_list())
        cov = pairwise_cov(wide, names)
        k = len(names)
        total = float(np.nansum(cov))
        off = (total - float(np.nansum(np.diag(cov)))) / (k * (k - 1)) if k >= 2 else math.nan
        rows.append((group, level, k, k**2 * off / total if k >= 2 and total != 0 else None))
    schema = {"group": pl.String, "level": pl.Int32, "k": pl.Int64, "alpha": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("group", "level")


def _wide(values: pl.DataFrame) -> pl.DataFrame:
    """Units × nodes, NaN as missing (null)."""
    return values.pivot("node", index="city_id", values="value", aggregate_function="first")


def pairwise_cov(wide: pl.DataFrame, names: list[str]) -> np.ndarray:
    """R's ``cov(use = "pairwise.complete.obs")`` of the columns ``names`` (absent: all missing),
    by matrix products: for each pair, sums over the rows where both are present. Each column is
    first centred on its own mean, so the one-pass formula loses no precision worth speaking of
    (equal to R's two-pass result to ~1e-14 on ASEM)."""
    cols = [
        wide[n].cast(pl.Float64).fill_nan(None).to_numpy() if n in wide.columns else None
        for n in names
    ]
    n_rows = wide.height
    x = np.column_stack([c if c is not None else np.full(n_rows, np.nan) for c in cols])
    present = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(present, x, 0.0)
        z = np.where(present, z - z.sum(axis=0) / present.sum(axis=0), 0.0)
        m = present.astype(float)
        n = m.T @ m  # rows where both are present
        s = z.T @ m  # s[a, b]: sum of a over those rows
        cov = (z.T @ z - s * s.T / n) / (n - 1)
    return np.where(n >= 2, cov, np.nan)


def pca(
    values: pl.DataFrame, members: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Principal components of each (``group``, ``level``): its members' complete rows,
    standardised (``prcomp(center = TRUE, scale = TRUE)``). Returns the components (``variance``
    = eigenvalue of the correlation matrix, ``variance_share`` of their sum, ``n_rows`` used),
    the loadings (eigenvectors, signed so that each component's largest loading is positive, the
    first node by name on a tie within 1e-9) and
    a note per group that could not be analysed."""
    wide = _wide(values)
    comps, loads, notes = [], [], []
    for (group, level), part in members.group_by("group", "level", maintain_order=True):
        names = sorted(part["node"].to_list())
        sub = wide.select([c for c in names if c in wide.columns])
        x = sub.fill_nan(None).drop_nulls().to_numpy().astype(float)
        if sub.width < len(names) or x.shape[0] < 2:
            notes.append(f"PCA of {group} (level {level}): fewer than 2 complete rows")
            continue
        sd = x.std(axis=0, ddof=1)
        if np.any(sd == 0):
            notes.append(f"PCA of {group} (level {level}): a member is constant on complete rows")
            continue
        z = (x - x.mean(axis=0)) / sd
        # singular values of the standardised rows, as prcomp does (more exact than eig(cor))
        _, d, vt = np.linalg.svd(z, full_matrices=False)
        variance = d**2 / (x.shape[0] - 1)
        # the first node (in name order) whose |loading| is the largest, ties within 1e-9: a
        # tie broken by rounding would flip the sign from run to run
        size = np.abs(vt)
        big = (size >= size.max(axis=1, keepdims=True) - 1e-9).argmax(axis=1)
        vt = vt * np.sign(vt[np.arange(vt.shape[0]), big])[:, None]
        k = len(variance)
        comps.append(
            pl.DataFrame(
                {
                    "group": [group] * k,
                    "level": [level] * k,
                    "component": np.arange(1, k + 1, dtype=np.int64),
                    "variance": variance,
                    "variance_share": variance / len(names),
                    "n_rows": [x.shape[0]] * k,
                }
            )
        )
        loads.append(
            pl.DataFrame(
                {
                    "group": [group] * (k * len(names)),
                    "level": [level] * (k * len(names)),
                    "node": names * k,
                    "component": np.repeat(np.arange(1, k + 1, dtype=np.int64), len(names)),
                    "loading": vt.reshape(-1),
                }
            )
        )
    schema_c = {"group": pl.String, "level": pl.Int32, "component": pl.Int64}
    schema_c |= {"variance": pl.Float64, "variance_share": pl.Float64, "n_rows": pl.Int64}
    schema_l = {"group": pl.String, "level": pl.Int32, "node": pl.String, "component": pl.Int64}
    schema_l |= {"loading": pl.Float64}
    return (
        pl.concat([c.cast(schema_c) for c in comps]) if comps else pl.DataFrame(schema=schema_c),
        pl.concat([c.cast(schema_l) for c in loads]) if loads else pl.DataFrame(schema=schema_l),
        notes,
    )


def framework_year(observations: pl.DataFrame, framework: Framework, year: int | None) -> int:
    """``year`` checked, or by default the latest year with observations of the framework's
    indicators (a data set's latest year may hold none of an index's indicators)."""
    leaves = framework.nodes.filter(pl.col("level") == 1)["node"]
    own = observations.filter(pl.col("indicator").is_in(leaves.implode()))
    years = sorted(own["year"].drop_nulls().unique().to_list())
    name = framework.name
    if not years:
        raise InputError(
            f"no observations of {name}'s indicators", hint="check the data and the framework"
        )
    if year is None:
        return int(years[-1])
    if year not in years:
        raise InputError(
            f"no observations of {name}'s indicators in {year}",
            hint=f"years with data: {', '.join(map(str, years))}",
        )
    return year


# --- the whole audit --------------------------------------------------------------------------


def stage_values(
    framework: Framework, observations: pl.DataFrame, scores: pl.DataFrame, year: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The audit's inputs for ``year``: raw values, raw values × direction, and scored values —
    each one row per node × unit (``VALUES``), the units being those scored that year."""
    nodes = framework.nodes
    leaves = nodes.filter(pl.col("level") == 1).select(
        "node", pl.col("direction").fill_null(1).cast(pl.Float64).alias("_d")
    )
    scored = text_keys(
        scores.filter(pl.col("year") == year).select(
            "node", "city_id", pl.col("score").alias("value")
        )
    )
    units = scored.select("city_id").unique().sort("city_id")
    grid = leaves.join(units, how="cross")
    raw = grid.join(
        observations.filter(pl.col("year") == year).select(
            pl.col("indicator").alias("node"), "city_id", "value"
        ),
        on=["node", "city_id"],
        how="left",
    ).sort("node", "city_id")
    directed = raw.with_columns(pl.col("value") * pl.col("_d")).drop("_d")
    return raw.drop("_d"), directed, scored.sort("node", "city_id")


def audit(
    framework: Framework,
    observations: pl.DataFrame,
    cities: pl.DataFrame,
    pipeline: Pipeline,
    registry: Registry,
    *,
    year: int | None = None,
) -> Audit:
    """Every audit table of ``framework`` on ``observations`` in ``year`` (default: the latest),
    for the raw data and for the data as scored with ``pipeline``."""
    from benchmarkkit.engine.score import score

    year = framework_year(observations, framework, year)
    result = score(framework, observations, cities, pipeline, registry, years=[year])
    return audit_scores(framework, observations, result.scores, year)


def audit_scores(
    framework: Framework, observations: pl.DataFrame, scores: pl.DataFrame, year: int
) -> Audit:
    """Every audit table from scores already made (``score(...).scores`` of ``framework``, with
    ``year`` among its years): the same as ``audit`` without scoring again."""
    raw, directed, scored = stage_values(framework, observations, scores, year)
    nodes = framework.nodes
    level_of = nodes.select("node", pl.col("level").cast(pl.Int32))
    pairs = relations(nodes)
    members = groups(nodes)

    def tag(frame: pl.DataFrame, stage: str) -> pl.DataFrame:
        return frame.select(pl.lit(stage).alias("stage"), pl.all())

    st = [
        tag(stats(raw).join(level_of, on="node", how="left"), "raw"),
        tag(stats(scored).join(level_of, on="node", how="left"), "scored"),
    ]
    raw_pairs = pairs.filter(pl.col("relation") == "sibling", pl.col("level") == 1)
    corr = [
        tag(correlations(directed, raw_pairs), "raw"),
        tag(correlations(scored, pairs), "scored"),
    ]
    raw_members = members.filter(pl.col("level") == 1)
    cr = [tag(cronbach(directed, raw_members), "raw"), tag(cronbach(scored, members), "scored")]
    pca_raw, load_raw, notes_raw = pca(directed, raw_members)
    pca_scored, load_scored, notes_scored = pca(scored, members)
    first = ("stage", "node", "level")
    return Audit(
        year=year,
        stats=pl.concat(st).select(*first, *[c for c in st[0].columns if c not in first]),
        correlations=pl.concat(corr),
        cronbach=pl.concat(cr),
        pca=pl.concat([tag(pca_raw, "raw"), tag(pca_scored, "scored")]),
        pca_loadings=pl.concat([tag(load_raw, "raw"), tag(load_scored, "scored")]),
        effective_weights=effective_weights(nodes),
        notes=(*(f"raw: {n}" for n in notes_raw), *(f"scored: {n}" for n in notes_scored)),
    )


WARNINGS: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "stage": pl.String(),
    "node": pl.String(),
    "group": pl.String(),
    "value": pl.Float64(),
    "message": pl.String(),
}
"""What the methodology section lists: one row per finding, ``kind`` one of
``negative_with_parent``, ``low_alpha``, ``collinear``, ``skew_kurtosis``, ``low_availability``."""


def audit_warnings(result: Audit, *, min_alpha: float = 0.7) -> pl.DataFrame:
    """The audit's findings a reader should see (``WARNINGS``), defined once here: a node
    negatively correlated (Pearson, as scored) with its parent, a group whose alpha over its
    direct children is below ``min_alpha``, collinear siblings (COINr's 0.9), an indicator
    flagged "out" (skew and kurtosis) or "low" (availability) in the raw data."""
    corr = result.correlations.filter(pl.col("stage") == "scored", pl.col("method") == "pearson")
    negative = corr.filter(pl.col("relation") == "parent", pl.col("r") < 0).select(
        pl.lit("negative_with_parent").alias("kind"),
        "stage",
        pl.col("node_a").alias("node"),
        pl.col("node_b").alias("group"),
        pl.col("r").alias("value"),
        pl.format(
            "{} is negatively correlated with {} (r = {})", "node_a", "node_b", pl.col("r").round(2)
        ).alias("message"),
    )
    collinear = corr.filter(pl.col("relation") == "sibling", pl.col("flag_collinear")).select(
        pl.lit("collinear").alias("kind"),
        "stage",
        pl.format("{}, {}", "node_a", "node_b").alias("node"),
        pl.col("parent").alias("group"),
        pl.col("r").alias("value"),
        pl.format(
            "{} and {} are collinear in {} (r = {})",
            "node_a",
            "node_b",
            "parent",
            pl.col("r").round(2),
        ).alias("message"),
    )
    level_of = result.effective_weights.select(pl.col("node").alias("group"), "level")
    alpha = (
        result.cronbach.filter(pl.col("stage") == "scored")
        .join(level_of.rename({"level": "_gl"}), on="group")
        .filter(pl.col("level") == pl.col("_gl") - 1, pl.col("alpha") < min_alpha)
        .select(
            pl.lit("low_alpha").alias("kind"),
            "stage",
            pl.lit(None, pl.String).alias("node"),
            "group",
            pl.col("alpha").alias("value"),
            pl.format(
                "Cronbach's alpha of {} is {} (below {})",
                "group",
                pl.col("alpha").round(2),
                pl.lit(min_alpha),
            ).alias("message"),
        )
    )
    raw = result.stats.filter(pl.col("stage") == "raw")
    out = raw.filter(pl.col("flag_skew_kurtosis") == "out").select(
        pl.lit("skew_kurtosis").alias("kind"),
        "stage",
        "node",
        pl.lit(None, pl.String).alias("group"),
        pl.col("skew").alias("value"),
        pl.format(
            "{} has outliers (skew {}, kurtosis {})",
            "node",
            pl.col("skew").round(2),
            pl.col("kurtosis").round(2),
        ).alias("message"),
    )
    low = raw.filter(pl.col("flag_available") == "low").select(
        pl.lit("low_availability").alias("kind"),
        "stage",
        "node",
        pl.lit(None, pl.String).alias("group"),
        pl.col("frc_available").alias("value"),
        pl.format(
            "{} is available for only {} of units",
            "node",
            (pl.col("frc_available") * 100).round(0).cast(pl.Int64).cast(pl.String) + "%",
        ).alias("message"),
    )
    return pl.concat([f.cast(WARNINGS) for f in (negative, alpha, collinear, out, low)])
