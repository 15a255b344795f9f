#' Pooled mean over DataSHIELD sites, encrypted
#'
#' Each site encrypts the sum of the valid values of `x`, their number and the
#' number missing; only the pooled sums are decrypted. A site with
#' `0 < n valid < nfilter.tab` refuses, as dsBase's `meanDS` does. The
#' plaintext counterpart is `ds.mean(type = "combine")`.
#'
#' @param x Numeric variable on the sites, e.g. `"D$age"`.
#' @param datasources A list of DataSHIELD connections; `NULL` (default) finds
#'   them with [DSI::datashield.connections_find()].
#' @returns A list: `mean`, `n` (valid values), `n_missing`; its attribute
#'   `sites` names the sites that contributed (see [ds.mheSetup()] on sites
#'   that fail in a t-of-N session).
#' @family client functions
#' @export
#' @examples
#' \dontrun{
#' ds.mheSetup(conns)
#' ds.mheMean("D$LAB_TSC", datasources = conns)
#' }
ds.mheMean <- function(x, datasources = NULL) {
  conns <- mhe_conns(datasources)
  x <- mhe_check_variable(x)
  mhe_run(conns, function(conns, call) {
    v <- mhe_query(conns, "mheMeanDS", list(x), call = call)
    list(mean = v[1] / v[2], n = mhe_count(v[2]), n_missing = mhe_count(v[3]))
  })
}
