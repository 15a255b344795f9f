# Kaplan-Meier at a site: the local counts (the estimates: client-survival.R)
#
# The grid convention (documented in ds.mheSurvfit()): grid points
# t_1 < ... < t_m cut time into intervals [0, t_1], (t_1, t_2], ...,
# (t_{m-1}, t_m]. Per interval and stratum, the sites count the events, the
# censored times equal to its end point, and the censored times strictly
# inside it; times beyond t_m count as at risk at every grid point and
# nowhere else. The client reports everything at the interval's end point,
# with half of the censored times strictly inside the interval at risk there
# (the actuarial, life-table rule). When every observed time is a grid point
# nothing is strictly inside an interval and the estimate is survfit()'s.

# Server side -----------------------------------------------------------------

# The event indicator as 0, 1 or 2 (logical: 0/1), NA kept. A factor whose
# levels are codes ("0", "1"; "1", "2"; or a subset), as Opal assigns a
# categorical variable, is read as those numbers.
srv_surv_status <- function(event, env, site) {
  value <- srv_object(event, env, site, "event")
  if (is.logical(value) && !is.data.frame(value)) {
    return(as.double(value))
  }
  if (is.factor(value) && all(levels(value) %in% c("0", "1", "2"))) {
    value <- as.double(as.character(value))
  }
  ok <- is.numeric(value) && !is.factor(value) && !is.data.frame(value) &&
    all(is.na(value) | value %in% c(0, 1, 2))
  if (!ok) {
    mhe_server_abort(site, paste0(
      "`", event, "` must be logical, or coded 0/1 or 1/2 (censored/event) as numbers or ",
      "as a factor with those levels"
    ))
  }
  value <- as.double(value)
  if (any(value == 0, na.rm = TRUE) && any(value == 2, na.rm = TRUE)) {
    mhe_server_abort(site, paste0("`", event, "` must be coded 0/1 or 1/2, not both"))
  }
  value
}

srv_surv_time <- function(time, env, site) {
  value <- srv_numeric(time, env, site, "time")
  if (any(is.infinite(value))) {
    mhe_server_abort(site, paste0("`", time, "` must hold finite times"))
  }
  if (any(value < 0, na.rm = TRUE)) {
    mhe_server_abort(site, paste0("`", time, "` must not hold negative times"))
  }
  value
}

# At most this many strata, and strata x grid points, before any allocation.
mhe_surv_max_strata <- 100L
mhe_surv_max_cells <- 1e5

# The complete rows: times, event codes, stratum numbers (1 without group).
# Nothing is refused on the strength of the data: the rows of a stratum with
# fewer than nfilter.tab complete rows are left out (all of them when the
# site has fewer than nfilter.tab complete rows), as a small cell is zeroed.
srv_surv_data <- function(env, site, time, event, group, levels, dp = FALSE) {
  n_strata <- if (is.null(group)) 1L else length(levels)
  if (n_strata > mhe_surv_max_strata) {
    mhe_refuse(site, paste0("a survival curve has at most ", mhe_surv_max_strata, " strata"))
  }
  t <- srv_surv_time(time, env, site)
  status <- srv_surv_status(event, env, site)
  if (length(status) != length(t)) {
    mhe_server_abort(site, paste0("`", time, "` and `", event, "` must have the same length"))
  }
  stratum <- rep(1L, length(t))
  if (!is.null(group)) {
    g <- srv_categorical(group, env, site, "group")
    if (length(g) != length(t)) {
      mhe_server_abort(site, paste0("`", time, "` and `", group, "` must have the same length"))
    }
    if (!all(srv_site_levels(g) %in% levels)) {
      mhe_refuse(site, paste0(
        "the levels given for `", group, "` must include every level it has here"
      ))
    }
    stratum <- match(as.character(g), levels)
  }
  ok <- !is.na(t) & !is.na(status) & !is.na(stratum)
  sizes <- tabulate(stratum[ok], nbins = n_strata)
  ok <- ok & !is.na(stratum) & srv_surv_small(sizes, dp)[stratum] > 0
  list(time = t[ok], status = status[ok], stratum = stratum[ok], n_strata = n_strata)
}

