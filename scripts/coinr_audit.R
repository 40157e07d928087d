# COINr's statistical audit of its ASEM example, for benchmarkkit's audit (issue 12).
#
#   COINR_LIB=/tmp/coinr-lib Rscript scripts/coinr_audit.R tests/fixtures/coinr_audit
#
# Run from the repository root: it reads tests/fixtures/asem/{iData,iMeta}.csv. The coin is the
# issue's reference build: min-max [0, 100] of the raw data, arithmetic mean at every level, no
# imputation, no treatment. Writes into OUTDIR (numbers as sprintf("%.17g"), NA as an empty field):
#   * stats_raw.csv, stats_scored.csv   get_stats(nsignif = NULL) of dset "Raw" and "Aggregated";
#   * corr_parent.csv                   get_corr(withparent = TRUE, pval = 0), levels L with L + 1;
#   * corr_siblings.csv                 get_corr(Levels = L, grouplev = L + 1, pval = 0), stage
#                                       "scored" on "Aggregated", stage "raw" on "Raw" with
#                                       use_directions = TRUE (level 1 only);
#   * corr_pvalues.csv                  COINr:::get_pvals (cor.test) of every pair above, with n;
#   * cronbach.csv                      get_cronbach of every aggregate over every level below it;
#   * pca.csv, pca_loadings.csv         get_PCA's own path (get_data, na.omit, prcomp(scale = TRUE))
#                                       for every aggregate over every level below it; the rows
#                                       for direct children are checked against get_PCA itself;
#   * eff_weights.csv                   get_eff_weights.
# The tests read these files and never need R.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript scripts/coinr_audit.R OUTDIR")
outdir <- args[[1]]
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
lib <- Sys.getenv("COINR_LIB")
if (!nzchar(lib)) stop("set COINR_LIB to the library COINr 1.1.14 is installed in")
suppressPackageStartupMessages(library(COINr, lib.loc = lib))
stopifnot(as.character(utils::packageVersion("COINr", lib.loc = lib)) == "1.1.14")

write_csv <- function(df, name) {
  out <- as.data.frame(df)
  for (col in names(out)) {
    v <- out[[col]]
    if (is.numeric(v)) out[[col]] <- ifelse(is.na(v), "", sprintf("%.17g", v))
  }
  utils::write.csv(out, file.path(outdir, name), row.names = FALSE, na = "")
}

asem <- "tests/fixtures/asem"
iData <- utils::read.csv(file.path(asem, "iData.csv"), na.strings = "")
iMeta <- utils::read.csv(file.path(asem, "iMeta.csv"), na.strings = "")
coin <- new_coin(iData, iMeta, quietly = TRUE)
coin <- Normalise(coin, dset = "Raw",
                  global_specs = list(f_n = "n_minmax", f_n_para = list(l_u = c(0, 100))))
coin <- Aggregate(coin, dset = "Normalised", f_ag = "a_amean")

meta <- coin$Meta$Ind
meta <- meta[!is.na(meta$Level), ]
maxlev <- coin$Meta$maxlev
aggs <- meta[meta$Type == "Aggregate", ]

# stats ------------------------------------------------------------------------------------------
write_csv(get_stats(coin, dset = "Raw", nsignif = NULL), "stats_raw.csv")
write_csv(get_stats(coin, dset = "Aggregated", nsignif = NULL), "stats_scored.csv")

# correlations -----------------------------------------------------------------------------------
parent <- list()
siblings <- list()
for (method in c("pearson", "spearman")) {
  for (lev in 1:(maxlev - 1)) {
    cr <- get_corr(coin, dset = "Aggregated", Levels = c(lev, lev + 1), withparent = TRUE,
                   pval = 0, cortype = method)
    parent[[length(parent) + 1]] <- data.frame(method = method, level = lev, node_a = cr$Var1,
                                               node_b = cr$Var2, r = cr$Correlation)
    cr <- suppressWarnings(get_corr(coin, dset = "Aggregated", Levels = lev, grouplev = lev + 1,
                                    pval = 0, cortype = method))
    siblings[[length(siblings) + 1]] <- data.frame(stage = "scored", method = method,
                                                   level = lev, node_a = cr$Var1,
                                                   node_b = cr$Var2, r = cr$Correlation)
  }
  cr <- get_corr(coin, dset = "Raw", Levels = 1, grouplev = 2, pval = 0, cortype = method,
                 use_directions = TRUE)
  siblings[[length(siblings) + 1]] <- data.frame(stage = "raw", method = method, level = 1,
                                                 node_a = cr$Var1, node_b = cr$Var2,
                                                 r = cr$Correlation)
}
parent <- do.call(rbind, parent)
siblings <- do.call(rbind, siblings)
write_csv(parent, "corr_parent.csv")
write_csv(siblings, "corr_siblings.csv")

