#' Plaintext baseline: a site's local aggregate, unencrypted (server side)
#'
#' For benchmarks only: returns in the clear the vector that [mheMeanDS()],
#' [mheTableDS()] or [mheCorDS()] (first round) would encrypt, with the same
#' disclosure checks, as a plaintext DataSHIELD aggregate (dsBase's
#' `meanDS`, `tableDS`, ...) would. It needs no dsMHE session.
#'
#' @param x Variable(s): as for [mheMeanDS()], [mheCorDS()], or the row
#'   variable of a one-way table.
#' @param kind `"mean"`, `"table"` or `"cor"`.
#' @returns A double vector.
#' @family server functions
#' @export
mhePlainSumDS <- function(x, kind = "mean") {
  env <- parent.frame()
  site <- "this site"
  kind <- srv_string(kind, site, "kind", "^(mean|table|cor)$", 5L, "\"mean\", \"table\" or \"cor\"")
  switch(kind,
    mean = local_mean(x, env, site),
    table = local_table(env, site, x, NULL, local_levels(x, env, site)$levels, NULL),
    cor = local_cor(x, env, site)
  )
}
