# Server side: differential privacy (issue 14) ------------------------------
#
# The site's admin turns differential privacy on with `mhe.dp.epsilon` (see
# `?dsMHE-options`). Then every statistic under DP clips each row to bounds
# (admin's `mhe.dp.bounds`, intersected with the analyst's), states the
# sensitivity of its values (one row added or removed, after clipping) to
# `srv_contribute()`, and the Rust core adds this site's discrete Gaussian
# noise share before it encrypts, charges the analyst's budget in the audit
# file, and signs the DP facts with the contribution. The options are read at
# every contribution, from the site's own options: never from the analyst.
#
# With DP on, the disclosure rules that act on the exact local data are off
# for the statistics under DP (`srv_usable()`'s small-n zeroing and median
# substitution, `srv_zero_small()`'s small-cell zeroing): each is a decision
# taken on the exact data that moves the release by more than one clipped row
# when one row is added (a cell of nfilter.tab - 1 rows jumps to 0, a variable
# with 2 valid values contributes nothing, with 3 everything), so keeping
# them would void the sensitivity the guarantee rests on. The noise replaces
# them, with a proof (rust/mhe/DP.md, section 8.6).

# A positive number option that may come as text from a server profile.
srv_dp_number <- function(name, site, default = NULL, lower = 0, upper = Inf,
                          lower_open = TRUE, upper_open = FALSE) {
  value <- getOption(name)
  if (is.null(value)) {
    return(default)
  }
  if (is.character(value)) value <- suppressWarnings(as.numeric(value))
  ok <- is.numeric(value) && length(value) == 1L && !is.na(value) && is.finite(value) &&
    (if (lower_open) value > lower else value >= lower) &&
    (if (upper_open) value < upper else value <= upper)
  if (!ok) {
    range <- paste0(if (lower_open) "(" else "[", lower, ", ", upper, if (upper_open) ")" else "]")
    mhe_server_abort(site, paste0(
      "the server option `", name, "` must be a number in ", range
    ))
  }
  as.double(value)
}

# Bounds as text, `"D$age:0:120;D$bmi:10:60"`, to a named list of c(lo, hi).
# `what` names the source in messages.
srv_dp_bounds_parse <- function(text, site, what) {
  if (is.null(text)) {
    return(list())
  }
  if (!is.character(text) || length(text) != 1L || is.na(text)) {
    mhe_server_abort(site, paste0(what, " must be one string such as \"D$age:0:120;D$bmi:10:60\""))
  }
  items <- strsplit(text, ";", fixed = TRUE)[[1]]
  items <- trimws(items[nzchar(trimws(items))])
  out <- list()
  for (item in items) {
    parts <- strsplit(item, ":", fixed = TRUE)[[1]]
    lo <- suppressWarnings(as.numeric(parts[2]))
    hi <- suppressWarnings(as.numeric(parts[3]))
    ok <- length(parts) == 3L && grepl(mhe_variable_pattern, parts[1], perl = TRUE) &&
      !is.na(lo) && !is.na(hi) && is.finite(lo) && is.finite(hi) && lo <= hi &&
      !(lo == 0 && hi == 0) && !parts[1] %in% names(out)
    if (!ok) {
      mhe_server_abort(site, paste0(
        what, ": `", item, "` must be `variable:lower:upper` with finite numbers, ",
        "lower <= upper, not both 0, each variable once"
      ))
    }
    out[[parts[1]]] <- c(lo, hi)
  }
  out
}

# `mhe.dp.analysts`: pinned analyst keys, "name:fingerprint,..." (or bare
# fingerprints); a named character vector of lower-case fingerprints.
srv_dp_analysts <- function(site) {
  value <- getOption("mhe.dp.analysts")
  if (is.null(value) || all(is.na(value))) {
    return(character())
  }
  items <- trimws(unlist(strsplit(as.character(value), "[,[:space:]]+")))
  items <- items[nzchar(items)]
  fp <- sub("^.*:", "", items)
  name <- ifelse(grepl(":", items, fixed = TRUE), sub(":[^:]*$", "", items), fp)
  if (!all(grepl("^[0-9a-fA-F]{16,128}$", fp))) {
    mhe_server_abort(site, paste0(
      "the server option `mhe.dp.analysts` must be `name:fingerprint` items (hex ",
      "fingerprints, as ds.mheAnalystKey() prints them) separated by commas"
    ))
  }
  stats::setNames(tolower(fp), name)
}

# The site's DP settings from its admin's options: NULL when
# `mhe.dp.epsilon` is unset (DP off: every result exact and unchanged), else
# list(epsilon, delta, query_epsilon, bounds, analysts).
srv_dp_settings <- function(site) {
  epsilon <- srv_dp_number("mhe.dp.epsilon", site)
  if (is.null(epsilon)) {
    return(NULL)
  }
  delta <- srv_dp_number("mhe.dp.delta", site, default = 1e-6, upper = 1, upper_open = TRUE)
  query <- srv_dp_number("mhe.dp.query.epsilon", site, default = min(epsilon, 1))
  if (query > epsilon) {
    mhe_server_abort(site, paste0(
      "the server option `mhe.dp.query.epsilon` (", query, ") must not exceed ",
      "`mhe.dp.epsilon` (", epsilon, ")"
    ))
  }
  list(
    epsilon = epsilon, delta = delta, query_epsilon = query,
    bounds = srv_dp_bounds_parse(getOption("mhe.dp.bounds"), site,
                                 "the server option `mhe.dp.bounds`"),
    analysts = srv_dp_analysts(site)
  )
}

