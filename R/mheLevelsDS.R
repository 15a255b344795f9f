#' Levels of a categorical variable (server side)
#'
#' Used by [ds.mheTable()] to agree on the levels before counting. A factor's
#' levels are metadata (as in dsBase): more than `nfilter.levels.max` levels,
#' or more than `nfilter.levels.density` levels per valid value, are refused.
#' The levels of a character, logical or whole-number variable are its
#' values: the site returns those held by at least `nfilter.tab` of its rows
#' (at most `nfilter.levels.max` of them, the most frequent) and never refuses
#' on the strength of the data, so that whether some row holds a given value
#' is not answered by a refusal. A table counts the rows of the values left
#' out in its "other" cell ([mheTableDS()]), zeroed when small like any cell.
#'
#' @param x Variable, e.g. `"D$sex"`.
#' @returns A list: `levels` (character) and `numeric` (whether the variable
#'   is numeric or logical, so that the client sorts levels as numbers).
#' @family server functions
#' @export
mheLevelsDS <- function(x) {
  env <- parent.frame()
  party <- srv_party(env)
  srv_var_levels(x, env, srv_site(party), rare = "omit")
}