# p-values and n of every pair above, by COINr's own get_pvals (stats::cor.test on each pair)
pvalues <- list()
stage_data <- list(
  scored = get_dset(coin, dset = "Aggregated", also_get = "none"),
  raw = COINr:::directionalise(get_dset(coin, dset = "Raw", also_get = "none"), coin)
)
pairs <- rbind(data.frame(stage = "scored", parent[c("method", "node_a", "node_b")]),
               siblings[c("stage", "method", "node_a", "node_b")])
pairs <- unique(pairs[as.character(pairs$node_a) != as.character(pairs$node_b), ])
for (stage in names(stage_data)) {
  X <- stage_data[[stage]]
  for (method in c("pearson", "spearman")) {
    P <- suppressWarnings(COINr:::get_pvals(X, method = method))
    N <- crossprod(!is.na(as.matrix(X)))
    sel <- pairs[pairs$stage == stage & pairs$method == method, ]
    a <- as.character(sel$node_a)
    b <- as.character(sel$node_b)
    pvalues[[length(pvalues) + 1]] <- data.frame(
      stage = stage, method = method, node_a = a, node_b = b,
      p_value = P[cbind(a, b)], n = N[cbind(a, b)]
    )
  }
}
write_csv(do.call(rbind, pvalues), "corr_pvalues.csv")

# Cronbach's alpha and PCA of every aggregate over every level below it ------------------------
cron <- list()
pca <- list()
loadings <- list()
for (i in seq_len(nrow(aggs))) {
  g <- aggs$iCode[i]
  for (lev in 1:(aggs$Level[i] - 1)) {
    a <- get_cronbach(coin, dset = "Aggregated", iCodes = g, Level = lev)
    X <- get_data(coin, dset = "Aggregated", iCodes = g, Level = lev, also_get = "none")
    cron[[length(cron) + 1]] <- data.frame(group = g, level = lev, k = ncol(X), alpha = a)
    res <- stats::prcomp(stats::na.omit(X), center = TRUE, scale = TRUE)
    pca[[length(pca) + 1]] <- data.frame(
      group = g, level = lev, component = seq_along(res$sdev), variance = res$sdev^2,
      n_rows = nrow(stats::na.omit(X))
    )
    rot <- res$rotation
    loadings[[length(loadings) + 1]] <- data.frame(
      group = g, level = lev, node = rep(rownames(rot), ncol(rot)),
      component = rep(seq_len(ncol(rot)), each = nrow(rot)), loading = as.vector(rot)
    )
  }
}
write_csv(do.call(rbind, cron), "cronbach.csv")
write_csv(do.call(rbind, pca), "pca.csv")
write_csv(do.call(rbind, loadings), "pca_loadings.csv")

# get_PCA itself agrees with the path above for direct children (same data, same prcomp)
for (lev in 1:(maxlev - 1)) {
  res <- suppressWarnings(get_PCA(coin, dset = "Aggregated", Level = lev, nowarnings = TRUE))
  for (g in names(res$PCAresults)) {
    X <- get_data(coin, dset = "Aggregated", iCodes = g, Level = lev, also_get = "none")
    own <- stats::prcomp(stats::na.omit(X), center = TRUE, scale = TRUE)
    stopifnot(isTRUE(all.equal(res$PCAresults[[g]]$PCAres$sdev, own$sdev, tolerance = 0)))
  }
}

# effective weights ------------------------------------------------------------------------------
write_csv(get_eff_weights(coin), "eff_weights.csv")

writeLines(c(R.version.string, paste("COINr", utils::packageVersion("COINr", lib.loc = lib))),
           file.path(outdir, "VERSIONS.txt"))
