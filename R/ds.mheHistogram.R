#' Pooled histogram over DataSHIELD sites, encrypted
#'
#' With a vector of `breaks`, each site encrypts its counts over them. With a
#' number of cells, the breaks are chosen without disclosing any site's
#' minimum or maximum:
#'
#' 1. the pooled mean and standard deviation (two encrypted rounds, as
#'    [ds.mheVar()]);
#' 2. a grid of 20 cells over mean +- k sd (k = 4, then 16, 64, ...) plus an
#'    underflow and an overflow cell, where each site contributes only 0 or 1
#'    per cell (whether it has at least `nfilter.tab` values there: a site
#'    needs `20 * nfilter.tab` valid values for this grid), widened while the pooled
#'    underflow or overflow is nonzero. The analyst learns, per grid cell, how
#'    many sites have data in it, never a count or an exact value;
#' 3. `pretty()` breaks over the non-empty grid cells, about `breaks` cells.
#'
#' Then each site encrypts its counts over the breaks, setting each cell with
#' `0 < count < nfilter.tab` to 0 as dsBase's `histogramDS2` does; the pooled
#' number of suppressed cells is reported. Cells are right-closed with the
#' lowest included, exactly as [graphics::hist()]. The breaks usually differ
#' from `hist(x, breaks = 10)`, which uses the exact range of the data.
#'
#' @inheritParams ds.mheMean
#' @param breaks One number (about how many cells) or a vector of break
#'   points, used as given (at most 1001; each site accepts at most
#'   `n / nfilter.tab` cells for its `n` valid values).
#' @returns An object of class `histogram` (as `hist(plot = FALSE)`):
#'   `breaks`, `counts`, `density`, `mids`, `xname`, `equidist`. `plot()`
#'   draws it. Attribute `sites` as in [ds.mheMean()].
#' @family client functions
#' @export
ds.mheHistogram <- function(x, breaks = 10, datasources = NULL, type = "combine",
                            epsilon = NULL, bounds = NULL) {
  mhe_check_type(type, instead = "{.code plot()} the result for the pooled histogram.")
  conns <- mhe_conns(datasources)
  x <- mhe_check_variable(x)
  ok <- is.numeric(breaks) && length(breaks) >= 1L && all(is.finite(breaks))
  if (!ok || (length(breaks) == 1L && breaks < 1) ||
      (length(breaks) > 1L && any(diff(breaks) <= 0)) || length(breaks) > 1001L) {
    mhe_abort(
      "{.arg breaks} must be a number of cells or increasing break points.",
      class = "input"
    )
  }
  dp_args <- mhe_dp_args(bounds, epsilon, x)
  mhe_run(conns, function(run, call) mhe_histogram(run, x, breaks, call, dp_args))
}

mhe_histogram <- function(run, x, breaks, call, dp_args = list()) {
  dp <- NULL
  if (length(breaks) == 1L) {
    breaks <- mhe_histogram_breaks(run, x, breaks, call = call, dp_args = dp_args)
    dp <- attr(breaks, "dp")
    attr(breaks, "dp") <- NULL
  }
  # the counts take `epsilon` only: a count needs no clipping bounds
  epsilon_arg <- dp_args[names(dp_args) == "epsilon"]
  v <- mhe_query(run, "mheHistogramDS", c(list(x, mhe_dbl_encode(breaks), "counts"), epsilon_arg),
                 call = call)
  dp <- mhe_dp_bind(dp, attr(v, "dp"))
  v <- mhe_unpack(mhe_layout("histogram-counts", cells = length(breaks) - 1L), v, call)
  outside <- mhe_count(v$under + v$over)
  counts <- mhe_count(v$cells)
  if (!is.null(dp)) counts <- pmax(counts, 0L)
  suppressed <- mhe_count(v$suppressed)
  # under DP these counts are noisy (nothing is suppressed, and the noisy
  # outside count is in the result's dp facts' precision): no messages
  if (!is.null(dp)) outside <- suppressed <- 0L
  if (outside > 0) {
    cli::cli_inform("{outside} value{?s} of {.val {x}} fell outside the breaks and {?is/are} not counted.")
  }
  if (suppressed > 0) {
    cli::cli_inform(c(
      "{suppressed} cell count{?s} below {.code nfilter.tab} {?was/were} set to 0 by the sites.",
      i = "Pooled counts are therefore lower than the data's in some cells."
    ), class = "dsMHE_message_suppressed")
  }
  d <- diff(breaks)
  mhe_dp_result(structure(
    list(
      breaks = breaks, counts = counts,
      density = counts / (sum(counts) * d),
      mids = 0.5 * (breaks[-1L] + breaks[-length(breaks)]),
      xname = x,
      equidist = diff(range(d)) < 1e-7 * mean(d)
    ),
    class = "histogram"
  ), dp)
}

# With differential privacy on (the moments carry DP facts), the breaks are
# pretty() over the mean +- 4 sd of the noisy moments, without the range
# rounds: each would spend budget, and a noisy count is never exactly 0.
# Returns the breaks with the moments' DP facts as attribute "dp".
mhe_histogram_breaks <- function(run, x, n, call = rlang::caller_env(), dp_args = list()) {
  moments <- mhe_pooled_var(run, "mheVarDS", x, call = call, dp_args = dp_args)
  if (moments$n <= 0) {
    mhe_abort("{.val {x}} has no valid values at any site.", class = "input", call = call)
  }
  width <- if (is.finite(moments$var) && moments$var > 0) sqrt(moments$var) else max(abs(moments$mean), 1)
  if (!is.null(moments$dp)) {
    breaks <- pretty(moments$mean + c(-4, 4) * width, n = n)
    attr(breaks, "dp") <- moments$dp
    return(breaks)
  }
  k <- 4
  cells <- 20L
  for (i in 1:12) {
    grid <- seq(moments$mean - k * width, moments$mean + k * width, length.out = cells + 1L)
    sites_with <- mhe_query(run, "mheHistogramDS", list(x, mhe_dbl_encode(grid), "range"), call = call)
    sites_with <- mhe_unpack(mhe_layout("histogram-range", cells = cells), sites_with, call)
    if (sites_with$under == 0 && sites_with$over == 0) break
    k <- k * 4
  }
  nonempty <- which(sites_with$cells > 0)
  if (!length(nonempty)) {
    mhe_abort("Could not locate the values of {.val {x}}.", class = "input", call = call)
  }
  range <- c(grid[min(nonempty)], grid[max(nonempty) + 1L])
  pretty(range, n = n)
}
