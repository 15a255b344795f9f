# Client side: differential privacy (issue 14) ------------------------------
#
# With DP on at a site (its admin set `mhe.dp.epsilon`), its contribution
# carries its noise share and the signed DP facts; `rs_pool()` returns them
# per site and `mhe_query()` attaches them to the pooled vector as the
# attribute "dp":
#
# - NULL when no contributing site has DP on (results exact, as before);
# - else a data frame, one row per site with DP on, columns `site`, `kind`
#   (the query's kind), `mechanism`, `epsilon` (this query's, achieved),
#   `delta`, `rho` (its zCDP cost), `sigma` (sd of the site's noise share per
#   value, in the units of the values), `variance` (its variance), `grid_bits`,
#   `honest` (honest sites the calibration assumes), `analyst` (the identity
#   charged: a pinned key's fingerprint or "unpinned"), `budget_total_rho`,
#   `budget_spent_rho`, `budget_left_rho`, `epsilon_spent` (at `delta`, this
#   query included) and `queries`.
#
# The pooled value's noise is the sum of the sites' shares: its variance per
# value is `sum(dp$variance)` (`mhe_dp_noise_variance()`), the same for every
# value of the vector, in the values' units squared. Statistics derived from
# the pooled values (a mean is sum / n, a GLM's score and information) carry
# it through their own formulas (dpb: GLM standard errors, survival bands).

