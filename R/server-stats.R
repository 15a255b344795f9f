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
# `med` is the median of `v` (computed here when not given).
srv_spread <- function(v, med = stats::median(v)) {
  if (!length(v)) {
    return(0)
  }
  d <- abs(v - med)
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

# TRUE when the valid values of `v` (NAs ignored; `n` of them) surely spread
# over at least `nfilter` effective rows, from reductions that allocate nothing
# (sum, min, max; at 1e5 rows the rule's median and copies dominated a
# summary's time); FALSE when unsure. `q` is the sum of (v - centre)^2 and `s`
# the sum of v over the valid rows, as R computed them (sum() or a dot
# product). With e = v - m (m the median), sum e^2 <= max|e| sum|e|, so the
# spread (sum|e|)^2 / sum e^2 >= sum e^2 / max|e|^2 >= SS / r^2, where SS =
# sum (v - mean)^2 (the mean minimises it) and r = max(v) - min(v) >= max|e|.
# SS = sum (v - centre)^2 - n (mean - centre)^2 loses digits when the centre
# or the mean is far from the values, so the rounding errors are accounted
# for with room to spare: `a` bounds |mean - centre| from above (the sum's
# error is at most (n + 1) u sum|v| <= (n + 1) u n max|v|, u = 2^-53, in any
# order of summation), and q's at most (n + 4) u q (each v - centre and its
# square rounded, then summed). An overflow makes a sum infinite (FALSE), and
# r >= 1e-100 keeps the squares that matter out of the subnormals. Heavy
# tails, values far from the centre or a concentrated column fall to the
# other bounds.
srv_spread_by_moments <- function(v, nfilter, n = length(v), q = drop(crossprod(v)),
                                  s = sum(v, na.rm = TRUE), centre = 0) {
  if (n < 2L || !is.finite(centre)) {
    return(FALSE)
  }
  lo <- min(v, na.rm = TRUE)
  hi <- max(v, na.rm = TRUE)
  r <- hi - lo
  if (!is.finite(r) || r < 1e-100 || r > 1e100) {
    return(FALSE)
  }
  u <- 2^-53
  a <- abs(s / n - centre) * (1 + 1e-12) + 2 * (n + 3) * u * max(abs(lo), abs(hi))
  lower <- q - n * a * a - 4 * (n + 4) * u * q
  is.finite(lower) && lower > 0 && lower / r / r >= nfilter * (1 + 1e-6)
}

# TRUE when `v` (valid values, at least one) surely spreads over at least
# `nfilter` effective rows, decided without its median (a partial sort, the
# most expensive step of the rule at 1e5 rows); FALSE when unsure, and then the
# exact rule (`srv_spread()`) decides. Sound lower bound: quantiles of a fixed
# subsample give [a, b], and counting checks that it holds both middle order
# statistics, hence the median m. With c0 = (a + b) / 2, w = (b - a) / 2 and
# d = v - c0: sum|v - m| >= sum|d| - n w, and sum (v - m)^2 <= the larger of
# sum (v - a)^2 and sum (v - b)^2 (a convex function of the centre), that is
# sum d^2 + 2 w |sum d| + n w^2; their ratio bounds the spread from below.
# Deterministic: no random numbers, same data same answer.
srv_surely_spread <- function(v, nfilter) {
  n <- length(v)
  if (n < 64L) {
    return(FALSE)
  }
  s <- sort.int(v[seq.int(1, n, length.out = min(n, 2001L))], method = "quick")
  a <- s[[ceiling(0.4 * length(s))]]
  b <- s[[floor(0.6 * length(s)) + 1L]]
  # at most k_lo - 1 values below a and n - k_hi above b, k_lo = (n + 1) %/% 2
  # and k_hi = n %/% 2 + 1 being the ranks of the middle order statistics
  if (sum(v < a) >= (n + 1L) %/% 2L || sum(v > b) > n - n %/% 2L - 1L) {
    return(FALSE)
  }
  w <- (b - a) / 2
  d <- v - (a + b) / 2
  s1 <- sum(abs(d)) - n * w
  s2 <- sum(d * d) + 2 * w * abs(sum(d)) + n * w * w
  ok <- is.finite(s1) && is.finite(s2) && s1 > 0 && s2 > 0
  ok && s1^2 / s2 >= nfilter * (1 + 1e-6)
}

# The valid values of a column as the site uses them: none when fewer than
# nfilter.tab are valid; the median in every row when the column concentrates
# on fewer than nfilter.tab rows; else the values themselves.
srv_usable <- function(v) {
  nfilter <- mhe_nfilter("nfilter.tab")
  if (length(v) < nfilter) {
    return(numeric())
  }
  if (srv_spread_by_moments(v, nfilter) || srv_surely_spread(v, nfilter)) {
    return(v)
  }
  med <- stats::median(v)
  if (srv_spread(v, med) < nfilter) {
    return(rep(med, length(v)))
  }
  v
}

# The valid values of a numeric vector.
srv_valid <- function(v) if (anyNA(v)) v[!is.na(v)] else v

# The sums over the usable values u of column `v` (`srv_usable()`'s rules)
# that the layouts "mean" and "ss" release: n = length(u) and, without a
# `centre`, sum = sum(u) or, with one, ss = sum((u - centre)^2), each the very
# number sum() gives over u. When the moments bound decides that u is every
# valid value (the common case), the valid values are not copied (fresh large
# vectors cost more than the arithmetic here): sum(na.rm = TRUE) adds the same
# terms in the same order. Otherwise u is built and the full rule applies.
srv_usable_sums <- function(v, centre = NULL) {
  nfilter <- mhe_nfilter("nfilter.tab")
  na <- anyNA(v)
  n <- if (na) length(v) - sum(is.na(v)) else length(v)
  if (n >= nfilter && n >= 2L) {
    # (v - centre)^2 squares in place the vector v - centre made: one copy
    q <- if (!is.null(centre)) sum((v - centre)^2, na.rm = TRUE) else
      if (na) sum(v^2, na.rm = TRUE) else drop(crossprod(v))
    s <- sum(v, na.rm = TRUE)
    if (srv_spread_by_moments(v, nfilter, n, q, s, if (is.null(centre)) 0 else centre)) {
      return(if (is.null(centre)) list(n = n, sum = s) else list(n = n, ss = q))
    }
  }
  srv_sums(srv_usable(srv_valid(v)), centre)
}

# n, and sum or ss (given a `centre`), of the values `u`.
srv_sums <- function(u, centre = NULL) {
  if (is.null(centre)) {
    return(list(n = length(u), sum = sum(u)))
  }
  list(n = length(u), ss = sum((u - centre)^2))
}

# The values a statistic uses with DP on: clipped to `bounds`, every row kept
# (the rules on the exact data are off under DP: see R/server-dp.R).
srv_clipped_sums <- function(v, bounds, centre = NULL) {
  srv_sums(srv_clip(srv_valid(v), bounds), centre)
}

# The layout "mean": sum of the usable values, their number, the other rows.
# With DP on (`bounds`, R/server-dp.R), one row changes the sum by at most
# max|bounds| and n or missing by 1.
srv_mean <- function(x, env, site, bounds = NULL) {
  v <- srv_numeric(x, env, site)
  s <- if (is.null(bounds)) srv_usable_sums(v) else srv_clipped_sums(v, bounds)
  mhe_pack(mhe_layout("mean"), sum = s$sum, n = s$n, missing = length(v) - s$n)
}

# The layout "ss": sum of squared deviations of the usable values from
# `mean`, their number.
# With DP on, one row changes ss by at most max((bounds - mean)^2), n by 1.
srv_ss <- function(x, env, site, mean, bounds = NULL) {
  v <- srv_numeric(x, env, site)
  s <- if (is.null(bounds)) srv_usable_sums(v, mean) else srv_clipped_sums(v, bounds, mean)
  mhe_pack(mhe_layout("ss"), ss = s$ss, n = s$n)
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

# The levels of a categorical variable, with dsBase's checks. A factor's
# levels are metadata. The levels of another variable are its values:
# `rare = "refuse"` (the GLM's rule) refuses a variable with a value held by
# fewer than nfilter.tab rows; `rare = "omit"` (mheLevelsDS) never refuses on
# the data: it returns the values held by at least nfilter.tab rows (at most
# nfilter.levels.max of them, the most frequent), and a table counts the rows
# of the other values in its "other" cell (`srv_table_slots()`).
srv_var_levels <- function(x, env, site, rare = c("refuse", "omit")) {
  rare <- match.arg(rare)
  value <- srv_categorical(x, env, site)
  n_valid <- sum(!is.na(value))
  levels <- if (is.factor(value)) levels(value) else levels(factor(value))
  max_levels <- mhe_nfilter("nfilter.levels.max")
  nfilter <- mhe_nfilter("nfilter.tab")
  if (!is.factor(value) && rare == "omit") {
    counts <- as.vector(table(factor(value, levels = levels), useNA = "no"))
    keep <- which(counts >= nfilter)
    if (length(keep) > max_levels) {
      keep <- sort(keep[order(-counts[keep], keep)][seq_len(max_levels)])
    }
    levels <- levels[keep]
  } else {
    srv_check_levels(x, site, value, levels, n_valid, max_levels, nfilter)
  }
  if (any(grepl("\n", levels, fixed = TRUE))) {
    mhe_server_abort(site, paste0("a level of `", x, "` contains a newline"))
  }
  list(levels = levels, numeric = is.numeric(value) || is.logical(value))
}

# dsBase's level checks: at most nfilter.levels.max levels, at most
# nfilter.levels.density levels per valid value, and (not a factor) every
# value held by at least nfilter.tab rows.
srv_check_levels <- function(x, site, value, levels, n_valid, max_levels, nfilter) {
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
    counts <- table(value, useNA = "no")
    if (any(counts > 0 & counts < nfilter)) {
      mhe_refuse(site, paste0(
        "nfilter.tab: a value of `", x, "` occurs fewer times than nfilter.tab (", nfilter, ")"
      ))
    }
  }
  invisible(levels)
}

# Tables hold at most this many cells (the NA slots included), checked
# before anything is allocated.
mhe_table_max_cells <- 10000

# The levels a categorical variable holds at this site: a factor's levels
# (metadata), else its distinct values.
srv_site_levels <- function(value) {
  if (is.factor(value)) levels(value) else unique(as.character(value[!is.na(value)]))
}

# Slot of each row among `levels`: a value outside them in the "other" slot
# (length(levels) + 1), NA last (length(levels) + 2). Never refused: whether a
# row holds a value the levels leave out is counted like any other cell
# (zeroed when small), so no answer depends on it.
srv_table_slots <- function(value, levels) {
  slot <- match(as.character(value), levels)
  slot[is.na(slot)] <- length(levels) + 1L
  slot[is.na(value)] <- length(levels) + 2L
  slot
}

# Cell counts of rvar (by cvar) over the given levels plus an "other" slot
# and an NA slot per dimension (last), column-major; small cells set to 0 (not
# with DP on, `dp`: one row is in one cell, a sensitivity of 1, and the noise
# replaces the zeroing).
srv_table <- function(env, site, rvar, cvar, rlevels, clevels, dp = FALSE) {
  nr <- length(rlevels) + 2L
  nc <- if (is.null(cvar)) 1L else length(clevels) + 2L
  if (nr * nc > mhe_table_max_cells) {
    mhe_refuse(site, paste0(
      "a table has at most ", mhe_table_max_cells, " cells (other and NA slots included); ",
      "this one would have ", nr * nc
    ))
  }
  r <- srv_table_slots(srv_categorical(rvar, env, site, "rvar"), rlevels)
  index <- r
  if (!is.null(cvar)) {
    cv <- srv_categorical(cvar, env, site, "cvar")
    if (length(cv) != length(r)) {
      mhe_server_abort(site, paste0("`", rvar, "` and `", cvar, "` must have the same length"))
    }
    index <- r + nr * (srv_table_slots(cv, clevels) - 1L)
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

# The variables named by `x`, "D$a,D$b" (or one name): at most `max`,
# distinct, each a name (checked again when it is read). `what` describes `x`
# in the error when it is not such a list.
srv_variable_list <- function(x, site, max, what = "variable names separated by commas") {
  srv_string(x, site, "x", "^[A-Za-z0-9._$]+(,[A-Za-z0-9._$]+)*$", 201L * max, what)
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

# The numeric columns named by `x`: "D" (all columns of a data frame) or
# "D$a,D$b".
srv_columns <- function(x, env, site) {
  vars <- srv_variable_list(x, site, 200L, "a data frame name or variable names separated by commas")
  if (length(vars) == 1L && !grepl("$", vars, fixed = TRUE)) {
    df <- srv_object(vars, env, site)
    if (!is.data.frame(df)) {
      mhe_server_abort(site, paste0("`", vars, "` must be a data frame"))
    }
    vars <- srv_variable_list(paste0(vars, "$", names(df), collapse = ","), site, 200L,
                              "a data frame of distinct column names")
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
