#' Pooled variance over DataSHIELD sites, encrypted
#'
#' Two encrypted rounds for numerical accuracy: the pooled mean first, then
#' the pooled sum of squared deviations from it (the mean travels to the sites
#' exactly, as the hex of its bytes). Missing values are dropped; a site with
#' `0 < n valid < nfilter.tab` refuses. The plaintext counterpart is
#' `ds.var(type = "combine")`.
#'
#' @inheritParams ds.mheMean
#' @returns A list: `var` (sample variance, denominator `n - 1`), `mean`, `n`;
#'   attribute `sites` as in [ds.mheMean()].
#' @family client functions
#' @export
ds.mheVar <- function(x, datasources = NULL) {
  conns <- mhe_conns(datasources)
  x <- mhe_check_variable(x)
  mhe_run(conns, function(conns, call) mhe_pooled_var(conns, "mheVarDS", x, call = call))
}
