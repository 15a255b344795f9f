#' Encrypted contribution to a pooled table (server side)
#'
#' Counts of `rvar` (by `cvar`) over the given levels plus one `NA` slot per
#' variable, last: `(length(rlevels) + 1) x (length(clevels) + 1)` counts,
#' column-major. The given levels must include every level the variable has
#' at the site (for a factor, its levels: metadata), so that no row is ever
#' dropped; otherwise the site refuses. A table has at most 10,000 cells,
#' checked before anything is counted. Each cell count `0 < count <
#' nfilter.tab` is set to 0 (dsBase's `histogramDS2` rule), never refused, so
#' that no answer depends on whether one row has a property.
#'
#' @inheritParams mheMeanDS
#' @param rvar,cvar Categorical variables; `cvar` may be `NULL`.
#' @param rlevels,clevels Levels (from [mheLevelsDS()]), encoded by the
#'   client: base64url of the UTF-8 levels, each prefixed with `.`, joined by
#'   newlines.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheTableDS <- function(rvar, cvar = NULL, rlevels, clevels = NULL, query, sites,
                       epsilon = NULL) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  rlevels <- srv_levels(rlevels, site, "rlevels")
  if (!is.null(cvar)) {
    clevels <- srv_levels(clevels, site, "clevels")
  }
  dp <- !is.null(srv_dp_settings(site))
  values <- srv_table(env, site, rvar, cvar, rlevels, clevels, dp = dp)
  # one row is in one cell: sensitivity 1 (no small-cell zeroing under DP)
  sens <- if (dp) list(l2 = 1, l1 = 1)
  srv_contribute(party, site, query, "table", c(rvar, cvar), sites, values, call = match.call(),
                 sensitivity = sens, epsilon = epsilon)
}

srv_levels <- function(x, site, arg) {
  srv_string(x, site, arg, mhe_b64_pattern, 1e5, "base64url text without padding")
  raw <- rs_call(rs_b64_decode(x), site = site)
  if (any(raw == as.raw(0L))) {
    mhe_server_abort(site, paste0("`", arg, "` must not contain NUL bytes"))
  }
  if (!validUTF8(rawToChar(raw))) {
    mhe_server_abort(site, paste0("`", arg, "` must be UTF-8 text"))
  }
  levels <- mhe_levels_decode(x, site = site)
  if (length(levels) > 1000L || anyDuplicated(levels)) {
    mhe_server_abort(site, paste0("`", arg, "` must hold at most 1000 distinct levels"))
  }
  levels
}
