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
mheSummaryDS <- function(x, means = NULL, query, sites, bounds = NULL, epsilon = NULL) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  vars <- srv_summary_variables(x, site)
  settings <- srv_dp_settings(site)
  b <- srv_dp_bounds_all(vars, bounds, site, settings)
  ones <- rep(1, length(vars))
  if (is.null(means)) {
    values <- lapply(vars, function(v) srv_mean(v, env, site, b[[v]]))
    kind <- "summary-mean"
    # a row moves each variable's sum by max|bounds| and its n or missing by 1
    sens <- if (!is.null(b)) srv_dp_sensitivity(c(vapply(b, srv_dp_abs, 0), ones))
  } else {
    means <- srv_doubles(means, site, "means", n = length(vars))
    values <- lapply(seq_along(vars), function(j) {
      srv_ss(vars[j], env, site, means[j], b[[vars[j]]])
    })
    kind <- "summary-ss"
    sens <- if (!is.null(b)) {
      srv_dp_sensitivity(c(vapply(seq_along(vars), function(j) srv_dp_sq(b[[j]], means[j]), 0),
                           ones))
    }
  }
  srv_contribute(party, site, query, kind, vars, sites, unlist(values), call = match.call(),
                 sensitivity = sens, epsilon = epsilon)
}

# At most this many variables per summary (checked by client and server).
mhe_summary_max_variables <- 200L

# The variables of a summary, "D$a,D$b": at most mhe_summary_max_variables,
# distinct, each a variable name (checked again when it is read).
srv_summary_variables <- function(x, site) {
  max <- mhe_summary_max_variables
  srv_string(x, site, "x", "^[A-Za-z0-9._$]+(,[A-Za-z0-9._$]+)*$", 201L * max,
             "variable names separated by commas")
  vars <- strsplit(x, ",", fixed = TRUE)[[1]]
  if (length(vars) > max) {
    mhe_server_abort(site, paste0(
      "`x` must name at most ", max, " variables, not ", length(vars)
    ))
  }
  if (anyDuplicated(vars)) {
    mhe_server_abort(site, paste0(
      "`x` must name distinct variables; `", vars[anyDuplicated(vars)], "` appears twice"
    ))
  }
  vars
}
