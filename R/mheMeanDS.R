#' Encrypted contribution to a pooled mean (server side)
#'
#' The site computes the sum of the valid values of `x`, their number and the
#' number of other rows, and returns them encrypted under the collective key,
#' bound to the query and signed. Nothing is refused on the strength of the
#' data (a refusal would answer a question about it): a site with `0 < n
#' valid < nfilter.tab` contributes a sum and a count of 0 (its rows count as
#' missing), and a variable whose deviation from its median is carried by
#' fewer than `nfilter.tab` effective rows contributes its median in every
#' valid row (see [mheHistogramDS()] for the measure). With differential
#' privacy on (`mhe.dp.epsilon`, see [dsMHE-options]) these rules are off:
#' every valid value is clipped to the bounds and the site adds its noise
#' share before it encrypts.
#'
#' @param x Numeric variable, e.g. `"D$age"`.
#' @param bounds Clipping bounds under differential privacy, as text
#'   `"D$x:lower:upper"` (several joined by `;`), intersected with the
#'   admin's `mhe.dp.bounds`; ignored with DP off.
#' @param epsilon This query's epsilon under differential privacy (at most
#'   the site's `mhe.dp.query.epsilon`, its default); ignored with DP off.
#' @param query Query id (22 base64url characters).
#' @param sites Participating sites, comma-separated, this site included.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheMeanDS <- function(x, query, sites, bounds = NULL, epsilon = NULL) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  settings <- srv_dp_settings(site)
  b <- srv_dp_bounds_all(x, bounds, site, settings)[[x]]
  values <- srv_mean(x, env, site, b)
  sens <- if (!is.null(b)) srv_dp_sensitivity(c(srv_dp_abs(b), 1))
  srv_contribute(party, site, query, "mean", x, sites, values, call = match.call(),
                 sensitivity = sens, epsilon = epsilon)
}
