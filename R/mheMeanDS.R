#' Encrypted contribution to a pooled mean (server side)
#'
#' The site computes the sum of the valid values of `x`, their number and the
#' number of other rows, and returns them encrypted under the collective key,
#' bound to the query and signed. Nothing is refused on the strength of the
#' data (a refusal would answer a question about it): a site with `0 < n
#' valid < nfilter.tab` contributes a sum and a count of 0 (its rows count as
#' missing), and a variable whose deviation from its median is carried by
#' fewer than `nfilter.tab` effective rows contributes its median in every
#' valid row (see [mheHistogramDS()] for the measure).
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
  values <- srv_mean(x, env, site)
  srv_contribute(party, site, query, "mean", x, sites, values, call = match.call(),
                 widths = mhe_layout_widths(mhe_layout("mean"), length(sites)))
}
