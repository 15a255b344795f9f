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
#'   With differential privacy on, `dp` as in [ds.mheMean()] (both rounds are
#'   charged).
#' @family client functions
#' @export
ds.mheVar <- function(x, datasources = NULL, type = "combine", epsilon = NULL,
                      bounds = NULL) {
  mhe_check_type(type, instead = "For the mean and its counts use {.fn ds.mheMean}.")
  conns <- mhe_conns(datasources)
  x <- mhe_check_variable(x)
  dp_args <- mhe_dp_args(bounds, epsilon, x)
  mhe_run(conns, function(run, call) {
    moments <- mhe_pooled_var(run, "mheVarDS", x, call = call, dp_args = dp_args)
    n <- moments$n
    mhe_dp_result(structure(list(
      var = moments$var, mean = moments$mean, n = n,
      Nvalid = n, Nmissing = moments$n_missing, Ntotal = n + moments$n_missing, variable = x
    ), class = "mhe_var"), moments$dp)
  })
}

# Pooled mean and variance by two encrypted rounds (`fun` is mheVarDS), in a
# statistic's run (`mhe_run()`): list(var, mean, n, n_missing, dp), `dp` the
# DP facts of both rounds (NULL with DP off), `dp_args` the rounds' DP
# arguments (`mhe_dp_args()`).
mhe_pooled_var <- function(run, fun, x, call = rlang::caller_env(), dp_args = list()) {
  first <- mhe_query(run, fun, c(list(x, NULL), dp_args), call = call)
  m <- mhe_unpack(mhe_layout("mean"), first, call)
  second <- NULL
  n <- m$n
  mean <- m$sum / n
  var <- NA_real_
  if (mhe_count(n) >= 2) {
    second <- mhe_query(run, fun, c(list(x, mhe_dbl_encode(mean)), dp_args), call = call)
    var <- mhe_unpack(mhe_layout("ss"), second, call)$ss / (n - 1)
  }
  list(var = var, mean = mean, n = mhe_count(n), n_missing = mhe_count(m$missing),
       dp = mhe_dp_bind(attr(first, "dp"), attr(second, "dp")))
}
