#' Encrypted contribution to pooled summaries of many variables (server side)
#'
#' One contribution for every variable of `x`, with exactly the local
#' aggregates and rules of the per-variable functions, so that a summary
#' releases what [mheMeanDS()] and [mheVarDS()] called on each variable
#' would: first round (`means = NULL`), for each variable in turn, the sum of
#' its usable values, their number and the number of other rows; second
#' round, for each variable, the sum of squared deviations of its usable
#' values from its pooled mean, and their number. A variable with `0 < n
#' valid < nfilter.tab` contributes zeros, and one concentrated on fewer than
#' `nfilter.tab` rows contributes its median in every valid row (see
#' [mheMeanDS()]). A variable that does not exist or is not numeric is an
#' error naming the site and the variable.
#'
#' @inheritParams mheMeanDS
#' @param x Variables separated by commas, e.g. `"D$age,D$bmi"`: 1 to 200
#'   distinct variables.
#' @param means `NULL` (first round) or the pooled means of the variables, in
#'   the order of `x`, as comma-separated hex of their IEEE 754 bytes.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheSummaryDS <- function(x, means = NULL, query, sites) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  vars <- srv_variable_list(x, site, mhe_summary_max_variables)
  if (is.null(means)) {
    values <- lapply(vars, srv_mean, env = env, site = site)
    kind <- "summary-mean"
  } else {
    means <- srv_doubles(means, site, "means", n = length(vars))
    values <- lapply(seq_along(vars), function(j) srv_ss(vars[j], env, site, means[j]))
    kind <- "summary-ss"
  }
  srv_contribute(party, site, query, kind, vars, sites, unlist(values), call = match.call())
}

# At most this many variables per summary (checked by client and server).
mhe_summary_max_variables <- 200L
