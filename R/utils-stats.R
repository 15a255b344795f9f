# Local aggregates: what each site computes before encrypting ----------------
#
# Shared by the encrypted server functions and by the plaintext baseline
# `mhePlainSumDS()`, so that both compute exactly the same vector and apply the
# same disclosure rules (dsBase's, read through `mhe_nfilter()`).

srv_check_valid <- function(n_valid, x, site) {
  nfilter <- mhe_nfilter("nfilter.tab")
  if (n_valid > 0 && n_valid < nfilter) {
    mhe_refuse(site, paste0(
      "nfilter.tab: `", x, "` has fewer valid values than nfilter.tab (", nfilter, ")"
    ))
  }
  invisible(n_valid)
}

# c(sum of the valid values, number valid, number missing)
local_mean <- function(x, env, site) {
  v <- srv_numeric(x, env, site)
  missing <- is.na(v)
  n_valid <- sum(!missing)
  srv_check_valid(n_valid, x, site)
  c(sum(v[!missing]), n_valid, sum(missing))
}

# c(sum of squared deviations from `mean`, number valid)
local_ss <- function(x, env, site, mean) {
  v <- srv_numeric(x, env, site)
  v <- v[!is.na(v)]
  srv_check_valid(length(v), x, site)
  c(sum((v - mean)^2), length(v))
}

srv_categorical <- function(x, env, site, arg = "x") {
  value <- srv_object(x, env, site, arg)
  ok <- is.factor(value) || is.character(value) || is.logical(value) ||
    (is.numeric(value) && all(value == round(value), na.rm = TRUE))
  if (!ok || is.data.frame(value)) {
    mhe_server_abort(site, paste0(
      "`", x, "` must be a factor, character, logical or whole-number variable, not ",
      srv_type(value)
    ))
  }
  value
}

# The levels of a categorical variable, with dsBase's checks.
local_levels <- function(x, env, site) {
  value <- srv_categorical(x, env, site)
  n_valid <- sum(!is.na(value))
  levels <- if (is.factor(value)) levels(value) else levels(factor(value))
  max_levels <- mhe_nfilter("nfilter.levels.max")
  if (length(levels) > max_levels) {
    mhe_refuse(site, paste0(
      "nfilter.levels.max: `", x, "` has more levels than nfilter.levels.max (", max_levels, ")"
    ))
  }
  density <- mhe_nfilter("nfilter.levels.density")
  if (n_valid > 0 && length(levels) / n_valid > density) {
    mhe_refuse(site, paste0(
      "nfilter.levels.density: `", x, "` has too many levels for its number of values (",
      "more than nfilter.levels.density = ", density, " per value)"
    ))
  }
  if (!is.factor(value)) {
    # the levels of a non-factor are values: each must be frequent enough
    counts <- table(value, useNA = "no")
    nfilter <- mhe_nfilter("nfilter.tab")
    if (any(counts > 0 & counts < nfilter)) {
      mhe_refuse(site, paste0(
        "nfilter.tab: a value of `", x, "` occurs fewer times than nfilter.tab (", nfilter, ")"
      ))
    }
  }
  if (any(grepl("\n", levels, fixed = TRUE))) {
    mhe_server_abort(site, paste0("a level of `", x, "` contains a newline"))
  }
  list(levels = levels, numeric = is.numeric(value) || is.logical(value))
}

# Cell counts (column-major) of the table of rvar (by cvar), levels given.
local_table <- function(env, site, rvar, cvar, rlevels, clevels) {
  r <- factor(srv_categorical(rvar, env, site, "rvar"), levels = rlevels)
  counts <- if (is.null(cvar)) {
    table(r, useNA = "no")
  } else {
    cv <- srv_categorical(cvar, env, site, "cvar")
    if (length(cv) != length(r)) {
      mhe_server_abort(site, paste0("`", rvar, "` and `", cvar, "` must have the same length"))
    }
    table(r, factor(cv, levels = clevels), useNA = "no")
  }
  counts <- as.vector(counts)
  nfilter <- mhe_nfilter("nfilter.tab")
  if (any(counts > 0 & counts < nfilter)) {
    mhe_refuse(site, paste0(
      "nfilter.tab: a cell of the table of `", paste(c(rvar, cvar), collapse = "` by `"),
      "` has a count below nfilter.tab (", nfilter, ")"
    ))
  }
  as.double(counts)
}

# Breaks fuzzed as graphics::hist() does (right-closed, lowest included).
hist_fuzz <- function(breaks) {
  fuzz <- 1e-7 * stats::median(diff(breaks))
  breaks + c(-fuzz, rep.int(fuzz, length(breaks) - 1L))
}

# mode "range": 0/1 per cell (with underflow first and overflow last): whether
# this site has any value there. mode "counts": counts, cells with
# 0 < count < nfilter.tab set to 0 (dsBase histogramDS2), then the number of
# cells so suppressed.
local_histogram <- function(x, env, site, breaks, mode) {
  v <- srv_numeric(x, env, site)
  v <- v[!is.na(v)]
  nb <- length(breaks) - 1L
  idx <- findInterval(v, hist_fuzz(breaks), left.open = TRUE, rightmost.closed = TRUE)
  counts <- tabulate(idx + 1L, nbins = nb + 2L) # underflow, cells, overflow
  if (mode == "range") {
    return(as.double(counts > 0))
  }
  nfilter <- mhe_nfilter("nfilter.tab")
  small <- counts > 0 & counts < nfilter
  counts[small] <- 0
  as.double(c(counts, sum(small)))
}

# The numeric columns named by `x`: "D" (all columns of a data frame) or
# "D$a,D$b".
srv_columns <- function(x, env, site) {
  srv_string(x, site, "x", "^[A-Za-z0-9._$]+(,[A-Za-z0-9._$]+)*$", 2e4,
             "a data frame name or variable names separated by commas")
  vars <- strsplit(x, ",", fixed = TRUE)[[1]]
  if (length(vars) == 1L && !grepl("$", vars, fixed = TRUE)) {
    df <- srv_object(vars, env, site)
    if (!is.data.frame(df)) {
      mhe_server_abort(site, paste0("`", vars, "` must be a data frame"))
    }
    vars <- paste0(vars, "$", names(df))
  }
  if (length(vars) > 200L || anyDuplicated(vars)) {
    mhe_server_abort(site, "`x` must name at most 200 distinct columns")
  }
  columns <- lapply(vars, srv_numeric, env = env, site = site)
  if (length(unique(lengths(columns))) > 1L) {
    mhe_server_abort(site, "the columns of `x` must have the same length")
  }
  m <- matrix(unlist(columns), ncol = length(vars))
  colnames(m) <- vars
  m
}

# Round 1 (means NULL): c(column sums, n) over complete cases;
# round 2: c(centred cross products (p x p, column-major), n).
local_cor <- function(x, env, site, means = NULL) {
  m <- srv_columns(x, env, site)
  rows <- nrow(m)
  m <- m[stats::complete.cases(m), , drop = FALSE]
  n <- nrow(m)
  srv_check_valid(n, paste0("complete cases of ", x), site)
  if (is.null(means)) {
    # column sums, complete cases, all rows (the client's Ntotal)
    return(c(colSums(m), n, rows))
  }
  if (length(means) != ncol(m)) {
    mhe_server_abort(site, paste0("`means` must hold ", ncol(m), " numbers"))
  }
  centred <- sweep(m, 2L, means)
  c(as.vector(crossprod(centred)), n)
}
