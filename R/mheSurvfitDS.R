#' Encrypted contribution to a pooled Kaplan-Meier curve (server side)
#'
#' Over the complete rows of `time`, `event` (and `group`), per stratum (one
#' per level of `group`, in the order of `levels`), the site computes one of:
#'
#' - `mode = "status"`: the number of rows, of `event` values 0 (or `FALSE`)
#'   and of values 2, per stratum, so that the client can tell a 0/1 coding
#'   from survival's 1/2 coding on the pooled data;
#' - `mode = "scale"`: the same, then the sum of the times (for the pooled
#'   mean time);
#' - `mode = "bins"`: the number of events in each interval of `grid`
#'   (`[0, t_1]`, `(t_1, t_2]`, ...), with each count `0 < count <
#'   nfilter.tab` set to 0 as dsBase's `histogramDS2` does, per stratum; then
#'   1 if the site has any time beyond the last grid point, else 0;
#' - `mode = "counts"`: per stratum, the number of events in each interval,
#'   of censored times equal to each interval's end point, of censored times
#'   strictly inside each interval, and of times beyond the last grid point.
#'
#' With differential privacy on at the site, no count is zeroed and no
#' stratum left out (the noise protects them), `"bins"` gives the number of
#' times beyond the last grid point rather than 0/1, and the contribution
#' carries the site's noise share (sensitivity 1 for `"bins"` and
#' `"counts"`, where a row is in one cell; `sqrt(2)` for `"status"`, `sqrt(3)`
#' for `"scale"`).
#'
#' Nothing is refused on the strength of the data: the rows of a stratum
#' with fewer than `nfilter.tab` complete rows are left out, and every count
#' (rows and event codes per stratum, events, censored times, times beyond
#' the grid) with `0 < count < nfilter.tab` is set to 0, so that no answer
#' depends on whether one row has a property. The levels must include every
#' level `group` has at the site. Grids are bounded by the site: at most
#' `n / nfilter.tab` points (`n` its complete rows; at least one) and 10,000,
#' at most 100 strata, and at most 100,000 strata x points; each refusal
#' names its limit. `time` must be numeric, finite and non-negative; `event`
#' logical, or coded 0/1 (censored/event) or 1/2 as [survival::Surv()]
#' accepts, as numbers or as a factor with those levels (as Opal assigns a
#' categorical variable).
#'
#' @inheritParams mheMeanDS
#' @param time Numeric variable of follow-up times, e.g. `"D$time"`.
#' @param event Event indicator, e.g. `"D$status"`.
#' @param group Categorical variable defining the strata, or `NULL`.
#' @param levels With `group`: the levels (encoded as for [mheTableDS()]).
#' @param grid With modes `"bins"` and `"counts"`: increasing, non-negative
#'   grid points, as comma-separated hex of doubles.
#' @param coding With modes `"bins"` and `"counts"`: `"01"` or `"12"`, the
#'   coding of `event` agreed from the pooled `"status"` round.
#' @param mode `"status"`, `"scale"`, `"bins"` or `"counts"`.
#' @param bounds Differential privacy, mode `"scale"`: the analyst's bounds of
#'   `time`, `"D$time:lower:upper"` (required; intersected with the admin's
#'   to clip, and the sum of times is divided by the largest absolute bound
#'   the analyst gave, so that a row adds at most 1).
#' @param epsilon Differential privacy: this query's epsilon (at most the
#'   site's `mhe.dp.query.epsilon`, its default).
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheSurvfitDS <- function(time, event, group = NULL, levels = NULL, grid = NULL,
                         coding = NULL, mode, query, sites, bounds = NULL, epsilon = NULL) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  mode <- srv_string(mode, site, "mode", "^(status|scale|bins|counts)$", 6L,
                     "\"status\", \"scale\", \"bins\" or \"counts\"")
  if (!is.null(group)) {
    levels <- srv_levels(levels, site, "levels")
  }
  if (mode %in% c("bins", "counts")) {
    grid <- srv_surv_grid(grid, site)
    coding <- srv_string(coding, site, "coding", "^(01|12)$", 2L, "\"01\" or \"12\"")
  }
  settings <- srv_dp_settings(site)
  dp <- !is.null(settings)
  time_bounds <- time_scale <- NULL
  if (dp && mode == "scale") {
    # the sum of times on the scale of the analyst's bound (each row adds at
    # most 1, like a count): one sigma for every value of the vector
    given <- srv_dp_bounds_arg(bounds, site)[[time]]
    if (is.null(given)) {
      srv_dp_refuse(site, paste0(
        "under differential privacy the default time grid needs `bounds` for `", time,
        "` (or give `times`)"
      ))
    }
    time_bounds <- srv_dp_bounds(time, given, site, settings)
    time_scale <- max(abs(given))
  }
  data <- srv_surv_data(env, site, time, event, group, levels, dp = dp)
  if (mode %in% c("bins", "counts")) {
    srv_surv_check_grid(data, site, grid)
  }
  values <- switch(mode,
    status = srv_surv_tallies(data, scale = FALSE, dp = dp),
    scale = srv_surv_tallies(data, scale = TRUE, dp = dp, time_bounds = time_bounds,
                             time_scale = time_scale),
    bins = srv_surv_bins(data, site, grid, coding, dp = dp),
    counts = srv_surv_counts(data, site, grid, coding, dp = dp)
  )
  # Every value is a count but the sum of the times (mode "scale", last);
  # under DP the values are noisy reals and travel at the full width anyway.
  widths <- rep(mhe_count_width(length(sites)), length(values))
  if (mode == "scale") widths[length(widths)] <- NA_integer_
  sens <- if (dp) srv_surv_dp_sensitivity(mode)
  srv_contribute(party, site, query, paste0("survfit-", mode), c(time, event, group), sites,
                 values, call = match.call(), sensitivity = sens, epsilon = epsilon,
                 widths = widths)
}

srv_surv_grid <- function(grid, site) {
  if (is.null(grid)) {
    mhe_server_abort(site, "`grid` must be given")
  }
  grid <- srv_doubles(grid, site, "grid")
  if (length(grid) > 10000L || grid[1] < 0 || any(diff(grid) <= 0)) {
    mhe_refuse(site, "`grid` must hold 1 to 10000 increasing, non-negative numbers")
  }
  grid
}
