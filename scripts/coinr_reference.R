# COINr parity reference: COINr 1.1.14's own output on its ASEM example (issue 15).
#
#   COINR_LIB=/tmp/coinr-lib Rscript scripts/coinr_reference.R OUTDIR
#
# Run from the repository root (it reads tests/fixtures/asem/ to check that the committed ASEM
# fixtures equal COINr's built-in ASEM_iData / ASEM_iMeta; set ASEM_FIXTURES to read them elsewhere).
# Writes into OUTDIR:
#   * <case>_<dset>.csv       every data set of each case's coin, uCode x iCode, all levels;
#                             numbers as sprintf("%.17g") (round-trips the exact double),
#                             NA as an empty field, NaN as "NaN";
#   * standard_treatment.csv  COINr's Treat() details table for the standard recipe;
#   * iMeta_<case>.csv        ASEM_iMeta plus the normalisation-parameter columns that case reads;
#   * README.txt              R version, COINr version, each case's pipeline.
# COINr itself is never needed by the tests: they read the CSVs committed in tests/fixtures/coinr/.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript scripts/coinr_reference.R OUTDIR")
outdir <- args[[1]]
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
lib <- Sys.getenv("COINR_LIB")
if (!nzchar(lib)) stop("set COINR_LIB to the library COINr 1.1.14 is installed in")
suppressPackageStartupMessages(library(COINr, lib.loc = lib))
stopifnot(as.character(utils::packageVersion("COINr", lib.loc = lib)) == "1.1.14")

num_text <- function(x) ifelse(is.nan(x), "NaN", sprintf("%.17g", x))

write_full <- function(df, name) {
  out <- as.data.frame(df)
  text <- !vapply(out, function(v) is.numeric(v) || is.logical(v), logical(1))
  for (col in names(out)[!text]) {
    v <- out[[col]]
    out[[col]] <- if (is.logical(v)) ifelse(v, "TRUE", "FALSE") else num_text(v)
    out[[col]][is.na(v) & !is.nan(v)] <- NA # written as an empty field
  }
  # text columns are quoted (names may hold commas), numbers and TRUE/FALSE are not
  utils::write.csv(out, file.path(outdir, name), row.names = FALSE, quote = which(text), na = "")
}

export_coin <- function(coin, case) {
  for (d in names(coin$Data)) {
    write_full(coin$Data[[d]], sprintf("%s_%s.csv", case, d))
  }
}

log_lines <- c(
  R.version.string,
  paste("COINr", as.character(utils::packageVersion("COINr", lib.loc = lib))),
  ""
)
say <- function(...) log_lines <<- c(log_lines, paste0(...))

# ---------------------------------------------------------------------------------------------
# 0. The committed ASEM fixtures are COINr's own data, exactly.
fixtures <- Sys.getenv("ASEM_FIXTURES", "tests/fixtures/asem")
if (dir.exists(fixtures)) {
  fid <- utils::read.csv(file.path(fixtures, "iData.csv"), na.strings = "")
  fim <- utils::read.csv(file.path(fixtures, "iMeta.csv"), na.strings = "")
  same_data <- isTRUE(all.equal(fid, as.data.frame(COINr::ASEM_iData), tolerance = 0,
                                check.attributes = FALSE))
  same_meta <- isTRUE(all.equal(fim, as.data.frame(COINr::ASEM_iMeta), tolerance = 0,
                                check.attributes = FALSE))
  say("fixtures ", fixtures, ": iData equals ASEM_iData exactly: ", same_data,
      "; iMeta equals ASEM_iMeta exactly: ", same_meta)
  if (!same_data || !same_meta) stop("tests/fixtures/asem differs from COINr's ASEM data")
} else {
  say("fixtures not found at ", fixtures, ": equality with ASEM_iData/ASEM_iMeta not checked")
}

indicators <- COINr::ASEM_iMeta$iCode[COINr::ASEM_iMeta$Type == "Indicator"]
is_ind <- COINr::ASEM_iMeta$Type == "Indicator"