# Counts of `point` (1..n_points) within each stratum, stratum by stratum.
srv_surv_tabulate <- function(point, stratum, n_points, n_strata) {
  tabulate((stratum - 1L) * n_points + point, nbins = n_points * n_strata)
}

srv_surv_tallies <- function(data, scale, dp = FALSE, time_bounds = NULL, time_scale = 1) {
  by <- function(keep) tabulate(data$stratum[keep], nbins = data$n_strata)
  rows <- rep(TRUE, length(data$time))
  counts <- rbind(by(rows), srv_surv_small(by(data$status == 0), dp),
                  srv_surv_small(by(data$status == 2), dp))
  c(as.vector(counts), if (scale) sum(srv_clip(data$time, time_bounds)) / (time_scale %||% 1))
}

# The grid: at most max(1, n / nfilter.tab) points for a site with n complete
# rows, and strata x points bounded, so no grid is finer than the data.
srv_surv_check_grid <- function(data, site, grid) {
  m <- length(grid)
  if (m * data$n_strata > mhe_surv_max_cells) {
    mhe_refuse(site, paste0(
      "a survival curve has at most ", mhe_surv_max_cells, " strata x grid points"
    ))
  }
  srv_check_cells(m, length(data$time), site, "the survival grid")
}

srv_surv_is_event <- function(data, site, coding) {
  wrong <- if (coding == "12") 0 else 2
  if (any(data$status == wrong)) {
    mhe_server_abort(site, paste0("the event codes do not match the coding ", coding))
  }
  data$status == if (coding == "12") 2 else 1
}

# The interval of each time: that of the first grid point >= it (m + 1:
# beyond the last point).
srv_surv_event_point <- function(t, grid) findInterval(t, grid, left.open = TRUE) + 1L

srv_surv_bins <- function(data, site, grid, coding, dp = FALSE) {
  event <- srv_surv_is_event(data, site, coding)
  m <- length(grid)
  point <- srv_surv_event_point(data$time[event], grid)
  inside <- point <= m
  counts <- srv_surv_tabulate(point[inside], data$stratum[event][inside], m, data$n_strata)
  beyond <- srv_surv_small(sum(data$time > grid[m]), dp)
  # under DP the number beyond (a row is in one cell or beyond: sensitivity 1)
  c(srv_surv_small(counts, dp), if (dp) beyond else as.double(beyond > 0))
}

# Per stratum: events in each of the m intervals; censored times at each end
# point; censored times strictly inside each interval; times beyond t_m.
srv_surv_counts <- function(data, site, grid, coding, dp = FALSE) {
  event <- srv_surv_is_event(data, site, coding)
  m <- length(grid)
  point <- srv_surv_event_point(data$time, grid)
  within <- point <= m
  at_point <- within & data$time == grid[pmin(point, m)]
  count <- function(keep) srv_surv_tabulate(point[keep], data$stratum[keep], m, data$n_strata)
  cells <- rbind(
    matrix(count(within & event), nrow = m),
    matrix(count(at_point & !event), nrow = m),
    matrix(count(within & !at_point & !event), nrow = m),
    tabulate(data$stratum[!within], nbins = data$n_strata)
  )
  as.double(srv_surv_small(cells, dp))
}

# Differential privacy (issue 14; rust/mhe/DP.md, section 11) -----------------

# Small counts zeroed, except under DP: zeroing is a decision on the exact
# local count that would void the sensitivity (R/server-dp.R); the noise
# protects them instead.
srv_surv_small <- function(counts, dp) {
  if (dp) counts else srv_zero_small(counts)
}

# The sensitivity of a mode's vector under DP (one row added or removed):
# "status" and "scale" count a row in its stratum and at most one event code
# (2 cells), "scale" adds its clipped time divided by the analyst's largest
# bound (at most 1); in "bins" and "counts" a row is in one cell (or beyond
# the grid) at most.
srv_surv_dp_sensitivity <- function(mode) {
  switch(mode,
    status = srv_dp_sensitivity(c(1, 1)),
    scale = srv_dp_sensitivity(c(1, 1, 1)),
    list(l2 = 1, l1 = 1)
  )
}
