#' Pooled Kaplan-Meier curve over DataSHIELD sites, encrypted
#'
#' Each site encrypts, per stratum, its numbers of events and of censored
#' times in the intervals of a time grid; only the pooled counts are decrypted,
#' and the client computes from them the Kaplan-Meier estimate, Greenwood
#' standard errors and pointwise confidence limits, as
#' [survival::survfit()] does on the pooled (row-bound) data. The result is a
#' `survfit` object: `print()`, `summary()`, `plot()` and `quantile()` of
#' the survival package work on it.
#'
#' @section The time grid:
#' Grid points `t_1 < ... < t_m` cut time into the intervals `[0, t_1]`,
#' `(t_1, t_2]`, ..., `(t_{m-1}, t_m]`. Per interval, the sites count the
#' events, the censored times equal to its end point, and the censored times
#' strictly inside it; all are reported at the end point, where half of the
#' censored times strictly inside the interval count as at risk (the
#' actuarial, life-table rule for grouped times; censored times at the end
#' point are at risk there, as in `survfit()`). Hence:
#'
#' - when every observed time is a grid point (e.g. monthly visits), nothing
#'   lies strictly inside an interval and, where no site holds a small cell
#'   (see "Disclosure at the sites"), the object equals `survfit()`'s: `time`, `n.risk`, `n.event`,
#'   `n.censor`, `surv`, `std.err`, `cumhaz`, `std.chaz` and the limits;
#' - otherwise the curve is a life table at the grid's resolution: event
#'   times are rounded up to the grid, and censored times inside an interval
#'   leave the risk set half-way through it.
#'
#' Times after the last grid point count as at risk at every grid point and
#' nowhere else (the curve stops at the last point, as with administrative
#' censoring there); a message reports how many there are.
#'
#' With `times`, the grid is the analyst's: public, chosen without looking at
#' the data, used as given. The analyst then learns the pooled numbers of
#' events and of censored times at each grid point: the pooled curve at that
#' resolution, which is what `survfit()` on the pooled data shows. A grid of
#' `m` points costs `3m + 1` encrypted values per stratum, so a finer grid
#' makes a larger query.
#'
#' With `times = NULL` (default), the grid is chosen so that each interval
#' holds at least `nfilter.tab` pooled events in every stratum that has
#' events, in two extra encrypted rounds:
#'
#' 1. the pooled mean time (released with the pooled numbers of rows and of
#'    events per stratum, which the curve shows anyway);
#' 2. a coarse public grid, `pretty(c(0, 4 * mean), bins)` (widened fourfold
#'    while any site has a time beyond it: the analyst learns how many sites
#'    do, as in [ds.mheHistogram()]), over which each site encrypts its
#'    numbers of events per stratum with every count `0 < count <
#'    nfilter.tab` set to 0 (dsBase's histogram rule). This pooled, filtered
#'    histogram of event times is released.
#' 3. Adjacent coarse cells are merged from time 0 until each merged
#'    interval holds at least `nfilter.tab` (the analyst's session value,
#'    default 3) of these filtered events in every stratum with events; the
#'    rest joins the last interval. The ends of the merged intervals are the
#'    grid. Since filtered counts never exceed the true ones, every interval
#'    of the curve holds at least `nfilter.tab` pooled events per stratum, so
#'    no single event time shows. The default curve is therefore a life
#'    table on these intervals; it equals `survfit()` only in the unlikely
#'    case that the grid holds every observed time.
#'    When a stratum has too few unfiltered events, the function stops and
#'    asks for `times` or fewer `bins`.
#'
#' @section Disclosure at the sites:
#' Each site checks `time` (numeric, finite, non-negative), `event` (logical,
#' or coded 0/1 or 1/2, not both, as numbers or as a factor with those
#' levels, as Opal assigns a categorical variable), and `group` (a factor, character,
#' logical or whole-number variable; its levels are agreed as in
#' [ds.mheTable()], with dsBase's level checks). Rows with a missing `time`,
#' `event` or `group` are left out, as `survfit()` does. Nothing is refused on the strength of the data: a
#' stratum with fewer than `nfilter.tab` complete rows at a site is left out
#' there, and every count `0 < count < nfilter.tab` a site holds (events,
#' censored times, times beyond the grid, event codes) is set to 0. No
#' site's counts are ever decrypted, only pooled ones.
#' The coding of `event` is agreed on the pooled data, as [survival::Surv()]
#' would decide on the row-bound data: 1/2 when some site has a 2, else 0/1.
#'
#' @param time Numeric variable of follow-up times, e.g. `"D$time"`.
#' @param event Event indicator, e.g. `"D$status"`: logical, or 0/1
#'   (censored/event), or 1/2 as in [survival::lung].
#' @section Differential privacy:
#' With differential privacy on at a site (`mhe.dp.epsilon`, see
#' [dsMHE-options]), every round is a query charged to the analyst's budget,
#' and the counts go out with noise and without small-cell zeroing (one row
#' is in one cell: sensitivity 1; `rust/mhe/DP.md`, section 11). The client
#' computes the at-risk numbers from the noisy cells, clamps the events to
#' `[0, n.risk]`, stops the curve where the at-risk number is below twice its
#' noise sd, and adds the noise's variance (delta method over the cells) to
#' Greenwood's in `std.err` and `std.chaz`, so the confidence limits include
#' the noise; `dp.std.err` is the noise's part of `std.err`, and `dp` holds
#' the sites' DP facts. Give `times`: the default grid costs two more rounds
#' (and its mean time needs `bounds` for `time`). The counts are then not
#' whole numbers.
#'
#' @param group Categorical variable for strata, e.g. `"D$sex"`, or `NULL`.
#'   Strata are named as `survfit()` names them (`"sex=1"`); levels without
#'   complete rows are dropped, and with a single stratum left the result
#'   has no strata, as with `survfit()`.
#' @param times `NULL` (default: a grid chosen from the data, see "The time
#'   grid"), or increasing, non-negative grid points, used as given: a public
#'   grid. Each site accepts at most `n / nfilter.tab` points for its `n`
#'   complete rows (and at most 10000), and sets every count `0 < count <
#'   nfilter.tab` it holds to 0, so the curve equals `survfit()` only where
#'   every site's cells are empty or hold at least `nfilter.tab` rows.
#' @param bins About how many cells the coarse grid of the default has
#'   (used only when `times` is `NULL`). Each site accepts at most
#'   `n / nfilter.tab` grid points for its `n` complete rows.
#' @param conf.int Level of the pointwise confidence intervals.
#' @param conf.type `"log-log"` (default), `"log"` or `"plain"`, as in
#'   [survival::survfit.formula()].
#' @param epsilon Differential privacy: each round's epsilon at each site,
#'   at most (and by default) the site's `mhe.dp.query.epsilon`. Ignored with
#'   DP off.
#' @param bounds Differential privacy: `c(lower, upper)`, the clipping bounds
#'   of `time` for the default grid's mean time (intersected with the
#'   admin's `mhe.dp.bounds`). Ignored with DP off.
#' @inheritParams ds.mheMean
#' @returns An object of class `survfit` with the fields of
#'   [survival::survfit.object]: `n`, `time`, `n.risk`, `n.event`,
#'   `n.censor`, `surv`, `std.err` (of the cumulative hazard, i.e. of
#'   `log(surv)`, from Greenwood's formula), `cumhaz` (Nelson-Aalen),
#'   `std.chaz`, `strata` (with `group`), `type`, `logse`, `conf.int`,
#'   `conf.type`, `lower`, `upper`, `call`.
#' @family client functions
#' @export
#' @examples
#' \dontrun{
#' ds.mheSetup(conns)
#' fit <- ds.mheSurvfit("D$time", "D$status", "D$sex", times = seq(50, 1100, 50),
#'                      datasources = conns)
#' summary(fit, times = c(180, 365))
#' plot(fit)
#' }
ds.mheSurvfit <- function(time, event, group = NULL, datasources = NULL, times = NULL,
                          bins = 15, conf.int = 0.95,
                          conf.type = c("log-log", "log", "plain"), epsilon = NULL,
                          bounds = NULL) {
  rlang::check_installed("survival", reason = "for the methods of `survfit` objects.")
  fit_call <- match.call()
  conns <- mhe_conns(datasources)
  time <- mhe_check_variable(time)
  event <- mhe_check_variable(event)
  if (!is.null(group)) group <- mhe_check_variable(group)
  times <- mhe_km_check_times(times)
  mhe_km_check_options(bins, conf.int)
  conf.type <- rlang::arg_match(conf.type)
  dp_args <- mhe_dp_args(bounds, epsilon, time)

  # Every round of one curve runs over the same sites: a dropout restarts it.
  fit <- mhe_run(conns, function(run, call) {
    mhe_km_run(run, time, event, group, times, bins, dp_args)
  })
  limits <- mhe_km_confint(fit$surv, fit$std.err, conf.int, conf.type)
  fit <- c(fit, list(
    type = "right", logse = TRUE, conf.int = conf.int, conf.type = conf.type,
    lower = limits$lower, upper = limits$upper, call = fit_call
  ))
  structure(fit, class = "survfit")
}

