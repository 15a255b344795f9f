#' Encrypted contribution to a pooled histogram (server side)
#'
#' Cells are right-closed with the lowest included, as in
#' [graphics::hist()], plus an underflow and an overflow cell. With
#' `mode = "range"` the site contributes only whether it has at least
#' `nfilter.tab` values in each cell (0 or 1), so the analyst learns how many
#' sites have data there, never a count, and no value held by fewer rows
#' (such as the maximum) can be pinned by a fine grid; with `mode = "counts"`
#' it contributes counts, with each cell whose count is below `nfilter.tab`
#' set to 0 (dsBase `histogramDS2`), and the number of cells it so
#' suppressed.
#'
#' Grids are bounded by the site: at most 1000 cells, and at most
#' `n / nfilter.tab` cells for a site with `n` valid values (at least one);
#' a finer grid is refused, naming the limit.
#'
#' Like every statistic of a numeric column, the histogram reads the column
#' through the site's spread rule: with fewer than `nfilter.tab` valid values
#' the site contributes nothing; when the column's deviation from its median
#' is carried by fewer than `nfilter.tab` effective rows,
#' `(sum |d|)^2 / sum(d^2) < nfilter.tab` with `d` the deviations, the site
#' uses the median in every row. The measure is not fooled by a tiny
#' perturbation of every row, and the rule zeroes rather than refuses, since
#' a refusal that depends on the data would answer whether a row holds a
#' value.
#'
#' @inheritParams mheMeanDS
#' @param breaks Increasing break points, as comma-separated hex of doubles.
#' @param mode `"range"` or `"counts"`.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheHistogramDS <- function(x, breaks, mode, query, sites, epsilon = NULL) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  mode <- srv_string(mode, site, "mode", "^(range|counts)$", 6L, "\"range\" or \"counts\"")
  breaks <- srv_doubles(breaks, site, "breaks")
  if (length(breaks) < 2L || length(breaks) > mhe_histogram_max_cells + 1L ||
      any(diff(breaks) <= 0)) {
    mhe_refuse(site, paste0(
      "`breaks` must hold 2 to ", mhe_histogram_max_cells + 1L, " increasing numbers (a histogram ",
      "has at most ", mhe_histogram_max_cells, " cells)"
    ))
  }
  dp <- !is.null(srv_dp_settings(site))
  values <- srv_histogram(x, env, site, breaks, mode, dp = dp)
  # one row is in one cell (the suppressed count is 0 under DP): sensitivity 1
  sens <- if (dp) list(l2 = 1, l1 = 1)
  srv_contribute(party, site, query, paste0("histogram-", mode), x, sites, values,
                 call = match.call(), sensitivity = sens, epsilon = epsilon)
}