mhe_dp_frame <- function(dp, kind) {
  if (is.null(dp)) {
    return(NULL)
  }
  on <- Filter(Negate(is.null), dp)
  if (!length(on)) {
    return(NULL)
  }
  rows <- lapply(names(on), function(site) {
    f <- on[[site]]
    data.frame(site = site, kind = kind, f, stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  out
}

#' Noise variance of a pooled value under differential privacy
#'
#' The variance of the noise in each value of a pooled vector: the sum of the
#' sites' share variances, in the values' units squared (0 when no site has
#' differential privacy on).
#'
#' @param dp The `dp` attribute of a pooled vector, or the `dp` field of a
#'   result.
#' @returns A number.
#' @keywords internal
#' @noRd
mhe_dp_noise_variance <- function(dp) {
  if (is.null(dp)) 0 else sum(dp$variance)
}

# The DP facts of several rounds of one statistic, stacked (NULL if none).
mhe_dp_bind <- function(...) {
  parts <- Filter(Negate(is.null), list(...))
  if (!length(parts)) {
    return(NULL)
  }
  out <- do.call(rbind, parts)
  rownames(out) <- NULL
  out
}

# The analyst's bounds as the server argument: "D$age:0:120;D$bmi:10:60".
# `bounds` is c(lower, upper) for every variable, or a named list of them.
mhe_dp_bounds_arg <- function(bounds, variables, arg = "bounds",
                              call = rlang::caller_env()) {
  if (is.null(bounds)) {
    return(NULL)
  }
  pair <- function(b) is.numeric(b) && length(b) == 2L && all(is.finite(b)) && b[1] <= b[2]
  if (is.numeric(bounds)) {
    if (!pair(bounds)) {
      mhe_abort("{.arg {arg}} must be c(lower, upper) with finite numbers, lower <= upper.",
                class = "input", call = call)
    }
    bounds <- stats::setNames(rep(list(bounds), length(variables)), variables)
  }
  ok <- is.list(bounds) && !is.null(names(bounds)) && all(vapply(bounds, pair, TRUE)) &&
    all(names(bounds) %in% variables)
  if (!ok) {
    mhe_abort(c(
      "{.arg {arg}} must be c(lower, upper) or a list of them named by variable.",
      i = "Variables: {.val {variables}}."
    ), class = "input", call = call)
  }
  num <- function(x) {
    txt <- format(x, digits = 17, scientific = FALSE, trim = TRUE)
    if (nchar(txt) > 40) format(x, digits = 17, scientific = TRUE, trim = TRUE) else txt
  }
  paste(vapply(names(bounds), function(v) {
    paste0(v, ":", num(bounds[[v]][1]), ":", num(bounds[[v]][2]))
  }, ""), collapse = ";")
}

# A number as the sites parse it from the call's text: deparse() keeps 15
# significant digits, so 1/3 would arrive changed (and the Opal-rule check of
# the tests refuses a number that does not survive the trip). The client
# rounds first, so that what it computes with is what the sites use.
mhe_wire_number <- function(x) {
  if (is.numeric(x) && length(x) == 1L && is.finite(x)) as.numeric(deparse(x)) else x
}

# The analyst's epsilon for a query (NULL: each site's default).
mhe_dp_epsilon_arg <- function(epsilon, call = rlang::caller_env()) {
  if (is.null(epsilon)) {
    return(NULL)
  }
  ok <- is.numeric(epsilon) && length(epsilon) == 1L && !is.na(epsilon) &&
    is.finite(epsilon) && epsilon > 0
  if (!ok) {
    mhe_abort("{.arg epsilon} must be a positive number.", class = "input", call = call)
  }
  mhe_wire_number(as.double(epsilon))
}

# The server call's extra arguments for DP (none when both are NULL, so the
# call is the same as without DP).
mhe_dp_args <- function(bounds, epsilon, variables, call = rlang::caller_env()) {
  args <- list()
  b <- mhe_dp_bounds_arg(bounds, variables, call = call)
  e <- mhe_dp_epsilon_arg(epsilon, call = call)
  if (!is.null(b)) args$bounds <- b
  if (!is.null(e)) args$epsilon <- e
  args
}

# Lines of a result's DP facts for its print method (none when DP is off):
# per site and round, the mechanism, epsilon, the noise sd and the budget
# left.
mhe_format_dp <- function(dp, digits = 3L) {
  if (is.null(dp) || !nrow(dp)) {
    return(character())
  }
  f <- function(x) format(signif(x, digits), scientific = abs(x) < 1e-3 && x != 0)
  lines <- vapply(seq_len(nrow(dp)), function(i) {
    r <- dp[i, ]
    paste0(
      "  ", r$site, " [", r$kind, "]: epsilon ", f(r$epsilon), ", delta ", f(r$delta),
      ", noise sd ", f(r$sigma), "; budget left: rho ", f(r$budget_left_rho),
      " (epsilon spent ", f(r$epsilon_spent), ", ", r$queries, " queries)"
    )
  }, "")
  c(
    paste0("Differential privacy: ", dp$mechanism[1], "; pooled noise sd ",
           f(sqrt(sum(dp$variance[dp$kind == dp$kind[nrow(dp)]]))), " per value"),
    lines
  )
}

# Analyst key -----------------------------------------------------------------

#' The analyst's long-term key for differential-privacy budgets
#'
#' Sites with differential privacy on charge every query to the analyst's
#' budget. They know an analyst by a long-term signing key that their admins
#' pin in `mhe.dp.analysts` (as `name:fingerprint`): [ds.mheSetup()] proves
#' the key to every site by signing a challenge bound to that site and
#' session. An analyst without a pinned key shares one budget with every other
#' unpinned analyst at that site (`unpinned`), so neither a new key nor a new
#' login refills anything.
#'
#' `ds.mheAnalystKey()` returns the fingerprint to send to the sites' admins,
#' creating the key file first if it does not exist. The default path is the
#' option `mhe.analyst.key`, else `analyst.key` in
#' `tools::R_user_dir("dsMHE", "config")`. Keep the file private (mode 0600):
#' whoever holds it spends its budget.
#'
#' @param path Path of the key file.
#' @returns The key's fingerprint (hex), invisibly after creating it.
#' @export
#' @examples
#' \dontrun{
#' ds.mheAnalystKey()
#' }
ds.mheAnalystKey <- function(path = mhe_analyst_key_path()) {
  path <- mhe_analyst_key_file(path, create = TRUE)
  rs_call(rs_key_file_fingerprint(path))
}

mhe_analyst_key_path <- function() {
  value <- getOption("mhe.analyst.key")
  if (!is.null(value)) {
    return(value)
  }
  file.path(tools::R_user_dir("dsMHE", "config"), "analyst.key")
}

mhe_analyst_key_file <- function(path, create, call = rlang::caller_env()) {
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path)) {
    mhe_abort("{.arg analyst_key} must be a file path.", class = "input", call = call)
  }
  path <- path.expand(path)
  if (!file.exists(path)) {
    if (!create) {
      mhe_abort("No analyst key file at {.path {path}}.", class = "input", call = call)
    }
    dir.create(dirname(path), recursive = TRUE, showWarnings = FALSE, mode = "0700")
    rs_call(rs_key_file_create(path))
  }
  path
}

# Setup step: prove the analyst's key to every site (one aggregate call);
# returns the identity each site charges, named by site.
mhe_analyst_prove <- function(conns, identities, analyst_key, call = rlang::caller_env()) {
  if (isFALSE(analyst_key) || is.null(analyst_key)) {
    return(NULL)
  }
  path <- mhe_analyst_key_file(analyst_key, create = TRUE, call = call)
  proofs <- lapply(names(conns), function(site) {
    rs_call(rs_analyst_sign(path, identities[[site]]))
  })
  names(proofs) <- names(conns)
  answers <- mhe_aggregate(conns, mhe_calls(conns, function(site) {
    call("mheAnalystDS", proofs[[site]]$key, proofs[[site]]$signature)
  }), call = call)
  vapply(answers[names(conns)], function(a) as.character(a$analyst), "")
}

# A result with its DP facts: the field `dp` (for a data frame result, the
# attribute `dp`); unchanged when DP is off, so results print and compare as
# before.
mhe_dp_result <- function(result, dp) {
  if (is.null(dp)) {
    return(result)
  }
  if (is.data.frame(result)) {
    attr(result, "dp") <- dp
  } else {
    result$dp <- dp
  }
  result
}
