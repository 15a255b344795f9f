#' Encrypted contribution to a pooled histogram (server side)
#'
#' Cells are right-closed with the lowest included, as in
#' [graphics::hist()], plus an underflow and an overflow cell. With
#' `mode = "range"` the site contributes only whether it has any value in
#' each cell (0 or 1), so the analyst learns how many sites have data there,
#' never a count; with `mode = "counts"` it contributes counts, with each cell
#' whose count is below `nfilter.tab` set to 0 (dsBase `histogramDS2`), and
#' the number of cells it so suppressed.
#'
#' @inheritParams mheMeanDS
#' @param breaks Increasing break points, as comma-separated hex of doubles.
#' @param mode `"range"` or `"counts"`.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheHistogramDS <- function(x, breaks, mode, query, sites) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  mode <- srv_string(mode, site, "mode", "^(range|counts)$", 6L, "\"range\" or \"counts\"")
  breaks <- srv_doubles(breaks, site, "breaks")
  if (length(breaks) < 2L || length(breaks) > 10001L || any(diff(breaks) <= 0)) {
    mhe_server_abort(site, "`breaks` must hold 2 to 10001 increasing numbers")
  }
  values <- local_histogram(x, env, site, breaks, mode)
  srv_contribute(party, site, query, paste0("histogram-", mode), x, sites, values)
}