# A refusal of a DP rule, typed as the Rust core types its own
# (`dsMHE_error_refused_<kind>`), with the kind in the message so that the
# analyst's side reads it back.
srv_dp_refuse <- function(site, rule, kind = "dp_unsupported") {
  mhe_server_abort(site, paste0("refused: ", rule, " [", kind, "]"),
                   class = c(paste0("refused_", kind), "refused"))
}

# The effective clipping bounds c(lo, hi) of `variable`: the admin's
# (`mhe.dp.bounds`) intersected with the analyst's `bounds` (c(lo, hi) or
# NULL), so the admin's always win; NULL when DP is off (nothing is clipped);
# with DP on and no bounds from anyone, a refusal saying how to give them.
srv_dp_bounds <- function(variable, bounds, site, settings = srv_dp_settings(site)) {
  if (is.null(settings)) {
    return(NULL)
  }
  admin <- settings$bounds[[variable]]
  if (is.null(admin) && is.null(bounds)) {
    srv_dp_refuse(site, paste0(
      "differential privacy needs clipping bounds for `", variable, "`: give them with ",
      "`bounds = c(lower, upper)` (or `bounds = list(\"", variable, "\" = c(lower, upper))`), ",
      "or ask this site's admin to set them in `mhe.dp.bounds`"
    ))
  }
  if (is.null(admin)) {
    return(bounds)
  }
  if (is.null(bounds)) {
    return(admin)
  }
  lo <- max(admin[1], bounds[1])
  hi <- min(admin[2], bounds[2])
  if (lo > hi) {
    srv_dp_refuse(site, paste0(
      "the bounds given for `", variable, "` do not overlap this site's (",
      admin[1], " to ", admin[2], ")"
    ))
  }
  c(lo, hi)
}

# The analyst's bounds argument of a server function, "D$x:lo:hi;...", as a
# named list (NULL when not given).
srv_dp_bounds_arg <- function(bounds, site) {
  if (is.null(bounds)) {
    return(list())
  }
  srv_string(bounds, site, "bounds", mhe_grammar, 2e4,
             "bounds as text such as \"D$age:0:120;D$bmi:10:60\"")
  srv_dp_bounds_parse(bounds, site, "`bounds`")
}

# Effective bounds of each of `variables` (a named list, NULL when DP is off).
srv_dp_bounds_all <- function(variables, bounds, site, settings) {
  if (is.null(settings)) {
    return(NULL)
  }
  given <- srv_dp_bounds_arg(bounds, site)
  stats::setNames(lapply(variables, function(v) {
    srv_dp_bounds(v, given[[v]], site, settings)
  }), variables)
}

# The query's epsilon: the admin's per-query default, or what the analyst
# asked for if it is less; more is refused.
srv_dp_epsilon <- function(epsilon, settings, site) {
  if (is.null(epsilon)) {
    return(settings$query_epsilon)
  }
  ok <- is.numeric(epsilon) && length(epsilon) == 1L && !is.na(epsilon) &&
    is.finite(epsilon) && epsilon > 0
  if (!ok) {
    mhe_server_abort(site, "`epsilon` must be a positive number")
  }
  if (epsilon > settings$query_epsilon) {
    srv_dp_refuse(site, paste0(
      "`epsilon` = ", epsilon, " exceeds this site's per-query epsilon (",
      settings$query_epsilon, ", `mhe.dp.query.epsilon`): ask for that or less"
    ))
  }
  as.double(epsilon)
}

# Clip to bounds c(lo, hi) (NULL: unchanged).
srv_clip <- function(v, bounds) {
  if (is.null(bounds)) v else pmin(pmax(v, bounds[1]), bounds[2])
}

# Largest |value| in bounds.
srv_dp_abs <- function(bounds) max(abs(bounds))

# Largest squared deviation from `m` of a value in bounds.
srv_dp_sq <- function(bounds, m) max((bounds - m)^2)

# Sensitivity list(l2, l1) from per-coordinate bounds on one row's change
# (the row changes each coordinate by at most `b[j]`, in the values' units).
srv_dp_sensitivity <- function(b) list(l2 = sqrt(sum(b^2)), l1 = sum(b))

#' Prove the analyst's long-term key to this site (server side)
#'
#' Called by [ds.mheSetup()] when the analyst has a key (see
#' [ds.mheAnalystKey()]): the analyst signs this site's challenge, a digest of
#' the site's identity for this session (which carries the session and the
#' site's fresh key-agreement key, so the signature serves this site and
#' session only). With a valid signature of a key pinned by the admin in
#' `mhe.dp.analysts`, the site charges this session's queries to that key's
#' differential-privacy budget; any other analyst is charged to the one budget
#' all unpinned analysts share (`unpinned`).
#'
#' @param key The analyst's verification key (64 hex characters).
#' @param signature The signature of the challenge (128 hex characters).
#' @returns A list: `analyst`, the identity the site charges (a fingerprint
#'   or `"unpinned"`), and `dp`, whether this site has DP on.
#' @seealso [ds.mheAnalystKey()], [dsMHE-options]
#' @export
mheAnalystDS <- function(key, signature) {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  key <- srv_string(key, site, "key", "^[0-9a-f]{64}$", 64L, "64 hex characters")
  signature <- srv_string(signature, site, "signature", "^[0-9a-f]{128}$", 128L,
                          "128 hex characters")
  pinned <- unname(srv_dp_analysts(site))
  analyst <- rs_call(rs_party_authenticate_analyst(party, key, signature, pinned), site = site)
  list(analyst = analyst, dp = !is.null(srv_dp_settings(site)))
}
