#' Pooled variance over DataSHIELD sites, encrypted
#'
#' Two encrypted rounds for numerical accuracy: the pooled mean first, then
#' the pooled sum of squared deviations from it (the mean travels to the sites
#' exactly, as the hex of its bytes). Missing values are dropped; a site with
#' `0 < n valid < nfilter.tab` contributes zeros, as in [ds.mheMean()]. The plaintext counterpart is
#' `ds.var(type = "combine")`.
#'
#' @inheritParams ds.mheMean
#' @returns An object of class `mhe_var`, a list: `var` (sample variance,
#'   denominator `n - 1`), `mean`, `n`, and dsBase's `Nvalid` (= `n`),
#'   `Nmissing` and `Ntotal`; `variable`. Attribute `sites` as in
#'   [ds.mheMean()]. It prints the pooled variance, the counts and the sites.
#' @family client functions
#' @export
ds.mheVar <- function(x, datasources = NULL, type = "combine") {
  mhe_check_type(type, instead = "For the mean and its counts use {.fn ds.mheMean}.")
  conns <- mhe_conns(datasources)
  x <- mhe_check_variable(x)
  mhe_run(conns, function(run, call) {
    m <- mhe_unpack(mhe_layout("mean"), mhe_query(run, "mheVarDS", list(x, NULL), call = call), call)
    n <- mhe_count(m$n)
    n_missing <- mhe_count(m$missing)
    mean <- m$sum / m$n
    var <- if (n < 2) {
      NA_real_
    } else {
      ss <- mhe_query(run, "mheVarDS", list(x, mhe_dbl_encode(mean)), call = call)
      mhe_unpack(mhe_layout("ss"), ss, call)$ss / (m$n - 1)
    }
    structure(list(
      var = var, mean = mean, n = n,
      Nvalid = n, Nmissing = n_missing, Ntotal = n + n_missing, variable = x
    ), class = "mhe_var")
  })
}
