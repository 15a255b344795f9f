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
mheCorDS <- function(x, means = NULL, query, sites) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  if (!is.null(means)) {
    means <- srv_doubles(means, site, "means")
  }
  kind <- if (is.null(means)) "cor-means" else "cor-cross"
  values <- srv_cor(x, env, site, means) # validates x
  # every column read, also when `x` names a whole data frame
  variables <- colnames(srv_columns(x, env, site))
  srv_contribute(party, site, query, kind, variables, sites, values, call = match.call())
}
