# Local aggregates: what each site computes before encrypting ----------------
#
# Shared by the encrypted server functions and by the plaintext baseline of
# the benchmark (inst/bench/bench-r.R), so that both compute exactly the same
# vector and apply the same disclosure rules (read through `mhe_nfilter()`).
#
# The rules never refuse on the strength of the data: a refusal that depends
# on whether a row has a property would itself answer that question. What a
# site holds too little of is zeroed instead (dsBase's histogramDS2 rule),
# so the answer is the same whatever the probed row holds:
#
# - a variable with `0 < n valid < nfilter.tab` contributes nothing: its
#   values count as missing (sum 0, n 0);
# - a variable whose deviation from its median is carried by fewer than
#   `nfilter.tab` effective rows (`srv_spread()`) contributes its median in
#   every valid row: a column built to carry one person's value (an
#   indicator, `y * exp(-(id - 7)^2)`, ...) then says nothing about it, and
#   the site's `n` is unchanged, so the rule does not answer either;
# - a cell (table, histogram, survival count) with `0 < count < nfilter.tab`
#   is set to 0.

# The effective number of rows carrying the deviation of `v` (valid values)
# from its median: (sum |d|)^2 / sum d^2, between 1 (one row carries it all)
# and length(v) (all deviations equal). A tiny perturbation added to every row
# (`+ 1e-300 * id`) does not move it: the measure weighs rows by how much of
# the deviation they carry. A constant column spreads over all its rows.
srv_spread <- function(v) {
  if (!length(v)) {
    return(0)
  }
  d <- abs(v - stats::median(v))
  top <- max(d)
  if (!is.finite(top)) {
    return(0)
  }
  if (top == 0) {
    return(length(v))
  }
  d <- d / top
  sum(d)^2 / sum(d^2)
}

# The valid values of a column as the site uses them: none when fewer than
# nfilter.tab are valid; the median in every row when the column concentrates
# on fewer than nfilter.tab rows; else the values themselves.
srv_usable <- function(v) {
  nfilter <- mhe_nfilter("nfilter.tab")
  if (length(v) < nfilter) {
    return(numeric())
  }
  if (srv_spread(v) < nfilter) {
    return(rep(stats::median(v), length(v)))
  }
  v
}

# The valid values as a statistic uses them: `srv_usable()`'s rules with DP
# off (`bounds` NULL); clipped to `bounds` with DP on, every row kept (the
# rules on the exact data are off under DP: see R/server-dp.R).
srv_valid <- function(v, bounds) {
  if (is.null(bounds)) srv_usable(v) else srv_clip(v, bounds)
}

# The layout "mean": sum of the usable values, their number, the other rows.
# With DP on (`bounds`, R/server-dp.R), one row changes the sum by at most
# max|bounds| and n or missing by 1.
srv_mean <- function(x, env, site, bounds = NULL) {
  v <- srv_numeric(x, env, site)
  usable <- srv_valid(v[!is.na(v)], bounds)
  mhe_pack(mhe_layout("mean"), sum = sum(usable), n = length(usable),
           missing = length(v) - length(usable))
}

# The layout "ss": sum of squared deviations of the usable values from
# `mean`, their number.
# With DP on, one row changes ss by at most max((bounds - mean)^2), n by 1.
srv_ss <- function(x, env, site, mean, bounds = NULL) {
  v <- srv_numeric(x, env, site)
  usable <- srv_valid(v[!is.na(v)], bounds)
  mhe_pack(mhe_layout("ss"), ss = sum((usable - mean)^2), n = length(usable))
}