# The rounds of one curve: levels, then (default grid) the scale and a coarse
# histogram, then the counts on the grid; returns the fitted counts.
mhe_km_run <- function(run, time, event, group, times, bins, dp_args = list()) {
  levels <- if (!is.null(group)) mhe_km_levels(run$conns, group)
  args <- list(time = time, event = event, group = group,
               levels = if (!is.null(group)) mhe_levels_encode(levels))
  n_strata <- max(1L, length(levels))
  mode <- if (is.null(times)) "scale" else "status"
  # the analyst's epsilon goes with every round; the time's bounds with "scale"
  round_args <- function(mode, ...) {
    c(args, list(...), list(mode = mode), dp_args[names(dp_args) != "bounds" | mode == "scale"])
  }
  first <- mhe_query(run, "mheSurvfitDS", round_args(mode))
  dp <- attr(first, "dp")
  tallies <- matrix(round(first[seq_len(3L * n_strata)]), nrow = 3L) # rows, codes 0, codes 2
  coding <- if (is.null(dp)) mhe_km_coding(tallies) else mhe_km_dp_coding(tallies)
  grid <- times %||% mhe_km_default_grid(
    run, args, coding,
    # under DP the sites sum time / max |bound| (server-survival.R)
    mean = first[3L * n_strata + 1L] * (if (is.null(dp)) 1 else max(abs(mhe_km_bounds_of(dp_args)))) /
      sum(tallies[1L, ]),
    bins = bins,
    needed = (if (coding == "12") tallies[3L, ] else tallies[1L, ] - tallies[2L, ]) > 0,
    round_args = round_args
  )
  counts <- mhe_query(run, "mheSurvfitDS", round_args(
    "counts", grid = mhe_dbl_encode(grid), coding = coding
  ))
  mhe_km_fit(counts, grid, levels, group, dp = attr(counts, "dp"))
}

