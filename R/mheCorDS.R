#' Encrypted contribution to a pooled correlation matrix (server side)
#'
#' Over the complete cases of the columns: first round (`means = NULL`) the
#' column sums and the number of complete cases; second round the cross
#' products of the columns centred at the pooled means. Fewer than
#' `nfilter.tab` complete cases contribute zeros; a column concentrated on
#' fewer than `nfilter.tab` rows contributes its median (as [mheMeanDS()]).
#'
#' @inheritParams mheMeanDS
#' @param x A data frame name (`"D"`) or variables separated by commas
#'   (`"D$a,D$b"`).
#' @param means `NULL` or the pooled means as comma-separated hex of doubles.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheCorDS <- function(x, means = NULL, query, sites, bounds = NULL, epsilon = NULL) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  if (!is.null(means)) {
    means <- srv_doubles(means, site, "means")
  }
  kind <- if (is.null(means)) "cor-means" else "cor-cross"
  # every column read, also when `x` names a whole data frame (validates x)
  variables <- colnames(srv_columns(x, env, site))
  settings <- srv_dp_settings(site)
  b <- srv_dp_bounds_all(variables, bounds, site, settings)
  values <- srv_cor(x, env, site, means, b)
  sens <- NULL
  if (!is.null(b)) {
    # round 1: each column sum by max|bounds|, n and rows by 1; round 2: each
    # centred cross product (j, k) by C_j C_k, n by 1
    sens <- if (is.null(means)) {
      srv_dp_sensitivity(c(vapply(b, srv_dp_abs, 0), 1, 1))
    } else {
      cmax <- sqrt(vapply(seq_along(b), function(j) srv_dp_sq(b[[j]], means[j]), 0))
      srv_dp_sensitivity(c(as.vector(outer(cmax, cmax)), 1))
    }
  }
  srv_contribute(party, site, query, kind, variables, sites, values, call = match.call(),
                 sensitivity = sens, epsilon = epsilon)
}