# Set each count `0 < count < nfilter.tab` to 0.
srv_zero_small <- function(counts) {
  nfilter <- mhe_nfilter("nfilter.tab")
  counts[counts > 0 & counts < nfilter] <- 0
  counts
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
srv_var_levels <- function(x, env, site) {
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

# Tables hold at most this many cells (the NA slots included), checked
# before anything is allocated.
mhe_table_max_cells <- 10000

# The levels a categorical variable holds at this site: a factor's levels
# (metadata), else its distinct values.
srv_site_levels <- function(value) {
  if (is.factor(value)) levels(value) else unique(as.character(value[!is.na(value)]))
}

# Slot of each row among `levels`, NA last (slot length(levels) + 1). The
# given levels must include every level the site holds: no row is dropped.
srv_table_slots <- function(value, levels, x, site) {
  held <- srv_site_levels(value)
  if (!all(held %in% levels)) {
    mhe_refuse(site, paste0(
      "the levels given for `", x, "` must include every level it has here ",
      "(a table drops no row): ask for its levels with mheLevelsDS"
    ))
  }
  slot <- match(as.character(value), levels)
  slot[is.na(slot)] <- length(levels) + 1L
  slot
}

# Cell counts of rvar (by cvar) over the given levels plus a last NA slot per
# dimension, column-major; small cells set to 0 (not with DP on, `dp`: one row
# is in one cell, a sensitivity of 1, and the noise replaces the zeroing).
srv_table <- function(env, site, rvar, cvar, rlevels, clevels, dp = FALSE) {
  nr <- length(rlevels) + 1L
  nc <- if (is.null(cvar)) 1L else length(clevels) + 1L
  if (nr * nc > mhe_table_max_cells) {
    mhe_refuse(site, paste0(
      "a table has at most ", mhe_table_max_cells, " cells (NA slots included); ",
      "this one would have ", nr * nc
    ))
  }
  r <- srv_table_slots(srv_categorical(rvar, env, site, "rvar"), rlevels, rvar, site)
  index <- r
  if (!is.null(cvar)) {
    cv <- srv_categorical(cvar, env, site, "cvar")
    if (length(cv) != length(r)) {
      mhe_server_abort(site, paste0("`", rvar, "` and `", cvar, "` must have the same length"))
    }
    index <- r + nr * (srv_table_slots(cv, clevels, cvar, site) - 1L)
  }
  counts <- tabulate(index, nbins = nr * nc)
  as.double(if (dp) counts else srv_zero_small(counts))
}

# Breaks fuzzed as graphics::hist() does (right-closed, lowest included).
srv_hist_fuzz <- function(breaks) {
  fuzz <- 1e-7 * stats::median(diff(breaks))
  breaks + c(-fuzz, rep.int(fuzz, length(breaks) - 1L))
}

# A histogram has at most this many cells (hard cap, before any data is read).
mhe_histogram_max_cells <- 1000L

# At most max(1, n / nfilter.tab) cells for a site with n valid values: no grid
# finer than the data can fill with cells of nfilter.tab rows.
srv_check_cells <- function(cells, n, site, what) {
  nfilter <- mhe_nfilter("nfilter.tab")
  bound <- max(1, floor(n / nfilter))
  if (cells > bound) {
    mhe_refuse(site, paste0(
      "nfilter.tab: ", what, " has ", cells, " cells; at most n / nfilter.tab = ", bound,
      " here (n = ", n, " valid rows, nfilter.tab = ", nfilter, ")"
    ))
  }
  invisible(cells)
}

# mode "range": 0/1 per cell (with underflow first and overflow last): whether
# this site has at least nfilter.tab values there. mode "counts": counts,
# cells with 0 < count < nfilter.tab set to 0 (dsBase histogramDS2), then the
# number of cells so suppressed. Over the usable values (`srv_usable()`).
# With DP on (`dp`), no rule on the exact data applies (R/server-dp.R): the
# counts are exact before the noise, each row in one cell (sensitivity 1), mode
# "range" releases the counts themselves, and nothing is suppressed.
srv_histogram <- function(x, env, site, breaks, mode, dp = FALSE) {
  v <- srv_numeric(x, env, site)
  v <- v[!is.na(v)]
  nb <- length(breaks) - 1L
  srv_check_cells(nb, length(v), site, "the histogram")
  if (!dp) v <- srv_usable(v)
  idx <- findInterval(v, srv_hist_fuzz(breaks), left.open = TRUE, rightmost.closed = TRUE)
  counts <- tabulate(idx + 1L, nbins = nb + 2L) # underflow, cells, overflow
  kept <- if (dp) counts else srv_zero_small(counts)
  layout <- mhe_layout(paste0("histogram-", mode), cells = nb)
  present <- if (mode == "range" && !dp) kept > 0 else kept
  fields <- list(layout, under = present[1L], cells = present[seq_len(nb) + 1L],
                 over = present[nb + 2L])
  if (mode == "counts") fields$suppressed <- sum(kept != counts)
  do.call(mhe_pack, fields)
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

# Round 1 (means NULL): layout "cor-means" (column sums, n over complete
# cases, rows); round 2: layout "cor-cross" (centred cross products, n). Fewer than
# nfilter.tab complete cases contribute nothing (zeros); a column that
# concentrates on fewer than nfilter.tab rows is its median in every row.
# With DP on, `bounds` (a list by column) clips each column, and no rule on
# the exact data applies (R/server-dp.R).
srv_cor <- function(x, env, site, means = NULL, bounds = NULL) {
  m <- srv_columns(x, env, site)
  rows <- nrow(m)
  m <- m[stats::complete.cases(m), , drop = FALSE]
  if (is.null(bounds)) {
    if (nrow(m) < mhe_nfilter("nfilter.tab")) {
      m <- m[0L, , drop = FALSE]
    }
    for (j in seq_len(ncol(m))) m[, j] <- srv_usable(m[, j])
  } else {
    for (j in seq_len(ncol(m))) m[, j] <- srv_clip(m[, j], bounds[[j]])
  }
  n <- nrow(m)
  if (is.null(means)) {
    # column sums, complete cases, all rows (the client's Ntotal)
    return(mhe_pack(mhe_layout("cor-means", p = ncol(m)), sums = colSums(m), n = n, rows = rows))
  }
  if (length(means) != ncol(m)) {
    mhe_server_abort(site, paste0("`means` must hold ", ncol(m), " numbers"))
  }
  centred <- sweep(m, 2L, means)
  mhe_pack(mhe_layout("cor-cross", p = ncol(m)), cross = as.vector(crossprod(centred)), n = n)
}
