#' Encrypted contribution to a pooled mean (server side)
#'
#' The site computes the sum of the valid values of `x`, their number and the
#' number missing; refuses when `0 < n valid < nfilter.tab` (dsBase `meanDS`
#' rule); and returns them encrypted under the collective key, bound to the
#' query and signed.
#'
#' @param x Numeric variable, e.g. `"D$age"`.
#' @param query Query id (22 base64url characters).
#' @param sites Participating sites, comma-separated, this site included.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheMeanDS <- function(x, query, sites) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  values <- local_mean(x, env, site)
  srv_contribute(party, site, query, "mean", x, sites, values)
}