# The time's bounds c(lo, hi) back from the server argument "D$t:lo:hi".
mhe_km_bounds_of <- function(dp_args) {
  as.numeric(strsplit(dp_args$bounds, ":", fixed = TRUE)[[1]][2:3])
}

mhe_km_levels <- function(conns, group, call = rlang::caller_env()) {
  levels <- mhe_pooled_levels(conns, group, call = call)
  if (!length(levels)) {
    mhe_abort("{.arg group} has no values at any site.", class = "input", call = call)
  }
  levels
}

mhe_km_check_times <- function(times, call = rlang::caller_env()) {
  if (is.null(times)) {
    return(NULL)
  }
  ok <- is.numeric(times) && length(times) >= 1L && length(times) <= 10000L &&
    all(is.finite(times)) && times[1] >= 0 && all(diff(times) > 0)
  if (!ok) {
    mhe_abort(c(
      "{.arg times} must be {.code NULL} or increasing, non-negative grid points.",
      i = "At most 10000 points."
    ), class = "input", call = call)
  }
  as.double(times)
}

mhe_km_check_options <- function(bins, conf.int, call = rlang::caller_env()) {
  if (!(is.numeric(bins) && length(bins) == 1L && !is.na(bins) && bins == round(bins) &&
        bins >= 1 && bins <= 1000)) {
    mhe_abort("{.arg bins} must be a whole number between 1 and 1000.",
              class = "input", call = call)
  }
  if (!(is.numeric(conf.int) && length(conf.int) == 1L && !is.na(conf.int) &&
        conf.int > 0 && conf.int < 1)) {
    mhe_abort("{.arg conf.int} must be a number between 0 and 1.", class = "input", call = call)
  }
}

