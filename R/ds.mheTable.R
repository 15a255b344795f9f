#' Pooled one- or two-way table over DataSHIELD sites, encrypted
#'
#' First the levels: each site returns the levels of `rvar` (and `cvar`) —
#' metadata for a factor, as in dsBase; for a character or whole-number
#' variable a site returns them only when every value occurs at least
#' `nfilter.tab` times. When all sites report the same levels their order is
#' kept; otherwise the client takes the sorted union (numerically for numbers).
#' Then each site encrypts its cell counts over those levels plus a missing
#' (`NA`) slot per variable; no row is dropped (a site whose variable has a
#' level outside them refuses). Each site sets every cell count `0 < count <
#' nfilter.tab` to 0 (dsBase's `histogramDS2` rule) rather than refusing, so
#' pooled counts can be lower than the data's where a site holds a small
#' cell, and no answer depends on whether one row has a property. A table has
#' at most 10,000 cells. The plaintext counterpart is `ds.table`.
#'
#' @param rvar Row variable, e.g. `"D$sex"`.
#' @param cvar Column variable, or `NULL` for a one-way table.
#' @param useNA Whether the table shows the missing values: `"ifany"`
#'   (default, as `ds.table`: an `NA` row or column when the pooled count of
#'   missing values there is not zero), `"always"` or `"no"`.
#' @param ... Unused; must be empty.
#' @inheritParams ds.mheMean
#' @returns An object of class `mhe_table`, a list: `table` (an R table of
#'   pooled counts, dimnames = levels, with `NA` as `useNA` says), `n` (the
#'   total count of `table`), `Nvalid` (rows with no missing value),
#'   `Nmissing` (rows with a missing value), `Ntotal` (all rows), and
#'   `chisq`: for a two-way table, Pearson's chi-squared test
#'   ([stats::chisq.test()], an `htest`) on the pooled table of valid rows
#'   (levels with no count left out), `NULL` for a one-way table or when
#'   fewer than two rows or columns have counts. Attribute `sites` as in
#'   [ds.mheMean()].
#' @family client functions
#' @export
ds.mheTable <- function(rvar, cvar = NULL, datasources = NULL,
                        useNA = c("ifany", "always", "no"), ..., epsilon = NULL) {
  rlang::check_dots_empty()
  conns <- mhe_conns(datasources)
  useNA <- rlang::arg_match(useNA)
  rvar <- mhe_check_variable(rvar)
  if (!is.null(cvar)) cvar <- mhe_check_variable(cvar)
  mhe_run(conns, function(run, call) {
    rlevels <- mhe_pooled_levels(run$conns, rvar, call = call)
    clevels <- if (!is.null(cvar)) mhe_pooled_levels(run$conns, cvar, call = call)
    args <- list(
      rvar = rvar, cvar = cvar,
      rlevels = mhe_levels_encode(rlevels),
      clevels = if (!is.null(cvar)) mhe_levels_encode(clevels)
    )
    args$epsilon <- mhe_dp_epsilon_arg(epsilon, call = call)
    pooled <- mhe_query(run, "mheTableDS", args, call = call)
    dp <- attr(pooled, "dp")
    counts <- mhe_count(pooled)
    # noisy counts may fall below 0: clamp (post-processing, no privacy cost)
    if (!is.null(dp)) counts <- pmax(counts, 0L)
    mhe_dp_result(mhe_table_result(counts, rvar, cvar, rlevels, clevels, useNA), dp)
  })
}

# The pooled counts (levels + NA slot per dimension, column-major) as the
# result of ds.mheTable().
mhe_table_result <- function(counts, rvar, cvar, rlevels, clevels, useNA) {
  dimnames <- list(c(rlevels, NA))
  if (!is.null(cvar)) dimnames[[2L]] <- c(clevels, NA)
  names(dimnames) <- c(rvar, cvar)
  full <- array(counts, dim = unname(lengths(dimnames)), dimnames = dimnames)
  valid <- lapply(dim(full), function(d) seq_len(d - 1L))
  inner <- do.call(`[`, c(list(full), valid, list(drop = FALSE)))
  keep <- lapply(seq_along(dim(full)), function(k) {
    missing <- sum(apply(full, k, sum)[dim(full)[k]])
    show <- switch(useNA, always = TRUE, no = FALSE, ifany = missing > 0)
    seq_len(dim(full)[k] - if (show) 0L else 1L)
  })
  table <- do.call(`[`, c(list(full), keep, list(drop = FALSE)))
  class(table) <- "table"
  class(inner) <- "table"
  result <- list(
    table = table, n = sum(table), Nvalid = sum(inner), Nmissing = sum(full) - sum(inner),
    Ntotal = sum(full), chisq = if (!is.null(cvar)) mhe_table_chisq(inner)
  )
  class(result) <- "mhe_table"
  result
}

# Pearson's chi-squared test on the pooled valid table, levels without counts
# left out; NULL when fewer than 2 x 2 remain.
mhe_table_chisq <- function(table) {
  table <- table[rowSums(table) > 0, colSums(table) > 0, drop = FALSE]
  if (nrow(table) < 2L || ncol(table) < 2L) {
    return(NULL)
  }
  suppressWarnings(stats::chisq.test(table))
}

mhe_pooled_levels <- function(conns, x, call = rlang::caller_env()) {
  found <- mhe_aggregate(conns, call("mheLevelsDS", x), call = call)
  levels <- lapply(found, function(f) as.character(f$levels))
  if (all(vapply(levels, identical, TRUE, levels[[1]]))) {
    return(levels[[1]])
  }
  all <- unique(unlist(levels))
  numeric <- all(vapply(found, function(f) isTRUE(f$numeric), TRUE))
  if (numeric && !anyNA(suppressWarnings(as.numeric(all)))) {
    return(all[order(as.numeric(all))])
  }
  sort(all, method = "radix")
}