# ---------------------------------------------------------------------------------------------
# a. The standard recipe, exactly as build_example_coin(up_to = NULL) builds it
#    (R/examples.R at b968203):
#      new_coin(ASEM_iData, ASEM_iMeta, level_names = c("Indicator","Pillar","Sub-index","Index"))
#      Denominate(coin, dset = "Raw")
#      Impute(coin, dset = "Denominated", f_i = "i_mean_grp", use_group = "EurAsia_group")
#      Screen(coin, dset = "Imputed", dat_thresh = 0.9, unit_screen = "byNA")
#      Treat(coin, dset = "Screened", global_specs = list(f1_para = list(winmax = 5)))
#      Normalise(coin, dset = "Treated",
#                global_specs = list(f_n = "n_minmax", f_n_para = list(c(0, 100))))
#      Aggregate(coin, dset = "Normalised", f_ag = "a_amean")
coin <- build_example_coin(up_to = NULL, quietly = TRUE)
export_coin(coin, "standard")
write_full(coin$Analysis$Treated$Dets_Table, "standard_treatment.csv")
say("standard: build_example_coin(up_to = NULL); data sets: ", toString(names(coin$Data)),
    "; units removed by Screen: ", length(coin$Analysis$Screened$RemovedUnits))

# ---------------------------------------------------------------------------------------------
# b. Per-indicator normalisation parameters from iMeta columns (f_n_para = "use_iMeta"), on the
#    raw data, arithmetic aggregation. COINr's get_iMeta_norm_paras() reads:
#      n_dist2targ : Target, dist2targ_cap_max, Direction -> targ = Target * Direction
#      n_goalposts : goalpost_lower, goalpost_upper, goalpost_scale, Direction, goalpost_trunc2posts
#                    -> gposts = (lower, upper, scale), or (-upper, -lower, scale) when Direction = -1
meta_with <- function(extra) {
  m <- as.data.frame(COINr::ASEM_iMeta)
  for (col in names(extra)) {
    v <- rep(NA, nrow(m))
    v[is_ind] <- extra[[col]]
    m[[col]] <- v
  }
  m
}

run_use_imeta <- function(case, imeta, f_n) {
  c1 <- new_coin(COINr::ASEM_iData, imeta, quietly = TRUE,
                 level_names = c("Indicator", "Pillar", "Sub-index", "Index"))
  c1 <- Normalise(c1, dset = "Raw", global_specs = list(f_n = f_n, f_n_para = "use_iMeta"))
  c1 <- Aggregate(c1, dset = "Normalised", f_ag = "a_amean")
  write_full(imeta, sprintf("iMeta_%s.csv", case))
  write_full(c1$Data$Normalised, sprintf("%s_Normalised.csv", case))
  write_full(c1$Data$Aggregated, sprintf("%s_Aggregated.csv", case))
  say(case, ": new_coin(ASEM_iData, iMeta_", case, ") -> Normalise(dset = 'Raw', global_specs = ",
      "list(f_n = '", f_n, "', f_n_para = 'use_iMeta')) -> Aggregate(dset = 'Normalised', ",
      "f_ag = 'a_amean')")
  c1
}

for (cap in c(TRUE, FALSE)) {
  invisible(run_use_imeta(if (cap) "dist2targ_capped" else "dist2targ_uncapped",
                meta_with(list(dist2targ_cap_max = rep(cap, sum(is_ind)))), "n_dist2targ"))
}
# per indicator: capped for the 1st, 3rd, 5th ... indicator of iMeta, not for the others
invisible(run_use_imeta("dist2targ_mixed",
                        meta_with(list(dist2targ_cap_max = rep(c(TRUE, FALSE),
                                                               length.out = sum(is_ind)))),
                        "n_dist2targ"))

# goalposts: the 10th and 90th percentiles of each raw indicator (type 7), to 4 significant digits,
# given in the indicator's own units (lower < upper whatever the direction); scale 100. So about a
# tenth of the values lie beyond each post and trunc2posts matters.
raw <- as.data.frame(COINr::ASEM_iData)
q <- function(p) sapply(indicators, function(i) signif(stats::quantile(raw[[i]], p, na.rm = TRUE,
                                                                       names = FALSE), 4))