# The coding of `event` on the pooled data, from the pooled numbers of rows
# and of codes 0 and 2 (as Surv() would decide on the row-bound data).
mhe_km_coding <- function(tallies, call = rlang::caller_env()) {
  if (sum(tallies[1L, ]) == 0) {
    mhe_abort("No site has a complete row of {.arg time} and {.arg event}.", class = "input",
              call = call)
  }
  zeros <- sum(tallies[2L, ])
  twos <- sum(tallies[3L, ])
  if (zeros > 0 && twos > 0) {
    mhe_abort(c(
      "{.arg event} must be coded the same way at every site.",
      x = "Some sites code it 0/1 and others 1/2."
    ), class = "input", call = call)
  }
  if (twos > 0) "12" else "01"
}

mhe_km_default_grid <- function(run, args, coding, mean, bins, needed,
                            call = rlang::caller_env(),
                            round_args = function(mode, ...) c(args, list(...), list(mode = mode))) {
  if (!(mean > 0)) {
    return(0)
  }
  upper <- 4 * mean
  for (i in 1:6) {
    points <- pretty(c(0, upper), n = bins)
    binned <- mhe_query(run, "mheSurvfitDS", round_args(
      "bins", grid = mhe_dbl_encode(points), coding = coding
    ), call = call)
    dp <- attr(binned, "dp")
    # under DP the number of times beyond, with noise: few enough
    beyond <- binned[length(binned)]
    if (beyond == 0 || (!is.null(dp) && beyond < 3 * sqrt(mhe_dp_noise_variance(dp)))) break
    upper <- upper * 4
  }
  events <- matrix(pmax(binned[-length(binned)], 0), nrow = length(points))
  threshold <- mhe_nfilter("nfilter.tab")
  grid <- mhe_km_merge_grid(points, events, needed, threshold)
  if (is.null(grid)) {
    mhe_abort(c(
      "Can't choose a time grid with at least {threshold} events per interval.",
      x = "A stratum has too few events in cells that the sites did not suppress.",
      i = "Give {.arg times}, or fewer {.arg bins}."
    ), class = "input", call = call)
  }
  grid
}

# The survfit fields from the pooled counts (one column of 3m + 1 counts per
# stratum: events per interval, censored at its end point, censored strictly
# inside it; beyond the last point).
mhe_km_fit <- function(counts, grid, levels, group, dp = NULL) {
  m <- length(grid)
  # under DP the noisy counts as they are (DP.md 11.2), else whole numbers
  V <- mhe_dp_noise_variance(dp)
  cells <- matrix(if (is.null(dp)) round(counts) else counts, nrow = 3L * m + 1L)
  strata <- lapply(seq_len(ncol(cells)), function(s) {
    col <- cells[, s]
    part <- function(k) col[(k - 1L) * m + seq_len(m)]
    if (!is.null(dp)) {
      return(mhe_km_dp_stratum(grid, part(1L), part(2L), part(3L), col[3L * m + 1L], V))
    }
    mhe_km_stratum(grid, part(1L), part(2L), part(3L), col[3L * m + 1L])
  })
  beyond <- sum(cells[3L * m + 1L, ])
  if (!is.null(dp)) beyond <- if (beyond > 3 * sqrt(V * ncol(cells))) round(beyond) else 0
  if (beyond > 0) {
    cli::cli_inform(c(
      "{beyond} time{?s} after the last grid point ({grid[m]}) {?counts/count} as at risk
       at every grid point.",
      i = "The curve stops at {grid[m]}."
    ), class = "dsMHE_message_beyond")
  }
  kept <- vapply(strata, function(s) length(s$time) > 0L, TRUE)
  if (!any(kept)) {
    mhe_abort("No complete row lies within the time grid.", class = "input", call = NULL)
  }
  strata <- strata[kept]
  field <- function(name) unlist(lapply(strata, `[[`, name), use.names = FALSE)
  fields <- c("time", "n.risk", "n.event", "n.censor", "surv", "std.err", "cumhaz", "std.chaz")
  fit <- c(list(n = mhe_count(field("n"))), stats::setNames(lapply(fields, field), fields))
  if (!is.null(dp)) {
    # the noise's part of std.err, and the sites' DP facts
    fit$dp.std.err <- field("dp.std.err")
    fit$dp <- dp
  }
  if (length(strata) > 1L) {
    name <- sub("^.*\\$", "", group)
    fit$strata <- stats::setNames(lengths(lapply(strata, `[[`, "time")),
                                  paste0(name, "=", levels[kept]))
  }
  fit
}
