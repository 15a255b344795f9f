#' Pooled mean over DataSHIELD sites, encrypted
#'
#' Each site encrypts the sum of the valid values of `x`, their number and the
#' number missing; only the pooled sums are decrypted. A site with
#' `0 < n valid < nfilter.tab` contributes zeros (its rows count as missing),
#' so that no answer depends on whether one row is valid; a column whose
#' deviations from its median sit on fewer than `nfilter.tab` rows contributes
#' its median in every valid row. The
#' plaintext counterpart is `ds.mean(type = "combine")`.
#'
#' @param x Numeric variable on the sites, e.g. `"D$age"`.
#' @param datasources A list of DataSHIELD connections; `NULL` (default) finds
#'   them with [DSI::datashield.connections_find()].
#' @param type `"combine"` (the default, also spelled `"combined"`,
#'   `"combines"` or `"c"` as in dsBaseClient): the pooled result. dsBase's
#'   `"split"` (one result per site) is refused with an error of class
#'   `dsMHE_error_split`: per-site results are what dsMHE exists not to
#'   reveal.
#' @param epsilon Differential privacy (at sites whose admin turned it on):
#'   this query's epsilon at each site, at most (and by default) the site's
#'   `mhe.dp.query.epsilon`. Ignored by sites with DP off.
#' @param bounds Differential privacy: clipping bounds, `c(lower, upper)` for
#'   every variable or a list of them named by variable. A site intersects
#'   them with its admin's `mhe.dp.bounds` (the admin's win); a site with DP
#'   on and no bounds from either refuses. Ignored by sites with DP off.
#' @returns An object of class `mhe_mean`, a list: `mean`, `n` (valid
#'   values), `n_missing`, and dsBase's names for the counts, `Nvalid` (=
#'   `n`), `Nmissing` (= `n_missing`) and `Ntotal`; `variable`. Its attribute
#'   `sites` names the sites that contributed (see [ds.mheSetup()] on sites
#'   that fail in a t-of-N session). It prints the pooled mean, the counts and
#'   the sites. With differential privacy on at some site, the field `dp`
#'   holds the sites' DP facts (a data frame, one row per site and round; see
#'   the attribute `dp` of pooled values in `R/client-dp.R`): mechanism,
#'   `epsilon`, `delta`, `rho`, the noise sd `sigma` per site, the budget left
#'   (`budget_left_rho`, `epsilon_spent`); the pooled sum and counts carry
#'   noise of variance `sum(dp$variance)` each, and the print shows them.
#' @family client functions
#' @export
#' @examples
#' \dontrun{
#' ds.mheSetup(conns)
#' ds.mheMean("D$LAB_TSC", datasources = conns)
#' }
ds.mheMean <- function(x, datasources = NULL, type = "combine", epsilon = NULL,
                       bounds = NULL) {
  mhe_check_type(type, instead = "For the spread use {.fn ds.mheVar}; for the distribution {.fn ds.mheHistogram}.")
  conns <- mhe_conns(datasources)
  x <- mhe_check_variable(x)
  dp_args <- mhe_dp_args(bounds, epsilon, x)
  mhe_run(conns, function(run, call) {
    pooled <- mhe_query(run, "mheMeanDS", c(list(x), dp_args), call = call)
    v <- mhe_unpack(mhe_layout("mean"), pooled, call)
    n <- mhe_count(v$n)
    n_missing <- mhe_count(v$missing)
    mhe_dp_result(structure(list(
      mean = v$sum / v$n, n = n, n_missing = n_missing,
      Nvalid = n, Nmissing = n_missing, Ntotal = n + n_missing, variable = x
    ), class = "mhe_mean"), attr(pooled, "dp"))
  })
}
