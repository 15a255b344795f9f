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
#' @returns An object of class `mhe_mean`, a list: `mean`, `n` (valid
#'   values), `n_missing`, and dsBase's names for the counts, `Nvalid` (=
#'   `n`), `Nmissing` (= `n_missing`) and `Ntotal`; `variable`. Its attribute
#'   `sites` names the sites that contributed (see [ds.mheSetup()] on sites
#'   that fail in a t-of-N session). It prints the pooled mean, the counts and
#'   the sites.
#' @family client functions
#' @export
#' @examples
#' \dontrun{
#' ds.mheSetup(conns)
#' ds.mheMean("D$LAB_TSC", datasources = conns)
#' }
ds.mheMean <- function(x, datasources = NULL, type = "combine") {
  mhe_check_type(type, instead = "For the spread use {.fn ds.mheVar}; for the distribution {.fn ds.mheHistogram}.")
  conns <- mhe_conns(datasources)
  x <- mhe_check_variable(x)
  mhe_run(conns, function(run, call) {
    v <- mhe_unpack(mhe_layout("mean"), mhe_query(run, "mheMeanDS", list(x), call = call), call)
    n <- mhe_count(v$n)
    n_missing <- mhe_count(v$missing)
    structure(list(
      mean = v$sum / v$n, n = n, n_missing = n_missing,
      Nvalid = n, Nmissing = n_missing, Ntotal = n + n_missing, variable = x
    ), class = "mhe_mean")
  })
}
