#' Levels of a categorical variable (server side)
#'
#' Used by [ds.mheTable()] to agree on the levels before counting. A factor's
#' levels are metadata (as in dsBase); the levels of a character or
#' whole-number variable are its values, so each must occur at least
#' `nfilter.tab` times. Refuses more than `nfilter.levels.max` levels, or more
#' than `nfilter.levels.density` levels per valid value.
#'
#' @param x Variable, e.g. `"D$sex"`.
#' @returns A list: `levels` (character) and `numeric` (whether the variable
#'   is numeric or logical, so that the client sorts levels as numbers).
#' @family server functions
#' @export
mheLevelsDS <- function(x) {
  env <- parent.frame()
  party <- srv_party(env)
  srv_var_levels(x, env, srv_site(party))
}
