#' Pooled one- or two-way table over DataSHIELD sites, encrypted
#'
#' First the levels: each site returns the levels of `rvar` (and `cvar`) —
#' metadata for a factor, as in dsBase; for a character or whole-number
#' variable a site returns them only when every value occurs at least
#' `nfilter.tab` times. When all sites report the same levels their order is
#' kept; otherwise the client takes the sorted union (numerically for numbers).
#' Then each site encrypts its cell counts over those levels (`NA` excluded,
#' as `table(useNA = "no")`); a site with a nonzero cell count below
#' `nfilter.tab` refuses (dsBase `tableDS` rule). The plaintext counterpart is
#' `ds.table`.
#'
#' @param rvar Row variable, e.g. `"D$sex"`.
#' @param cvar Column variable, or `NULL` for a one-way table.
#' @inheritParams ds.mheMean
#' @returns A list: `table` (an R table of pooled counts, dimnames = levels)
#'   and `n` (the total count); attribute `sites` as in [ds.mheMean()].
#' @family client functions
#' @export
ds.mheTable <- function(rvar, cvar = NULL, datasources = NULL) {
  conns <- mhe_conns(datasources)
  rvar <- mhe_check_variable(rvar)
  if (!is.null(cvar)) cvar <- mhe_check_variable(cvar)
  mhe_run(conns, function(conns, call) {
    rlevels <- mhe_pooled_levels(conns, rvar, call = call)
    clevels <- if (!is.null(cvar)) mhe_pooled_levels(conns, cvar, call = call)
    args <- list(
      rvar = rvar, cvar = cvar,
      rlevels = mhe_levels_encode(rlevels),
      clevels = if (!is.null(cvar)) mhe_levels_encode(clevels)
    )
    counts <- mhe_count(mhe_query(conns, "mheTableDS", args, call = call))
    dimnames <- if (is.null(cvar)) list(rlevels) else list(rlevels, clevels)
    names(dimnames) <- c(rvar, cvar)
    table <- array(counts, dim = unname(lengths(dimnames)), dimnames = dimnames)
    class(table) <- "table"
    list(table = table, n = sum(counts))
  })
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