lower <- q(0.1)
upper <- q(0.9)
stopifnot(all(upper > lower))
for (trunc in c(TRUE, FALSE)) {
  run_use_imeta(if (trunc) "goalposts_trunc" else "goalposts_notrunc",
                meta_with(list(goalpost_lower = lower, goalpost_upper = upper,
                               goalpost_scale = rep(100, sum(is_ind)),
                               goalpost_trunc2posts = rep(trunc, sum(is_ind)))),
                "n_goalposts")
}

# ---------------------------------------------------------------------------------------------
# c. Aggregators whose handling of missing children is COINr's own, on the raw data (63 missing
#    indicator values) min-max normalised to [1, 100] (positive, so the geometric mean is defined):
#      new_coin(ASEM_iData, ASEM_iMeta)
#      Normalise(dset = "Raw", global_specs = list(f_n = "n_minmax", f_n_para = list(l_u = c(1, 100))))
#      Aggregate(dset = "Normalised", f_ag = ...) with
#        a_gmean                        (skips missing children, weights renormalised)
#        a_genmean, f_ag_para = list(p = 2)   (no na.rm: one missing child -> missing parent)
#        a_copeland, by_df = TRUE       (errors in COINr 1.1.14: Aggregate.data.frame calls
#                                        f_ag(x = ...) but a_copeland's argument is `X`; we pass a
#                                        wrapper a_copeland_x(x, w) = COINr::a_copeland(x, w))
c2 <- new_coin(COINr::ASEM_iData, COINr::ASEM_iMeta, quietly = TRUE,
               level_names = c("Indicator", "Pillar", "Sub-index", "Index"))
c2 <- Normalise(c2, dset = "Raw",
                global_specs = list(f_n = "n_minmax", f_n_para = list(l_u = c(1, 100))))
write_full(c2$Data$Normalised, "minmax1_Normalised.csv")

agg <- function(case, ...) {
  res <- Aggregate(c2, dset = "Normalised", out2 = "df", ...)
  write_full(res, sprintf("%s_Aggregated.csv", case))
  res
}
invisible(agg("gmean", f_ag = "a_gmean"))
invisible(agg("genmean2", f_ag = "a_genmean", f_ag_para = list(p = 2)))
direct <- try(Aggregate(c2, dset = "Normalised", out2 = "df", f_ag = "a_copeland", by_df = TRUE),
              silent = TRUE)
say("copeland: Aggregate(f_ag = 'a_copeland', by_df = TRUE) ",
    if (inherits(direct, "try-error")) paste0("fails: ", trimws(substr(direct, 1, 60)), "...")
    else "works")
a_copeland_x <- function(x, w = NULL) COINr::a_copeland(x, w)
assign("a_copeland_x", a_copeland_x, envir = globalenv())
invisible(agg("copeland", f_ag = "a_copeland_x", by_df = TRUE))
say("gmean, genmean2, copeland: new_coin(ASEM_iData, ASEM_iMeta) -> Normalise(dset = 'Raw', ",
    "n_minmax, l_u = c(1, 100)) -> Aggregate(dset = 'Normalised', f_ag = a_gmean | a_genmean ",
    "(p = 2) | a_copeland_x (by_df = TRUE))")

# Copeland without missing children: the standard recipe's Normalised data set (imputed, so
# complete), Copeland at every level. Pins the outranking rule and its exact-0.5 ties.
res <- Aggregate(coin, dset = "Normalised", out2 = "df", f_ag = "a_copeland_x", by_df = TRUE)
write_full(res, "copeland_complete_Aggregated.csv")
say("copeland_complete: build_example_coin(up_to = NULL) -> Aggregate(dset = 'Normalised', ",
    "f_ag = 'a_copeland_x', by_df = TRUE)")

writeLines(log_lines, file.path(outdir, "README.txt"))
cat(log_lines, sep = "\n")
