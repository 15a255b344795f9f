#' Encrypted contribution to a pooled variance (server side)
#'
#' Two rounds: without `mean`, as [mheMeanDS()]; with the pooled `mean`, the
#' sum of squared deviations of the valid values from it and their number,
#' with [mheMeanDS()]'s rules (the same values in both rounds).
#'
#' @inheritParams mheMeanDS
#' @param mean `NULL` (first round) or the pooled mean as the hex of its
#'   IEEE 754 bytes (16 hex digits), so that it travels exactly.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheVarDS <- function(x, mean = NULL, query, sites, bounds = NULL, epsilon = NULL) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  settings <- srv_dp_settings(site)
  b <- srv_dp_bounds_all(x, bounds, site, settings)[[x]]
  if (is.null(mean)) {
    sens <- if (!is.null(b)) srv_dp_sensitivity(c(srv_dp_abs(b), 1))
    return(srv_contribute(party, site, query, "var-mean", x, sites, srv_mean(x, env, site, b),
                          call = match.call(), sensitivity = sens, epsilon = epsilon))
  }
  mean <- srv_doubles(mean, site, "mean", n = 1L)
  sens <- if (!is.null(b)) srv_dp_sensitivity(c(srv_dp_sq(b, mean), 1))
  srv_contribute(party, site, query, "var-ss", x, sites, srv_ss(x, env, site, mean, b),
                 call = match.call(), sensitivity = sens, epsilon = epsilon)
}
